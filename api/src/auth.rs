//! The bearer security scheme every protected REST route takes: a token from
//! [`crate::tokens`], checked against its live session, becomes a [`Principal`].

use madoguchi_persistence::sessions;
use poem::Request;
use poem_openapi::{auth::Bearer, SecurityScheme};
use uuid::Uuid;

use crate::{principal::Principal, problem::ApiError, state::AppState};

/// Bearer JWT from `POST /v1/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let claims = state
        .jwt
        .verify(&bearer.token, state.now())
        .ok_or_else(ApiError::unauthorized)?;
    let sid = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::unauthorized())?;
    let user = sessions::active_user(&state.read, sid, state.now())
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::unauthorized)?;
    if user.id.to_string() != claims.sub {
        return Err(ApiError::unauthorized().into());
    }
    Ok(Principal {
        user,
        session_id: sid,
    })
}

/// The subject of a valid token, without touching the database: enough to scope
/// an idempotency key. The route itself still checks the session.
pub fn token_subject(state: &AppState, req: &Request) -> Option<String> {
    let value = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    state.jwt.verify(token.trim(), state.now()).map(|c| c.sub)
}
