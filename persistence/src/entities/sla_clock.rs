use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_clocks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub thread_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub cycle: i32,
    pub target_seconds: i64,
    pub used_seconds: i64,
    pub running_since: Option<DateTimeUtc>,
    pub phase: String,
    pub met_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    pub warn_at: Option<DateTimeUtc>,
    pub warned: bool,
    pub breached: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
