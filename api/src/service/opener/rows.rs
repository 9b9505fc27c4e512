//! Rows every thread write shares: its outbox event, its queue position, the
//! role written beside a post's author.

use chrono::{DateTime, Utc};
use madoguchi_domain::{
    board::{AuthorRole, ThreadSla},
    events::EventType,
};
use madoguchi_persistence::{board::ThreadRecord, outbox::NewEvent};
use serde_json::json;

use crate::{http::problem::ApiError, security::principal::Principal};

/// The longest a document's token stream is indexed (PostgreSQL caps positions).
pub(crate) const MAX_TOKENS: usize = madoguchi_domain::board::search::MAX_DOCUMENT_TOKENS;

/// The error of a clock computation the calendar could not do.
pub(crate) fn cal_err(e: madoguchi_domain::calendar::CalendarError) -> ApiError {
    ApiError::from(e)
}

/// The role recorded with a post, so a reader sees who wrote it without a join.
pub(crate) fn author_role(p: &Principal) -> AuthorRole {
    AuthorRole::of(p.role())
}

/// The outbox event of a change to thread `t`.
pub(crate) fn thread_event(
    event_type: EventType,
    t: &ThreadRecord,
    internal: bool,
    at: DateTime<Utc>,
    extra: serde_json::Value,
) -> NewEvent {
    let mut payload = json!({
        "thread_number": t.number,
        "organization_id": t.organization_id,
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "occurred_at": madoguchi_domain::time::to_wire(at).to_rfc3339(),
    });
    if let (Some(obj), Some(more)) = (payload.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    NewEvent {
        event_type,
        dedupe_key: None,
        thread_id: Some(t.id),
        organization_id: Some(t.organization_id),
        internal,
        payload,
        occurred_at: at,
    }
}

/// Store the thread's queue position from its clocks at `now`.
pub(crate) fn apply_urgency(t: &mut ThreadRecord, sla: &ThreadSla, now: DateTime<Utc>) {
    let (due, breached) = sla.urgency(now);
    t.next_due_at = due;
    t.breached = breached;
}
