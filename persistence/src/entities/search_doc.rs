use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_docs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub thread_id: Uuid,
    pub post_id: Option<Uuid>,
    pub organization_id: Uuid,
    pub internal: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
