//! Threads: open, read, list, the queue, change.

use super::*;

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
        Action::ThreadCreate,
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
        (Role::Customer, None) => p.organization_id(),
        (Role::Customer, Some(o)) if Some(o) == p.organization_id() => Some(o),
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
            return Err(
                ValidationError::new("organization_id", "no such organization")
                    .because(madoguchi_domain::Reason::UnknownOrganization)
                    .into(),
            )
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
                return Err(ValidationError::new("follow_up_of", "no such thread")
                    .because(madoguchi_domain::Reason::UnknownThread)
                    .into())
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
        // Another system's key opens it through the API; a person, on the board.
        channel: if matches!(p, Principal::Key(_)) {
            Channel::Api
        } else {
            Channel::Board
        },
        follow_up_of: new.follow_up_of,
        started_at: None,
        answered_call: false,
    };
    let (thread, sla) = state.opener.open(OpenRequest::new(p, opening)).await?;
    Ok(view(p, thread, sla))
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
    record_due(tx, &t, &mut sla, started_at, &cal).await?;
    let events = sla
        .on_answered_call(started_at, &cal, &ClockCause::Call(call_id.to_string()))
        .map_err(cal_err)?;
    board::save_sla(tx, t.id, &sla).await?;
    board::append_clock_events(tx, t.id, &events).await?;
    let (due, breached) = sla.urgency(state.now());
    board::set_urgency(tx, t.id, due, breached).await?;
    Ok(t)
}

pub(super) fn contract_inactive() -> ApiError {
    ApiError::new(ProblemType::ContractInactive)
        .detail("your organization's contract is not active: its history stays readable, but new threads and posts are not accepted")
}

pub async fn get_thread(
    state: &AppState,
    p: &Principal,
    number: i64,
) -> Result<ThreadView, ApiError> {
    authorize(state, p, Role::ANYONE, Action::ThreadRead, None).await?;
    let t = visible_thread(state, p, number, Action::ThreadRead).await?;
    let sla = board::load_sla(&state.read, t.id).await?;
    let key = number.to_string();
    record_success(
        state,
        p,
        Action::ThreadRead,
        Object::new("thread", &key),
        None,
    )
    .await?;
    Ok(view(p, t, sla))
}

pub async fn clock_log(
    state: &AppState,
    p: &Principal,
    number: i64,
) -> Result<Vec<ClockEvent>, ApiError> {
    authorize(state, p, Role::ANYONE, Action::ThreadRead, None).await?;
    let t = visible_thread(state, p, number, Action::ThreadRead).await?;
    let key = number.to_string();
    record_success(
        state,
        p,
        Action::ThreadSlaLogRead,
        Object::new("thread", &key),
        None,
    )
    .await?;
    Ok(board::clock_events(&state.read, t.id).await?)
}

/// A page of threads with their clocks as `p` sees them.
fn seen_page(p: &Principal, page: Page<(ThreadRecord, ThreadSla)>) -> Page<ThreadView> {
    Page {
        items: page
            .items
            .into_iter()
            .map(|(t, sla)| view(p, t, sla))
            .collect(),
        has_more: page.has_more,
    }
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
        Action::ThreadList,
        Some(Object::kind("thread")),
    )
    .await?;
    if p.role() == Role::Customer {
        filter.organization_id = p.organization_id();
        filter.assignee_id = None;
    }
    let page = board::list_threads(&state.read, &filter, before, limit).await?;
    let numbers: Vec<i64> = page.items.iter().map(|(t, _)| t.number).collect();
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::ThreadList,
            Some(Object::kind("thread")),
            Outcome::Success,
            Some(json!({"returned": numbers})),
        ),
    )
    .await?;
    Ok(seen_page(p, page))
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
        Action::QueueRead,
        Some(Object::kind("thread")),
    )
    .await?;
    if filter.statuses.is_empty() {
        filter.statuses = vec![ThreadStatus::New, ThreadStatus::Open];
    }
    let page = board::queue(&state.read, &filter, after, limit).await?;
    Ok(seen_page(p, page))
}

pub struct ThreadChanges<'a> {
    pub title: Option<&'a str>,
    pub category: Option<&'a str>,
    pub priority: Option<Priority>,
    pub status: Option<ThreadStatus>,
    pub assignee_id: Option<Option<Uuid>>,
    pub tags: Option<Vec<String>>,
}

pub(super) fn illegal(e: madoguchi_domain::board::IllegalTransition) -> ApiError {
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
    let checked = check_changes(state, p, number, ch).await?;
    let tx = begin(&state.db).await?;
    let (t, sla) = update_in(state, &tx, p, number, if_match, checked).await?;
    commit(tx).await?;
    Ok(view(p, t, sla))
}

/// A change of a thread whose values have been parsed and checked, before
/// its transaction.
pub(crate) struct CheckedChanges {
    title: Option<ThreadTitle>,
    category: Option<Category>,
    tags: Option<Tags>,
    priority: Option<Priority>,
    status: Option<ThreadStatus>,
    assignee_id: Option<Option<Uuid>>,
}

/// Authorize a change and check its values (outside the transaction: it
/// reads the assignee).
pub(crate) async fn check_changes(
    state: &AppState,
    p: &Principal,
    number: i64,
    ch: ThreadChanges<'_>,
) -> Result<CheckedChanges, ApiError> {
    let key = number.to_string();
    authorize(
        state,
        p,
        Role::STAFF,
        Action::ThreadUpdate,
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
    Ok(CheckedChanges {
        title,
        category,
        tags,
        priority: ch.priority,
        status: ch.status,
        assignee_id: ch.assignee_id,
    })
}

/// Apply checked changes in the caller's transaction, on the version
/// `if_match` names: status, priority and assignee with their clocks, title
/// (re-indexed), category and tags, the outbox event and the audit entry.
pub(crate) async fn update_in(
    state: &AppState,
    tx: &madoguchi_persistence::Tx,
    p: &Principal,
    number: i64,
    if_match: Option<&str>,
    ch: CheckedChanges,
) -> Result<(ThreadRecord, ThreadSla), ApiError> {
    let key = number.to_string();
    let CheckedChanges {
        title,
        category,
        tags,
        ..
    } = ch;
    let cal = state.calendar.get();
    let warn = state.config.warn_permille;
    let at = state.now();
    board::lock(tx, number).await?;
    let mut t = board::get_by_number(tx, number).await?;
    let version = crate::http::etag::expected_version(if_match, t.version)?;
    if version != t.version {
        return Err(ApiError::precondition_failed());
    }
    let before = (t.status, t.priority, t.assignee_id);
    let mut sla = board::load_sla(tx, t.id).await?;
    record_due(tx, &t, &mut sla, at, &cal).await?;
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
    // Every field a PATCH changes is one the clinic sees too.
    t.updated_at = at;
    t.public_version += 1;
    t.public_updated_at = at;
    apply_urgency(&mut t, &sla, at);
    board::update_thread(tx, &mut t, version).await?;
    if tags_changed {
        board::set_tags(tx, t.id, &t.tags).await?;
    }
    if title.is_some() {
        board::reindex_title(
            tx,
            t.id,
            t.organization_id,
            &search::document_tokens(&t.title, MAX_TOKENS),
        )
        .await?;
    }
    board::save_sla(tx, t.id, &sla).await?;
    board::append_clock_events(tx, t.id, &events).await?;
    let changes = json!({
        "status": {"from": before.0.as_str(), "to": t.status.as_str()},
        "priority": {"from": before.1.as_str(), "to": t.priority.as_str()},
        "assignee_id": {"from": before.2, "to": t.assignee_id},
    });
    let event_type = if before.0 != t.status {
        EventType::ThreadStatusChanged
    } else {
        EventType::ThreadUpdated
    };
    outbox::append(
        tx,
        thread_event(event_type, &t, false, at, json!({"changes": changes})),
    )
    .await?;
    record(
        tx,
        entry(
            state.now(),
            Some(p),
            Action::ThreadUpdate,
            Some(Object::new("thread", &key)),
            Outcome::Success,
            Some(changes),
        ),
    )
    .await?;
    Ok((t, sla))
}
