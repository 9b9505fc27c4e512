//! The support board's use cases: threads, posts, the queue, search, SLA
//! policies, and the background work on clocks (sweeping, re-projection).

mod full_text;
mod posts;
mod sla_policies;
mod sweeper;
mod threads;

pub use full_text::*;
pub use posts::*;
pub use sla_policies::*;
pub use sweeper::*;
pub use threads::*;

use madoguchi_domain::Action;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use madoguchi_domain::{
    board::{
        search, sla::Author, Category, Channel, ClockCause, ClockEvent, ClockEventKind, PostBody,
        Priority, SlaPolicy, SlaPolicySet, Tags, ThreadSla, ThreadStatus, ThreadTitle, Visibility,
    },
    calendar::BusinessCalendar,
    events::EventType,
    Role, ValidationError,
};
use madoguchi_persistence::{
    audit::Outcome,
    begin, board,
    board::{PostRecord, QueueKey, SearchScope, ThreadFilter, ThreadRecord},
    commit, organizations,
    outbox::{self, NewEvent},
    users, Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, entry, hidden, record, record_success, Object};
pub(crate) use crate::service::opener::{
    open_threads_in,
    rows::{apply_urgency, author_role, cal_err, thread_event, MAX_TOKENS},
    OpenRequest, Opened, Opening,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    security::principal::Principal,
};

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

/// The thread as `p` may see it: a customer (or a key acting as one) sees the
/// version and last change of what they can see, so an internal note shows
/// neither in the thread, its `ETag`, nor its `updated_at`.
pub(crate) fn seen_by(v: crate::service::Viewer, mut thread: ThreadRecord) -> ThreadRecord {
    if !v.is_staff() {
        thread.version = thread.public_version;
        thread.updated_at = thread.public_updated_at;
        thread.post_count = thread.public_post_count;
    }
    thread
}

fn view(p: &Principal, thread: ThreadRecord, sla: ThreadSla) -> ThreadView {
    seen_as(crate::service::Viewer::of(p), thread, sla)
}

/// The thread and its clocks as `v` sees them.
pub(crate) fn seen_as(
    v: crate::service::Viewer,
    thread: ThreadRecord,
    sla: ThreadSla,
) -> ThreadView {
    let thread = seen_by(v, thread);
    let post_count = thread.post_count;
    ThreadView {
        thread,
        sla,
        post_count,
    }
}

fn collect<T>(errors: &mut Vec<ValidationError>, r: Result<T, ValidationError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// The thread if the caller may see it; otherwise the refusal is audited and
/// answered as "not found". Reads on the read pool: writers re-read under lock.
async fn visible_thread(
    state: &AppState,
    p: &Principal,
    number: i64,
    action: Action,
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

/// Create a thread with its first post, clocks, search entries, outbox event and
/// audit entry, inside the caller's transaction.
pub(crate) async fn open_thread_in(
    state: &AppState,
    tx: &madoguchi_persistence::Tx,
    p: &Principal,
    o: Opening,
) -> Opened {
    let cal = state.calendar.get();
    let mut out = open_threads_in(
        tx,
        &cal,
        state.config.warn_permille,
        &state.clock,
        vec![OpenRequest::new(p, o)],
    )
    .await?;
    out.pop()
        .unwrap_or_else(|| Err(ApiError::internal("no thread opened")))
}
