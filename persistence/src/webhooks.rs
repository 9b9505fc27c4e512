//! Webhook subscriptions, their deliveries and each attempt.
//!
//! An outbox event becomes one delivery per subscription that wants it
//! ([`fan_out`]); a delivery is claimed by one dispatcher at a time
//! ([`claim_due`]: a lease in `leased_until` on the database's clock, taken on
//! PostgreSQL over rows
//! picked `FOR UPDATE SKIP LOCKED`, so no other instance takes it while the
//! request is out),
//! and every attempt is logged ([`record_attempt`]).

use chrono::{DateTime, Utc};
use madoguchi_domain::integrations::subscription_wants;
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    board::is_pg,
    entities::{webhook, webhook_attempt, webhook_delivery},
    error::StoreError,
    outbox::Event,
    page::Page,
};

/// A subscription. Its secrets sign deliveries, so they are kept as written.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub organization_id: Option<Uuid>,
    pub enabled: bool,
    pub description: Option<String>,
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// The secrets that sign a delivery made at `now`: the current one, and the
    /// previous one for 24 hours after a rotation.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(p), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if until > now {
                out.push(p);
            }
        }
        out
    }
}

fn from_model(m: webhook::Model) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: m.id,
        url: m.url,
        event_types: m
            .event_types
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        organization_id: m.organization_id,
        enabled: m.enabled,
        description: m.description,
        secret: m.secret,
        previous_secret: m.previous_secret,
        previous_secret_until: m.previous_secret_until,
        disabled_reason: m.disabled_reason,
        failing_since: m.failing_since,
        version: m.version,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn active(w: &Webhook) -> webhook::ActiveModel {
    webhook::ActiveModel {
        id: Set(w.id),
        url: Set(w.url.clone()),
        event_types: Set(w.event_types.join(" ")),
        organization_id: Set(w.organization_id),
        enabled: Set(w.enabled),
        description: Set(w.description.clone()),
        secret: Set(w.secret.clone()),
        previous_secret: Set(w.previous_secret.clone()),
        previous_secret_until: Set(w.previous_secret_until),
        disabled_reason: Set(w.disabled_reason.clone()),
        failing_since: Set(w.failing_since),
        version: Set(w.version),
        created_by: Set(w.created_by),
        created_at: Set(w.created_at),
        updated_at: Set(w.updated_at),
    }
}

pub async fn insert(db: &impl ConnectionTrait, w: &Webhook) -> Result<(), StoreError> {
    webhook::Entity::insert(active(w))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Webhook, StoreError> {
    crate::page::by_id::<webhook::Entity, _>(db, id, from_model).await
}

/// Newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Webhook>, StoreError> {
    let mut q = webhook::Entity::find().order_by_desc(webhook::Column::Id);
    if let Some(b) = before {
        q = q.filter(webhook::Column::Id.lt(b));
    }
    Page::fetch(db, q, limit, from_model).await
}

/// Save a changed subscription if it is still at `expected_version`; bumps it.
pub async fn update(
    db: &impl ConnectionTrait,
    w: &mut Webhook,
    expected_version: i32,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    w.version = expected_version + 1;
    w.updated_at = now;
    let res = webhook::Entity::update_many()
        .set(active(w))
        .filter(webhook::Column::Id.eq(w.id))
        .filter(webhook::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        w.version = expected_version;
        get(db, w.id).await?;
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Remove a subscription with its deliveries and their attempts.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    let deliveries: Vec<Uuid> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    for chunk in deliveries.chunks(500) {
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(db)
        .await?;
    let res = webhook::Entity::delete_by_id(id).exec(db).await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// ---- deliveries -------------------------------------------------------------

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (the first included).
    Pending,
    Delivered,
    /// Out of retries; a manual retry sends it again.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            other => {
                return Err(StoreError::Db(sea_orm::DbErr::Custom(format!(
                    "corrupt delivery status {other:?}"
                ))))
            }
        })
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// `webhook-id`: the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    /// The body as signed and sent.
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

fn delivery_from(m: webhook_delivery::Model) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: m.id,
        webhook_id: m.webhook_id,
        event_id: m.event_id,
        event_type: m.event_type,
        body: m.body,
        status: DeliveryStatus::parse(&m.status)?,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        last_status_code: m.last_status_code,
        last_error: m.last_error,
        created_at: m.created_at,
        delivered_at: m.delivered_at,
    })
}

/// A delivery to make now.
pub struct NewDelivery<'a> {
    pub webhook_id: Uuid,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub body: String,
}

fn new_delivery(d: NewDelivery<'_>, now: DateTime<Utc>) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        webhook_id: Set(d.webhook_id),
        event_id: Set(d.event_id.to_owned()),
        event_type: Set(d.event_type.to_owned()),
        body: Set(d.body),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
        leased_until: Set(None),
    }
}

/// Queue one delivery (a ping); returns its id.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    d: NewDelivery<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let m = new_delivery(d, now);
    let id = match &m.id {
        sea_orm::ActiveValue::Set(id) => *id,
        _ => Uuid::nil(),
    };
    m.insert(db).await?;
    Ok(id)
}

/// The Standard Webhooks body of an outbox event.
fn event_body(e: &Event) -> String {
    let data = serde_json::from_str::<serde_json::Value>(&e.payload).unwrap_or(json!({}));
    json!({
        "type": e.event_type.as_str(),
        "timestamp": madoguchi_domain::time::to_wire(e.occurred_at).to_rfc3339(),
        "data": data,
    })
    .to_string()
}

/// Every subscription matching `condition`.
async fn subscriptions_where(
    db: &impl ConnectionTrait,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<Webhook>, StoreError> {
    webhook::Entity::find()
        .filter(condition)
        .all(db)
        .await?
        .into_iter()
        .map(from_model)
        .collect()
}

/// Turn outbox events (taken by the webhook consumer, in the same
/// transaction) into deliveries for the enabled subscriptions that want them
/// and were created before the event. A delivery is unique per (subscription,
/// event), so an event handed over twice makes no second delivery.
pub async fn fan_out(
    db: &impl ConnectionTrait,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let subs = subscriptions_where(db, webhook::Column::Enabled.eq(true)).await?;
    let mut rows = Vec::new();
    for e in events {
        let body = event_body(e);
        let event_id = format!("msg_{}", e.event_id.simple());
        for s in subs.iter().filter(|s| {
            s.created_at <= e.occurred_at
                && subscription_wants(
                    &s.event_types,
                    s.organization_id.map(|o| o.as_u128()),
                    e.event_type,
                    e.organization_id.map(|o| o.as_u128()),
                    e.internal,
                )
        }) {
            rows.push(new_delivery(
                NewDelivery {
                    webhook_id: s.id,
                    event_id: &event_id,
                    event_type: e.event_type.as_str(),
                    body: body.clone(),
                },
                now,
            ));
        }
    }
    for chunk in rows.chunks(200).map(<[_]>::to_vec) {
        webhook_delivery::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    webhook_delivery::Column::WebhookId,
                    webhook_delivery::Column::EventId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .do_nothing()
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A claimed delivery with the subscription it goes to.
pub struct Claimed {
    pub delivery: Delivery,
    pub webhook: Webhook,
}

/// Claim up to `limit` deliveries that are due (`next_attempt_at` at or before
/// `now`, the application's clock) and not leased, and lease them for `lease`,
/// so no other dispatcher takes them while their request is out. The lease is
/// measured on the database's clock, not the application's: a clock moved
/// forward, or an instance whose clock runs ahead of the others', must not end
/// a lease early and send an event twice. (SQLite's instances share one
/// machine, whose clock that is.) A subscription gets at most `share`
/// requests out at once: `busy` says how many it has out already, and those at
/// their share are not even read. A dispatcher that dies mid-request leaves the
/// lease to run out; the delivery is then attempted again.
///
/// On PostgreSQL this is one statement outside any transaction (the rows are
/// picked with `FOR UPDATE SKIP LOCKED`, each subscription's first ones kept
/// by `row_number()`, and leased by the same `UPDATE … RETURNING`); on SQLite
/// a select and an update in a writer transaction.
pub async fn claim_due(
    db: &crate::Db,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: u64,
    busy: &std::collections::HashMap<Uuid, usize>,
    share: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let rows = if is_pg(db) {
        claim_pg(db, now, lease, limit, busy, share).await?
    } else {
        let tx = crate::begin_writer(db).await?;
        let rows = claim_sqlite(&tx, now, lease, limit, busy, share).await?;
        crate::commit(tx).await?;
        rows
    };
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut hook_ids: Vec<Uuid> = rows.iter().map(|r| r.webhook_id).collect();
    hook_ids.sort();
    hook_ids.dedup();
    let hooks = subscriptions_where(db, webhook::Column::Id.is_in(hook_ids)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(w) = hooks.iter().find(|w| w.id == r.webhook_id) else {
            continue;
        };
        out.push(Claimed {
            webhook: w.clone(),
            delivery: delivery_from(r)?,
        });
    }
    Ok(out)
}

async fn claim_pg(
    db: &crate::Db,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: u64,
    busy: &std::collections::HashMap<Uuid, usize>,
    share: usize,
) -> Result<Vec<webhook_delivery::Model>, StoreError> {
    let mut values: Vec<sea_orm::Value> = vec![
        lease.num_milliseconds().into(),
        now.into(),
        i64::try_from(limit).unwrap_or(i64::MAX).into(),
        i64::try_from(share).unwrap_or(i64::MAX).into(),
    ];
    // What each subscription already has out, as a VALUES list to join on.
    let mut used = Vec::with_capacity(busy.len());
    for (hook, n) in busy {
        let b = values.len();
        used.push(format!("(${}::uuid, ${}::bigint)", b + 1, b + 2));
        values.push((*hook).into());
        values.push(i64::try_from(*n).unwrap_or(i64::MAX).into());
    }
    let used = if used.is_empty() {
        "SELECT NULL::uuid, 0::bigint WHERE false".to_owned()
    } else {
        format!("VALUES {}", used.join(", "))
    };
    let sql = format!(
        "WITH used(hook, n) AS ({used}), \
         due AS (SELECT d.id, d.webhook_id, d.next_attempt_at FROM webhook_deliveries d \
           WHERE d.status = 'pending' AND d.next_attempt_at <= $2 \
           AND (d.leased_until IS NULL OR d.leased_until <= clock_timestamp()) \
           AND d.webhook_id IN (SELECT w.id FROM webhooks w WHERE w.enabled) \
           AND d.webhook_id NOT IN (SELECT hook FROM used WHERE n >= $4) \
           ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED), \
         ranked AS (SELECT due.id, row_number() OVER (PARTITION BY due.webhook_id \
           ORDER BY due.next_attempt_at, due.id) + COALESCE(used.n, 0) AS place \
           FROM due LEFT JOIN used ON used.hook = due.webhook_id) \
         UPDATE webhook_deliveries AS d \
           SET leased_until = clock_timestamp() + $1::bigint * interval '1 millisecond' FROM ranked \
         WHERE d.id = ranked.id AND ranked.place <= $4 RETURNING d.*"
    );
    let stmt =
        sea_orm::Statement::from_sql_and_values(sea_orm::DatabaseBackend::Postgres, sql, values);
    let mut rows = webhook_delivery::Entity::find()
        .from_raw_sql(stmt)
        .all(db)
        .await?;
    rows.sort_by_key(|r| r.next_attempt_at);
    Ok(rows)
}

async fn claim_sqlite(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: u64,
    busy: &std::collections::HashMap<Uuid, usize>,
    share: usize,
) -> Result<Vec<webhook_delivery::Model>, StoreError> {
    // The machine's clock, which every instance on this file shares: see `claim_due`.
    let machine_now = Utc::now();
    let full: Vec<Uuid> = busy
        .iter()
        .filter(|(_, n)| **n >= share)
        .map(|(id, _)| *id)
        .collect();
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(
            webhook_delivery::Column::LeasedUntil
                .is_null()
                .or(webhook_delivery::Column::LeasedUntil.lte(machine_now)),
        )
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit);
    if !full.is_empty() {
        q = q.filter(webhook_delivery::Column::WebhookId.is_not_in(full));
    }
    // A disabled subscription's deliveries wait until it is enabled again.
    q = q.filter(
        webhook_delivery::Column::WebhookId.in_subquery(
            sea_orm::sea_query::Query::select()
                .column(webhook::Column::Id)
                .from(webhook::Entity)
                .and_where(webhook::Column::Enabled.eq(true))
                .to_owned(),
        ),
    );
    // Only a subscription's share is leased; the rest stays due for the next
    // round.
    let mut counts = busy.clone();
    let rows: Vec<_> = q
        .all(db)
        .await?
        .into_iter()
        .filter(|r| {
            let n = counts.entry(r.webhook_id).or_default();
            *n += 1;
            *n <= share
        })
        .collect();
    if rows.is_empty() {
        return Ok(rows);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LeasedUntil,
            Some(machine_now + lease).into(),
        )
        .filter(webhook_delivery::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(rows)
}

/// Which of `ids` are still deliveries (a subscription's deletion takes its own).
pub async fn existing_deliveries(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let found: Vec<Uuid> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Id)
            .filter(webhook_delivery::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// What one attempt met.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Log an attempt and move its delivery on.
pub async fn record_attempt(
    db: &impl ConnectionTrait,
    a: &Attempt,
    outcome: Outcome,
) -> Result<(), StoreError> {
    webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(a.delivery_id),
        attempted_at: Set(a.attempted_at),
        status_code: Set(a.status_code),
        latency_ms: Set(a.latency_ms),
        response_excerpt: Set(a.response_excerpt.clone()),
        error: Set(a.error.clone()),
    }
    .insert(db)
    .await?;
    let (status, next, delivered) = match outcome {
        Outcome::Delivered => (DeliveryStatus::Delivered, None, Some(a.attempted_at)),
        Outcome::RetryAt(t) => (DeliveryStatus::Pending, Some(t), None),
        Outcome::Failed => (DeliveryStatus::Failed, None, None),
    };
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, status.as_str().into())
        .col_expr(webhook_delivery::Column::NextAttemptAt, next.into())
        .col_expr(
            webhook_delivery::Column::LeasedUntil,
            Option::<DateTime<Utc>>::None.into(),
        )
        .col_expr(webhook_delivery::Column::DeliveredAt, delivered.into())
        .col_expr(
            webhook_delivery::Column::Attempts,
            sea_orm::sea_query::Expr::col(webhook_delivery::Column::Attempts).add(1),
        )
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            a.status_code.into(),
        )
        .col_expr(webhook_delivery::Column::LastError, a.error.clone().into())
        .filter(webhook_delivery::Column::Id.eq(a.delivery_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Log many attempts and move their deliveries on, in few statements: one
/// multi-row insert for the attempts and, on PostgreSQL, one `UPDATE … FROM
/// (VALUES …)` for the deliveries (SQLite, whose statements cost no round
/// trip, updates them one by one).
pub async fn record_attempts(
    db: &impl ConnectionTrait,
    done: &[(Attempt, Outcome)],
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    if !is_pg(db) {
        for (a, o) in done {
            record_attempt(db, a, *o).await?;
        }
        return Ok(());
    }
    for chunk in done.chunks(200) {
        let rows: Vec<webhook_attempt::ActiveModel> = chunk
            .iter()
            .map(|(a, _)| webhook_attempt::ActiveModel {
                id: Set(Uuid::now_v7()),
                delivery_id: Set(a.delivery_id),
                attempted_at: Set(a.attempted_at),
                status_code: Set(a.status_code),
                latency_ms: Set(a.latency_ms),
                response_excerpt: Set(a.response_excerpt.clone()),
                error: Set(a.error.clone()),
            })
            .collect();
        webhook_attempt::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 6);
        let mut tuples = Vec::with_capacity(chunk.len());
        for (i, (a, o)) in chunk.iter().enumerate() {
            let (status, next, delivered) = match o {
                Outcome::Delivered => (DeliveryStatus::Delivered, None, Some(a.attempted_at)),
                Outcome::RetryAt(t) => (DeliveryStatus::Pending, Some(*t), None),
                Outcome::Failed => (DeliveryStatus::Failed, None, None),
            };
            let b = i * 6;
            tuples.push(format!(
                "(${}::uuid, ${}::varchar, ${}::timestamptz, ${}::timestamptz, ${}::int, ${}::varchar)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            values.push(a.delivery_id.into());
            values.push(status.as_str().into());
            values.push(next.into());
            values.push(delivered.into());
            values.push(a.status_code.into());
            values.push(a.error.clone().into());
        }
        let sql = format!(
            "UPDATE webhook_deliveries AS d SET status = v.status, next_attempt_at = v.next, \
             leased_until = NULL, delivered_at = v.delivered, attempts = d.attempts + 1, last_status_code = v.code, \
             last_error = v.err FROM (VALUES {}) AS v(id, status, next, delivered, code, err) \
             WHERE d.id = v.id",
            tuples.join(", ")
        );
        db.execute(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    }
    Ok(())
}

/// Note a subscription's health after an attempt: a success clears
/// `failing_since`, a failure sets it if unset. Returns the instant it has been
/// failing since (after this attempt).
pub async fn note_health(
    db: &impl ConnectionTrait,
    id: Uuid,
    ok: bool,
    at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    if ok {
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::FailingSince,
                Option::<DateTime<Utc>>::None.into(),
            )
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::FailingSince.is_not_null())
            .exec(db)
            .await?;
        return Ok(None);
    }
    webhook::Entity::update_many()
        .col_expr(webhook::Column::FailingSince, Some(at).into())
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::FailingSince.is_null())
        .exec(db)
        .await?;
    Ok(get(db, id).await?.failing_since)
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub event_type: Option<String>,
}

/// A subscription's deliveries, newest first.
pub async fn list_deliveries(
    db: &impl ConnectionTrait,
    webhook_id: Uuid,
    f: &DeliveryFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Delivery>, StoreError> {
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::Id);
    if let Some(s) = f.status {
        q = q.filter(webhook_delivery::Column::Status.eq(s.as_str()));
    }
    if let Some(t) = &f.event_type {
        q = q.filter(webhook_delivery::Column::EventType.eq(t.as_str()));
    }
    if let Some(b) = before {
        q = q.filter(webhook_delivery::Column::Id.lt(b));
    }
    Page::fetch(db, q, limit, delivery_from).await
}

pub async fn get_delivery(db: &impl ConnectionTrait, id: Uuid) -> Result<Delivery, StoreError> {
    crate::page::by_id::<webhook_delivery::Entity, _>(db, id, delivery_from).await
}

/// The attempts of a delivery, oldest first.
pub async fn attempts(
    db: &impl ConnectionTrait,
    delivery_id: Uuid,
) -> Result<Vec<Attempt>, StoreError> {
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(webhook_attempt::Column::AttemptedAt)
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| Attempt {
            delivery_id: m.delivery_id,
            attempted_at: m.attempted_at,
            status_code: m.status_code,
            latency_ms: m.latency_ms,
            response_excerpt: m.response_excerpt,
            error: m.error,
        })
        .collect())
}

/// Send a delivery again now (a manual retry), whatever its status.
pub async fn retry_now(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            DeliveryStatus::Pending.as_str().into(),
        )
        .col_expr(webhook_delivery::Column::NextAttemptAt, Some(now).into())
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
