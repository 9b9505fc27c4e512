//! A clinic's and an agent's thread pages: the list, a new inquiry, a thread with its replies and changes.

use super::*;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) q: String,
    pub(crate) before: Option<i64>,
}

#[handler]
pub async fn threads(
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let p = &s.principal;
    let status = ThreadStatus::parse(&q.status).ok();
    let (at, cal) = (state.now(), state.calendar.get());
    let mut error = None;
    let mut next = None;
    let searching = !q.q.trim().is_empty();
    let rows = if searching {
        match svc::search_threads(&state, p, q.q.trim(), status, q.before, PAGE).await {
            Ok((hits, more)) => {
                if let Some(c) = more {
                    next = Some(format!(
                        "/threads?q={}&status={}&before={c}",
                        urlencode(&q.q),
                        q.status
                    ));
                }
                hits.into_iter()
                    .map(|h| ThreadRow {
                        number: h.thread.number,
                        title: h.thread.title,
                        status: jp::status(h.thread.status),
                        status_class: status_class(h.thread.status),
                        priority: jp::priority(h.thread.priority),
                        due: String::new(),
                        due_class: "",
                        updated: jp::datetime(h.thread.updated_at),
                        snippet: Some(h.snippet),
                    })
                    .collect()
            }
            Err(e) if e.kind == ProblemType::ValidationFailed => {
                error = Some(
                    e.errors
                        .first()
                        .map(|f| field_message(&f.field, f.reason.reason(), f.limit))
                        .unwrap_or_else(|| explain(&e)),
                );
                Vec::new()
            }
            Err(e) => return failure(&state, Some(&s), e).await,
        }
    } else {
        let filter = ThreadFilter {
            statuses: status.map(|s| vec![s]).unwrap_or_default(),
            ..Default::default()
        };
        match svc::list_threads(&state, p, filter, q.before, PAGE).await {
            Ok(page) => {
                if page.has_more {
                    if let Some(last) = page.items.last() {
                        next = Some(format!(
                            "/threads?status={}&before={}",
                            q.status, last.thread.number
                        ));
                    }
                }
                page.items
                    .iter()
                    .map(|v| {
                        let d = due(v, at, &cal);
                        ThreadRow {
                            number: v.thread.number,
                            title: v.thread.title.clone(),
                            status: jp::status(v.thread.status),
                            status_class: status_class(v.thread.status),
                            priority: jp::priority(v.thread.priority),
                            due: short_due(&d),
                            due_class: d.class,
                            updated: jp::datetime(v.thread.updated_at),
                            snippet: None,
                        }
                    })
                    .collect()
            }
            Err(e) => return failure(&state, Some(&s), e).await,
        }
    };
    let page = ThreadsPage {
        layout: layout(&state, Some(&s), "お問い合わせ一覧").await,
        rows,
        statuses: status_choices(status),
        q: q.q,
        searching,
        error,
        next,
    };
    render(StatusCode::OK, &page)
}

#[allow(clippy::too_many_arguments)]
pub(in crate::web) async fn new_thread_page(
    state: &AppState,
    s: &WebSession,
    title: String,
    body: String,
    category: String,
    priority: Option<Priority>,
    organization: Option<Uuid>,
    org_q: &str,
    errors: FieldErrors,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let picker = if s.principal.role().is_staff() {
        match crate::web::pickers::organizations(state, &s.principal, org_q, organization).await {
            Ok(p) => p,
            Err(e) => return failure(state, Some(s), e).await,
        }
    } else {
        crate::web::views::OrgPicker::none()
    };
    let mut layout = layout(state, Some(s), "新規お問い合わせ").await;
    layout.flash = flash;
    let page = NewThreadPage {
        layout,
        title,
        body,
        category,
        priorities: priority_choices(Some(priority.unwrap_or(Priority::Normal))),
        picker,
        errors,
        hours: jp::hours(state.calendar.get().rules()),
    };
    render(status, &page)
}

#[handler]
pub async fn new_thread(
    state: Data<&AppState>,
    Query(q): Query<crate::web::pickers::PickerQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    new_thread_page(
        &state,
        &s,
        String::new(),
        String::new(),
        String::new(),
        None,
        None,
        &q.org_q,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct NewThreadForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) body: String,
    #[serde(default)]
    pub(crate) category: String,
    #[serde(default)]
    pub(crate) priority: String,
    #[serde(default)]
    pub(crate) organization_id: String,
}

#[handler]
pub async fn create_thread(
    state: Data<&AppState>,
    req: &Request,
    Form(f): Form<NewThreadForm>,
) -> Response {
    let draft = Draft {
        next: "/threads/new".into(),
        title: f.title.clone(),
        body: f.body.clone(),
        category: f.category.clone(),
        priority: f.priority.clone(),
        visibility: String::new(),
    };
    let s = match form_session(&state, req, &f.csrf, Some(draft)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let priority = Priority::parse(&f.priority).ok();
    let organization = Uuid::parse_str(f.organization_id.trim()).ok();
    let category = f.category.trim();
    let new = svc::NewThread {
        title: &f.title,
        body: &f.body,
        category: (!category.is_empty()).then_some(category),
        priority,
        tags: None,
        organization_id: organization,
        follow_up_of: None,
    };
    match svc::create_thread(&state, &s.principal, new).await {
        Ok(v) => see_other(&format!("/threads/{}", v.thread.number)),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let errors = field_errors(&e);
            new_thread_page(
                &state,
                &s,
                f.title,
                f.body,
                f.category,
                priority,
                organization,
                "",
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[allow(clippy::too_many_arguments)]
pub(in crate::web) async fn thread_page(
    state: &AppState,
    s: &WebSession,
    number: i64,
    body: String,
    internal: bool,
    errors: FieldErrors,
    conflict: bool,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let p = &s.principal;
    let v = match svc::get_thread(state, p, number).await {
        Ok(v) => v,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let posts = match svc::list_posts(state, p, number, None, 200).await {
        Ok(page) => page.items,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let staff = p.role().is_staff();
    let log = if staff {
        match svc::clock_log(state, p, number).await {
            Ok(events) => events
                .into_iter()
                .map(|e| LogRow {
                    at: jp::full_datetime(e.at),
                    clock: jp::clock(e.kind),
                    event: jp::clock_event(e.event),
                    cause: cause(&e.cause),
                    used: jp::duration(e.used_seconds),
                })
                .collect(),
            Err(e) => return failure(state, Some(s), e).await,
        }
    } else {
        Vec::new()
    };
    let (at, cal) = (state.now(), state.calendar.get());
    let t = &v.thread;
    let me = p.user_id();
    let assignee = match t.assignee_id {
        None => "未割当".to_owned(),
        Some(a) if Some(a) == me => "自分".to_owned(),
        Some(_) => "他の担当者".to_owned(),
    };
    let mut statuses = vec![Choice {
        value: t.status.as_str().to_owned(),
        label: format!("{}（現在）", jp::status(t.status)),
        selected: true,
    }];
    statuses.extend(t.status.allowed().iter().map(|s| Choice {
        value: s.as_str().to_owned(),
        label: jp::status(*s).to_owned(),
        selected: false,
    }));
    let mut layout = layout(state, Some(s), &t.title).await;
    layout.flash = flash;
    let page = ThreadPage {
        layout,
        number: t.number,
        title: t.title.clone(),
        status: jp::status(t.status),
        status_class: status_class(t.status),
        priority: jp::priority(t.priority),
        category: t.category.clone(),
        created: jp::full_datetime(t.created_at),
        due: due(&v, at, &cal),
        hours: jp::hours(cal.rules()),
        posts: posts
            .into_iter()
            .map(|post| PostView {
                staff: post.author_role.is_staff(),
                internal: post.visibility == Visibility::Internal,
                author: if post.author_role == AuthorRole::System {
                    "サポート窓口".to_owned()
                } else {
                    post.author_name
                },
                at: jp::full_datetime(post.created_at),
                at_machine: jp::machine(post.created_at),
                body: post.body,
            })
            .collect(),
        staff,
        closed: t.status == ThreadStatus::Closed,
        version: t.version,
        body,
        internal,
        statuses,
        priorities: priority_choices(Some(t.priority)),
        assignee,
        errors,
        conflict,
        log,
    };
    render(status, &page)
}

/// A clock event's cause as a person reads it.
fn cause(c: &ClockCause) -> String {
    match c {
        ClockCause::ThreadCreated => "お問い合わせの受付".to_owned(),
        ClockCause::Post(_) => "投稿".to_owned(),
        ClockCause::Call(_) | ClockCause::CallAnswered => "電話対応".to_owned(),
        ClockCause::Status(s) => format!("状態を「{}」に変更", jp::status(*s)),
        ClockCause::Priority(p) => format!("優先度を「{}」に変更", jp::priority(*p)),
        ClockCause::Sweeper => "期限の確認".to_owned(),
        ClockCause::CalendarChanged => "営業日カレンダーの変更".to_owned(),
        ClockCause::Other(other) => other.clone(),
    }
}

#[handler]
pub async fn thread(
    state: Data<&AppState>,
    Path(number): Path<String>,
    SignedIn(s): SignedIn,
) -> Response {
    let number: i64 = match path_id(&state, &s, &number).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    thread_page(
        &state,
        &s,
        number,
        String::new(),
        false,
        FieldErrors::default(),
        false,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /threads/{n}` is not a form target; the reply form posts to `/posts`.
#[handler]
pub async fn update_thread(state: Data<&AppState>, req: &Request) -> Response {
    let s = session::current(&state, req).await.ok().flatten();
    failure(&state, s.as_ref(), ApiError::new(ProblemType::NotFound)).await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) body: String,
    #[serde(default)]
    pub(crate) visibility: String,
    #[serde(default)]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) priority: String,
    #[serde(default)]
    pub(crate) assign: String,
    #[serde(default)]
    pub(crate) version: String,
}

#[handler]
pub async fn reply(
    state: Data<&AppState>,
    req: &Request,
    Path(number): Path<String>,
    Form(f): Form<ReplyForm>,
) -> Response {
    let draft = Draft {
        next: format!("/threads/{number}"),
        body: f.body.clone(),
        visibility: f.visibility.clone(),
        ..Default::default()
    };
    let s = match form_session(&state, req, &f.csrf, Some(draft)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let number: i64 = match path_id(&state, &s, &number).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let p = &s.principal;
    let internal = f.visibility == "internal";
    let again = |errors: FieldErrors, conflict: bool, status: StatusCode| {
        let (state, s, body) = (&state, &s, f.body.clone());
        async move {
            thread_page(
                state, s, number, body, internal, errors, conflict, None, status,
            )
            .await
        }
    };
    // Staff changes first, on the version the page showed: if someone else
    // changed the thread meanwhile, nothing is written and the text is kept.
    if p.role().is_staff() {
        let status = ThreadStatus::parse(&f.status).ok();
        let priority = Priority::parse(&f.priority).ok();
        let assignee = match f.assign.as_str() {
            "me" => Some(p.user_id()),
            "none" => Some(None),
            _ => None,
        };
        let current = match svc::get_thread(&state, p, number).await {
            Ok(v) => v.thread,
            Err(e) => return failure(&state, Some(&s), e).await,
        };
        let changes = svc::ThreadChanges {
            title: None,
            category: None,
            priority: priority.filter(|x| *x != current.priority),
            status: status.filter(|x| *x != current.status),
            assignee_id: assignee.filter(|a| *a != current.assignee_id),
            tags: None,
        };
        let changed =
            changes.priority.is_some() || changes.status.is_some() || changes.assignee_id.is_some();
        if changed {
            let tag = format!("\"{}\"", f.version.trim());
            let visibility = if internal {
                Visibility::Internal
            } else {
                Visibility::Public
            };
            let done = svc::reply_with_changes(
                &state,
                p,
                number,
                Some(&tag),
                changes,
                &f.body,
                visibility,
            )
            .await;
            return match done {
                Ok(_) => see_other(&format!("/threads/{number}")),
                Err(e) => match e.kind {
                    ProblemType::PreconditionFailed => {
                        again(
                            FieldErrors::default(),
                            true,
                            StatusCode::PRECONDITION_FAILED,
                        )
                        .await
                    }
                    ProblemType::ValidationFailed | ProblemType::IllegalTransition => {
                        let mut errors = field_errors(&e);
                        if e.kind == ProblemType::IllegalTransition {
                            errors.0.push(("status".into(), explain(&e)));
                        }
                        again(errors, false, e.status).await
                    }
                    _ => failure(&state, Some(&s), e).await,
                },
            };
        }
    }
    let visibility = if internal {
        Some(Visibility::Internal)
    } else {
        Some(Visibility::Public)
    };
    match svc::add_post(&state, p, number, &f.body, visibility).await {
        Ok(_) => see_other(&format!("/threads/{number}")),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            again(field_errors(&e), false, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}
