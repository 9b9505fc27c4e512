//! The admin's user pages.

use super::*;

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
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) role: Option<Role>,
    pub(crate) organization: Option<Uuid>,
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
    let picker = match crate::web::pickers::organizations(state, p, &q.org_q, selected).await {
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
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) role: String,
    #[serde(default)]
    pub(crate) organization_id: String,
    #[serde(default)]
    pub(crate) password: String,
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
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) password: String,
    #[serde(default)]
    pub(crate) version: String,
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
