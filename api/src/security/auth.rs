//! The bearer security scheme every protected REST route takes: a token from
//! [`crate::security::tokens`], checked against its live session, or an API key from
//! [`crate::security::secrets`], checked against its row, becomes a [`Principal`].

use madoguchi_persistence::{api_keys, sessions};
use poem::Request;
use poem_openapi::{auth::Bearer, SecurityScheme};
use uuid::Uuid;

use crate::{app::state::AppState, http::problem::ApiError, security::principal::Principal};

/// A JWT from `POST /v1/auth/login`, or an API key (`mdg_…`) from `POST /v1/api-keys`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "JWT or API key",
    checker = "check_bearer"
)]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    authenticate(state, &bearer.token).await.map_err(Into::into)
}

/// The principal a bearer token or API key stands for, checked against its
/// live session or key row (so a logout, a deactivation or a revocation holds
/// at once), within its rate. Every route's security scheme, and the replay of
/// an idempotent answer, which must not outlive the right to ask for it.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if crate::security::secrets::is_api_key(token) {
        return check_key(state, token).await;
    }
    let claims = state
        .jwt
        .verify(token, state.now())
        .ok_or_else(ApiError::unauthorized)?;
    let sid = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::unauthorized())?;
    let now = state.now();
    use crate::service::second_factor as factor;
    let sessions::ActiveUser {
        user,
        last_seen: seen,
        setting: staff_required,
        org_requires_totp,
    } = sessions::active_user(
        &state.read,
        sid,
        now,
        state.config.web_idle,
        factor::STAFF_REQUIRED_SETTING,
    )
    .await
    .map_err(ApiError::from)?
    .ok_or_else(|| ApiError::unauthorized().detail("the session has ended: sign in again"))?;
    if user.id.to_string() != claims.sub {
        return Err(ApiError::unauthorized());
    }
    if let Some(limiter) = &state.user_limiter {
        state.within_rate(limiter, &user.id)?;
    }
    // Activity keeps the session alive; written at most once a minute.
    if now - seen >= chrono::Duration::minutes(1) {
        sessions::touch(&state.db, sid, now)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(factor::principal_with(
        user,
        sid,
        factor::is_on(staff_required.as_deref()),
        org_requires_totp,
    ))
}

/// An API key: live (not revoked, not expired: read on every request, so a
/// revocation holds at once on every instance) and within its rate.
async fn check_key(state: &AppState, secret: &str) -> Result<Principal, ApiError> {
    let now = state.now();
    let key =
        api_keys::by_secret_hash(&state.read, &crate::security::secrets::api_key_hash(secret))
            .await?
            .filter(|k| k.live_at(now))
            .ok_or_else(|| {
                ApiError::unauthorized().detail("the API key is unknown, revoked or expired")
            })?;
    state.within_rate(&state.key_limiter, &key.id)?;
    if key
        .last_used_at
        .is_none_or(|t| now - t >= chrono::Duration::minutes(1))
    {
        // Off the request's path; the write itself skips a key touched within the minute.
        let (db, id) = (state.db.clone(), key.id);
        tokio::spawn(async move {
            if let Err(e) = api_keys::touch(&db, id, now).await {
                tracing::warn!(error = %e, "recording an API key's last use failed");
            }
        });
    }
    Ok(Principal::Key(key))
}

/// The bearer token of a request, as sent.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim())
}

/// The subject of a valid token, without touching the database: enough to scope
/// an idempotency key. The route itself still checks the session, and a saved
/// answer is replayed only to a caller [`authenticate`] accepts.
pub fn token_subject(state: &AppState, req: &Request) -> Option<String> {
    let token = bearer_token(req)?;
    if crate::security::secrets::is_api_key(token) {
        return Some(format!(
            "api_key:{}",
            crate::security::secrets::api_key_hash(token)
        ));
    }
    state.jwt.verify(token, state.now()).map(|c| c.sub)
}
