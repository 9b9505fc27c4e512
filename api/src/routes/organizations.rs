use poem::web::Data;
use poem::Body;
use poem_openapi::{
    param::{Header, Path, Query},
    payload::{Binary, Json},
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
    service,
    types::{
        ContractStatusDto, CreateOrganization, EraseOrganization, ErasureDto, OrganizationDto,
        OrganizationList, UpdateOrganization,
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

#[derive(ApiResponse)]
enum Archive {
    /// A ZIP archive, sent while it is written: `manifest.json` (files and line
    /// counts), `organization.json`, and JSON Lines of the API's own objects
    /// (`users`, `threads`, `posts`, `sla_events`, `calls`, `notices`), plus
    /// `calls.csv` for spreadsheets. A transfer that ends early was not complete.
    #[oai(status = 200, content_type = "application/zip")]
    Ok(Binary<Body>, #[oai(header = "Content-Disposition")] String),
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
            service::organizations::OrganizationEdit {
                name: body.name.as_deref(),
                contract_status: body.contract_status.map(Into::into),
                totp_required: body.totp_required,
            },
        )
        .await?;
        Ok(one(o))
    }

    /// Export an organization's data
    ///
    /// Admin. Everything the clinic has here, as it saw it, in one ZIP: its users,
    /// threads (its own view), public posts, their SLA history, call logs (JSON
    /// Lines and CSV) and the notices addressed to it. For handing data back at
    /// the end of a contract (APPI); the export's start and its end (with line
    /// counts) are audited.
    #[oai(
        path = "/organizations/:id/export",
        method = "post",
        operation_id = "exportOrganization"
    )]
    async fn export(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Archive, ApiError> {
        let (org, finished) = service::contract_end::start_export(&state, &auth.0, id.0).await?;
        let name = crate::archive::file_name(&org, state.now());
        let body = crate::archive::stream(state.clone(), org, finished);
        Ok(Archive::Ok(
            Binary(body),
            format!("attachment; filename=\"{name}\""),
        ))
    }

    /// Erase an organization's personal data
    ///
    /// Admin; only for an organization whose contract has `ended` (409
    /// `contract-not-ended` otherwise), with its name typed in
    /// `confirm_organization_name`. User names and emails, phone numbers, caller
    /// names, titles and bodies become `（削除済み）`; the organization's people
    /// can no longer sign in, its keys are revoked and its webhooks disabled; its
    /// search documents are removed. Ids, times, statuses and the audit trail stay
    /// (the trail holds no such values, and verifies afterwards). Export first.
    #[oai(
        path = "/organizations/:id/erase",
        method = "post",
        operation_id = "eraseOrganization"
    )]
    async fn erase(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<EraseOrganization>,
    ) -> Result<Json<ErasureDto>, ApiError> {
        let (org, e) =
            service::contract_end::erase(&state, &auth.0, id.0, &body.confirm_organization_name)
                .await?;
        Ok(Json(ErasureDto {
            organization_id: org.id,
            erased_at: madoguchi_domain::time::to_wire(state.now()),
            users: e.users,
            sessions: e.sessions,
            recovery_codes: e.recovery_codes,
            threads: e.threads,
            tags: e.tags,
            posts: e.posts,
            calls: e.calls,
            search_documents: e.search_documents,
            events: e.events,
            webhook_deliveries: e.webhook_deliveries,
            idempotency_records: e.idempotency_records,
            api_keys_revoked: e.api_keys_revoked,
            webhooks_disabled: e.webhooks_disabled,
        }))
    }
}
