use madoguchi_domain::board::{Priority, SlaPolicy};
use madoguchi_domain::time::to_wire;
use poem::web::Data;
use poem_openapi::{param::Path, payload::Json, OpenApi};

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::board as svc,
    types::{PriorityDto, PutSlaPolicy, SlaPolicyDto},
};

pub struct SlaPoliciesApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Sla")]
impl SlaPoliciesApi {
    /// SLA policies
    ///
    /// Admin. Targets per priority in business minutes.
    #[oai(
        path = "/sla-policies",
        method = "get",
        operation_id = "listSlaPolicies"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<Vec<SlaPolicyDto>>, ApiError> {
        let (set, meta) = svc::get_policies(&state, &auth.0).await?;
        Ok(Json(
            Priority::ALL
                .iter()
                .map(|&p| {
                    let pol = set.get(p);
                    let m = meta.iter().find(|(x, _, _)| *x == p);
                    SlaPolicyDto {
                        priority: p.into(),
                        first_response_minutes: pol.first_response_minutes,
                        next_reply_minutes: pol.next_reply_minutes,
                        resolution_minutes: pol.resolution_minutes,
                        version: m.map(|m| m.1).unwrap_or(0),
                        updated_at: m.map(|m| to_wire(m.2)),
                    }
                })
                .collect(),
        ))
    }

    /// Set the SLA policy of a priority
    ///
    /// Admin. Applies to threads created from now on; existing threads keep the
    /// policy they started with.
    #[oai(
        path = "/sla-policies/:priority",
        method = "put",
        operation_id = "putSlaPolicy"
    )]
    async fn put(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        priority: Path<PriorityDto>,
        body: Json<PutSlaPolicy>,
    ) -> Result<Json<SlaPolicyDto>, ApiError> {
        let b = body.0;
        let policy = SlaPolicy::stated(
            b.first_response_minutes,
            b.next_reply_minutes,
            b.resolution_minutes,
        );
        let (p, version, at) = svc::put_policy(&state, &auth.0, priority.0.into(), policy).await?;
        Ok(Json(SlaPolicyDto {
            priority: priority.0,
            first_response_minutes: p.first_response_minutes,
            next_reply_minutes: p.next_reply_minutes,
            resolution_minutes: p.resolution_minutes,
            version,
            updated_at: Some(to_wire(at)),
        }))
    }
}
