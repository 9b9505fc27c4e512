use poem::{handler, http::header, web::Data, Request, Response};
use poem_openapi::{payload::Json, OpenApi};

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
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
        // A load balancer's probe gives up after a few seconds: answer within two.
        let ping = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            madoguchi_persistence::db::ping(&state.db),
        )
        .await
        .unwrap_or_else(|_| {
            Err(madoguchi_persistence::StoreError::Unavailable(
                "no answer within 2 s".into(),
            ))
        });
        match ping {
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

/// Prometheus text exposition, for the scraper only: with
/// `MADOGUCHI_METRICS_TOKEN`, to a request bearing it; without, to a request
/// from this machine that no proxy forwarded (a proxy on the same host would
/// otherwise pass the world's requests off as local).
#[handler]
pub async fn metrics(state: Data<&AppState>, req: &Request) -> Result<Response, ApiError> {
    match &state.config.metrics_token {
        Some(token) => {
            let sent = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !crate::security::secrets::constant_time_eq(sent.as_bytes(), token.as_bytes()) {
                return Err(ApiError::unauthorized()
                    .detail("/metrics needs the bearer token MADOGUCHI_METRICS_TOKEN names"));
            }
        }
        None => {
            let loopback = req
                .remote_addr()
                .as_socket_addr()
                .is_some_and(|a| a.ip().is_loopback());
            let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
                .iter()
                .any(|h| req.headers().contains_key(*h));
            if !loopback || forwarded {
                return Err(ApiError::with_detail(
                    ProblemType::Forbidden,
                    "/metrics answers this machine only; set MADOGUCHI_METRICS_TOKEN to scrape it from elsewhere",
                ));
            }
        }
    }
    Ok(Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}
