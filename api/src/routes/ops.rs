use poem::{handler, web::Data, Response};
use poem_openapi::{payload::Json, OpenApi};

use super::ApiTags;
use crate::{
    problem::{ApiError, ProblemType},
    state::AppState,
    types::Health,
};

pub struct OpsApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness
    ///
    /// Public. The process serves requests.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
        })
    }

    /// Readiness
    ///
    /// Public. The database is reachable; otherwise 503 with a problem body
    /// (`/problems/unavailable`).
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> Result<Json<Health>, ApiError> {
        match madoguchi_persistence::db::ping(&state.db).await {
            Ok(()) => Ok(Json(Health {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                // A problem like every other error: take this instance out of rotation.
                Err(ApiError::with_detail(
                    ProblemType::Unavailable,
                    "the database does not answer",
                ))
            }
        }
    }
}

/// Prometheus text exposition.
#[handler]
pub async fn metrics(state: Data<&AppState>) -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
