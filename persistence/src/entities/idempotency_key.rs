use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub request_hash: String,
    /// Null while the first request is still being processed.
    pub status: Option<i32>,
    pub content_type: Option<String>,
    pub headers: Option<String>,
    pub body: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
    /// The instance whose request holds the claim (see `instances`).
    pub instance_id: Option<Uuid>,
    /// That request's id, as its audit entries carry it.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
