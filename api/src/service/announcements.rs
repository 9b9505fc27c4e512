//! Incident notices: published to all or chosen organizations, each publication
//! and update posted (same transaction) as a public reply on the linked threads,
//! so a clinic that asked about the outage hears of it where it asked.

use chrono::{DateTime, Utc};
use madoguchi_domain::Action;
use madoguchi_domain::{
    announcements::{check_audience, NoticeStatus, Severity},
    board::{PostBody, ThreadTitle, Visibility},
    events::EventType,
    Role, ValidationError,
};
use madoguchi_persistence::{
    announcements::LinkedThread,
    announcements::{self, Announcement, Update},
    audit::Outcome,
    begin, board, commit, organizations,
    outbox::{self, NewEvent},
    Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, board::post_in, entry, hidden, record, Object, Viewer};
use crate::{app::state::AppState, http::problem::ApiError, security::principal::Principal};

pub struct NewNotice<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub severity: Severity,
    pub status: NoticeStatus,
    pub organization_ids: Option<Vec<Uuid>>,
    pub thread_numbers: Vec<i64>,
}

fn addressed_to(a: &Announcement, org: Option<Uuid>) -> bool {
    a.all_organizations || org.is_some_and(|o| a.organization_ids.contains(&o))
}

/// The linked threads the caller may know of: staff all of them, a customer
/// only its own organization's (another clinic's thread numbers are not its
/// business).
pub fn visible_threads(v: Viewer, a: &Announcement) -> Vec<i64> {
    a.threads
        .iter()
        .filter(|t| v == Viewer::Staff || v == Viewer::Clinic(Some(t.organization_id)))
        .map(|t| t.number)
        .collect()
}

/// Who else was told: staff only.
pub fn visible_audience(v: Viewer, a: &Announcement) -> Option<Vec<Uuid>> {
    v.is_staff().then(|| a.organization_ids.clone())
}

fn event(
    kind: EventType,
    a: &Announcement,
    extra: serde_json::Value,
    at: DateTime<Utc>,
) -> NewEvent {
    let mut payload = json!({
        "announcement_id": a.id, "title": a.title, "severity": a.severity, "status": a.status,
        "all_organizations": a.all_organizations, "organization_ids": a.organization_ids,
    });
    if let (Some(o), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    NewEvent {
        event_type: kind,
        dedupe_key: None,
        thread_id: None,
        organization_id: None,
        internal: false,
        payload,
        occurred_at: at,
    }
}

pub async fn publish(
    state: &AppState,
    p: &Principal,
    n: NewNotice<'_>,
) -> Result<(Announcement, Vec<Update>), ApiError> {
    authorize(
        state,
        p,
        Role::STAFF,
        Action::AnnouncementCreate,
        Some(Object::kind("announcement")),
    )
    .await?;
    let mut errors = Vec::new();
    let title = ThreadTitle::parse(n.title).map_err(|e| errors.push(e)).ok();
    let body = PostBody::parse(n.body).map_err(|e| errors.push(e)).ok();
    let all = n.organization_ids.is_none();
    let mut orgs = n.organization_ids.unwrap_or_default();
    orgs.sort();
    orgs.dedup();
    if let Err(e) = check_audience(all, orgs.len()) {
        errors.push(e);
    }
    if n.thread_numbers.len() > 100 {
        errors.push(ValidationError::new(
            "thread_numbers",
            "at most 100 threads",
        ));
    }
    let (Some(title), Some(body)) = (title, body) else {
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    for o in &orgs {
        match organizations::get(&state.db, *o).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(ValidationError::new(
                    "organization_ids",
                    format!("no such organization: {o}"),
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut threads = Vec::new();
    for num in &n.thread_numbers {
        match board::get_by_number(&state.db, *num).await {
            Ok(t) if all || orgs.contains(&t.organization_id) => threads.push(t),
            Ok(_) => {
                return Err(ValidationError::new(
                    "thread_numbers",
                    format!("thread {num} belongs to an organization outside the audience"),
                )
                .into())
            }
            Err(StoreError::NotFound) => {
                return Err(ValidationError::new(
                    "thread_numbers",
                    format!("no such thread: {num}"),
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let at = state.now();
    let a = Announcement {
        id: Uuid::now_v7(),
        title: title.as_str().to_owned(),
        body: body.as_str().to_owned(),
        severity: n.severity.as_str().to_owned(),
        status: n.status.as_str().to_owned(),
        all_organizations: all,
        organization_ids: orgs,
        thread_ids: threads.iter().map(|t| t.id).collect(),
        threads: threads
            .iter()
            .map(|t| LinkedThread {
                number: t.number,
                organization_id: t.organization_id,
            })
            .collect(),
        created_by: p.user_id(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let tx = begin(&state.db).await?;
    announcements::insert(&tx, &a).await?;
    let text = format!(
        "【障害情報】{}（{}）\n{}",
        a.title,
        n.status.label_ja(),
        a.body
    );
    for t in &threads {
        post_in(state, &tx, p, t.number, &text, Visibility::Public).await?;
    }
    outbox::append(
        &tx,
        event(EventType::AnnouncementPublished, &a, json!({}), state.now()),
    )
    .await?;
    let key = a.id.to_string();
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::AnnouncementCreate,
            Some(Object::new("announcement", &key)),
            Outcome::Success,
            Some(json!({"severity": a.severity, "status": a.status, "threads": n.thread_numbers})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok((a, Vec::new()))
}

pub async fn add_update(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    body: &str,
    status: Option<NoticeStatus>,
) -> Result<(Announcement, Vec<Update>), ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::STAFF,
        Action::AnnouncementUpdate,
        Some(Object::new("announcement", &key)),
    )
    .await?;
    let body = PostBody::parse(body)?;
    let tx = begin(&state.db).await?;
    let mut a = announcements::get(&tx, id).await?;
    let u = Update {
        id: Uuid::now_v7(),
        body: body.as_str().to_owned(),
        status: status.map(|s| s.as_str().to_owned()),
        created_by: p.user_id(),
        created_at: state.now(),
    };
    announcements::add_update(&tx, id, &u).await?;
    if let Some(s) = status {
        a.status = s.as_str().to_owned();
        a.updated_at = u.created_at;
        let v = a.version;
        announcements::update(&tx, &mut a, v).await?;
    }
    let label = status
        .map(|s| format!("（{}）", s.label_ja()))
        .unwrap_or_default();
    let text = format!("【障害情報の更新】{}{}\n{}", a.title, label, u.body);
    for tid in &a.thread_ids {
        let t = board::get_by_id(&tx, *tid).await?;
        if t.status == madoguchi_domain::board::ThreadStatus::Closed {
            continue;
        }
        post_in(state, &tx, p, t.number, &text, Visibility::Public).await?;
    }
    outbox::append(
        &tx,
        event(
            EventType::AnnouncementUpdated,
            &a,
            json!({"update_id": u.id, "body": u.body}),
            state.now(),
        ),
    )
    .await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::AnnouncementUpdate,
            Some(Object::new("announcement", &key)),
            Outcome::Success,
            Some(json!({"status": u.status})),
        ),
    )
    .await?;
    let updates = announcements::updates(&tx, id).await?;
    commit(tx).await?;
    Ok((a, updates))
}

/// Customers read only notices addressed to their organization; others are 404.
pub async fn get(
    state: &AppState,
    p: &Principal,
    id: Uuid,
) -> Result<(Announcement, Vec<Update>), ApiError> {
    let key = id.to_string();
    authorize(state, p, Role::ANYONE, Action::AnnouncementRead, None).await?;
    let a = match announcements::get(&state.read, id).await {
        Ok(a) if p.role().is_staff() || addressed_to(&a, p.organization_id()) => a,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(hidden(
                state,
                p,
                Action::AnnouncementRead,
                Object::new("announcement", &key),
            )
            .await)
        }
        Err(e) => return Err(e.into()),
    };
    let updates = announcements::updates(&state.read, id).await?;
    Ok((a, updates))
}

pub async fn list(
    state: &AppState,
    p: &Principal,
    active_only: bool,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<(Announcement, Vec<Update>)>, ApiError> {
    authorize(state, p, Role::ANYONE, Action::AnnouncementList, None).await?;
    let audience = if p.role().is_staff() {
        None
    } else {
        Some(p.organization_id().unwrap_or(Uuid::nil()))
    };
    let page = announcements::list(&state.read, audience, active_only, before, limit).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for a in page.items {
        let updates = announcements::updates(&state.read, a.id).await?;
        items.push((a, updates));
    }
    Ok(Page {
        items,
        has_more: page.has_more,
    })
}

pub struct NoticeChanges<'a> {
    pub title: Option<&'a str>,
    pub body: Option<&'a str>,
    pub severity: Option<Severity>,
}

pub async fn edit(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    if_match: Option<&str>,
    ch: NoticeChanges<'_>,
) -> Result<(Announcement, Vec<Update>), ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::STAFF,
        Action::AnnouncementUpdate,
        Some(Object::new("announcement", &key)),
    )
    .await?;
    if ch.title.is_none() && ch.body.is_none() && ch.severity.is_none() {
        return Err(ValidationError::new("body", "name at least one field to change").into());
    }
    let title = ch.title.map(ThreadTitle::parse).transpose()?;
    let body = ch.body.map(PostBody::parse).transpose()?;
    let tx = begin(&state.db).await?;
    let mut a = announcements::get(&tx, id).await?;
    let version = crate::http::etag::expected_version(if_match, a.version)?;
    if let Some(t) = title {
        a.title = t.as_str().to_owned();
    }
    if let Some(b) = body {
        a.body = b.as_str().to_owned();
    }
    if let Some(s) = ch.severity {
        a.severity = s.as_str().to_owned();
    }
    a.updated_at = state.now();
    announcements::update(&tx, &mut a, version).await?;
    outbox::append(
        &tx,
        event(EventType::AnnouncementUpdated, &a, json!({}), state.now()),
    )
    .await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::AnnouncementUpdate,
            Some(Object::new("announcement", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    let updates = announcements::updates(&tx, id).await?;
    commit(tx).await?;
    Ok((a, updates))
}
