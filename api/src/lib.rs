//! The HTTP surface of madoguchi.
//!
//! Routes (one module per resource under [`routes`]) parse, authorize, call one
//! service function (under [`service`]) and map its result. Services own the
//! transaction and the audit write. Every error, the framework's included, leaves
//! through [`problem`] as `application/problem+json`.

pub mod archive;
pub mod auth;
pub mod calendar_handle;
pub mod clock;
pub mod context;
pub mod cursor;
pub mod etag;
pub mod manners;
pub mod metrics;
pub mod openapi_doc;
pub mod passwords;
pub mod payload;
pub mod principal;
pub mod problem;
pub mod routes;
pub mod schema_check;
pub mod second_factor;
pub mod secrets;
pub mod service;
pub mod state;
pub mod text;
pub mod tokens;
pub mod types;
pub mod web;

pub use state::{ApiConfig, AppState};

use poem::{http::Method, Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

/// Title and version written into the OpenAPI document.
pub const API_TITLE: &str = "madoguchi";

/// The OpenAPI service with every resource mounted under `/v1` (and the
/// operations endpoints at the root).
pub fn openapi_service() -> OpenApiService<routes::Api, ()> {
    OpenApiService::new(routes::api(), API_TITLE, env!("CARGO_PKG_VERSION")).description(
        "Support-desk backend for a SaaS vendor's contract customers (Japanese clinics and \
             hospitals): support board, phone-call logs, incident notices, SLA clocks in \
             Japanese business time, and an audit trail of every access.\n\n\
             Errors are `application/problem+json` (RFC 9457) with a stable `type`. \
             Timestamps are RFC 3339, written in +09:00; any offset is accepted.",
    )
}

/// The OpenAPI document as served at `/openapi.json` and committed under `openapi/`.
pub fn openapi_json() -> String {
    refined(&openapi_service().spec())
}

fn refined(raw: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(mut doc) => {
            openapi_doc::refine(&mut doc);
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| raw.to_owned())
        }
        Err(_) => raw.to_owned(),
    }
}

/// The whole application: API, docs, operations, and the manners middleware.
pub fn app(state: AppState) -> impl Endpoint {
    let service = openapi_service();
    let raw = service.spec();
    let spec = refined(&raw);
    // Swagger UI embeds the document; give it the refined one.
    let docs_html = service.swagger_ui_html().replace(&raw, &spec);
    let manners = manners::Manners::new(state.clone());
    // Index the document now rather than on the first refused request.
    schema_check::index();
    let api = Route::new()
        .nest("/", service)
        .at(
            "/openapi.json",
            poem::get(poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            })),
        )
        .at(
            "/docs",
            poem::get(poem::endpoint::make_sync(move |_| {
                poem::web::Html(docs_html.clone())
            })),
        )
        .at("/metrics", poem::get(routes::ops::metrics));
    // The board's pages beside the API (added after the API's catch-all, so
    // `/` is the board's).
    // Cross-site browser callers only from the configured origins, with the
    // headers the API reads and writes. Inside the manners, so a refused
    // preflight is a problem+json answer like every other error.
    let origins = state.config.cors_origins.clone();
    let cors = poem::middleware::Cors::new()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            "authorization",
            "content-type",
            "if-match",
            "idempotency-key",
        ])
        .expose_headers(["etag", "location", "retry-after", "x-request-id"])
        .max_age(600);
    web::WithHome(web::mount(api))
        .data(state)
        .with_if(!origins.is_empty(), cors)
        .with(manners)
}
