//! The phone line: call logs (personal data: staff only, every read audited) and
//! their effect on threads.

use chrono::{DateTime, Utc};
use madoguchi_domain::Action;
use madoguchi_domain::{
    board::{Channel, PostBody, Priority, ThreadStatus, ThreadTitle},
    calls::{check_times, duration_seconds, outside_hours, Direction, PhoneNumber},
    DisplayName, Role, ValidationError,
};
use madoguchi_persistence::{
    audit::Outcome,
    begin, board,
    calls::{self, CallFilter, CallRecord},
    commit, organizations, Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    authorize,
    board::{answered_call_on, open_thread_in, Opening},
    entry, record, Object,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    security::principal::Principal,
};

/// A call as shown: the stored record, its thread's number and derived figures.
pub struct CallView {
    pub call: CallRecord,
    pub thread_number: Option<i64>,
    pub duration_seconds: Option<i64>,
}

pub(crate) async fn view(
    conn: &impl madoguchi_persistence::Conn,
    call: CallRecord,
) -> Result<CallView, ApiError> {
    let thread_number = match call.thread_id {
        Some(id) => Some(board::get_by_id(conn, id).await?.number),
        None => None,
    };
    let duration_seconds = duration_seconds(call.started_at, call.ended_at);
    Ok(CallView {
        call,
        thread_number,
        duration_seconds,
    })
}

pub struct NewCall<'a> {
    pub organization_id: Uuid,
    pub caller_name: &'a str,
    pub caller_number: &'a str,
    pub direction: Direction,
    pub answered: bool,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub summary: Option<&'a str>,
    pub thread_number: Option<i64>,
    pub open_thread: Option<(&'a str, Option<Priority>)>,
}

pub async fn log_call(
    state: &AppState,
    p: &Principal,
    new: NewCall<'_>,
) -> Result<CallView, ApiError> {
    authorize(
        state,
        p,
        Role::STAFF,
        Action::CallCreate,
        Some(Object::kind("call")),
    )
    .await?;
    let at = state.now();
    let mut errors = Vec::new();
    let name = DisplayName::parse(new.caller_name)
        .map_err(|e| ValidationError::new("caller_name", e.message));
    let name = name.map_err(|e| errors.push(e)).ok();
    let number = PhoneNumber::parse(new.caller_number)
        .map_err(|e| errors.push(e))
        .ok();
    if let Err(e) = check_times(new.started_at, new.ended_at, at) {
        errors.push(e);
    }
    let summary = match new.summary.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => PostBody::parse(s)
            .map(|b| Some(b.as_str().to_owned()))
            .map_err(|e| errors.push(ValidationError::new("summary", e.message)))
            .unwrap_or(None),
        None => None,
    };
    let title = new.open_thread.map(|(t, _)| {
        ThreadTitle::parse(t)
            .map_err(|e| errors.push(ValidationError::new("open_thread.title", e.message)))
            .ok()
    });
    if new.thread_number.is_some() && new.open_thread.is_some() {
        errors.push(ValidationError::new(
            "thread_number",
            "give thread_number or open_thread, not both",
        ));
    }
    let cal = state.calendar.get();
    if cal
        .day(
            new.started_at
                .with_timezone(&madoguchi_domain::time::TOKYO)
                .date_naive(),
        )
        .is_err()
    {
        errors.push(ValidationError::new(
            "started_at",
            "outside the calendar's range",
        ));
    }
    let (Some(name), Some(number)) = (name, number) else {
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    match organizations::get(&state.read, new.organization_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(
                ValidationError::new("organization_id", "no such organization")
                    .because(madoguchi_domain::Reason::UnknownOrganization)
                    .into(),
            )
        }
        Err(e) => return Err(e.into()),
    }
    let mut call = CallRecord {
        id: Uuid::now_v7(),
        organization_id: new.organization_id,
        caller_name: name.as_str().to_owned(),
        caller_number: number.as_str().to_owned(),
        direction: new.direction,
        answered: new.answered,
        started_at: new.started_at,
        ended_at: new.ended_at,
        outside_hours: outside_hours(&cal, new.direction, new.started_at),
        agent_id: p.user_id(),
        summary,
        thread_id: None,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let tx = begin(&state.db).await?;
    if let Some(n) = new.thread_number {
        let t = match board::get_by_number(&tx, n).await {
            Ok(t) if t.organization_id == call.organization_id => t,
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ValidationError::new(
                    "thread_number",
                    "no such thread in this organization",
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        if t.status == ThreadStatus::Closed {
            return Err(ApiError::with_detail(
                ProblemType::ThreadClosed,
                "this thread is closed; open a follow-up thread instead",
            ));
        }
        call.thread_id = Some(t.id);
        if call.answered {
            answered_call_on(state, &tx, n, call.started_at, call.id).await?;
        }
    }
    if let (Some(Some(title)), Some((_, priority))) = (title, new.open_thread) {
        // The call's details stay in the call log (staff only); the clinic sees
        // only that the thread came from a call.
        let body = "お電話でいただいたお問い合わせです。".to_owned();
        let (thread, _) = open_thread_in(
            state,
            &tx,
            p,
            Opening {
                organization_id: call.organization_id,
                title: title.as_str().to_owned(),
                body,
                category: None,
                priority: priority.unwrap_or(Priority::Normal),
                tags: Vec::new(),
                channel: Channel::Phone,
                follow_up_of: None,
                started_at: Some(call.started_at),
                answered_call: call.answered,
            },
        )
        .await?;
        call.thread_id = Some(thread.id);
    }
    calls::insert(&tx, &call).await?;
    let id = call.id.to_string();
    record(&tx, entry(state.now(),Some(p), Action::CallCreate, Some(Object::new("call", &id)), Outcome::Success,
        Some(json!({"organization_id": call.organization_id, "direction": call.direction.as_str(), "answered": call.answered})))).await?;
    let v = view(&tx, call).await?;
    commit(tx).await?;
    Ok(v)
}

/// Reading a call is reading personal data: audited.
pub async fn get_call(state: &AppState, p: &Principal, id: Uuid) -> Result<CallView, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::STAFF,
        Action::CallRead,
        Some(Object::new("call", &key)),
    )
    .await?;
    let call = calls::get(&state.read, id).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::CallRead,
            Some(Object::new("call", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    view(&state.read, call).await
}

pub async fn list_calls(
    state: &AppState,
    p: &Principal,
    f: CallFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<CallView>, ApiError> {
    authorize(
        state,
        p,
        Role::STAFF,
        Action::CallList,
        Some(Object::kind("call")),
    )
    .await?;
    if let (Some(a), Some(b)) = (f.from, f.to) {
        if b < a {
            return Err(ApiError::invalid_parameter("`to` is before `from`"));
        }
    }
    let page = calls::list(&state.read, &f, before, limit).await?;
    let ids: Vec<String> = page.items.iter().map(|c| c.id.to_string()).collect();
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::CallList,
            Some(Object::kind("call")),
            Outcome::Success,
            Some(json!({"returned": ids})),
        ),
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for c in page.items {
        items.push(view(&state.read, c).await?);
    }
    Ok(Page {
        items,
        has_more: page.has_more,
    })
}

pub struct CallChanges<'a> {
    pub ended_at: Option<DateTime<Utc>>,
    pub summary: Option<&'a str>,
    pub answered: Option<bool>,
}

/// Finish a call (its end, its summary) or correct whether it was answered.
pub async fn update_call(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    if_match: Option<&str>,
    ch: CallChanges<'_>,
) -> Result<CallView, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::STAFF,
        Action::CallUpdate,
        Some(Object::new("call", &key)),
    )
    .await?;
    if ch.ended_at.is_none() && ch.summary.is_none() && ch.answered.is_none() {
        return Err(ValidationError::new("body", "name at least one field to change").into());
    }
    let summary = match ch.summary.map(str::trim) {
        Some("") => Some(None),
        Some(s) => Some(Some(
            PostBody::parse(s)
                .map_err(|e| ValidationError::new("summary", e.message))?
                .as_str()
                .to_owned(),
        )),
        None => None,
    };
    let tx = begin(&state.db).await?;
    let mut call = calls::get(&tx, id).await?;
    let version = crate::http::etag::expected_version(if_match, call.version)?;
    if let Some(end) = ch.ended_at {
        check_times(call.started_at, Some(end), state.now())?;
        call.ended_at = Some(end);
    }
    if let Some(s) = summary {
        call.summary = s;
    }
    let newly_answered = ch.answered == Some(true) && !call.answered;
    if let Some(a) = ch.answered {
        call.answered = a;
    }
    call.updated_at = state.now();
    calls::update(&tx, &mut call, version).await?;
    if newly_answered {
        if let Some(tid) = call.thread_id {
            let n = board::get_by_id(&tx, tid).await?.number;
            answered_call_on(state, &tx, n, call.started_at, call.id).await?;
        }
    }
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::CallUpdate,
            Some(Object::new("call", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    let v = view(&tx, call).await?;
    commit(tx).await?;
    Ok(v)
}

/// Calls per day and hour over Tokyo dates [from, to] (at most 366 days), read a
/// page at a time. An empty range answers zeros.
pub async fn report(
    state: &AppState,
    p: &Principal,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    organization_id: Option<Uuid>,
) -> Result<madoguchi_domain::calls::CallReport, ApiError> {
    use madoguchi_domain::calls::{CallReport, CallSample};
    authorize(
        state,
        p,
        Role::STAFF,
        Action::CallReport,
        Some(Object::kind("call")),
    )
    .await?;
    madoguchi_domain::time::Span::new(from, to)?;
    if (to - from).num_days() >= 366 {
        return Err(ApiError::invalid_range("at most 366 days at a time"));
    }
    let cal = state.calendar.get();
    let start = cal.instant(from, 0)?;
    let end = cal.instant(to, 86_400)?;
    let filter = CallFilter {
        organization_id,
        from: Some(start),
        to: Some(end),
        ..Default::default()
    };
    let mut r = CallReport::new(from, to);
    let mut before = None;
    loop {
        let page = calls::list(&state.read, &filter, before, 500).await?;
        for c in &page.items {
            r.add(&CallSample {
                started_at: c.started_at,
                ended_at: c.ended_at,
                direction: c.direction,
                answered: c.answered,
                outside_hours: c.outside_hours,
            });
        }
        before = page.items.last().map(|c| c.id);
        if !page.has_more {
            break;
        }
    }
    record(&state.db, entry(state.now(),Some(p), Action::CallReport, Some(Object::kind("call")), Outcome::Success,
        Some(json!({"from": from.to_string(), "to": to.to_string(), "organization_id": organization_id})))).await?;
    Ok(r)
}
