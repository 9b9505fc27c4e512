use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "threads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: i64,
    pub organization_id: Uuid,
    pub title: String,
    pub category: Option<String>,
    pub priority: String,
    pub status: String,
    pub channel: String,
    pub assignee_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub follow_up_of: Option<i64>,
    pub policy: String,
    pub post_count: i32,
    pub public_post_count: i32,
    pub last_public_post_at: Option<DateTimeUtc>,
    pub last_public_by_staff: bool,
    /// Far future when no clock runs, so the queue's keyset stays total.
    pub next_due_at: DateTimeUtc,
    pub breached: bool,
    /// 0 when breached, 1 otherwise: the queue's first sort key.
    pub queue_rank: i32,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The version as customers see it: moves with what they can see only.
    pub public_version: i32,
    /// Null only on rows written before the column (read as `updated_at`).
    pub public_updated_at: Option<DateTimeUtc>,
    /// A copy of the thread's `sla_clocks` rows as JSON text, kept by a
    /// trigger (m0018) so that a page of threads is read without a sub-select
    /// per row. Written by the database only.
    pub clocks_json: Option<String>,
    /// A copy of the thread's `thread_tags` as a JSON array, kept by a trigger
    /// (m0018); null when it has none. Written by the database only.
    pub tags_json: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
