//! The support board's use cases: threads, posts, the queue, search, SLA
//! policies, and the background work on clocks (sweeping, re-projection).

mod full_text;
mod opening;
mod posts;
mod sla_policies;
mod sweeper;
mod threads;

pub use full_text::*;
pub(crate) use opening::*;
pub use posts::*;
pub use sla_policies::*;
pub use sweeper::*;
pub use threads::*;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use madoguchi_domain::{
    board::{
        search, sla::Author, Category, Channel, ClockEvent, ClockEventKind, PostBody, Priority,
        SlaPolicy, SlaPolicySet, Tags, ThreadSla, ThreadStatus, ThreadTitle, Visibility,
    },
    calendar::BusinessCalendar,
    Role, ValidationError,
};
use madoguchi_persistence::{
    audit::{NewAuditEvent, Outcome},
    begin, board,
    board::{NewEvent, PostRecord, QueueKey, SearchScope, ThreadFilter, ThreadRecord},
    commit, organizations, users, Conn, Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, entry, hidden, record, record_all, record_success, Object};
use crate::{
    auth::Principal,
    clock::Clock,
    context::RequestCtx,
    problem::{ApiError, ProblemType},
    state::AppState,
};

/// The longest a document's token stream is indexed (PostgreSQL caps positions).
const MAX_TOKENS: usize = 16_000;

/// A thread with its clocks, as the caller may see it.
pub struct ThreadView {
    pub thread: ThreadRecord,
    pub sla: ThreadSla,
    /// Posts the caller can see.
    pub post_count: i32,
}

impl ThreadView {
    /// Breached: recorded by the sweeper, or any clock already past due at `at`.
    pub fn breached(&self, at: DateTime<Utc>, cal: &BusinessCalendar) -> bool {
        self.thread.breached || self.sla.any_breached(at, cal)
    }
}

fn view(p: &Principal, thread: ThreadRecord, sla: ThreadSla) -> ThreadView {
    let post_count = if p.role().is_staff() {
        thread.post_count
    } else {
        thread.public_post_count
    };
    ThreadView {
        thread,
        sla,
        post_count,
    }
}

fn cal_err(e: madoguchi_domain::calendar::CalendarError) -> ApiError {
    ApiError::from(e)
}

fn collect<T>(errors: &mut Vec<ValidationError>, r: Result<T, ValidationError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

fn author_role(p: &Principal) -> &'static str {
    p.role().as_str()
}

/// The thread if the caller may see it; otherwise the refusal is audited and
/// answered as "not found". Reads on the read pool: writers re-read under lock.
async fn visible_thread(
    state: &AppState,
    p: &Principal,
    number: i64,
    action: &str,
) -> Result<ThreadRecord, ApiError> {
    let key = number.to_string();
    match board::get_by_number(&state.read, number).await {
        Ok(t)
            if p.actor()
                .may_see_organization(Some(t.organization_id.as_u128())) =>
        {
            Ok(t)
        }
        Ok(_) | Err(StoreError::NotFound) => {
            Err(hidden(state, p, action, Object::new("thread", &key)).await)
        }
        Err(e) => Err(e.into()),
    }
}

fn thread_event(
    event_type: &'static str,
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
        "occurred_at": at.to_rfc3339(),
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

fn apply_urgency(t: &mut ThreadRecord, sla: &ThreadSla, now: DateTime<Utc>) {
    let (due, breached) = sla.urgency(now);
    t.next_due_at = due;
    t.breached = breached;
}
