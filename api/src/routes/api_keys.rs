use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};
use uuid::Uuid;

use super::{location, ApiTags};
use crate::{
    app::state::AppState,
    http::cursor,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::api_keys as svc,
    types::{ApiKeyDto, ApiKeyList, CreateApiKey, IssuedApiKeyDto},
};

pub struct ApiKeysApi;

const LIST: &str = "api-keys";

#[derive(ApiResponse)]
enum Created {
    /// The key and its secret, shown this once.
    #[oai(status = 201)]
    Created(Json<IssuedApiKeyDto>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
enum Revoked {
    /// Revoked: refused from the next request on, on every instance.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Integrations")]
impl ApiKeysApi {
    /// Create an API key
    ///
    /// Admin. The answer holds the secret (`mdg_…`, with a checksum that secret
    /// scanners recognise); it is stored only as a hash and never shown again.
    /// A key bound to `organization_id` acts as that clinic's customer; one without
    /// acts as staff. Either way it may do only what its scopes allow.
    #[oai(path = "/api-keys", method = "post", operation_id = "createApiKey")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateApiKey>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let scopes: Vec<String> = b
            .scopes
            .into_iter()
            .map(|s| {
                madoguchi_domain::integrations::Scope::from(s)
                    .as_str()
                    .to_owned()
            })
            .collect();
        let issued = svc::create(
            &state,
            &auth.0,
            svc::NewKey {
                name: &b.name,
                scopes: &scopes,
                organization_id: b.organization_id,
                expires_at: b.expires_at.map(|t| t.to_utc()),
            },
        )
        .await?;
        let loc = location("/v1/api-keys", issued.key.id);
        Ok(Created::Created(
            Json(IssuedApiKeyDto {
                secret: issued.secret,
                key: issued.key.into(),
            }),
            loc,
        ))
    }

    /// List API keys
    ///
    /// Admin. Newest first; revoked and expired keys included (see `revoked_at`,
    /// `expires_at`).
    #[oai(path = "/api-keys", method = "get", operation_id = "listApiKeys")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<ApiKeyList>, ApiError> {
        let before = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let page = svc::list(&state, &auth.0, before, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |k| k.id);
        Ok(Json(ApiKeyList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Read an API key
    ///
    /// Admin. Never the secret.
    #[oai(path = "/api-keys/:id", method = "get", operation_id = "getApiKey")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<ApiKeyDto>, ApiError> {
        Ok(Json(svc::get(&state, &auth.0, id.0).await?.into()))
    }

    /// Revoke an API key
    ///
    /// Admin. Takes effect at once on every instance; revoking twice is harmless.
    #[oai(
        path = "/api-keys/:id",
        method = "delete",
        operation_id = "revokeApiKey"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Revoked, ApiError> {
        svc::revoke(&state, &auth.0, id.0).await?;
        Ok(Revoked::Done)
    }
}
