//! The transactional outbox: events written in the same transaction as the
//! change, read by each of its consumers (the webhook fan-out now; mail and
//! notices next) exactly once.
//!
//! A consumer is a name in `outbox_consumers`. Writing an event also writes one
//! `outbox_pending` row per consumer registered at that moment; a consumer
//! [`take`]s its own rows (claimed with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, under the writer lock on SQLite) and deletes them in the
//! transaction that does its work, so an event is handled once per consumer
//! whichever instance takes it, a rollback gives it back, and no consumer's
//! pace touches another's. Adding a consumer is registering a name
//! ([`register`]): it hears of every event written from then on.

use chrono::{DateTime, Utc};
use madoguchi_domain::events::EventType;
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    Value,
};
use uuid::Uuid;

use crate::{
    board::{is_pg, stmt},
    entities::{outbox, outbox_consumer},
    error::StoreError,
};

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: EventType,
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
            serde_json::Value::String(e.event_type.as_str().to_owned()),
        );
    }
    outbox::ActiveModel {
        event_id: Set(event_id),
        event_type: Set(e.event_type.as_str().to_owned()),
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
pub async fn append(db: &impl ConnectionTrait, e: NewEvent) -> Result<bool, StoreError> {
    Ok(append_many(db, std::iter::once(e)).await? == 1)
}

/// Record events, and that each registered consumer has them to read; returns
/// how many were new (dedupe keys already present are skipped).
pub async fn append_many(
    db: &impl ConnectionTrait,
    events: impl Iterator<Item = NewEvent>,
) -> Result<u64, StoreError> {
    let models: Vec<_> = events.map(outbox_model).collect();
    if models.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = models
        .iter()
        .filter_map(|m| match &m.event_id {
            sea_orm::ActiveValue::Set(id) => Some(*id),
            _ => None,
        })
        .collect();
    let n = outbox::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(outbox::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if n > 0 {
        // An event skipped for its dedupe key is not found by its new id.
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            db.execute(stmt(
                db,
                &format!(
                    "INSERT INTO outbox_pending (consumer, outbox_id) \
                     SELECT c.name, o.id FROM outbox o CROSS JOIN outbox_consumers c \
                     WHERE o.event_id IN ({})",
                    marks.join(", ")
                ),
                chunk.iter().map(|id| Value::from(*id)).collect(),
            ))
            .await?;
        }
    }
    if n > 0 && is_pg(db) {
        // Other instances' dispatchers hear of it when this transaction commits.
        db.execute(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT pg_notify('{CHANNEL}', '')"),
        ))
        .await?;
    }
    Ok(n)
}

/// The PostgreSQL channel on which a commit that wrote outbox events is announced.
pub const CHANNEL: &str = "madoguchi_outbox";

/// Call `wake` whenever any instance commits outbox events (PostgreSQL
/// `LISTEN`); reconnects after a lost connection. Returns at once on SQLite,
/// where every writer is in this process and wakes the consumers itself.
pub async fn listen(db: &crate::Db, wake: impl Fn()) {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CHANNEL).await {
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

/// An event as a consumer reads it.
#[derive(Debug, Clone)]
pub struct Event {
    /// The outbox's own order.
    pub id: i64,
    /// Stable across every consumer and retry (a webhook's `webhook-id`).
    pub event_id: Uuid,
    pub event_type: EventType,
    pub thread_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// Carries internal content: never for customer-scoped readers.
    pub internal: bool,
    /// The JSON payload as written (with `event_id` and `type`).
    pub payload: String,
    pub occurred_at: DateTime<Utc>,
}

fn from_model(m: outbox::Model) -> Result<Event, StoreError> {
    let event_type = EventType::parse(&m.event_type).ok_or_else(|| {
        StoreError::Db(sea_orm::DbErr::Custom(format!(
            "corrupt outbox row {}: unknown event type",
            m.id
        )))
    })?;
    Ok(Event {
        id: m.id,
        event_id: m.event_id,
        event_type,
        thread_id: m.thread_id,
        organization_id: m.organization_id,
        internal: m.internal,
        payload: m.payload,
        occurred_at: m.occurred_at,
    })
}

/// Make `consumer` a reader of the outbox: it hears of every event written
/// from now on. Registering again changes nothing, so every instance does it
/// at start-up.
pub async fn register(
    db: &impl ConnectionTrait,
    consumer: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbox_consumer::Entity::insert(outbox_consumer::ActiveModel {
        name: Set(consumer.to_owned()),
        registered_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(outbox_consumer::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Take up to `limit` of the events waiting for `consumer`, oldest first,
/// claiming them for the transaction `tx`: they are gone for every other
/// instance once it commits, and back if it rolls back. On PostgreSQL another
/// instance taking at the same time gets other events (`SKIP LOCKED`); on
/// SQLite `tx` must be a writer transaction ([`crate::begin_writer`]).
pub async fn take(
    tx: &impl ConnectionTrait,
    consumer: &str,
    limit: u64,
) -> Result<Vec<Event>, StoreError> {
    let limit = limit.min(10_000) as i64;
    let taken: Vec<i64> = if is_pg(tx) {
        tx.query_all(stmt(
            tx,
            "DELETE FROM outbox_pending WHERE consumer = $1 AND outbox_id IN \
               (SELECT outbox_id FROM outbox_pending WHERE consumer = $1 \
                ORDER BY outbox_id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING outbox_id",
            vec![consumer.into(), limit.into()],
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<i64>("", "outbox_id"))
        .collect::<Result<_, _>>()?
    } else {
        let ids: Vec<i64> = tx
            .query_all(stmt(
                tx,
                "SELECT outbox_id FROM outbox_pending WHERE consumer = $1 \
                 ORDER BY outbox_id LIMIT $2",
                vec![consumer.into(), limit.into()],
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<i64>("", "outbox_id"))
            .collect::<Result<_, _>>()?;
        if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
            tx.execute(stmt(
                tx,
                "DELETE FROM outbox_pending WHERE consumer = $1 AND outbox_id BETWEEN $2 AND $3",
                vec![consumer.into(), (*first).into(), (*last).into()],
            ))
            .await?;
        }
        ids
    };
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let mut events = Vec::with_capacity(taken.len());
    for chunk in taken.chunks(500) {
        for m in outbox::Entity::find()
            .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(outbox::Column::Id)
            .all(tx)
            .await?
        {
            events.push(from_model(m)?);
        }
    }
    events.sort_by_key(|e| e.id);
    Ok(events)
}

/// How many events wait for `consumer` (for `/metrics`).
pub async fn backlog(db: &impl ConnectionTrait, consumer: &str) -> Result<u64, StoreError> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n FROM outbox_pending WHERE consumer = $1",
            vec![consumer.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64)
}
