use poem::{handler, web::Data, Response};
use poem_openapi::{payload::Json, ApiResponse, OpenApi};

use super::ApiTags;
use crate::{state::AppState, types::Health};

pub struct OpsApi;

#[derive(ApiResponse)]
enum Ready {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// The database does not answer; take this instance out of rotation.
    #[oai(status = 503)]
    NotReady(Json<Health>),
}

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
    /// Public. The database is reachable.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> Ready {
        match madoguchi_persistence::db::ping(&state.db).await {
            Ok(()) => Ready::Ready(Json(Health {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                Ready::NotReady(Json(Health {
                    status: "database unavailable".into(),
                }))
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
