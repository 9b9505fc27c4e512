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
        &state.db,
        p,
        &[Role::Admin],
        "audit.read",
        Some(Object::kind("audit_event")),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let page = audit::list(&tx, &filter, before, limit).await?;
    record(
        &tx,
        entry(
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
