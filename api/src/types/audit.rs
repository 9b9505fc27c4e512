//! The audit trail.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::time::to_wire;
use madoguchi_persistence::audit::AuditEvent;
use poem_openapi::Object;

/// One audited access.
#[derive(Debug, Object)]
pub struct AuditEventDto {
    pub id: i64,
    pub occurred_at: DateTime<FixedOffset>,
    /// `user`, `api_key`, `anonymous` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    /// e.g. `auth.login`, `user.create`, `organization.read`.
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    pub request_id: Option<String>,
    pub detail: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// SHA-256 link of this entry in the tamper-evident chain.
    pub hash: Option<String>,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        AuditEventDto {
            id: e.id,
            occurred_at: to_wire(e.occurred_at),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            ip: e.ip,
            outcome: e.outcome,
            request_id: e.request_id,
            detail: e.detail.map(|d| match d {
                serde_json::Value::Object(m) => m.into_iter().collect(),
                // Every entry writes an object; anything else is shown under `value`.
                other => std::iter::once(("value".to_owned(), other)).collect(),
            }),
            hash: e.hash,
        }
    }
}

/// Where the audit chain first breaks.
#[derive(Debug, Object)]
pub struct ChainBreak {
    /// The first entry that does not verify.
    pub id: i64,
    /// `edited`, `missing` or `reordered`.
    pub reason: String,
}

#[derive(Debug, Object)]
pub struct AuditVerification {
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    pub first_broken: Option<ChainBreak>,
}

#[derive(Debug, Object)]
pub struct AuditEventList {
    pub items: Vec<AuditEventDto>,
    pub next_cursor: Option<String>,
}
