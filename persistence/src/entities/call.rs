use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub caller_name: String,
    pub caller_number: String,
    pub direction: String,
    pub answered: bool,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    pub outside_hours: bool,
    pub agent_id: Option<Uuid>,
    pub summary: Option<String>,
    pub thread_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
