//! The admin's organization pages: clinics, their contract, security setting, export and erasure.

use super::*;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub(crate) done: String,
    #[serde(default)]
    pub(crate) after: String,
    #[serde(default)]
    pub(crate) organization_id: String,
    #[serde(default)]
    pub(crate) org_q: String,
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
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) staff_totp_required: String,
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
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) contract_status: String,
    /// The row's checkbox: `on` when ticked, absent when not.
    #[serde(default)]
    pub(crate) totp_required: String,
    #[serde(default)]
    pub(crate) version: String,
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
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) confirm: String,
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
