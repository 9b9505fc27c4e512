use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_clock_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub thread_id: Uuid,
    pub kind: String,
    pub cycle: i32,
    pub event: String,
    pub at: DateTimeUtc,
    pub cause: String,
    pub used_seconds: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
