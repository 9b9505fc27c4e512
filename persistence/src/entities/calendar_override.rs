use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_overrides")]
pub struct Model {
    /// `YYYY-MM-DD`, the Tokyo date.
    #[sea_orm(primary_key, auto_increment = false)]
    pub date: String,
    /// `closed` or `hours`.
    pub kind: String,
    /// JSON array of `HH:MM-HH:MM` for `hours`.
    pub intervals: String,
    pub note: String,
    pub created_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
