//! The support desk's pages beyond the board: logging a phone call (on a
//! thread or as a new one) and incident notices (read by everyone, published
//! and updated by staff). Each calls the service its REST route calls.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use madoguchi_domain::{
    announcements::{NoticeStatus, Severity},
    board::Priority,
    calls::Direction,
    time::TOKYO,
    ValidationError,
};
use poem::{
    handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
    Request, Response,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    jp,
    pages::{
        failure, field_errors, form_session, layout, path_id, priority_choices, render, severity,
        SessionForm, SignedIn,
    },
    see_other,
    session::WebSession,
    views::*,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    service::{self, board as svc},
};

/// What a `datetime-local` field holds, read in Asia/Tokyo.
fn local_datetime(
    field: &'static str,
    raw: &str,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|l| TOKYO.from_local_datetime(&l).single())
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| ValidationError::new(field, "must be a date and time"))
}

/// A `datetime-local` value for `t`, in Asia/Tokyo.
fn local_value(t: DateTime<Utc>) -> String {
    t.with_timezone(&TOKYO).format("%Y-%m-%dT%H:%M").to_string()
}

// ---- calls -----------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
pub struct CallForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    caller_name: String,
    #[serde(default)]
    caller_number: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    answered: String,
    #[serde(default)]
    started_at: String,
    #[serde(default)]
    ended_at: String,
    #[serde(default)]
    summary: String,
    /// `thread` (attach to `thread_number`), `new` (open a thread) or `none`.
    #[serde(default)]
    link: String,
    #[serde(default)]
    thread_number: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    priority: String,
    /// The picker's name search (`?org_q=`).
    #[serde(default)]
    org_q: String,
}

#[derive(Deserialize)]
pub struct CallQuery {
    #[serde(default)]
    thread: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    org_q: String,
}

async fn call_page(
    state: &AppState,
    s: &WebSession,
    f: CallForm,
    errors: FieldErrors,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let p = &s.principal;
    let selected = Uuid::parse_str(f.organization_id.trim()).ok();
    let picker = match super::pickers::organizations(state, p, &f.org_q, selected).await {
        Ok(pk) => pk,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let mut layout = layout(state, Some(s), "電話対応の記録").await;
    layout.flash = flash;
    let link = match f.link.as_str() {
        "thread" | "new" | "none" => f.link.clone(),
        _ if !f.thread_number.is_empty() => "thread".to_owned(),
        _ => "new".to_owned(),
    };
    let page = CallPage {
        layout,
        picker,
        caller_name: f.caller_name,
        caller_number: f.caller_number,
        outbound: f.direction == "outbound",
        answered: f.answered != "no",
        started_at: if f.started_at.is_empty() {
            local_value(state.now())
        } else {
            f.started_at
        },
        ended_at: f.ended_at,
        summary: f.summary,
        link,
        thread_number: f.thread_number,
        title: f.title,
        priorities: priority_choices(Some(
            Priority::parse(&f.priority).unwrap_or(Priority::Normal),
        )),
        errors,
    };
    render(status, &page)
}

#[handler]
pub async fn new_call(
    state: Data<&AppState>,
    Query(q): Query<CallQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let mut f = CallForm {
        org_q: q.org_q.clone(),
        ..CallForm::default()
    };
    // From a thread's page: the thread and its clinic are already known.
    if let Ok(n) = q.thread.trim().parse::<i64>() {
        match svc::get_thread(&state, &s.principal, n).await {
            Ok(v) => {
                f.thread_number = n.to_string();
                f.organization_id = v.thread.organization_id.to_string();
                f.link = "thread".into();
            }
            Err(e) => return failure(&state, Some(&s), e).await,
        }
    }
    let flash = (q.done == "call-logged").then(|| "電話対応を記録しました。".to_owned());
    call_page(&state, &s, f, FieldErrors::default(), flash, StatusCode::OK).await
}

#[handler]
pub async fn log_call(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<CallForm>,
) -> Response {
    // What the form itself cannot express is collected first, then the
    // service checks the rest; every message is shown at once.
    let mut errors = Vec::new();
    let organization = Uuid::parse_str(f.organization_id.trim()).ok();
    if organization.is_none() {
        errors.push(
            ValidationError::new("organization_id", "no such organization")
                .because(madoguchi_domain::Reason::UnknownOrganization),
        );
    }
    let started = local_datetime("started_at", &f.started_at)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let ended = local_datetime("ended_at", &f.ended_at)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let thread_number = match f.link.as_str() {
        "thread" => match f
            .thread_number
            .trim()
            .trim_start_matches('#')
            .parse::<i64>()
        {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(
                    ValidationError::new("thread_number", "no such thread")
                        .because(madoguchi_domain::Reason::UnknownThread),
                );
                None
            }
        },
        _ => None,
    };
    let open_thread =
        (f.link == "new").then(|| (f.title.as_str(), Priority::parse(&f.priority).ok()));
    let result = match organization {
        Some(org) if errors.is_empty() => {
            let summary = Some(f.summary.as_str()).filter(|s| !s.trim().is_empty());
            let new = service::calls::NewCall {
                organization_id: org,
                caller_name: &f.caller_name,
                caller_number: &f.caller_number,
                direction: if f.direction == "outbound" {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                },
                answered: f.answered != "no",
                started_at: started.unwrap_or_else(|| state.now()),
                ended_at: ended,
                summary,
                thread_number,
                open_thread,
            };
            service::calls::log_call(&state, &s.principal, new).await
        }
        _ => Err(ApiError::validation(errors)),
    };
    match result {
        Ok(v) => match v.thread_number {
            Some(n) => see_other(&format!("/threads/{n}")),
            None => see_other("/calls/new?done=call-logged"),
        },
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            // A start time that did not parse (rather than one in the future).
            let unreadable_start = e.errors.iter().any(|f| {
                f.field == "started_at" && f.reason == crate::http::problem::FieldReason::Invalid
            });
            let mut errors = field_errors(&e);
            for (field, message) in &mut errors.0 {
                if field == "started_at" && unreadable_start {
                    *message = "開始日時を入力してください（例：2026-12-02T10:30）。".into();
                }
                if field == "open_thread.title" {
                    *field = "title".into();
                }
            }
            call_page(
                &state,
                &s,
                f,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

// ---- notices ---------------------------------------------------------------

fn severity_choices(selected: Severity) -> Vec<Choice> {
    Severity::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_owned(),
            label: severity(s.as_str()).to_owned(),
            selected: *s == selected,
        })
        .collect()
}

fn notice_status_choices(selected: Option<NoticeStatus>) -> Vec<Choice> {
    NoticeStatus::ALL
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_owned(),
            label: s.label_ja().to_owned(),
            selected: Some(*s) == selected,
        })
        .collect()
}

/// What the publish form held, kept on a mistake.
#[derive(Default)]
struct NoticeValues {
    title: String,
    body: String,
    severity: Option<Severity>,
    status: Option<NoticeStatus>,
    all: bool,
    organizations: Vec<Uuid>,
    threads: String,
    /// The picker's name search (`?org_q=`).
    org_q: String,
}

/// The clinics a notice may be addressed to, narrowed by name, with every
/// clinic already ticked among them (a form shown again keeps its choices).
async fn notice_picker(
    state: &AppState,
    p: &crate::security::principal::Principal,
    form: &NoticeValues,
) -> Result<super::views::OrgPicker, crate::http::problem::ApiError> {
    let mut picker = super::pickers::organizations(state, p, &form.org_q, None).await?;
    for c in &mut picker.choices {
        c.selected = Uuid::parse_str(&c.value).is_ok_and(|id| form.organizations.contains(&id));
    }
    let missing: Vec<Uuid> = form
        .organizations
        .iter()
        .filter(|id| !picker.choices.iter().any(|c| c.value == id.to_string()))
        .copied()
        .collect();
    let names = service::organizations::names(state, p, &missing).await?;
    for id in missing {
        if let Some(name) = names.get(&id) {
            picker.choices.insert(
                0,
                Choice {
                    value: id.to_string(),
                    label: name.clone(),
                    selected: true,
                },
            );
        }
    }
    Ok(picker)
}

async fn notices_page(
    state: &AppState,
    s: &WebSession,
    form: NoticeValues,
    errors: FieldErrors,
    update_error: Option<(Uuid, String, String)>,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let p = &s.principal;
    let page = match service::announcements::list(state, p, false, None, 50).await {
        Ok(p) => p,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let staff = p.role().is_staff();
    let picker = if staff {
        match notice_picker(state, p, &form).await {
            Ok(pk) => pk,
            Err(e) => return failure(state, Some(s), e).await,
        }
    } else {
        super::views::OrgPicker::none()
    };
    let items = page
        .items
        .into_iter()
        .map(|(a, updates)| {
            let st = NoticeStatus::parse(&a.status).ok();
            let threads = service::announcements::visible_threads(service::Viewer::of(p), &a);
            let (update_body, update_message) = match &update_error {
                Some((id, body, m)) if *id == a.id => (body.clone(), Some(m.clone())),
                _ => (String::new(), None),
            };
            NoticeView {
                id: a.id.to_string(),
                title: a.title,
                severity: severity(&a.severity),
                status: st.map(|s| s.label_ja()).unwrap_or(""),
                active: st.is_some_and(|s| s.is_active()),
                body: a.body,
                published: jp::full_datetime(a.created_at),
                threads,
                statuses: notice_status_choices(st),
                update_body,
                update_error: update_message,
                updates: updates
                    .into_iter()
                    .map(|u| NoticeUpdate {
                        at: jp::full_datetime(u.created_at),
                        status: u
                            .status
                            .as_deref()
                            .and_then(|s| NoticeStatus::parse(s).ok())
                            .map(|s| s.label_ja()),
                        body: u.body,
                    })
                    .collect(),
            }
        })
        .collect();
    let mut layout = layout(state, Some(s), "お知らせ").await;
    layout.flash = flash;
    let page = NoticesPage {
        layout,
        notices: items,
        staff,
        picker,
        severities: severity_choices(form.severity.unwrap_or(Severity::Major)),
        statuses: notice_status_choices(Some(form.status.unwrap_or(NoticeStatus::Investigating))),
        all: form.all || errors.0.is_empty() && form.organizations.is_empty(),
        title: form.title,
        body: form.body,
        threads: form.threads,
        errors,
    };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct NoticesQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    org_q: String,
}

#[handler]
pub async fn notices(
    state: Data<&AppState>,
    Query(q): Query<NoticesQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let flash = match q.done.as_str() {
        "published" => Some("お知らせを掲載しました。関連するお問い合わせにも掲載されます。"),
        "updated" => Some("経過を掲載しました。関連するお問い合わせにも掲載されます。"),
        _ => None,
    }
    .map(str::to_owned);
    notices_page(
        &state,
        &s,
        NoticeValues {
            org_q: q.org_q,
            ..NoticeValues::default()
        },
        FieldErrors::default(),
        None,
        flash,
        StatusCode::OK,
    )
    .await
}

/// The publish form is read as pairs: `organization_ids` repeats, one per
/// ticked clinic.
#[handler]
pub async fn publish(
    state: Data<&AppState>,
    req: &Request,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let s = match form_session(&state, req, &get("csrf"), None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let organizations: Vec<Uuid> = pairs
        .iter()
        .filter(|(n, _)| n == "organization_ids")
        .filter_map(|(_, v)| Uuid::parse_str(v).ok())
        .collect();
    let all = get("audience") != "some";
    let threads_raw = get("threads");
    let mut thread_numbers = Vec::new();
    for t in threads_raw
        .split([',', '、', ' ', '　'])
        .filter(|t| !t.trim().is_empty())
    {
        match t.trim().trim_start_matches('#').parse::<i64>() {
            Ok(n) => thread_numbers.push(n),
            Err(_) => {
                errors.push(
                    ValidationError::new("thread_numbers", "no such thread")
                        .because(madoguchi_domain::Reason::UnknownThread),
                );
                break;
            }
        }
    }
    let severity = Severity::parse(&get("severity")).ok();
    let status = NoticeStatus::parse(&get("status")).ok();
    let (title, body) = (get("title"), get("body"));
    let result = if errors.is_empty() {
        let new = service::announcements::NewNotice {
            title: &title,
            body: &body,
            severity: severity.unwrap_or(Severity::Major),
            status: status.unwrap_or(NoticeStatus::Investigating),
            organization_ids: (!all).then(|| organizations.clone()),
            thread_numbers,
        };
        service::announcements::publish(&state, &s.principal, new)
            .await
            .map(|_| ())
    } else {
        Err(ApiError::validation(errors))
    };
    match result {
        Ok(()) => see_other("/notices?done=published"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let mut errors = field_errors(&e);
            for (field, message) in &mut errors.0 {
                if field == "organization_ids" && !all && organizations.is_empty() {
                    *message = "お知らせする医療機関を1つ以上選んでください。".into();
                }
                if field == "thread_numbers" {
                    *message = "関連するお問い合わせは、お知らせ先の医療機関のお問い合わせ番号をカンマ区切りで入力してください。".into();
                }
            }
            let values = NoticeValues {
                title,
                body,
                severity,
                status,
                all,
                organizations,
                threads: threads_raw,
                org_q: String::new(),
            };
            notices_page(
                &state,
                &s,
                values,
                errors,
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    status: String,
}

#[handler]
pub async fn add_update(
    state: Data<&AppState>,
    Path(id): Path<String>,
    SessionForm(s, f): SessionForm<UpdateForm>,
) -> Response {
    let id: Uuid = match path_id(&state, &s, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let status = NoticeStatus::parse(&f.status).ok();
    match service::announcements::add_update(&state, &s.principal, id, &f.body, status).await {
        Ok(_) => see_other("/notices?done=updated"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let message = field_errors(&e)
                .0
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join(" ");
            notices_page(
                &state,
                &s,
                NoticeValues::default(),
                FieldErrors::default(),
                Some((id, f.body, message)),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

csrf_forms!(CallForm, UpdateForm);
