//! The HTTP surface of madoguchi.
//!
//! Routes (one module per resource under [`routes`]) parse, authorize, call one
//! service function (under [`service`]) and map its result. Services own the
//! transaction and the audit write. Every error, the framework's included, leaves
//! through [`http::problem`] as `application/problem+json`.

pub mod app;
pub mod archive;
pub mod http;
pub mod routes;
pub mod security;
pub mod service;
pub mod types;
pub mod web;

pub use app::state::{ApiConfig, AppState};

use poem::{Endpoint, EndpointExt, Route};
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
            http::openapi_doc::refine(&mut doc);
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| raw.to_owned())
        }
        Err(_) => raw.to_owned(),
    }
}

/// Swagger UI's page runs its own inline scripts on the board's origin: a
/// policy that lets exactly those run (by their SHA-256) and nothing else,
/// fetches only from this origin, and cannot be framed. Its styles are
/// inline and set by its script, so styles are not restricted.
fn docs_policy(html: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut hashes = Vec::new();
    let mut rest = html;
    // The page's own <script> elements, each up to its closing tag; a tag
    // written inside a script's text (the bundle builds HTML) is skipped
    // along with that script.
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let Some(close) = rest[open_end..].find("</script>").map(|i| open_end + i) else {
            break;
        };
        let digest = sha2::Sha256::digest(&rest.as_bytes()[open_end..close]);
        hashes.push(format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
        rest = &rest[close + "</script>".len()..];
    }
    format!(
        "default-src 'none'; script-src {}; style-src 'unsafe-inline'; img-src 'self' data:; \
         font-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        hashes.join(" ")
    )
}

/// The whole application: API, docs, operations, and the manners middleware.
pub fn app(state: AppState) -> impl Endpoint {
    let service = openapi_service();
    let raw = service.spec();
    let spec = refined(&raw);
    // Swagger UI embeds the document; give it the refined one.
    let docs_html = service.swagger_ui_html().replace(&raw, &spec);
    let docs_csp = docs_policy(&docs_html);
    let manners = http::manners::Manners::new(state.clone());
    // Index the document now rather than on the first refused request.
    http::schema_check::index();
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
                poem::Response::builder()
                    .content_type("text/html; charset=utf-8")
                    .header("content-security-policy", docs_csp.as_str())
                    .body(docs_html.clone())
            })),
        )
        .at("/metrics", poem::get(routes::ops::metrics));
    // The board's pages beside the API (added after the API's catch-all, so
    // `/` is the board's).
    // Cross-origin callers of the API are answered by the manners (`cors`),
    // outside everything else, so that even their own answers carry CORS.
    web::WithHome(web::mount(api)).data(state).with(manners)
}
