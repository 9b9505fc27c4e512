//! API keys: created, listed and revoked by admins. The secret exists only in
//! the answer to its creation; what is stored is its hash.

use chrono::{DateTime, Utc};
use madoguchi_domain::Action;
use madoguchi_domain::{
    integrations::{key_scopes, IntegrationName},
    Role, ValidationError,
};
use madoguchi_persistence::{
    api_keys::{self, ApiKey, NewApiKey},
    audit::Outcome,
    begin, commit, organizations, Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, entry, record, record_success, Object};
use crate::{
    app::state::AppState, http::problem::ApiError, security::principal::Principal,
    security::secrets,
};

pub struct NewKey<'a> {
    pub name: &'a str,
    pub scopes: &'a [String],
    pub organization_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new key and its secret, which is never shown again.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

pub async fn create(state: &AppState, p: &Principal, n: NewKey<'_>) -> Result<IssuedKey, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::ApiKeyCreate,
        Some(Object::kind("api_key")),
    )
    .await?;
    let mut errors = Vec::new();
    let name = IntegrationName::parse(n.name)
        .map_err(|e| errors.push(e))
        .ok();
    let scopes = key_scopes(n.scopes, n.organization_id.is_some())
        .map_err(|e| errors.push(e))
        .ok();
    let now = state.now();
    if n.expires_at.is_some_and(|e| e <= now) {
        errors.push(ValidationError::new("expires_at", "must be in the future"));
    }
    let (Some(name), Some(scopes), true) = (name, scopes, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let tx = begin(&state.db).await?;
    if let Some(org) = n.organization_id {
        match organizations::get(&tx, org).await {
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
    let secret = secrets::new_api_key();
    let key = api_keys::insert(
        &tx,
        NewApiKey {
            name: name.as_str(),
            prefix: &secrets::api_key_shown(&secret),
            secret_hash: &secrets::api_key_hash(&secret),
            scopes: &scopes,
            organization_id: n.organization_id,
            expires_at: n.expires_at,
            created_by: p.user_id(),
        },
        now,
    )
    .await?;
    let id = key.id.to_string();
    record(
        &tx,
        entry(
            now,
            Some(p),
            Action::ApiKeyCreate,
            Some(Object::new("api_key", &id)),
            Outcome::Success,
            // The name is free text an admin types (a clinic's or a person's
            // name, perhaps): the trail, which erasure cannot reach, keeps the
            // id and the prefix only.
            Some(json!({
                "prefix": key.prefix,
                "scopes": key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "organization_id": key.organization_id,
                "expires_at": key.expires_at,
            })),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(IssuedKey { key, secret })
}

pub async fn list(
    state: &AppState,
    p: &Principal,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<ApiKey>, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::ApiKeyList,
        Some(Object::kind("api_key")),
    )
    .await?;
    let page = api_keys::list(&state.read, before, limit).await?;
    record_success(state, p, Action::ApiKeyList, Object::kind("api_key"), None).await?;
    Ok(page)
}

pub async fn get(state: &AppState, p: &Principal, id: Uuid) -> Result<ApiKey, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::ApiKeyRead,
        Some(Object::new("api_key", &key)),
    )
    .await?;
    let k = api_keys::get(&state.read, id).await?;
    record_success(
        state,
        p,
        Action::ApiKeyRead,
        Object::new("api_key", &key),
        None,
    )
    .await?;
    Ok(k)
}

/// Revoke a key: every instance refuses it from the next request on.
pub async fn revoke(state: &AppState, p: &Principal, id: Uuid) -> Result<(), ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::ApiKeyRevoke,
        Some(Object::new("api_key", &key)),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let k = api_keys::get(&tx, id).await?;
    api_keys::revoke(&tx, id, state.now()).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::ApiKeyRevoke,
            Some(Object::new("api_key", &key)),
            Outcome::Success,
            Some(json!({"prefix": k.prefix})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}
