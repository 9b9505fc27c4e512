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
    if n > 0 && crate::board::is_pg(db) {
        // Other instances' dispatchers hear of it when this transaction commits.
        db.execute(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT pg_notify('{OUTBOX_CHANNEL}', '')"),
        ))
        .await?;
    }
    Ok(n)
}

/// The PostgreSQL channel on which a commit that wrote outbox events is announced.
pub const OUTBOX_CHANNEL: &str = "madoguchi_outbox";

/// Call `wake` whenever any instance commits outbox events (PostgreSQL
/// `LISTEN`); reconnects after a lost connection. Returns at once on SQLite,
/// where every writer is in this process and wakes the dispatcher itself.
pub async fn listen_for_outbox(db: &crate::Db, wake: impl Fn()) {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(OUTBOX_CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN for outbox events failed; retrying");
                } else {
                    // After (re)connecting, something may have been missed.
                    wake();
                    while listener.recv().await.is_ok() {
                        wake();
                    }
                    tracing::warn!("outbox listener lost its connection; reconnecting");
                }
            }
            Err(e) => tracing::warn!(error = %e, "outbox listener cannot connect; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
