//! The support board's use cases: threads, posts, the queue, search, SLA
//! policies, and the background work on clocks (sweeping, re-projection).

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

use super::{authorize, entry, hidden, record, record_all, Object};
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

pub struct NewThread<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub category: Option<&'a str>,
    pub priority: Option<Priority>,
    pub tags: Option<Vec<String>>,
    pub organization_id: Option<Uuid>,
    pub follow_up_of: Option<i64>,
}

pub async fn create_thread(
    state: &AppState,
    p: &Principal,
    new: NewThread<'_>,
) -> Result<ThreadView, ApiError> {
    authorize(
        state,
        p,
        Role::ANYONE,
        "thread.create",
        Some(Object::kind("thread")),
    )
    .await?;
    let mut errors = Vec::new();
    let title = collect(&mut errors, ThreadTitle::parse(new.title));
    let body = collect(&mut errors, PostBody::parse(new.body));
    let category = new
        .category
        .map(|c| collect(&mut errors, Category::parse(c)))
        .unwrap_or(None);
    let tags = collect(&mut errors, Tags::parse(new.tags.as_deref().unwrap_or(&[])));
    let org_id = match (p.role(), new.organization_id) {
        (Role::Customer, None) => p.user.organization_id,
        (Role::Customer, Some(o)) if Some(o) == p.user.organization_id => Some(o),
        (Role::Customer, Some(_)) => {
            errors.push(ValidationError::new(
                "organization_id",
                "customers open threads in their own organization only",
            ));
            None
        }
        (_, None) => {
            errors.push(ValidationError::new(
                "organization_id",
                "staff must name the organization the thread belongs to",
            ));
            None
        }
        (_, Some(o)) => Some(o),
    };
    let (Some(title), Some(body), Some(tags), Some(org_id)) = (title, body, tags, org_id) else {
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let org = match organizations::get(&state.read, org_id).await {
        Ok(o) => o,
        Err(StoreError::NotFound) => {
            return Err(ValidationError::new("organization_id", "no such organization").into())
        }
        Err(e) => return Err(e.into()),
    };
    if p.role() == Role::Customer && !org.contract_status.may_post() {
        return Err(contract_inactive());
    }
    if let Some(prev) = new.follow_up_of {
        match board::get_by_number(&state.read, prev).await {
            Ok(t) if t.organization_id == org_id && t.status == ThreadStatus::Closed => {}
            Ok(t) if t.organization_id == org_id => {
                return Err(ValidationError::new(
                    "follow_up_of",
                    "only a closed thread takes a follow-up; reply on it instead",
                )
                .into())
            }
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ValidationError::new("follow_up_of", "no such thread").into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let opening = Opening {
        organization_id: org_id,
        title: title.as_str().to_owned(),
        body: body.as_str().to_owned(),
        category: category.map(|c| c.as_str().to_owned()),
        priority: new.priority.unwrap_or(Priority::Normal),
        tags: tags.as_slice().to_vec(),
        channel: Channel::Board,
        follow_up_of: new.follow_up_of,
        started_at: None,
        answered_call: false,
    };
    let (thread, sla) = state.opener.open(OpenRequest::new(p, opening)).await?;
    Ok(view(p, thread, sla))
}

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
                "thread.create",
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
                    events.extend(sla.on_answered_call(start, cal, "call.answered")?);
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
            created_by: Some(p.user.id),
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
        };
        number += 1;
        apply_urgency(&mut thread, &sla, at);
        let first_post = PostRecord {
            id: Uuid::now_v7(),
            thread_id: thread.id,
            author_id: Some(p.user.id),
            author_name: p.user.display_name.clone(),
            author_role: author_role(&p).to_owned(),
            visibility: Visibility::Public,
            body: o.body,
            created_at: at,
        };
        let event = thread_event(
            "thread.created",
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

/// An answered call logged on an existing thread meets its first response at the
/// call's start, like an agent's public reply.
pub(crate) async fn answered_call_on(
    state: &AppState,
    tx: &madoguchi_persistence::Tx,
    number: i64,
    started_at: DateTime<Utc>,
    call_id: Uuid,
) -> Result<ThreadRecord, ApiError> {
    board::lock(tx, number).await?;
    let t = board::get_by_number(tx, number).await?;
    let cal = state.calendar.get();
    let mut sla = board::load_sla(tx, t.id).await?;
    let events = sla
        .on_answered_call(started_at, &cal, &format!("call:{call_id}"))
        .map_err(cal_err)?;
    board::save_sla(tx, t.id, &sla).await?;
    board::append_clock_events(tx, t.id, &events).await?;
    let (due, breached) = sla.urgency(state.now());
    board::set_urgency(tx, t.id, due, breached).await?;
    Ok(t)
}

fn contract_inactive() -> ApiError {
    ApiError::new(ProblemType::ContractInactive)
        .detail("your organization's contract is not active: its history stays readable, but new threads and posts are not accepted")
}

pub async fn get_thread(
    state: &AppState,
    p: &Principal,
    number: i64,
) -> Result<ThreadView, ApiError> {
    authorize(state, p, Role::ANYONE, "thread.read", None).await?;
    let t = visible_thread(state, p, number, "thread.read").await?;
    let sla = board::load_sla(&state.read, t.id).await?;
    let key = number.to_string();
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "thread.read",
            Some(Object::new("thread", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    Ok(view(p, t, sla))
}

pub async fn clock_log(
    state: &AppState,
    p: &Principal,
    number: i64,
) -> Result<Vec<ClockEvent>, ApiError> {
    authorize(state, p, Role::ANYONE, "thread.read", None).await?;
    let t = visible_thread(state, p, number, "thread.read").await?;
    let key = number.to_string();
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "thread.sla_log.read",
            Some(Object::new("thread", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    Ok(board::clock_events(&state.read, t.id).await?)
}

async fn with_clocks(
    conn: &impl Conn,
    p: &Principal,
    page: Page<ThreadRecord>,
) -> Result<Page<ThreadView>, ApiError> {
    let ids: Vec<Uuid> = page.items.iter().map(|t| t.id).collect();
    let mut clocks = board::load_sla_many(conn, &ids).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for t in page.items {
        let sla = clocks
            .remove(&t.id)
            .ok_or_else(|| ApiError::internal("thread without clocks"))?;
        items.push(view(p, t, sla));
    }
    Ok(Page {
        items,
        has_more: page.has_more,
    })
}

pub async fn list_threads(
    state: &AppState,
    p: &Principal,
    mut filter: ThreadFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<ThreadView>, ApiError> {
    authorize(
        state,
        p,
        Role::ANYONE,
        "thread.list",
        Some(Object::kind("thread")),
    )
    .await?;
    if p.role() == Role::Customer {
        filter.organization_id = p.user.organization_id;
        filter.assignee_id = None;
    }
    let page = board::list_threads(&state.read, &filter, before, limit).await?;
    let numbers: Vec<i64> = page.items.iter().map(|t| t.number).collect();
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "thread.list",
            Some(Object::kind("thread")),
            Outcome::Success,
            Some(json!({"returned": numbers})),
        ),
    )
    .await?;
    with_clocks(&state.read, p, page).await
}

pub async fn queue(
    state: &AppState,
    p: &Principal,
    mut filter: ThreadFilter,
    after: Option<QueueKey>,
    limit: u64,
) -> Result<Page<ThreadView>, ApiError> {
    authorize(
        state,
        p,
        Role::STAFF,
        "queue.read",
        Some(Object::kind("thread")),
    )
    .await?;
    if filter.statuses.is_empty() {
        filter.statuses = vec![ThreadStatus::New, ThreadStatus::Open];
    }
    let page = board::queue(&state.read, &filter, after, limit).await?;
    with_clocks(&state.read, p, page).await
}

pub struct ThreadChanges<'a> {
    pub title: Option<&'a str>,
    pub category: Option<&'a str>,
    pub priority: Option<Priority>,
    pub status: Option<ThreadStatus>,
    pub assignee_id: Option<Option<Uuid>>,
    pub tags: Option<Vec<String>>,
}

fn illegal(e: madoguchi_domain::board::IllegalTransition) -> ApiError {
    let mut err = ApiError::new(ProblemType::IllegalTransition).detail(format!(
        "{}; allowed from {}: {}",
        e,
        e.from,
        if e.allowed.is_empty() {
            "none (closed is final; open a follow-up thread)".to_owned()
        } else {
            e.allowed.join(", ")
        }
    ));
    err.allowed = e.allowed.iter().map(|s| s.to_string()).collect();
    err
}

pub async fn update_thread(
    state: &AppState,
    p: &Principal,
    number: i64,
    if_match: Option<&str>,
    ch: ThreadChanges<'_>,
) -> Result<ThreadView, ApiError> {
    let key = number.to_string();
    authorize(
        state,
        p,
        Role::STAFF,
        "thread.update",
        Some(Object::new("thread", &key)),
    )
    .await?;
    let mut errors = Vec::new();
    let title = ch
        .title
        .map(|t| collect(&mut errors, ThreadTitle::parse(t)))
        .unwrap_or(None);
    let category = ch
        .category
        .map(|c| collect(&mut errors, Category::parse(c)))
        .unwrap_or(None);
    let tags = ch
        .tags
        .as_deref()
        .map(|t| collect(&mut errors, Tags::parse(t)))
        .unwrap_or(None);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if ch.title.is_none()
        && ch.category.is_none()
        && ch.priority.is_none()
        && ch.status.is_none()
        && ch.assignee_id.is_none()
        && ch.tags.is_none()
    {
        return Err(ValidationError::new("body", "name at least one field to change").into());
    }
    if let Some(Some(a)) = ch.assignee_id {
        match users::get(&state.db, a).await {
            Ok(u) if u.role.is_staff() && u.active => {}
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(
                    ValidationError::new("assignee_id", "must be an active agent or admin").into(),
                )
            }
            Err(e) => return Err(e.into()),
        }
    }
    let cal = state.calendar.get();
    let warn = state.config.warn_permille;
    let at = state.now();
    let tx = begin(&state.db).await?;
    board::lock(&tx, number).await?;
    let mut t = board::get_by_number(&tx, number).await?;
    let version = crate::etag::expected_version(if_match, t.version)?;
    if version != t.version {
        return Err(ApiError::precondition_failed());
    }
    let before = (t.status, t.priority, t.assignee_id);
    let mut sla = board::load_sla(&tx, t.id).await?;
    let mut events = Vec::new();
    if let Some(to) = ch.status.filter(|s| *s != t.status) {
        let from = t.status;
        t.status = from.transition(to).map_err(illegal)?;
        events.extend(sla.on_status(from, to, at, &cal, warn).map_err(cal_err)?);
    }
    if let Some(pr) = ch.priority.filter(|pr| *pr != t.priority) {
        t.priority = pr;
        events.extend(
            sla.on_priority(t.policy.get(pr), pr, at, &cal, warn)
                .map_err(cal_err)?,
        );
    }
    if let Some(a) = ch.assignee_id {
        t.assignee_id = a;
    }
    if let Some(title) = &title {
        t.title = title.as_str().to_owned();
    }
    if let Some(c) = category {
        t.category = Some(c.as_str().to_owned());
    }
    let tags_changed = tags
        .as_ref()
        .is_some_and(|n| n.as_slice() != t.tags.as_slice());
    if let Some(tags) = tags {
        t.tags = tags.as_slice().to_vec();
    }
    t.updated_at = at;
    apply_urgency(&mut t, &sla, at);
    board::update_thread(&tx, &mut t, version).await?;
    if tags_changed {
        board::set_tags(&tx, t.id, &t.tags).await?;
    }
    if title.is_some() {
        board::index_document(
            &tx,
            t.id,
            None,
            t.organization_id,
            false,
            &search::document_tokens(&t.title, MAX_TOKENS),
        )
        .await?;
    }
    board::save_sla(&tx, t.id, &sla).await?;
    board::append_clock_events(&tx, t.id, &events).await?;
    let changes = json!({
        "status": {"from": before.0.as_str(), "to": t.status.as_str()},
        "priority": {"from": before.1.as_str(), "to": t.priority.as_str()},
        "assignee_id": {"from": before.2, "to": t.assignee_id},
    });
    let event_type = if before.0 != t.status {
        "thread.status_changed"
    } else {
        "thread.updated"
    };
    board::outbox_append(
        &tx,
        thread_event(event_type, &t, false, at, json!({"changes": changes})),
    )
    .await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            "thread.update",
            Some(Object::new("thread", &key)),
            Outcome::Success,
            Some(changes),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(view(p, t, sla))
}

pub async fn add_post(
    state: &AppState,
    p: &Principal,
    number: i64,
    body: &str,
    visibility: Option<Visibility>,
) -> Result<(PostRecord, i64), ApiError> {
    let key = number.to_string();
    authorize(
        state,
        p,
        Role::ANYONE,
        "post.create",
        Some(Object::new("thread", &key)),
    )
    .await?;
    let body = PostBody::parse(body)?;
    let visibility = visibility.unwrap_or(Visibility::Public);
    let staff = p.role().is_staff();
    if !staff && visibility == Visibility::Internal {
        return Err(
            ValidationError::new("visibility", "customers post public replies only").into(),
        );
    }
    let t = visible_thread(state, p, number, "post.create").await?;
    if !staff {
        let org = organizations::get(&state.read, t.organization_id).await?;
        if !org.contract_status.may_post() {
            return Err(contract_inactive());
        }
    }
    let tx = begin(&state.db).await?;
    let post = post_in(state, &tx, p, number, body.as_str(), visibility).await?;
    commit(tx).await?;
    Ok((post, number))
}

/// Add a post inside the caller's transaction: clocks, status, counts, search,
/// outbox and audit. Used by replies and by announcements posted to threads.
pub(crate) async fn post_in(
    state: &AppState,
    tx: &madoguchi_persistence::Tx,
    p: &Principal,
    number: i64,
    body: &str,
    visibility: Visibility,
) -> Result<PostRecord, ApiError> {
    let staff = p.role().is_staff();
    let key = number.to_string();
    let cal = state.calendar.get();
    let warn = state.config.warn_permille;
    let at = state.now();
    board::lock(tx, number).await?;
    let mut t = board::get_by_number(tx, number).await?;
    if t.status == ThreadStatus::Closed {
        return Err(ApiError::with_detail(
            ProblemType::ThreadClosed,
            "this thread is closed; open a follow-up thread with follow_up_of",
        ));
    }
    let mut sla = board::load_sla(tx, t.id).await?;
    let post = PostRecord {
        id: Uuid::now_v7(),
        thread_id: t.id,
        author_id: Some(p.user.id),
        author_name: p.user.display_name.clone(),
        author_role: author_role(p).to_owned(),
        visibility,
        body: body.to_owned(),
        created_at: at,
    };
    let cause = format!("post:{}", post.id);
    let author = if staff {
        Author::Staff
    } else {
        Author::Customer
    };
    let policy = t.policy.get(t.priority);
    let effect = sla
        .on_post(
            t.status,
            author,
            visibility,
            t.last_public_by_staff,
            policy,
            at,
            &cal,
            warn,
            &cause,
        )
        .map_err(cal_err)?;
    let status_before = t.status;
    t.status = effect.status;
    t.post_count += 1;
    if visibility == Visibility::Public {
        t.public_post_count += 1;
        t.last_public_post_at = Some(at);
        t.last_public_by_staff = staff;
    }
    t.updated_at = at;
    apply_urgency(&mut t, &sla, at);
    let version = t.version;
    board::insert_post(tx, &post).await?;
    board::update_thread(tx, &mut t, version).await?;
    board::index_document(
        tx,
        t.id,
        Some(post.id),
        t.organization_id,
        visibility == Visibility::Internal,
        &search::document_tokens(&post.body, MAX_TOKENS),
    )
    .await?;
    board::save_sla(tx, t.id, &sla).await?;
    board::append_clock_events(tx, t.id, &effect.events).await?;
    let internal = visibility == Visibility::Internal;
    board::outbox_append(tx, thread_event("post.created", &t, internal, at, json!({"post_id": post.id, "visibility": visibility.as_str(), "author_role": post.author_role}))).await?;
    if status_before != t.status {
        board::outbox_append(tx, thread_event("thread.status_changed", &t, false, at, json!({"changes": {"status": {"from": status_before.as_str(), "to": t.status.as_str()}}, "cause": "reply"}))).await?;
    }
    record(
        tx,
        entry(
            state.now(),
            Some(p),
            "post.create",
            Some(Object::new("thread", &key)),
            Outcome::Success,
            Some(json!({"post_id": post.id, "visibility": visibility.as_str()})),
        ),
    )
    .await?;
    Ok(post)
}

pub async fn list_posts(
    state: &AppState,
    p: &Principal,
    number: i64,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<PostRecord>, ApiError> {
    authorize(state, p, Role::ANYONE, "post.list", None).await?;
    let t = visible_thread(state, p, number, "post.list").await?;
    let page = board::list_posts(&state.read, t.id, p.role().is_staff(), after, limit).await?;
    let key = number.to_string();
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "post.list",
            Some(Object::new("thread", &key)),
            Outcome::Success,
            Some(json!({"returned": page.items.len()})),
        ),
    )
    .await?;
    Ok(page)
}

pub struct Hit {
    pub thread: ThreadRecord,
    pub post_id: Option<Uuid>,
    pub snippet: String,
}

/// Full-text search over titles and bodies the caller may see. `cursor` is the
/// last document id of the previous page.
pub async fn search_threads(
    state: &AppState,
    p: &Principal,
    q: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<(Vec<Hit>, Option<i64>), ApiError> {
    authorize(
        state,
        p,
        Role::ANYONE,
        "search",
        Some(Object::kind("thread")),
    )
    .await?;
    if q.chars().count() > 200 {
        return Err(ValidationError::new("q", "at most 200 characters").into());
    }
    let Some(query) = search::parse_query(q) else {
        return Err(ValidationError::new(
            "q",
            "give at least two letters or digits in a row (e.g. 予約, FAX)",
        )
        .into());
    };
    let scope = if p.role().is_staff() {
        SearchScope {
            organization_id: None,
            include_internal: true,
        }
    } else {
        SearchScope {
            organization_id: p.user.organization_id.or(Some(Uuid::nil())),
            include_internal: false,
        }
    };
    // Fetch documents in pages until `limit` distinct threads are found.
    let mut hits: Vec<(i64, Uuid, Option<Uuid>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = before;
    let mut last_doc = None;
    let mut more = false;
    'fetch: loop {
        let batch =
            board::search(&state.read, &query.phrases, scope, cursor, limit * 4 + 8).await?;
        let full = batch.len() as u64 == limit * 4 + 8;
        for h in batch {
            cursor = Some(h.doc_id);
            if seen.insert(h.thread_id) {
                if hits.len() as u64 == limit {
                    more = true;
                    break 'fetch;
                }
                hits.push((h.doc_id, h.thread_id, h.post_id));
                last_doc = Some(h.doc_id);
            }
        }
        if !full {
            break;
        }
    }
    let ids: Vec<Uuid> = hits.iter().map(|h| h.1).collect();
    let threads: HashMap<Uuid, ThreadRecord> = board::threads_by_ids(&state.read, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let post_ids: Vec<Uuid> = hits.iter().filter_map(|h| h.2).collect();
    let posts: HashMap<Uuid, PostRecord> = board::get_posts(&state.read, &post_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut out = Vec::new();
    for (_, tid, pid) in hits {
        let Some(t) = threads.get(&tid) else { continue };
        // Defence in depth: never show a customer anything outside their scope.
        if !p
            .actor()
            .may_see_organization(Some(t.organization_id.as_u128()))
        {
            continue;
        }
        let text = match pid.and_then(|id| posts.get(&id)) {
            Some(post) if post.visibility == Visibility::Public || p.role().is_staff() => {
                post.body.as_str()
            }
            Some(_) => continue,
            None => t.title.as_str(),
        };
        out.push(Hit {
            thread: t.clone(),
            post_id: pid,
            snippet: search::snippet(text, &query.needles, 80),
        });
    }
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "search",
            Some(Object::kind("thread")),
            Outcome::Success,
            Some(json!({"q": q, "returned": out.len()})),
        ),
    )
    .await?;
    Ok((out, if more { last_doc } else { None }))
}

// ---- SLA policies ------------------------------------------------------------

pub async fn get_policies(
    state: &AppState,
    p: &Principal,
) -> Result<(SlaPolicySet, Vec<(Priority, i32, DateTime<Utc>)>), ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        "sla_policy.read",
        Some(Object::kind("sla_policy")),
    )
    .await?;
    let r = board::policies(&state.db).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            "sla_policy.read",
            Some(Object::kind("sla_policy")),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    Ok(r)
}

/// Applies to threads created from now on; existing threads keep their snapshot.
pub async fn put_policy(
    state: &AppState,
    p: &Principal,
    priority: Priority,
    policy: SlaPolicy,
) -> Result<(SlaPolicy, i32, DateTime<Utc>), ApiError> {
    let key = priority.as_str();
    authorize(
        state,
        p,
        Role::ADMINS,
        "sla_policy.update",
        Some(Object::new("sla_policy", key)),
    )
    .await?;
    let at = state.now();
    let tx = begin(&state.db).await?;
    let (old, _) = board::policies(&tx).await?;
    let version = board::put_policy(&tx, priority, policy, at).await?;
    let o = old.get(priority);
    record(&tx, entry(state.now(),Some(p), "sla_policy.update", Some(Object::new("sla_policy", key)), Outcome::Success, Some(json!({
        "from": [o.first_response_minutes, o.next_reply_minutes, o.resolution_minutes],
        "to": [policy.first_response_minutes, policy.next_reply_minutes, policy.resolution_minutes],
    })))).await?;
    commit(tx).await?;
    Ok((policy, version, at))
}

// ---- background work ---------------------------------------------------------

/// Record warnings and breaches that are due, each exactly once per clock cycle.
/// Returns how many events were recorded.
pub async fn sweep(state: &AppState, at: DateTime<Utc>) -> Result<usize, StoreError> {
    let cal = state.calendar.get();
    let mut recorded = 0;
    loop {
        let tx = begin(&state.db).await?;
        let ids = board::claim_due_threads(&tx, at, 50).await?;
        if ids.is_empty() {
            commit(tx).await?;
            return Ok(recorded);
        }
        for id in ids {
            let t = board::get_by_id(&tx, id).await?;
            let mut sla = board::load_sla(&tx, id).await?;
            let events = sla.fire_due(at, &cal);
            for e in &events {
                let event_type = match e.event {
                    ClockEventKind::Warning => "sla.warning",
                    _ => "sla.breached",
                };
                let clock = sla.clocks().find(|c| c.kind == e.kind);
                let inserted = board::outbox_append(
                    &tx,
                    NewEvent {
                        event_type,
                        dedupe_key: Some(format!(
                            "{event_type}:{}:{}:{}",
                            t.id,
                            e.kind.as_str(),
                            e.cycle
                        )),
                        thread_id: Some(t.id),
                        organization_id: Some(t.organization_id),
                        internal: false,
                        payload: json!({
                            "thread_number": t.number,
                            "organization_id": t.organization_id,
                            "clock": e.kind.as_str(),
                            "cycle": e.cycle,
                            "due_at": clock.and_then(|c| c.due_at).map(|d| d.to_rfc3339()),
                            "occurred_at": e.at.to_rfc3339(),
                        }),
                        occurred_at: e.at,
                    },
                )
                .await?;
                recorded += usize::from(inserted);
            }
            board::save_sla(&tx, id, &sla).await?;
            board::append_clock_events(&tx, id, &events).await?;
            let (due, breached) = sla.urgency(at);
            board::set_urgency(&tx, id, due, breached).await?;
        }
        commit(tx).await?;
        // A backlog is worked off in batches with a pause between them, so requests
        // waiting for a connection (SQLite has one) are served in between.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// After a calendar change: every running clock keeps the business time it used
/// under the old calendar and is projected under the new one.
pub async fn reproject_all(
    state: &AppState,
    old: &BusinessCalendar,
    new: &BusinessCalendar,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let warn = state.config.warn_permille;
    let mut after = None;
    let mut n = 0;
    loop {
        let ids = board::threads_with_running_clocks(&state.db, after, 200).await?;
        let Some(last) = ids.last().copied() else {
            return Ok(n);
        };
        after = Some(last);
        let tx = begin(&state.db).await?;
        for id in ids {
            let t = board::get_by_id(&tx, id).await?;
            board::lock(&tx, t.number).await?;
            let mut sla = board::load_sla(&tx, id).await?;
            let mut events = Vec::new();
            for c in sla.clocks_mut() {
                match c.reproject(at, old, new, warn) {
                    Ok(e) => events.extend(e),
                    Err(e) => {
                        tracing::warn!(thread = t.number, error = %e, "clock could not be re-projected")
                    }
                }
            }
            board::save_sla(&tx, id, &sla).await?;
            board::append_clock_events(&tx, id, &events).await?;
            let (due, breached) = sla.urgency(at);
            board::set_urgency(&tx, id, due, breached).await?;
            n += 1;
        }
        commit(tx).await?;
    }
}
