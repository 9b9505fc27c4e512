use madoguchi_domain::Action;
use madoguchi_domain::{ContractStatus, OrganizationName, Role, ValidationError};
use madoguchi_persistence::{
    audit::Outcome,
    begin, commit,
    organizations::{self, Organization, OrganizationChanges},
    Page,
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, entry, hidden, record, Object};
use crate::{
    app::state::AppState, http::etag::expected_version, http::problem::ApiError,
    security::principal::Principal,
};

pub async fn create(
    state: &AppState,
    p: &Principal,
    name: &str,
    status: Option<ContractStatus>,
) -> Result<Organization, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::OrganizationCreate,
        Some(Object::kind("organization")),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let name = OrganizationName::parse(name)?;
    let org = organizations::insert(
        &tx,
        &name,
        status.unwrap_or(ContractStatus::Active),
        state.now(),
    )
    .await?;
    let id = org.id.to_string();
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::OrganizationCreate,
            Some(Object::new("organization", &id)),
            Outcome::Success,
            Some(json!({"name": org.name, "contract_status": org.contract_status.as_str()})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(org)
}

/// Staff read any organization; a customer reads only their own, and another
/// organization is "not found".
pub async fn get(state: &AppState, p: &Principal, id: Uuid) -> Result<Organization, ApiError> {
    let sid = id.to_string();
    authorize(
        state,
        p,
        Role::ANYONE,
        Action::OrganizationRead,
        Some(Object::new("organization", &sid)),
    )
    .await?;
    if !p.actor().may_see_organization(Some(id.as_u128())) {
        return Err(hidden(
            state,
            p,
            Action::OrganizationRead,
            Object::new("organization", &sid),
        )
        .await);
    }
    Ok(organizations::get(&state.db, id).await?)
}

pub async fn list(
    state: &AppState,
    p: &Principal,
    after: Option<Uuid>,
    status: Option<ContractStatus>,
    limit: u64,
) -> Result<Page<Organization>, ApiError> {
    authorize(
        state,
        p,
        Role::STAFF,
        Action::OrganizationList,
        Some(Object::kind("organization")),
    )
    .await?;
    Ok(organizations::list(&state.db, after, status, limit).await?)
}

/// What a change of an organization may touch; `None` leaves a field as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct OrganizationEdit<'a> {
    pub name: Option<&'a str>,
    pub contract_status: Option<ContractStatus>,
    /// Require a second factor of the organization's users.
    pub totp_required: Option<bool>,
}

pub async fn update(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    if_match: Option<&str>,
    edit: OrganizationEdit<'_>,
) -> Result<Organization, ApiError> {
    let sid = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::OrganizationUpdate,
        Some(Object::new("organization", &sid)),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let current = organizations::get(&tx, id).await?;
    let version = expected_version(if_match, current.version)?;
    let changes = OrganizationChanges {
        name: edit.name.map(OrganizationName::parse).transpose()?,
        contract_status: edit.contract_status,
        totp_required: edit.totp_required,
    };
    if changes.name.is_none()
        && changes.contract_status.is_none()
        && changes.totp_required.is_none()
    {
        return Err(ValidationError::new(
            "body",
            "name every field to change (name, contract_status, totp_required)",
        )
        .into());
    }
    let org = organizations::update(&tx, id, version, &changes, state.now()).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::OrganizationUpdate,
            Some(Object::new("organization", &sid)),
            Outcome::Success,
            Some(json!({
                "from": {"name": current.name, "contract_status": current.contract_status.as_str(),
                         "totp_required": current.totp_required},
                "to": {"name": org.name, "contract_status": org.contract_status.as_str(),
                       "totp_required": org.totp_required},
            })),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(org)
}

/// The names of the organizations `ids` names, for staff pages that show rows
/// of any number of clinics (a queue, a user list).
pub async fn names(
    state: &AppState,
    p: &Principal,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, ApiError> {
    may_list(state, p).await?;
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    Ok(organizations::names(&state.read, &ids)
        .await?
        .into_iter()
        .collect())
}

/// What a picker offers: up to `limit` organizations whose name contains
/// `name_part`, by name, with `selected` always among them, and whether more
/// match (then the page asks for part of the name).
pub async fn choices(
    state: &AppState,
    p: &Principal,
    name_part: Option<&str>,
    selected: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<Organization>, bool), ApiError> {
    may_list(state, p).await?;
    let (mut found, more) = organizations::find(&state.read, name_part, limit).await?;
    if let Some(id) = selected.filter(|id| !found.iter().any(|o| o.id == *id)) {
        match organizations::get(&state.read, id).await {
            Ok(o) => found.insert(0, o),
            Err(madoguchi_persistence::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((found, more))
}

/// Staff may list clinics (their names, a picker's choices).
async fn may_list(state: &AppState, p: &Principal) -> Result<(), ApiError> {
    super::authorize(
        state,
        p,
        Role::STAFF,
        Action::OrganizationList,
        Some(Object::kind("organization")),
    )
    .await
}
