use madoguchi_domain::Role;
use madoguchi_persistence::{
    audit::{self, AuditEvent, AuditFilter, Outcome},
    begin, commit, Page,
};
use serde_json::json;

use super::{authorize, entry, record, Object};
use crate::{auth::Principal, problem::ApiError, state::AppState};

/// Reading the trail is itself an access worth recording.
pub async fn list(
    state: &AppState,
    p: &Principal,
    filter: AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<AuditEvent>, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        "audit.read",
        Some(Object::kind("audit_event")),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let page = audit::list(&tx, &filter, before, limit).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            "audit.read",
            Some(Object::kind("audit_event")),
            Outcome::Success,
            Some(json!({"returned": page.items.len()})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(page)
}

/// Walk the whole chain; the check itself is recorded.
pub async fn verify(state: &AppState, p: &Principal) -> Result<audit::Verification, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        "audit.verify",
        Some(Object::kind("audit_event")),
    )
    .await?;
    let v = audit::verify(&state.read).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "audit.verify",
            Some(Object::kind("audit_event")),
            Outcome::Success,
            Some(json!({"entries": v.entries, "ok": v.first_broken.is_none()})),
        ),
    )
    .await?;
    Ok(v)
}

/// Authorize and record an export before its first byte is sent.
pub async fn start_export(
    state: &AppState,
    p: &Principal,
    filter: &AuditFilter,
) -> Result<(), ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        "audit.export",
        Some(Object::kind("audit_event")),
    )
    .await?;
    record(
        &state.db,
        entry(state.now(),Some(p), "audit.export", Some(Object::kind("audit_event")), Outcome::Success,
            Some(json!({"filter": {
                "actor_id": filter.actor_id, "object_type": filter.object_type, "object_id": filter.object_id,
                "action": filter.action, "outcome": filter.outcome,
                "from": filter.from.map(|t| t.to_rfc3339()), "to": filter.to.map(|t| t.to_rfc3339()),
            }}))),
    )
    .await
}
