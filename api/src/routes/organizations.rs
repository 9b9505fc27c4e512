use poem::web::Data;
use poem_openapi::{
    param::{Header, Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};
use uuid::Uuid;

use super::{location, ApiTags};
use crate::{
    auth::BearerAuth,
    cursor,
    etag::etag,
    problem::ApiError,
    service,
    state::AppState,
    types::{
        ContractStatusDto, CreateOrganization, OrganizationDto, OrganizationList,
        UpdateOrganization,
    },
};

pub struct OrganizationsApi;

const LIST: &str = "organizations";

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(
        Json<OrganizationDto>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum One {
    #[oai(status = 200)]
    Ok(Json<OrganizationDto>, #[oai(header = "ETag")] String),
}

fn one(o: madoguchi_persistence::organizations::Organization) -> One {
    let tag = etag(o.version);
    One::Ok(Json(o.into()), tag)
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Organizations")]
impl OrganizationsApi {
    /// Create an organization
    ///
    /// Admin.
    #[oai(
        path = "/organizations",
        method = "post",
        operation_id = "createOrganization"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateOrganization>,
    ) -> Result<Created, ApiError> {
        let o = service::organizations::create(
            &state,
            &auth.0,
            &body.name,
            body.contract_status.map(Into::into),
        )
        .await?;
        let tag = etag(o.version);
        let loc = location("/v1/organizations", o.id);
        Ok(Created::Created(Json(o.into()), loc, tag))
    }

    /// List organizations
    ///
    /// Agent, admin. In creation order.
    #[oai(
        path = "/organizations",
        method = "get",
        operation_id = "listOrganizations"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only organizations with this contract status.
        contract_status: Query<Option<ContractStatusDto>>,
    ) -> Result<Json<OrganizationList>, ApiError> {
        let after = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let limit = cursor::limit(limit.0);
        let page = service::organizations::list(
            &state,
            &auth.0,
            after,
            contract_status.0.map(Into::into),
            limit,
        )
        .await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |o| o.id);
        Ok(Json(OrganizationList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Read an organization
    ///
    /// Agent, admin; a customer only their own (any other is 404).
    #[oai(
        path = "/organizations/:id",
        method = "get",
        operation_id = "getOrganization"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<One, ApiError> {
        Ok(one(
            service::organizations::get(&state, &auth.0, id.0).await?
        ))
    }

    /// Change an organization
    ///
    /// Admin. Requires `If-Match` with the ETag last read (412 when stale, 428 when absent).
    #[oai(
        path = "/organizations/:id",
        method = "patch",
        operation_id = "updateOrganization"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<UpdateOrganization>,
    ) -> Result<One, ApiError> {
        let o = service::organizations::update(
            &state,
            &auth.0,
            id.0,
            if_match.0.as_deref(),
            body.name.as_deref(),
            body.contract_status.map(Into::into),
        )
        .await?;
        Ok(one(o))
    }
}
