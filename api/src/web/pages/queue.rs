//! The agent's queue.

use super::*;

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) priority: String,
    #[serde(default)]
    pub(crate) organization_id: String,
    #[serde(default)]
    pub(crate) tag: String,
    #[serde(default)]
    pub(crate) mine: String,
    #[serde(default)]
    pub(crate) after: String,
    #[serde(default)]
    pub(crate) org_q: String,
}

#[handler]
pub async fn queue(
    state: Data<&AppState>,
    Query(q): Query<QueueQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let p = &s.principal;
    let status = ThreadStatus::parse(&q.status).ok();
    let priority = Priority::parse(&q.priority).ok();
    let organization = Uuid::parse_str(q.organization_id.trim()).ok();
    let mine = !q.mine.is_empty();
    let tag = q.tag.trim().to_owned();
    let filter = ThreadFilter {
        organization_id: organization,
        statuses: status.map(|s| vec![s]).unwrap_or_default(),
        priority,
        assignee_id: if mine { p.user_id() } else { None },
        tag: (!tag.is_empty()).then(|| tag.clone()),
    };
    let cursor = Some(q.after.trim()).filter(|c| !c.is_empty());
    let after = match crate::http::cursor::decode_as(
        &crate::http::cursor::key_for(&state, &s.principal),
        "queue",
        cursor,
    ) {
        Ok(a) => a,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let page = match svc::queue(&state, p, filter, after, PAGE).await {
        Ok(page) => page,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .map(|v| v.thread.organization_id)
        .collect();
    let names = match service::organizations::names(&state, p, &ids).await {
        Ok(n) => n,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let picker = match crate::web::pickers::organizations(&state, p, &q.org_q, organization).await {
        Ok(pk) => pk,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let (at, cal) = (state.now(), state.calendar.get());
    let next = if page.has_more {
        page.items.last().map(|v| {
            format!(
                "/queue?status={}&priority={}&organization_id={}&tag={}&mine={}&after={}",
                q.status,
                q.priority,
                q.organization_id,
                urlencode(&tag),
                q.mine,
                crate::http::cursor::encode_as(
                    &crate::http::cursor::key_for(&state, &s.principal),
                    "queue",
                    &madoguchi_persistence::board::queue_key(&v.thread)
                )
            )
        })
    } else {
        None
    };
    let rows: Vec<QueueRow> = page
        .items
        .iter()
        .map(|v| {
            let t = &v.thread;
            let (clock, remaining, urgency, urgency_label, due) = match v.sla.pressing(at) {
                Some(c) => {
                    let view = c.view(at, &cal);
                    let due = view.due_at.map(jp::datetime).unwrap_or_default();
                    match view.urgency(state.config.warn_permille) {
                        Urgency::Breached => {
                            let over = view.used_seconds.saturating_sub(c.target_seconds);
                            (
                                jp::clock(c.kind),
                                format!("{}超過", jp::duration(over)),
                                "late",
                                "超過",
                                due,
                            )
                        }
                        Urgency::Warned => (
                            jp::clock(c.kind),
                            format!("残り {}", jp::duration(view.remaining_seconds)),
                            "soon",
                            "まもなく",
                            due,
                        ),
                        Urgency::OnTime => (
                            jp::clock(c.kind),
                            format!("残り {}", jp::duration(view.remaining_seconds)),
                            "ok",
                            "",
                            due,
                        ),
                    }
                }
                None => ("", "—".to_owned(), "ok", "", String::new()),
            };
            QueueRow {
                number: t.number,
                title: t.title.clone(),
                organization: names.get(&t.organization_id).cloned().unwrap_or_default(),
                status: jp::status(t.status),
                priority: jp::priority(t.priority),
                priority_class: t.priority.as_str(),
                clock,
                remaining,
                urgency,
                urgency_label,
                due,
            }
        })
        .collect();
    let page = QueuePage {
        layout: layout(&state, Some(&s), "対応キュー").await,
        count: rows.len(),
        more: page.has_more,
        rows,
        statuses: status_choices(status),
        priorities: priority_choices(priority),
        picker,
        mine,
        tag,
        next,
    };
    render(StatusCode::OK, &page)
}
