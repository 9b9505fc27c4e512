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
    client_address: Option<String>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    session::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        cookie_hash: Set(None),
        last_seen_at: Set(Some(now)),
        client_address: Set(client_address),
        user_agent: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The user behind a live session: not revoked, not expired, not idle for
/// `idle`, user still active; with when the session was last seen (so the
/// caller touches it at most once a minute) and the value of the setting
/// `setting` (a policy every request applies, such as whether staff must use a
/// second factor). One statement, since every authenticated request asks.
/// A live session's person, with what the request's principal depends on.
#[derive(Debug, Clone)]
pub struct ActiveUser {
    pub user: User,
    /// When the session was last active.
    pub last_seen: DateTime<Utc>,
    /// The value of the setting the caller asked for.
    pub setting: Option<String>,
    /// The person's organization requires a second factor.
    pub org_requires_totp: bool,
}

pub async fn active_user(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
    idle: chrono::Duration,
    setting: &str,
) -> Result<Option<ActiveUser>, StoreError> {
    use sea_orm::FromQueryResult;
    let sql =
        "SELECT u.*, s.last_seen_at AS session_last_seen_at, s.created_at AS session_created_at, \
               (SELECT value FROM settings WHERE key = $3) AS session_setting, \
               (SELECT o.totp_required FROM organizations o WHERE o.id = u.organization_id) AS session_org_totp \
               FROM sessions s JOIN users u ON u.id = s.user_id \
               WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2";
    let Some(row) = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [session_id.into(), now.into(), setting.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let created: DateTime<Utc> = row.try_get("", "session_created_at")?;
    let last_seen: Option<DateTime<Utc>> = row.try_get("", "session_last_seen_at")?;
    let seen = last_seen.unwrap_or(created);
    if now - seen >= idle {
        return Ok(None);
    }
    let user =
        crate::users::from_model(crate::entities::user::Model::from_query_result(&row, "")?)?;
    if !user.active {
        return Ok(None);
    }
    let setting: Option<String> = row.try_get("", "session_setting")?;
    let org_requires_totp: Option<bool> = row.try_get("", "session_org_totp")?;
    Ok(Some(ActiveUser {
        user,
        last_seen: seen,
        setting,
        org_requires_totp: org_requires_totp.unwrap_or(false),
    }))
}

/// A session as its owner (or an admin) sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    /// A board cookie (`true`) or an API token.
    pub browser: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A user's sessions that are neither revoked, expired nor idle for `idle`,
/// the most recently seen first.
pub async fn live_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
    idle: chrono::Duration,
) -> Result<Vec<SessionInfo>, StoreError> {
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .all(db)
        .await?;
    let mut out: Vec<SessionInfo> = rows
        .into_iter()
        .map(|r| SessionInfo {
            id: r.id,
            user_id: r.user_id,
            browser: r.cookie_hash.is_some(),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at.unwrap_or(r.created_at),
            expires_at: r.expires_at,
            client_address: r.client_address,
            user_agent: r.user_agent,
        })
        .filter(|s| now - s.last_seen_at < idle)
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.last_seen_at));
    Ok(out)
}

/// Revoke one live session of `user_id`; false when it is not theirs or
/// already ended.
pub async fn revoke_of_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = revoke_where(
        db,
        session::Column::Id
            .eq(session_id)
            .and(session::Column::UserId.eq(user_id)),
        now,
    )
    .await?;
    Ok(n == 1)
}

/// When a live session ends at the latest (its 12-hour cap), for a refreshed
/// token never to outlive it.
pub async fn expires_at(
    db: &impl ConnectionTrait,
    session_id: Uuid,
) -> Result<DateTime<Utc>, StoreError> {
    session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .map(|r| r.expires_at)
        .ok_or(StoreError::NotFound)
}

/// End the live sessions matching `condition`; how many ended.
async fn revoke_where(
    db: &impl ConnectionTrait,
    condition: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(now).into())
        .filter(condition)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

pub async fn revoke(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    revoke_where(db, session::Column::Id.eq(session_id), now).await?;
    Ok(())
}

/// Revoke every live session of a user (deactivation, role change, password reset).
pub async fn revoke_all_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    revoke_where(db, session::Column::UserId.eq(user_id), now).await
}

/// Revoke every live session of a user but `keep` (a password changed from
/// that session).
pub async fn revoke_others(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    revoke_where(
        db,
        session::Column::UserId
            .eq(user_id)
            .and(session::Column::Id.ne(keep)),
        now,
    )
    .await
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
