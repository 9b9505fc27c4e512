use madoguchi_persistence::users::{User, UserFilter};
use poem::web::Data;
use poem_openapi::{
    param::{Header, Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};
use uuid::Uuid;

use super::{location, ApiTags};
use crate::{
    app::state::AppState,
    http::cursor,
    http::etag::etag,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::{self, users as svc},
    types::{CreateUser, RoleDto, SessionDto, UpdateUser, UserDto, UserList},
};

pub struct UsersApi;

#[derive(ApiResponse)]
enum SessionDeleted {
    /// The session is ended; its token or cookie no longer works.
    #[oai(status = 204)]
    Done,
}

const LIST: &str = "users";

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(
        Json<UserDto>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum One {
    #[oai(status = 200)]
    Ok(Json<UserDto>, #[oai(header = "ETag")] String),
}

fn one(u: User) -> One {
    let tag = etag(u.version);
    One::Ok(Json(u.into()), tag)
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Create a user
    ///
    /// Admin. A customer needs `organization_id`; staff must not have one.
    #[oai(path = "/users", method = "post", operation_id = "createUser")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateUser>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let u = svc::create(
            &state,
            &auth.0,
            svc::CreateUser {
                email: &b.email,
                display_name: &b.display_name,
                role: b.role.into(),
                organization_id: b.organization_id,
                password: &b.password,
            },
        )
        .await?;
        let tag = etag(u.version);
        let loc = location("/v1/users", u.id);
        Ok(Created::Created(Json(u.into()), loc, tag))
    }

    /// List users
    ///
    /// Admin. Audited (personal data).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/users", method = "get", operation_id = "listUsers")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        organization_id: Query<Option<Uuid>>,
        role: Query<Option<RoleDto>>,
        active: Query<Option<bool>>,
    ) -> Result<Json<UserList>, ApiError> {
        let after = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let filter = UserFilter {
            organization_id: organization_id.0,
            role: role.0.map(Into::into),
            active: active.0,
        };
        let limit = cursor::limit(limit.0);
        let page = service::users::list(&state, &auth.0, filter, after, limit).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |u| u.id);
        Ok(Json(UserList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// A user's sessions
    ///
    /// Admin. The user's live sessions (API tokens and board browsers).
    /// Audited: it shows where they sign in from.
    #[oai(
        path = "/users/:id/sessions",
        method = "get",
        operation_id = "listUserSessions"
    )]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<Vec<SessionDto>>, ApiError> {
        let current = super::auth::current_session(&auth.0);
        let list = service::auth::user_sessions(&state, &auth.0, id.0).await?;
        Ok(Json(
            list.into_iter()
                .map(|s| SessionDto::of(s, current))
                .collect(),
        ))
    }

    /// End a user's session
    ///
    /// Admin: a lost device, a shared screen left signed in. Ends at once on
    /// every instance; audited.
    #[oai(
        path = "/users/:id/sessions/:session_id",
        method = "delete",
        operation_id = "endUserSession"
    )]
    async fn end_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        session_id: Path<Uuid>,
    ) -> Result<SessionDeleted, ApiError> {
        service::auth::end_user_session(&state, &auth.0, id.0, session_id.0).await?;
        Ok(SessionDeleted::Done)
    }

    /// Read a user
    ///
    /// Admin. Audited (personal data).
    #[oai(path = "/users/:id", method = "get", operation_id = "getUser")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<One, ApiError> {
        Ok(one(svc::get(&state, &auth.0, id.0).await?))
    }

    /// Change a user
    ///
    /// Admin. Requires `If-Match`. Deactivating, changing role or organization, or
    /// setting a password revokes all of the user's tokens at once.
    #[oai(path = "/users/:id", method = "patch", operation_id = "updateUser")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<UpdateUser>,
    ) -> Result<One, ApiError> {
        let b = body.0;
        let u = svc::update(
            &state,
            &auth.0,
            id.0,
            if_match.0.as_deref(),
            svc::UpdateUser {
                display_name: b.display_name.as_deref(),
                role: b.role.map(Into::into),
                // Absent: leave it; null: clear it.
                organization_id: b.organization_id.into(),
                active: b.active,
                password: b.password.as_deref(),
            },
        )
        .await?;
        Ok(one(u))
    }
}
