use poem::web::Data;
use poem_openapi::{param::Path, payload::Json, ApiResponse, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::etag::etag,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service,
    types::{ChangePassword, LoginRequest, PasswordChanged, SessionDto, TokenResponse, UserDto},
};

pub struct AuthApi;

#[derive(ApiResponse)]
enum LogoutResponse {
    /// The session is ended; its token no longer works.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum SessionEnded {
    /// The session is ended; its token or cookie no longer works, on every instance.
    #[oai(status = 204)]
    Done,
}

#[derive(ApiResponse)]
enum MeResponse {
    /// The caller's account; `ETag` is its version, for `If-Match` on changes.
    #[oai(status = 200)]
    Ok(Json<UserDto>, #[oai(header = "ETag")] String),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Public. Email and password (and `totp` once enrolled) for a short-lived
    /// bearer token. Wrong email and wrong password get the same 401. Repeated
    /// failures per account and per client address are throttled: 429 with
    /// `Retry-After`.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&AppState>,
        body: Json<LoginRequest>,
    ) -> Result<Json<TokenResponse>, ApiError> {
        let b = body.0;
        let t = service::auth::login(
            &state,
            &b.email,
            b.password.into_string(),
            b.totp.map(|t| t.into_string()),
        )
        .await?;
        Ok(Json(TokenResponse {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
        }))
    }

    /// Log out
    ///
    /// Any signed-in user. Revokes the session of the token used.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<LogoutResponse, ApiError> {
        service::auth::logout(&state, &auth.0).await?;
        Ok(LogoutResponse::Done)
    }

    /// Refresh my token
    ///
    /// Any signed-in person, with a token that still works: a new token for
    /// the same session, without the password. A session lasts 12 hours at
    /// most and ends after `MADOGUCHI_WEB_IDLE_MINUTES` without a request;
    /// after that, sign in again.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refreshToken")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<TokenResponse>, ApiError> {
        let t = service::auth::refresh(&state, &auth.0).await?;
        Ok(Json(TokenResponse {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
        }))
    }

    /// My sessions
    ///
    /// Any signed-in person: their live sessions (API tokens and board
    /// browsers), most recently used first, `current` marking this one.
    #[oai(path = "/me/sessions", method = "get", operation_id = "listMySessions")]
    async fn my_sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<Vec<SessionDto>>, ApiError> {
        let current = current_session(&auth.0);
        let list = service::auth::my_sessions(&state, &auth.0).await?;
        Ok(Json(
            list.into_iter()
                .map(|s| SessionDto::of(s, current))
                .collect(),
        ))
    }

    /// End one of my sessions
    ///
    /// Any signed-in person, for their own sessions (another's is 404). Ends
    /// at once on every instance.
    #[oai(
        path = "/me/sessions/:id",
        method = "delete",
        operation_id = "endMySession"
    )]
    async fn end_my_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<SessionEnded, ApiError> {
        service::auth::end_my_session(&state, &auth.0, id.0).await?;
        Ok(SessionEnded::Done)
    }

    /// Change my password
    ///
    /// Any signed-in person (not an API key). The current password first: a
    /// wrong one is a 422 naming `current_password` and counts against the
    /// account like a failed login (429 with `Retry-After` after too many).
    /// Every other session of the person ends; this token keeps working.
    #[oai(
        path = "/me/password",
        method = "post",
        operation_id = "changePassword"
    )]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<ChangePassword>,
    ) -> Result<Json<PasswordChanged>, ApiError> {
        let b = body.0;
        let ended = service::auth::change_password(
            &state,
            &auth.0,
            b.current_password.0,
            &b.new_password.0,
        )
        .await?;
        Ok(Json(PasswordChanged {
            sessions_revoked: ended,
        }))
    }

    /// Who am I
    ///
    /// Any signed-in user: their own account.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, auth: BearerAuth) -> Result<MeResponse, ApiError> {
        let user = service::auth::me(&auth.0)?;
        let tag = etag(user.version);
        Ok(MeResponse::Ok(Json(user.into()), tag))
    }
}

/// The session a request was made with, if a person's.
pub(crate) fn current_session(p: &crate::security::principal::Principal) -> Option<Uuid> {
    match p {
        crate::security::principal::Principal::User { session_id, .. } => Some(*session_id),
        crate::security::principal::Principal::Key(_) => None,
    }
}
