//! Admin pages: organizations, users, SLA policies and the business calendar
//! of a year. Each calls the service its REST route calls, so the service's
//! own authorization (admins only) and audit apply; a change redirects back
//! with a notice (`?done=`), a mistake renders the page again with the message
//! next to the field and what was typed.

use chrono::{Datelike, NaiveDate};
use madoguchi_domain::{
    board::{Priority, SlaPolicy},
    calendar::{ClosedReason, DateOverride, FIRST_YEAR, LAST_YEAR},
    ContractStatus, Role,
};
use madoguchi_persistence::users::UserFilter;
use poem::{
    handler,
    http::StatusCode,
    web::{Data, Path, Query},
    Request, Response,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    jp,
    pages::{failure, field_errors, layout, path_id, render, signed_in, SessionForm, PAGE},
    see_other,
    session::WebSession,
    views::*,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    service::{self, board as svc},
};

/// The notice after a change, by the code the redirect carries.
fn done_message(code: &str) -> Option<String> {
    let m = match code {
        "org-created" => "医療機関を登録しました。",
        "org-updated" => "医療機関の契約状態を変更しました。",
        "org-erased" => "個人データを削除しました。利用者はログインできなくなり、件名・本文・氏名・電話番号は「（削除済み）」になりました。",
        "erase-name-mismatch" => "医療機関名が一致しないため、削除しませんでした。登録どおりの名称を入力してください。",
        "erase-not-ended" => "契約が終了していない医療機関の個人データは削除できません（何も変更していません）。",
        "user-created" => "利用者を登録しました。",
        "user-deactivated" => "利用者を無効にしました。ログイン中のセッションはすべて終了しました。",
        "user-activated" => "利用者を有効にしました。",
        "totp-reset" => "2段階認証をリセットしました。この利用者のセッションはすべて終了しました。次のログインで設定し直します。",
        "totp-required" => "スタッフの2段階認証を必須にしました。未設定のスタッフは、設定が終わるまでほかの操作ができません。",
        "totp-optional" => "スタッフの2段階認証を任意にしました。",
        "totp-own-first" => "必須にする前に、ご自身の2段階認証を「アカウント」で設定してください（設定は変わっていません）。",
        "password-reset" => {
            "パスワードを再設定しました。この利用者のセッションはすべて終了しました。新しいパスワードをご本人に安全な方法でお伝えください。"
        }
        "sla-saved" => "SLA目標を保存しました。これから受け付けるお問い合わせに適用されます。",
        "closure-added" => "休業日・特別営業日を追加しました。進行中の期限は再計算されました。",
        "closure-removed" => "休業日・特別営業日を削除しました。進行中の期限は再計算されました。",
        _ => return None,
    };
    Some(m.to_owned())
}

async fn admin_layout(state: &AppState, s: &WebSession, title: &str, done: Option<&str>) -> Layout {
    let mut l = layout(state, Some(s), title).await;
    l.flash = done.and_then(done_message);
    l
}

/// The `If-Match` value for the version a form carried.
fn tag(version: &str) -> String {
    format!("\"{}\"", version.trim())
}

#[handler]
pub async fn home() -> Response {
    see_other("/admin/organizations")
}

/// An admin signed in to the board, as a handler parameter: anyone else gets
/// the page [`admin_signed_in`] answers.
pub(crate) struct AdminSignedIn(pub WebSession);

impl<'a> poem::FromRequest<'a> for AdminSignedIn {
    async fn from_request(req: &'a Request, _body: &mut poem::RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        admin_signed_in(state, req)
            .await
            .map(AdminSignedIn)
            .map_err(poem::Error::from_response)
    }
}

/// The admin pages are for admins: an agent who opens one is told so, rather
/// than shown forms that would refuse every change.
async fn admin_signed_in(state: &AppState, req: &Request) -> Result<WebSession, Response> {
    let s = signed_in(state, req, None).await?;
    if !Role::ADMINS.contains(&s.principal.role()) {
        return Err(failure(state, Some(&s), ApiError::forbidden_for(Role::ADMINS)).await);
    }
    Ok(s)
}

// ---- organizations ---------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    org_q: String,
}

fn contract_choices(selected: ContractStatus) -> Vec<Choice> {
    ContractStatus::ALL
        .iter()
        .map(|c| Choice {
            value: c.as_str().to_owned(),
            label: jp::contract(*c).to_owned(),
            selected: *c == selected,
        })
        .collect()
}

async fn organizations_page(
    state: &AppState,
    s: &WebSession,
    q: &ListQuery,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    let after = Uuid::parse_str(q.after.trim()).ok();
    let page = match service::organizations::list(state, &s.principal, after, None, PAGE).await {
        Ok(p) => p,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let next = if page.has_more {
        page.items
            .last()
            .map(|o| format!("/admin/organizations?after={}", o.id))
    } else {
        None
    };
    let page = AdminOrganizationsPage {
        layout: admin_layout(state, s, "医療機関の管理", Some(&q.done)).await,
        rows: page
            .items
            .into_iter()
            .map(|o| OrganizationRow {
                id: o.id.to_string(),
                contract: jp::contract(o.contract_status),
                statuses: contract_choices(o.contract_status),
                ended: o.contract_status == ContractStatus::Ended,
                totp_required: o.totp_required,
                version: o.version,
                created: jp::full_datetime(o.created_at),
                name: o.name,
            })
            .collect(),
        name,
        statuses: contract_choices(ContractStatus::Active),
        errors,
        next,
    };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct SecurityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    staff_totp_required: String,
}

/// Require (or not) a second factor of all staff.
#[handler]
pub async fn put_security(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<SecurityForm>,
) -> Response {
    let on = f.staff_totp_required == "on";
    match service::second_factor::set_staff_required(&state, &s.principal, on).await {
        Ok(true) => see_other("/admin/users?done=totp-required"),
        Ok(false) => see_other("/admin/users?done=totp-optional"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            see_other("/admin/users?done=totp-own-first")
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[handler]
pub async fn organizations(
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
    AdminSignedIn(s): AdminSignedIn,
) -> Response {
    organizations_page(
        &state,
        &s,
        &q,
        String::new(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct OrganizationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contract_status: String,
    /// The row's checkbox: `on` when ticked, absent when not.
    #[serde(default)]
    totp_required: String,
    #[serde(default)]
    version: String,
}

#[handler]
pub async fn create_organization(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<OrganizationForm>,
) -> Response {
    let status = ContractStatus::parse(&f.contract_status).ok();
    match service::organizations::create(&state, &s.principal, &f.name, status).await {
        Ok(_) => see_other("/admin/organizations?done=org-created"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let errors = field_errors(&e);
            let q = ListQuery::default();
            organizations_page(
                &state,
                &s,
                &q,
                f.name,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[handler]
pub async fn update_organization(
    state: Data<&AppState>,
    Path(id): Path<String>,
    SessionForm(s, f): SessionForm<OrganizationForm>,
) -> Response {
    let id: Uuid = match path_id(&state, &s, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let status = ContractStatus::parse(&f.contract_status).ok();
    let name = Some(f.name.as_str()).filter(|n| !n.trim().is_empty());
    let tag = tag(&f.version);
    let edit = service::organizations::OrganizationEdit {
        name,
        contract_status: status,
        // The row's form always carries its whole state, the checkbox too.
        totp_required: Some(f.totp_required == "on"),
    };
    match service::organizations::update(&state, &s.principal, id, Some(&tag), edit).await {
        Ok(_) => see_other("/admin/organizations?done=org-updated"),
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

/// The organization's archive (the same ZIP as `POST /v1/organizations/{id}/export`).
#[handler]
pub async fn export_organization(
    state: Data<&AppState>,
    Path(id): Path<String>,
    SessionForm(s, _): SessionForm<CsrfForm>,
) -> Response {
    let id: Uuid = match path_id(&state, &s, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match service::contract_end::start_export(&state, &s.principal, id).await {
        Ok((org, finished)) => {
            let name = crate::archive::file_name(&org, state.now());
            Response::builder()
                .content_type("application/zip")
                .header(
                    poem::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                )
                .body(crate::archive::stream(state.clone(), org, finished))
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// Erase an ended contract's personal data, its name typed as confirmation.
#[handler]
pub async fn erase_organization(
    state: Data<&AppState>,
    Path(id): Path<String>,
    SessionForm(s, f): SessionForm<EraseForm>,
) -> Response {
    let id: Uuid = match path_id(&state, &s, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match service::contract_end::erase(&state, &s.principal, id, &f.confirm).await {
        Ok(_) => see_other("/admin/organizations?done=org-erased"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            see_other("/admin/organizations?done=erase-name-mismatch")
        }
        Err(e) if e.kind == ProblemType::ContractNotEnded => {
            see_other("/admin/organizations?done=erase-not-ended")
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

// ---- users -----------------------------------------------------------------

fn role_choices(selected: Role) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: jp::role(*r).to_owned(),
            selected: *r == selected,
        })
        .collect()
}

/// What the new-user form held, kept on a mistake.
#[derive(Default)]
struct NewUserValues {
    email: String,
    display_name: String,
    role: Option<Role>,
    organization: Option<Uuid>,
}

async fn users_page(
    state: &AppState,
    s: &WebSession,
    q: &ListQuery,
    form: NewUserValues,
    errors: FieldErrors,
    row_error: Option<(Uuid, String)>,
    status: StatusCode,
) -> Response {
    let p = &s.principal;
    let filter_org = Uuid::parse_str(q.organization_id.trim()).ok();
    let after = Uuid::parse_str(q.after.trim()).ok();
    let filter = UserFilter {
        organization_id: filter_org,
        ..Default::default()
    };
    let page = match service::users::list(state, p, filter, after, PAGE).await {
        Ok(p) => p,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .filter_map(|u| u.organization_id)
        .collect();
    let names = match service::organizations::names(state, p, &ids).await {
        Ok(n) => n,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let org_name = |id: Option<Uuid>| {
        id.and_then(|id| names.get(&id).cloned())
            .unwrap_or_default()
    };
    let selected = form.organization.or(filter_org);
    let picker = match super::pickers::organizations(state, p, &q.org_q, selected).await {
        Ok(pk) => pk,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let next = if page.has_more {
        page.items.last().map(|u| {
            format!(
                "/admin/users?organization_id={}&after={}",
                filter_org.map(|o| o.to_string()).unwrap_or_default(),
                u.id
            )
        })
    } else {
        None
    };
    let rows = page
        .items
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            error: row_error
                .as_ref()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, m)| m.clone()),
            role: jp::role(u.role),
            organization: org_name(u.organization_id),
            active: u.active,
            totp: u.totp_enrolled,
            version: u.version,
            name: u.display_name,
            email: u.email,
        })
        .collect();
    let page = AdminUsersPage {
        layout: admin_layout(state, s, "利用者の管理", Some(&q.done)).await,
        rows,
        picker,
        filter_selected: filter_org.map(|o| o.to_string()).unwrap_or_default(),
        roles: role_choices(form.role.unwrap_or(Role::Customer)),
        email: form.email,
        display_name: form.display_name,
        errors,
        next,
        staff_totp_required: service::second_factor::staff_required(state)
            .await
            .unwrap_or(false),
    };
    render(status, &page)
}

#[handler]
pub async fn users(
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
    AdminSignedIn(s): AdminSignedIn,
) -> Response {
    users_page(
        &state,
        &s,
        &q,
        NewUserValues::default(),
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    password: String,
}

#[handler]
pub async fn create_user(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<NewUserForm>,
) -> Response {
    let role = Role::parse(&f.role).unwrap_or(Role::Customer);
    let organization = Uuid::parse_str(f.organization_id.trim()).ok();
    let new = service::users::CreateUser {
        email: &f.email,
        display_name: &f.display_name,
        role,
        organization_id: organization,
        password: &f.password,
    };
    match service::users::create(&state, &s.principal, new).await {
        Ok(_) => see_other("/admin/users?done=user-created"),
        Err(e)
            if matches!(
                e.kind,
                ProblemType::ValidationFailed | ProblemType::EmailTaken
            ) =>
        {
            let errors = if e.kind == ProblemType::EmailTaken {
                FieldErrors(vec![(
                    "email".into(),
                    "このメールアドレスはすでに登録されています。".into(),
                )])
            } else {
                field_errors(&e)
            };
            let values = NewUserValues {
                email: f.email,
                display_name: f.display_name,
                role: Some(role),
                organization,
            };
            users_page(
                &state,
                &s,
                &ListQuery::default(),
                values,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct UserActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    version: String,
}

#[handler]
pub async fn update_user(
    state: Data<&AppState>,
    Path(id): Path<String>,
    SessionForm(s, f): SessionForm<UserActionForm>,
) -> Response {
    let id: Uuid = match path_id(&state, &s, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut upd = service::users::UpdateUser {
        display_name: None,
        role: None,
        organization_id: None,
        active: None,
        password: None,
    };
    if f.action == "totp_reset" {
        return match service::second_factor::reset(&state, &s.principal, id).await {
            Ok(_) => see_other("/admin/users?done=totp-reset"),
            Err(e) => failure(&state, Some(&s), e).await,
        };
    }
    let done = match f.action.as_str() {
        "deactivate" => {
            upd.active = Some(false);
            "user-deactivated"
        }
        "activate" => {
            upd.active = Some(true);
            "user-activated"
        }
        "password" => {
            upd.password = Some(&f.password);
            "password-reset"
        }
        _ => return failure(&state, Some(&s), ApiError::new(ProblemType::NotFound)).await,
    };
    let tag = tag(&f.version);
    match service::users::update(&state, &s.principal, id, Some(&tag), upd).await {
        Ok(_) => see_other(&format!("/admin/users?done={done}")),
        Err(e) => {
            let message = match e.kind {
                ProblemType::ValidationFailed => field_errors(&e)
                    .0
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join(" "),
                ProblemType::PreconditionFailed => {
                    "ほかの管理者が先にこの利用者を変更しました。最新の内容を確認してから、もう一度操作してください。".into()
                }
                ProblemType::LastAdmin => {
                    "最後の有効な管理者は無効にできません。先に別の管理者を登録してください。"
                        .into()
                }
                _ => return failure(&state, Some(&s), e).await,
            };
            users_page(
                &state,
                &s,
                &ListQuery::default(),
                NewUserValues::default(),
                FieldErrors::default(),
                Some((id, message)),
                e.status,
            )
            .await
        }
    }
}

// ---- SLA policies ----------------------------------------------------------

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn sla_page(
    state: &AppState,
    s: &WebSession,
    done: &str,
    typed: Option<(Priority, [String; 3], FieldErrors)>,
    status: StatusCode,
) -> Response {
    let (set, meta) = match svc::get_policies(state, &s.principal).await {
        Ok(r) => r,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let mut typed = typed;
    let rows = Priority::ALL
        .iter()
        .rev()
        .map(|&p| {
            let pol = set.get(p);
            let updated = meta
                .iter()
                .find(|(x, _, _)| *x == p)
                .map(|m| jp::full_datetime(m.2))
                .unwrap_or_else(|| "初期設定".to_owned());
            let (values, errors) = match typed.take_if(|t| t.0 == p) {
                Some((_, v, e)) => (v, e),
                None => (
                    [
                        pol.first_response_minutes.to_string(),
                        pol.next_reply_minutes.to_string(),
                        pol.resolution_minutes.to_string(),
                    ],
                    FieldErrors::default(),
                ),
            };
            let [first, next, resolution] = values;
            SlaRow {
                priority: p.as_str(),
                label: jp::priority(p),
                first,
                next,
                resolution,
                first_text: jp::duration(u64::from(pol.first_response_minutes) * 60),
                resolution_text: jp::duration(u64::from(pol.resolution_minutes) * 60),
                updated,
                errors,
            }
        })
        .collect();
    let page = AdminSlaPage {
        layout: admin_layout(state, s, "SLA目標", Some(done)).await,
        rows,
        min: *SlaPolicy::MINUTES.start(),
        max: *SlaPolicy::MINUTES.end(),
    };
    render(status, &page)
}

#[handler]
pub async fn sla(
    state: Data<&AppState>,
    Query(q): Query<DoneQuery>,
    AdminSignedIn(s): AdminSignedIn,
) -> Response {
    sla_page(&state, &s, &q.done, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct SlaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_response_minutes: String,
    #[serde(default)]
    next_reply_minutes: String,
    #[serde(default)]
    resolution_minutes: String,
}

#[handler]
pub async fn put_sla(
    state: Data<&AppState>,
    Path(priority): Path<String>,
    SessionForm(s, f): SessionForm<SlaForm>,
) -> Response {
    let Ok(priority) = Priority::parse(&priority) else {
        return failure(&state, Some(&s), ApiError::new(ProblemType::NotFound)).await;
    };
    // Not a number reads as 0, which the policy's own range check refuses
    // with the field's message.
    let minutes = |v: &str| v.trim().parse::<u32>().unwrap_or(0);
    let next = Some(f.next_reply_minutes.trim())
        .filter(|v| !v.is_empty())
        .map(minutes);
    let policy = SlaPolicy::stated(
        minutes(&f.first_response_minutes),
        next,
        minutes(&f.resolution_minutes),
    );
    match svc::put_policy(&state, &s.principal, priority, policy).await {
        Ok(_) => see_other("/admin/sla?done=sla-saved"),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let typed = (
                priority,
                [
                    f.first_response_minutes,
                    f.next_reply_minutes,
                    f.resolution_minutes,
                ],
                field_errors(&e),
            );
            sla_page(
                &state,
                &s,
                "",
                Some(typed),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

// ---- the business calendar -------------------------------------------------

#[derive(Deserialize)]
pub struct CalendarQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    done: String,
}

/// What the add form held, kept on a mistake.
#[derive(Default)]
struct ClosureValues {
    date: String,
    special: bool,
    hours: String,
    note: String,
}

fn month_view(days: &[madoguchi_domain::calendar::DayInfo], month: u32) -> MonthView {
    let in_month: Vec<_> = days.iter().filter(|d| d.date.month() == month).collect();
    let mut weeks: Vec<Vec<DayCell>> = Vec::new();
    let mut week: Vec<DayCell> = Vec::new();
    if let Some(first) = in_month.first() {
        // Weeks start on Sunday, as Japanese wall calendars do.
        for _ in 0..first.date.weekday().num_days_from_sunday() {
            week.push(DayCell::default());
        }
    }
    for d in in_month {
        let (class, label) = match &d.closed {
            Some(ClosedReason::Holiday { name }) => ("holiday", (*name).to_owned()),
            Some(ClosedReason::Closure { note }) => (
                "closure",
                if note.is_empty() {
                    "休業".to_owned()
                } else {
                    format!("休業：{note}")
                },
            ),
            Some(ClosedReason::Weekend) => ("weekend", String::new()),
            None if d.note.is_some() => (
                "special",
                format!("特別営業 {}", jp::intervals(&d.intervals)),
            ),
            None => ("open", String::new()),
        };
        let label = match (d.holiday, class) {
            (Some(h), "closure" | "special") => format!("{h}・{label}"),
            _ => label,
        };
        week.push(DayCell {
            day: d.date.day(),
            class,
            label,
            full: jp::date(d.date),
        });
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(DayCell::default());
        }
        weeks.push(week);
    }
    MonthView {
        title: format!("{month}月"),
        weeks,
    }
}

async fn calendar_page(
    state: &AppState,
    s: &WebSession,
    year: i32,
    done: &str,
    form: ClosureValues,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    let year = year.clamp(FIRST_YEAR, LAST_YEAR);
    let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return failure(state, Some(s), ApiError::new(ProblemType::NotFound)).await;
    };
    // The overrides first: they are the admin-only read, audited.
    let after = from.pred_opt();
    let closures = match service::calendar::list_closures(state, &s.principal, after, 200).await {
        Ok(p) => p.items,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let days = match service::calendar::days(state, from, to) {
        Ok(d) => d,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let holidays = match service::calendar::holidays(year) {
        Ok(h) => h,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let page = AdminCalendarPage {
        layout: admin_layout(state, s, &format!("{year}年の営業日カレンダー"), Some(done)).await,
        year,
        prev: (year > FIRST_YEAR).then_some(year - 1),
        next: (year < LAST_YEAR).then_some(year + 1),
        months: (1..=12).map(|m| month_view(&days, m)).collect(),
        holidays: holidays
            .into_iter()
            .map(|h| (jp::date(h.date), h.name))
            .collect(),
        closures: closures
            .into_iter()
            .filter(|c| c.date.year() == year)
            .map(|c| {
                let (kind, note) = match c.rule {
                    DateOverride::Closed { note } => ("休業".to_owned(), note),
                    DateOverride::Hours { intervals, note } => {
                        (format!("特別営業 {}", jp::intervals(&intervals)), note)
                    }
                };
                ClosureRow {
                    date: c.date.to_string(),
                    label: jp::date(c.date),
                    kind,
                    note,
                }
            })
            .collect(),
        hours: jp::hours(state.calendar.get().rules()),
        date: form.date,
        special: form.special,
        special_hours: form.hours,
        note: form.note,
        errors,
    };
    render(status, &page)
}

fn this_year(state: &AppState) -> i32 {
    state
        .now()
        .with_timezone(&madoguchi_domain::time::TOKYO)
        .year()
}

#[handler]
pub async fn calendar(
    state: Data<&AppState>,
    Query(q): Query<CalendarQuery>,
    AdminSignedIn(s): AdminSignedIn,
) -> Response {
    let year = q.year.trim().parse().unwrap_or_else(|_| this_year(&state));
    calendar_page(
        &state,
        &s,
        year,
        &q.done,
        ClosureValues::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct ClosureForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    note: String,
}

#[handler]
pub async fn add_closure(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<ClosureForm>,
) -> Response {
    let special = f.kind == "hours";
    let date = NaiveDate::parse_from_str(f.date.trim(), "%Y-%m-%d").ok();
    let hours: Vec<String> = f
        .hours
        .split([',', '、', ' '])
        .map(|h| h.trim().replace(['〜', '–'], "-"))
        .filter(|h| !h.is_empty())
        .collect();
    let result = match date {
        Some(d) => {
            service::calendar::add_closure(
                &state,
                &s.principal,
                d,
                &f.note,
                special.then_some(hours.as_slice()),
            )
            .await
        }
        None => Err(ApiError::validation(vec![
            madoguchi_domain::ValidationError::new("date", "must be a date"),
        ])),
    };
    let year = date.map(|d| d.year()).unwrap_or_else(|| this_year(&state));
    match result {
        Ok(_) => see_other(&format!("/admin/calendar?year={year}&done=closure-added")),
        Err(e)
            if matches!(
                e.kind,
                ProblemType::ValidationFailed | ProblemType::ClosureExists
            ) =>
        {
            let errors = match e.kind {
                ProblemType::ClosureExists => FieldErrors(vec![(
                    "date".into(),
                    "この日にはすでに休業日か特別営業の設定があります。先に削除してください。"
                        .into(),
                )]),
                _ if date.is_none() => FieldErrors(vec![(
                    "date".into(),
                    "日付を選んでください（例：2026-12-28）。".into(),
                )]),
                _ => field_errors(&e),
            };
            let values = ClosureValues {
                date: f.date,
                special,
                hours: f.hours,
                note: f.note,
            };
            calendar_page(
                &state,
                &s,
                year,
                "",
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[handler]
pub async fn remove_closure(
    state: Data<&AppState>,
    Path(date): Path<String>,
    SessionForm(s, _): SessionForm<CsrfForm>,
) -> Response {
    let date: NaiveDate = match path_id(&state, &s, &date).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match service::calendar::remove_closure(&state, &s.principal, date).await {
        Ok(()) => see_other(&format!(
            "/admin/calendar?year={}&done=closure-removed",
            date.year()
        )),
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

csrf_forms!(
    ClosureForm,
    CsrfForm,
    EraseForm,
    NewUserForm,
    OrganizationForm,
    SecurityForm,
    SlaForm,
    UserActionForm
);
