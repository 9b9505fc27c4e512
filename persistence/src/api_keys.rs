//! API keys as stored: the secret only as its SHA-256 (a key is 178 random bits,
//! so a fast hash is enough and keeps every authenticated request cheap).

use chrono::{DateTime, Duration, Utc};
use madoguchi_domain::integrations::Scope;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::{entities::api_key, error::StoreError, page::Page};

/// A key as the rest of the system sees it; never its secret.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the secret, enough to recognise it in a list.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub organization_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// Whether the key may still be used at `now`.
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

fn corrupt(e: impl ToString) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!(
        "corrupt api key row: {}",
        e.to_string()
    )))
}

fn from_model(m: api_key::Model) -> Result<ApiKey, StoreError> {
    let scopes = m
        .scopes
        .split_whitespace()
        .map(Scope::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.message))?;
    Ok(ApiKey {
        id: m.id,
        name: m.name,
        prefix: m.prefix,
        scopes,
        organization_id: m.organization_id,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
        last_used_at: m.last_used_at,
        created_by: m.created_by,
        created_at: m.created_at,
    })
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub scopes: &'a [Scope],
    pub organization_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    k: NewApiKey<'_>,
    now: DateTime<Utc>,
) -> Result<ApiKey, StoreError> {
    let scopes = k
        .scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let m = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(k.name.to_owned()),
        prefix: Set(k.prefix.to_owned()),
        secret_hash: Set(k.secret_hash.to_owned()),
        scopes: Set(scopes),
        organization_id: Set(k.organization_id),
        expires_at: Set(k.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_by: Set(k.created_by),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    from_model(m)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<ApiKey, StoreError> {
    crate::page::by_id::<api_key::Entity, _>(db, id, from_model).await
}

/// The key whose secret hashes to `secret_hash`, live or not (the caller decides).
pub async fn by_secret_hash(
    db: &impl ConnectionTrait,
    secret_hash: &str,
) -> Result<Option<ApiKey>, StoreError> {
    api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(secret_hash))
        .one(db)
        .await?
        .map(from_model)
        .transpose()
}

/// Newest first, after the key `before` when given.
pub async fn list(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<ApiKey>, StoreError> {
    let mut q = api_key::Entity::find().order_by_desc(api_key::Column::Id);
    if let Some(b) = before {
        q = q.filter(api_key::Column::Id.lt(b));
    }
    Page::fetch(db, q, limit, from_model).await
}

/// Revoke the key (a second revocation keeps the first instant).
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Some(now).into())
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Note that the key was used at `now`, unless that was already noted within the
/// last minute: at most one write a minute per key, however busy it is.
pub async fn touch(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let stale = now - Duration::minutes(1);
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Some(now).into())
        .filter(api_key::Column::Id.eq(id))
        .filter(
            api_key::Column::LastUsedAt
                .is_null()
                .or(api_key::Column::LastUsedAt.lt(stale)),
        )
        .exec(db)
        .await?;
    Ok(())
}
