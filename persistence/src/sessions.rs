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
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The user behind a live session: not revoked, not expired, user still active.
pub async fn active_user(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<User>, StoreError> {
    let Some(s) = session::Entity::find_by_id(session_id).one(db).await? else {
        return Ok(None);
    };
    if s.revoked_at.is_some() || s.expires_at <= now {
        return Ok(None);
    }
    match crate::users::get(db, s.user_id).await {
        Ok(u) => Ok(u.active.then_some(u)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
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
