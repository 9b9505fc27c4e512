//! Posts: replies and internal notes, and reading them.

use super::*;

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
        Action::PostCreate,
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
    let t = visible_thread(state, p, number, Action::PostCreate).await?;
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

/// A staff reply that also changes the thread (its status, priority or
/// assignee), as the board's reply form sends it: one transaction, checked
/// against the version the agent saw (`if_match`). If the thread changed
/// meanwhile, nothing is written (412) and the agent sees what changed. An
/// empty `body` changes the thread only.
pub async fn reply_with_changes(
    state: &AppState,
    p: &Principal,
    number: i64,
    if_match: Option<&str>,
    changes: super::ThreadChanges<'_>,
    body: &str,
    visibility: Visibility,
) -> Result<Option<PostRecord>, ApiError> {
    let checked = super::threads::check_changes(state, p, number, changes).await?;
    let body = if body.trim().is_empty() {
        None
    } else {
        let key = number.to_string();
        authorize(
            state,
            p,
            Role::STAFF,
            Action::PostCreate,
            Some(Object::new("thread", &key)),
        )
        .await?;
        Some(PostBody::parse(body)?)
    };
    let tx = begin(&state.db).await?;
    super::threads::update_in(state, &tx, p, number, if_match, checked).await?;
    let post = match &body {
        Some(b) => Some(post_in(state, &tx, p, number, b.as_str(), visibility).await?),
        None => None,
    };
    commit(tx).await?;
    Ok(post)
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
    record_due(tx, &t, &mut sla, at, &cal).await?;
    let post = PostRecord {
        id: Uuid::now_v7(),
        thread_id: t.id,
        author_id: p.user_id(),
        author_name: p.display_name().to_owned(),
        author_role: author_role(p),
        visibility,
        body: body.to_owned(),
        created_at: at,
    };
    let cause = ClockCause::Post(post.id.to_string());
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
        // What the clinic sees moved; an internal note leaves its view as it was.
        t.public_version += 1;
        t.public_updated_at = at;
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
    outbox::append(tx, thread_event(EventType::PostCreated, &t, internal, at, json!({"post_id": post.id, "visibility": visibility.as_str(), "author_role": post.author_role.as_str()}))).await?;
    if status_before != t.status {
        outbox::append(tx, thread_event(EventType::ThreadStatusChanged, &t, false, at, json!({"changes": {"status": {"from": status_before.as_str(), "to": t.status.as_str()}}, "cause": "reply"}))).await?;
    }
    record(
        tx,
        entry(
            state.now(),
            Some(p),
            Action::PostCreate,
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
    authorize(state, p, Role::ANYONE, Action::PostList, None).await?;
    let t = visible_thread(state, p, number, Action::PostList).await?;
    let page = board::list_posts(&state.read, t.id, p.role().is_staff(), after, limit).await?;
    let key = number.to_string();
    record_success(
        state,
        p,
        Action::PostList,
        Object::new("thread", &key),
        Some(json!({"returned": page.items.len()})),
    )
    .await?;
    Ok(page)
}
