//! The thread-opening core: what a new thread starts from, and the multi-row
//! write of a batch of them (used by the thread writer and by logged calls).

use chrono::{DateTime, Utc};
use madoguchi_domain::Action;
use madoguchi_domain::{
    board::{search, Channel, ClockCause, Priority, ThreadSla, ThreadStatus, Visibility},
    calendar::BusinessCalendar,
    events::EventType,
};
use madoguchi_persistence::{
    audit::{NewAuditEvent, Outcome},
    board::{self, PostRecord, ThreadRecord},
};
use serde_json::json;
use uuid::Uuid;

use super::rows::{apply_urgency, author_role, cal_err, thread_event, MAX_TOKENS};
use crate::{
    app::clock::Clock,
    http::context::RequestCtx,
    http::problem::ApiError,
    security::principal::Principal,
    service::journal::{entry, record_all, Object},
};

/// What a new thread starts from.
#[derive(Clone)]
pub(crate) struct Opening {
    pub organization_id: Uuid,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub channel: Channel,
    pub follow_up_of: Option<i64>,
    /// When the clocks start: the start of the call that opened it, or `None`
    /// for the instant the thread is written, so a thread's clocks start at its
    /// `created_at` however long the request waited for the writer.
    pub started_at: Option<DateTime<Utc>>,
    /// Opened by an answered call: the clinic has been spoken to, first response is met.
    pub answered_call: bool,
}

/// A thread to open and the audit entry of the request that asks for it, built
/// in that request's context (who, from where, request id) and completed with
/// the thread's number once it has one.
#[derive(Clone)]
pub(crate) struct OpenRequest {
    pub principal: Principal,
    pub opening: Opening,
    pub audit: NewAuditEvent,
    /// So that an error met while writing it is logged under its request id.
    pub ctx: RequestCtx,
}

impl OpenRequest {
    /// Must be called in the asking request's context.
    pub(crate) fn new(p: &Principal, opening: Opening) -> Self {
        OpenRequest {
            principal: p.clone(),
            // Timed when the thread is written (see `open_threads_in`).
            audit: entry(
                DateTime::<Utc>::UNIX_EPOCH,
                Some(p),
                Action::ThreadCreate,
                Some(Object::kind("thread")),
                Outcome::Success,
                None,
            ),
            opening,
            ctx: RequestCtx::current(),
        }
    }
}

/// The outcome of one request to open a thread.
pub(crate) type Opened = Result<(ThreadRecord, ThreadSla), ApiError>;

/// Create threads, each with its first post, clocks, search entries, outbox
/// event and audit entry, inside the caller's transaction, with a few
/// multi-row statements for all of them. A request whose clocks cannot be
/// computed gets its own error and takes no number; the others go on. The
/// outer error means the transaction must be abandoned.
pub(crate) async fn open_threads_in(
    tx: &madoguchi_persistence::Tx,
    cal: &BusinessCalendar,
    warn: u32,
    clock: &Clock,
    requests: Vec<OpenRequest>,
) -> Result<Vec<Opened>, ApiError> {
    // The first statement writes: on SQLite a transaction that reads first cannot
    // take the write lock later if another instance wrote in between.
    board::lock_numbers(tx).await?;
    let (policies, _) = board::policies(tx).await?;
    // Read after the lock: a thread is created when it is written.
    let at = clock.now();
    let mut prepared = Vec::with_capacity(requests.len());
    for r in requests {
        let o = &r.opening;
        let start = o.started_at.unwrap_or(at);
        let computed = ThreadSla::open(policies.get(o.priority), start, cal, warn)
            .and_then(|(mut sla, mut events)| {
                if o.answered_call {
                    events.extend(sla.on_answered_call(start, cal, &ClockCause::CallAnswered)?);
                }
                Ok((sla, events))
            })
            .map_err(cal_err);
        prepared.push((r, computed));
    }
    let ok = prepared.iter().filter(|(_, c)| c.is_ok()).count();
    let mut number = if ok > 0 {
        board::next_numbers(tx, ok).await?
    } else {
        0
    };
    let mut rows = Vec::with_capacity(ok);
    let mut audits = Vec::with_capacity(ok);
    let mut out = Vec::with_capacity(prepared.len());
    for (r, computed) in prepared {
        let (sla, events) = match computed {
            Ok(c) => c,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        let OpenRequest {
            principal: p,
            opening: o,
            audit: mut audit_entry,
            ..
        } = r;
        let staff = p.role().is_staff();
        let mut thread = ThreadRecord {
            id: Uuid::now_v7(),
            number,
            organization_id: o.organization_id,
            title: o.title,
            category: o.category,
            priority: o.priority,
            status: if o.answered_call {
                ThreadStatus::Open
            } else {
                ThreadStatus::New
            },
            channel: o.channel,
            assignee_id: None,
            created_by: p.user_id(),
            follow_up_of: o.follow_up_of,
            policy: policies,
            tags: o.tags,
            post_count: 1,
            public_post_count: 1,
            last_public_post_at: Some(at),
            last_public_by_staff: staff,
            next_due_at: None,
            breached: false,
            version: 1,
            created_at: at,
            updated_at: at,
            public_version: 1,
            public_updated_at: at,
        };
        number += 1;
        apply_urgency(&mut thread, &sla, at);
        let first_post = PostRecord {
            id: Uuid::now_v7(),
            thread_id: thread.id,
            author_id: p.user_id(),
            author_name: p.display_name().to_owned(),
            author_role: author_role(&p),
            visibility: Visibility::Public,
            body: o.body,
            created_at: at,
        };
        let event = thread_event(
            EventType::ThreadCreated,
            &thread,
            false,
            at,
            json!({"title": thread.title, "channel": thread.channel.as_str()}),
        );
        audit_entry.occurred_at = at;
        audit_entry.object_id = Some(thread.number.to_string());
        audit_entry.detail = Some(json!({
            "organization_id": thread.organization_id,
            "priority": thread.priority.as_str(),
            "channel": thread.channel.as_str(),
        }));
        audits.push(audit_entry);
        out.push(Ok((thread.clone(), sla.clone())));
        rows.push(board::NewThreadRows {
            title_tokens: search::document_tokens(&thread.title, MAX_TOKENS),
            body_tokens: search::document_tokens(&first_post.body, MAX_TOKENS),
            thread,
            first_post,
            sla,
            clock_events: events,
            event,
        });
    }
    board::insert_new_threads(tx, &rows).await?;
    record_all(tx, audits).await?;
    Ok(out)
}
