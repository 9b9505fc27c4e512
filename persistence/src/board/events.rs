//! The transactional outbox: events written in the same transaction as the change.

use chrono::{DateTime, Utc};
use sea_orm::{sea_query::OnConflict, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::{entities::outbox, error::StoreError};

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    /// Unique per logical event (e.g. one warning per clock cycle); a second
    /// attempt to record it is ignored.
    pub dedupe_key: Option<String>,
    pub thread_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// Carries internal content: never delivered to customer-scoped consumers.
    pub internal: bool,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

fn outbox_model(e: NewEvent) -> outbox::ActiveModel {
    let event_id = Uuid::now_v7();
    let mut payload = e.payload;
    if let Some(obj) = payload.as_object_mut() {
        obj.insert(
            "event_id".into(),
            serde_json::Value::String(event_id.to_string()),
        );
        obj.insert(
            "type".into(),
            serde_json::Value::String(e.event_type.to_owned()),
        );
    }
    outbox::ActiveModel {
        event_id: Set(event_id),
        event_type: Set(e.event_type.to_owned()),
        dedupe_key: Set(e.dedupe_key),
        thread_id: Set(e.thread_id),
        organization_id: Set(e.organization_id),
        internal: Set(e.internal),
        payload: Set(payload.to_string()),
        occurred_at: Set(e.occurred_at),
        ..Default::default()
    }
}

/// Record an event in the outbox; `false` when its dedupe key was already there.
pub async fn outbox_append(db: &impl ConnectionTrait, e: NewEvent) -> Result<bool, StoreError> {
    Ok(outbox_append_many(db, std::iter::once(e)).await? == 1)
}

/// Record events in one statement; returns how many were new (dedupe keys
/// already present are skipped).
pub async fn outbox_append_many(
    db: &impl ConnectionTrait,
    events: impl Iterator<Item = NewEvent>,
) -> Result<u64, StoreError> {
    let models: Vec<_> = events.map(outbox_model).collect();
    if models.is_empty() {
        return Ok(0);
    }
    let n = outbox::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(outbox::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(n)
}
