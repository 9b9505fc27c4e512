//! The audit trail: append-only, written in the same transaction as the change it
//! records. There is deliberately no update or delete function here, and the
//! database refuses both with a trigger.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::{entities::audit_event, error::StoreError, page::Page};

/// The outcome of the audited attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Authenticated but not allowed (includes "not found" answers that hide another
    /// organization's object).
    Denied,
    /// The attempt itself failed, e.g. a wrong password.
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub occurred_at: DateTime<Utc>,
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub action: String,
    pub object_type: Option<&'static str>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// A stored entry, as admins read it.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
}

pub async fn append(db: &impl ConnectionTrait, e: NewAuditEvent) -> Result<i64, StoreError> {
    let m = audit_event::ActiveModel {
        occurred_at: Set(e.occurred_at),
        actor_type: Set(e.actor_type.to_owned()),
        actor_id: Set(e.actor_id),
        action: Set(e.action),
        object_type: Set(e.object_type.map(str::to_owned)),
        object_id: Set(e.object_id),
        ip: Set(e.ip),
        outcome: Set(e.outcome.as_str().to_owned()),
        request_id: Set(e.request_id),
        detail: Set(e.detail.map(|d| d.to_string())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(m.id)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first; `before` is the id of the last entry of the previous page.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<AuditEvent>, StoreError> {
    use audit_event::Column as C;
    let mut q = audit_event::Entity::find().order_by_desc(C::Id);
    if let Some(b) = before {
        q = q.filter(C::Id.lt(b));
    }
    if let Some(v) = &f.actor_id {
        q = q.filter(C::ActorId.eq(v.as_str()));
    }
    if let Some(v) = &f.object_type {
        q = q.filter(C::ObjectType.eq(v.as_str()));
    }
    if let Some(v) = &f.object_id {
        q = q.filter(C::ObjectId.eq(v.as_str()));
    }
    if let Some(v) = &f.action {
        q = q.filter(C::Action.eq(v.as_str()));
    }
    if let Some(v) = &f.outcome {
        q = q.filter(C::Outcome.eq(v.as_str()));
    }
    if let Some(v) = f.from {
        q = q.filter(C::OccurredAt.gte(v));
    }
    if let Some(v) = f.to {
        q = q.filter(C::OccurredAt.lt(v));
    }
    let rows = q.limit(limit + 1).all(db).await?;
    let rows = rows
        .into_iter()
        .map(|m| AuditEvent {
            id: m.id,
            occurred_at: m.occurred_at,
            actor_type: m.actor_type,
            actor_id: m.actor_id,
            action: m.action,
            object_type: m.object_type,
            object_id: m.object_id,
            ip: m.ip,
            outcome: m.outcome,
            request_id: m.request_id,
            detail: m.detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
        .collect();
    Ok(Page::from_overfetch(rows, limit))
}
