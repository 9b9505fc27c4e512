use madoguchi_domain::Action;
use madoguchi_domain::{DisplayName, Email, Password, Role, ValidationError};
use madoguchi_persistence::{
    audit::Outcome,
    begin, commit, organizations, sessions,
    users::{self, NewUser, User, UserChanges, UserFilter},
    Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, entry, record, Object};
use crate::{
    app::state::AppState,
    http::etag::expected_version,
    http::problem::{ApiError, ProblemType},
    security::passwords::{check_guessable, hash_password},
    security::principal::Principal,
};

pub struct CreateUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub organization_id: Option<Uuid>,
    pub password: &'a str,
}

/// Collect every validation error at once, so a form can show them all.
fn collect<T>(errors: &mut Vec<ValidationError>, r: Result<T, ValidationError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

pub async fn create(
    state: &AppState,
    p: &Principal,
    new: CreateUser<'_>,
) -> Result<User, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::UserCreate,
        Some(Object::kind("user")),
    )
    .await?;
    let mut errors = Vec::new();
    let email = collect(&mut errors, Email::parse(new.email));
    let name = collect(&mut errors, DisplayName::parse(new.display_name));
    let password = collect(&mut errors, Password::parse(new.password));
    collect(
        &mut errors,
        new.role.check_organization(new.organization_id.is_some()),
    );
    if let (Some(pw), Some(e), Some(n)) = (&password, &email, &name) {
        collect(&mut errors, check_guessable(pw, &[e.as_str(), n.as_str()]));
    }
    let (Some(email), Some(name), Some(password)) = (email, name, password) else {
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some(org) = new.organization_id {
        match organizations::get(&state.db, org).await {
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
    }
    let password_hash = hash_password(password.expose().to_owned()).await?;
    let tx = begin(&state.db).await?;
    let user = users::insert(
        &tx,
        NewUser {
            email: &email,
            display_name: &name,
            role: new.role,
            organization_id: new.organization_id,
            password_hash,
        },
        state.now(),
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict => ApiError::with_detail(
            ProblemType::EmailTaken,
            "a user with this email already exists",
        ),
        e => e.into(),
    })?;
    let id = user.id.to_string();
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::UserCreate,
            Some(Object::new("user", &id)),
            Outcome::Success,
            Some(json!({"role": user.role.as_str(), "organization_id": user.organization_id})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(user)
}

/// Reading a user is reading personal data: audited.
pub async fn get(state: &AppState, p: &Principal, id: Uuid) -> Result<User, ApiError> {
    let sid = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::UserRead,
        Some(Object::new("user", &sid)),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let user = users::get(&tx, id).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::UserRead,
            Some(Object::new("user", &sid)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(user)
}

pub async fn list(
    state: &AppState,
    p: &Principal,
    filter: UserFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<User>, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::UserList,
        Some(Object::kind("user")),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let page = users::list(&tx, &filter, after, limit).await?;
    let ids: Vec<String> = page.items.iter().map(|u| u.id.to_string()).collect();
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::UserList,
            Some(Object::kind("user")),
            Outcome::Success,
            Some(json!({"returned": ids})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(page)
}

pub struct UpdateUser<'a> {
    pub display_name: Option<&'a str>,
    pub role: Option<Role>,
    pub organization_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
    pub password: Option<&'a str>,
}

/// Change a user. Deactivation, a role or organization change and a new password
/// revoke every session of that user at once: a token must never outlive the
/// rights it was issued for.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    if_match: Option<&str>,
    upd: UpdateUser<'_>,
) -> Result<User, ApiError> {
    let sid = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::UserUpdate,
        Some(Object::new("user", &sid)),
    )
    .await?;
    let mut errors = Vec::new();
    let display_name = upd
        .display_name
        .and_then(|n| collect(&mut errors, DisplayName::parse(n)));
    let password = upd
        .password
        .and_then(|pw| collect(&mut errors, Password::parse(pw)));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if display_name.is_none()
        && upd.role.is_none()
        && upd.organization_id.is_none()
        && upd.active.is_none()
        && password.is_none()
    {
        return Err(ValidationError::new("body", "name at least one field to change").into());
    }
    let password_hash = match password {
        Some(pw) => {
            let owner = users::get(&state.db, id).await?;
            check_guessable(&pw, &[&owner.email, &owner.display_name])?;
            Some(hash_password(pw.expose().to_owned()).await?)
        }
        None => None,
    };

    let tx = begin(&state.db).await?;
    let current = users::get(&tx, id).await?;
    let version = expected_version(if_match, current.version)?;
    let role = upd.role.unwrap_or(current.role);
    let org = upd.organization_id.unwrap_or(current.organization_id);
    role.check_organization(org.is_some())?;
    if let Some(o) = upd.organization_id.flatten() {
        if organizations::get(&tx, o).await.is_err() {
            return Err(
                ValidationError::new("organization_id", "no such organization")
                    .because(madoguchi_domain::Reason::UnknownOrganization)
                    .into(),
            );
        }
    }
    let deactivating = upd.active == Some(false) && current.active;
    let demoting = current.role == Role::Admin && role != Role::Admin;
    if (deactivating || demoting) && current.role == Role::Admin && current.active {
        let admins = users::list(
            &tx,
            &UserFilter {
                role: Some(Role::Admin),
                active: Some(true),
                ..Default::default()
            },
            None,
            2,
        )
        .await?;
        if admins.items.len() < 2 {
            return Err(ApiError::with_detail(
                ProblemType::LastAdmin,
                "this is the last active admin; make another admin first",
            ));
        }
    }
    let revoke = deactivating
        || role != current.role
        || org != current.organization_id
        || password_hash.is_some();
    let changes = UserChanges {
        display_name,
        role: upd.role,
        organization_id: upd.organization_id,
        active: upd.active,
        password_hash,
    };
    let password_changed = changes.password_hash.is_some();
    let t = state.now();
    let user = users::update(&tx, id, version, changes, t).await?;
    let revoked = if revoke {
        sessions::revoke_all_for_user(&tx, id, t).await?
    } else {
        0
    };
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::UserUpdate,
            Some(Object::new("user", &sid)),
            Outcome::Success,
            Some(json!({
                "role": {"from": current.role.as_str(), "to": user.role.as_str()},
                "active": {"from": current.active, "to": user.active},
                "organization_id": {"from": current.organization_id, "to": user.organization_id},
                "display_name_changed": current.display_name != user.display_name,
                "password_changed": password_changed,
                "sessions_revoked": revoked,
            })),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(user)
}
