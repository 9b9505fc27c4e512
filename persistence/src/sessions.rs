//! Login sessions. A JWT names its session; revoking the session revokes the token
//! at once, whatever its expiry says.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{entities::session, error::StoreError, users::User};

pub async fn create(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    session::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        cookie_hash: Set(None),
        last_seen_at: Set(None),
        client_address: Set(None),
        user_agent: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The user behind a live session: not revoked, not expired, user still active.
/// One query (a sub-select on the session), since every authenticated request asks.
pub async fn active_user(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<User>, StoreError> {
    use sea_orm::sea_query::Query;
    let live = Query::select()
        .column(session::Column::UserId)
        .from(session::Entity)
        .and_where(session::Column::Id.eq(session_id))
        .and_where(session::Column::RevokedAt.is_null())
        .and_where(session::Column::ExpiresAt.gt(now))
        .to_owned();
    let found = crate::users::find_active_in(db, live).await?;
    Ok(found)
}

pub async fn revoke(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(now).into())
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revoke every live session of a user (deactivation, role change, password reset).
pub async fn revoke_all_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(now).into())
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Revoke every live session of a user but `keep` (a password changed from
/// that session).
pub async fn revoke_others(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(now).into())
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// A browser session: the same row as a token's, named by the hash of the
/// cookie's secret.
pub struct NewWebSession<'a> {
    pub user_id: Uuid,
    pub cookie_hash: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn create_web(
    db: &impl ConnectionTrait,
    s: NewWebSession<'_>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    session::ActiveModel {
        id: Set(id),
        user_id: Set(s.user_id),
        created_at: Set(s.now),
        expires_at: Set(s.expires_at),
        revoked_at: Set(None),
        cookie_hash: Set(Some(s.cookie_hash.to_owned())),
        last_seen_at: Set(Some(s.now)),
        client_address: Set(s.client_address),
        user_agent: Set(s.user_agent),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// A live browser session found by its cookie: not revoked, not past its
/// lifetime, seen within `idle`, its user still active.
pub struct LiveWebSession {
    pub id: Uuid,
    pub user: User,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn web_session(
    db: &impl ConnectionTrait,
    cookie_hash: &str,
    now: DateTime<Utc>,
    idle: chrono::Duration,
) -> Result<Option<LiveWebSession>, StoreError> {
    let Some(row) = session::Entity::find()
        .filter(session::Column::CookieHash.eq(cookie_hash))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let seen = row.last_seen_at.unwrap_or(row.created_at);
    if now - seen >= idle {
        return Ok(None);
    }
    let ids = sea_orm::sea_query::Query::select()
        .column(session::Column::UserId)
        .from(session::Entity)
        .and_where(session::Column::Id.eq(row.id))
        .to_owned();
    let Some(user) = crate::users::find_active_in(db, ids).await? else {
        return Ok(None);
    };
    Ok(Some(LiveWebSession {
        id: row.id,
        user,
        last_seen_at: seen,
    }))
}

/// Note that a session was used (keeps it from going idle).
pub async fn touch(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Some(now).into())
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
