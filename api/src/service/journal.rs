//! Audit entries as services write them: who (the acting principal), from where
//! (the request's context), what, and the outcome. A leaf module, so the thread
//! writer can use it without reaching the application state.

use chrono::{DateTime, Utc};
use madoguchi_domain::Action;
use madoguchi_domain::ActorKind;
use madoguchi_persistence::audit::{self, NewAuditEvent, Outcome};

use crate::{http::context::RequestCtx, http::problem::ApiError, security::principal::Principal};

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
    action: Action,
    object: Option<Object<'_>>,
    outcome: Outcome,
    detail: Option<serde_json::Value>,
) -> NewAuditEvent {
    let ctx = RequestCtx::current();
    NewAuditEvent {
        occurred_at: at,
        actor_type: actor.map_or(ActorKind::Anonymous, Principal::kind).as_str(),
        actor_id: actor.map(|p| p.id().to_string()),
        action: action.as_str().to_owned(),
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
