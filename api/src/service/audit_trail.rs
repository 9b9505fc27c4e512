use chrono::{DateTime, Utc};
use madoguchi_domain::Action;
use madoguchi_domain::{schedule::Schedule, ActorKind, Role};
use madoguchi_persistence::{
    audit::{self, AuditEvent, AuditFilter, Outcome},
    begin, commit, Page, StoreError,
};
use serde_json::json;

use super::{
    authorize, entry,
    jobs::{Job, JobFuture},
    record, Object,
};
use crate::{app::state::AppState, http::problem::ApiError, security::principal::Principal};

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
        Action::AuditRead,
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
            Action::AuditRead,
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
        Action::AuditVerify,
        Some(Object::kind("audit_event")),
    )
    .await?;
    let v = audit::verify(&state.read).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::AuditVerify,
            Some(Object::kind("audit_event")),
            Outcome::Success,
            Some(json!({"entries": v.entries, "ok": v.first_broken.is_none()})),
        ),
    )
    .await?;
    Ok(v)
}

/// The chain is checked by itself on the first business day of each month at
/// 09:00 in Tokyo, and the result recorded in the chain, so an admin
/// answering an audit finds a monthly verification there without having
/// remembered to run one.
pub struct MonthlyCheck;

impl Job for MonthlyCheck {
    fn name(&self) -> &'static str {
        "audit-chain-check"
    }

    fn schedule(&self) -> Option<Schedule> {
        Some(Schedule::FirstBusinessDayOfMonth { at: 9 * 3600 })
    }

    fn run<'a>(&'a self, state: &'a AppState, due_at: DateTime<Utc>) -> JobFuture<'a> {
        Box::pin(async move {
            let v = audit::verify(&state.read).await?;
            let ok = v.first_broken.is_none();
            let mut e = entry(
                state.now(),
                None,
                Action::AuditVerify,
                Some(Object::kind("audit_event")),
                if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                Some(json!({
                    "scheduled_for": madoguchi_domain::time::to_wire(due_at).to_rfc3339(),
                    "entries": v.entries,
                    "ok": ok,
                    "first_broken": v.first_broken.as_ref().map(|b| json!({"id": b.id, "reason": b.reason})),
                })),
            );
            e.actor_type = ActorKind::System.as_str();
            record(&state.db, e).await?;
            if !ok {
                tracing::error!(first_broken = ?v.first_broken.map(|b| b.id), "the monthly audit-chain check found a break");
            }
            Ok(())
        })
    }
}

/// Authorize and record an export before its first byte is sent.
async fn start_export(
    state: &AppState,
    p: &Principal,
    filter: &AuditFilter,
) -> Result<(), ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::AuditExport,
        Some(Object::kind("audit_event")),
    )
    .await?;
    record(
        &state.db,
        entry(state.now(),Some(p), Action::AuditExport, Some(Object::kind("audit_event")), Outcome::Success,
            Some(json!({"filter": {
                "actor_id": filter.actor_id, "object_type": filter.object_type, "object_id": filter.object_id,
                "action": filter.action, "outcome": filter.outcome,
                "from": filter.from.map(|t| t.to_rfc3339()), "to": filter.to.map(|t| t.to_rfc3339()),
            }}))),
    )
    .await
}

/// Entries fetched per database round trip while exporting.
const EXPORT_PAGE: u64 = 500;

/// The export of the entries `filter` selects, oldest first: authorized and
/// audited before anything is read, then read page by page as the stream is
/// polled, so memory stays constant whatever the trail's size. A storage error
/// mid-way ends the stream with that error.
pub async fn export(
    state: &AppState,
    p: &Principal,
    filter: AuditFilter,
) -> Result<
    impl futures_util::Stream<Item = Result<Vec<AuditEvent>, StoreError>> + Send + 'static,
    ApiError,
> {
    start_export(state, p, &filter).await?;
    let db = state.read.clone();
    // (position, finished): each step reads one page.
    Ok(futures_util::stream::unfold(
        (0i64, false),
        move |(after, done)| {
            let db = db.clone();
            let filter = filter.clone();
            async move {
                if done {
                    return None;
                }
                match audit::page_ascending(&db, &filter, after, EXPORT_PAGE).await {
                    Ok(rows) if rows.is_empty() => None,
                    Ok(rows) => {
                        let last = rows.last().map(|r| r.id).unwrap_or(after);
                        let full = rows.len() as u64 == EXPORT_PAGE;
                        Some((Ok(rows), (last, !full)))
                    }
                    Err(e) => Some((Err(e), (after, true))),
                }
            }
        },
    ))
}
