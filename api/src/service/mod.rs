//! Use cases. Each public function is one thing a caller can do: it checks the
//! caller's role, opens the transaction, does the work, appends the audit entry
//! in the same transaction, and commits.

pub mod announcements;
pub mod audit_trail;
pub mod auth;
pub mod board;
pub mod bootstrap;
pub mod calendar;
pub mod calls;
pub mod opener;
pub mod organizations;
pub mod users;

use chrono::{DateTime, Utc};
use madoguchi_domain::Role;
use madoguchi_persistence::audit::{self, NewAuditEvent, Outcome};

use crate::{auth::Principal, context::RequestCtx, problem::ApiError, state::AppState};

/// An object an audit entry is about.
pub struct Object<'a> {
    pub kind: &'static str,
    pub id: Option<&'a str>,
}

impl<'a> Object<'a> {
    pub fn new(kind: &'static str, id: &'a str) -> Self {
        Object { kind, id: Some(id) }
    }

    pub fn kind(kind: &'static str) -> Self {
        Object { kind, id: None }
    }
}

/// Build an audit entry for the current request.
pub fn entry(
    at: DateTime<Utc>,
    actor: Option<&Principal>,
    action: &str,
    object: Option<Object<'_>>,
    outcome: Outcome,
    detail: Option<serde_json::Value>,
) -> NewAuditEvent {
    let ctx = RequestCtx::current();
    NewAuditEvent {
        occurred_at: at,
        actor_type: if actor.is_some() { "user" } else { "anonymous" },
        actor_id: actor.map(|p| p.user.id.to_string()),
        action: action.to_owned(),
        object_type: object.as_ref().map(|o| o.kind),
        object_id: object.and_then(|o| o.id.map(str::to_owned)),
        ip: ctx.ip_string(),
        outcome,
        request_id: (!ctx.request_id.is_empty()).then_some(ctx.request_id),
        detail,
    }
}

/// Append an audit entry on `conn` (pass the transaction of the write it records).
pub async fn record<'a>(to: impl Into<audit::Sink<'a>>, e: NewAuditEvent) -> Result<(), ApiError> {
    audit::append(to, e)
        .await
        .map(|_| ())
        .map_err(ApiError::from)
}

/// Record that `p` successfully did `action` on `object` (a read, most often),
/// outside any transaction: the one shape every audited read takes.
pub async fn record_success(
    state: &AppState,
    p: &Principal,
    action: &str,
    object: Object<'_>,
    detail: Option<serde_json::Value>,
) -> Result<(), ApiError> {
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            action,
            Some(object),
            Outcome::Success,
            detail,
        ),
    )
    .await
}

/// Append several entries, chained in order, in the transaction of the writes
/// they record.
pub async fn record_all(
    tx: &madoguchi_persistence::Tx,
    entries: Vec<NewAuditEvent>,
) -> Result<(), ApiError> {
    if entries.is_empty() {
        return Ok(());
    }
    audit::append_batch(tx, entries)
        .await
        .map(|_| ())
        .map_err(ApiError::from)
}

/// Deny by default: the caller's role must be one of `allowed`. A refusal is
/// itself audited, so call this on the pool *before* opening the transaction of
/// the work: a refusal inside a transaction would be rolled back with it.
pub async fn authorize(
    state: &AppState,
    p: &Principal,
    allowed: &[Role],
    action: &str,
    object: Option<Object<'_>>,
) -> Result<(), ApiError> {
    if p.actor().has_role(allowed) {
        return Ok(());
    }
    record(
        &state.db,
        entry(state.now(), Some(p), action, object, Outcome::Denied, None),
    )
    .await?;
    Err(ApiError::forbidden_for(allowed))
}

/// Answer "not found" for an object the caller may not know exists, and audit the
/// attempt as denied.
pub async fn hidden(state: &AppState, p: &Principal, action: &str, object: Object<'_>) -> ApiError {
    if let Err(e) = record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            action,
            Some(object),
            Outcome::Denied,
            None,
        ),
    )
    .await
    {
        return e;
    }
    ApiError::not_found()
}
