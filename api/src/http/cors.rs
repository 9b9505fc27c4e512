//! Cross-origin browser callers of the REST API (`MADOGUCHI_CORS_ORIGINS`).
//!
//! Applied by the outermost layer ([`crate::http::manners`]) to `/v1` and
//! `/openapi.json` only, so that every answer to an allowed origin carries
//! its headers, including the ones that layer sends itself (an idempotent
//! replay, a reused key, a body too large): a browser that cannot read the
//! answer to a retry would retry again with a new key, and write twice. The
//! board's pages are same-origin and never pass through here, so a form's
//! `Origin` header is not mistaken for a cross-site caller.

use poem::{
    http::{header, HeaderValue, Method, StatusCode},
    IntoResponse, Request, Response,
};

use crate::http::problem::{ApiError, ProblemType};

const METHODS: &str = "GET, POST, PATCH, PUT, DELETE";
/// The request headers the API reads.
const ALLOW_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "if-match",
    "idempotency-key",
    "x-request-id",
];
/// The response headers a browser front end needs to read.
const EXPOSE_HEADERS: &str = "etag, location, retry-after, x-request-id, idempotent-replayed";

/// Whether `path` is one a cross-origin caller may use.
fn applies_to(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/") || path == "/openapi.json"
}

/// What the request is, as far as CORS goes.
pub(crate) enum Cors {
    /// Not a cross-origin call of the API (no `Origin`, another path, or no
    /// origins configured): nothing to add.
    NotApplicable,
    /// From a configured origin: the answer names it.
    Allowed(HeaderValue),
    /// From an origin that is not configured: answered without CORS headers,
    /// so the browser keeps the answer from the page.
    Refused,
}

pub(crate) fn classify(origins: &[String], req: &Request) -> Cors {
    if origins.is_empty() || !applies_to(req.uri().path()) {
        return Cors::NotApplicable;
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Cors::NotApplicable;
    };
    let allowed = origin
        .to_str()
        .ok()
        .map(str::to_ascii_lowercase)
        .is_some_and(|o| origins.contains(&o));
    if allowed {
        Cors::Allowed(origin.clone())
    } else {
        Cors::Refused
    }
}

/// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`),
/// or `None` when the request is not one.
pub(crate) fn preflight(cors: &Cors, req: &Request) -> Option<Response> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let asked = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let origin = match cors {
        Cors::NotApplicable => return None,
        Cors::Refused => {
            return Some(
                ApiError::with_detail(
                    ProblemType::CorsRefused,
                    "this origin may not call the API from a browser: it is not in MADOGUCHI_CORS_ORIGINS",
                )
                .into_response(),
            )
        }
        Cors::Allowed(o) => o,
    };
    let method_ok = asked
        .to_str()
        .ok()
        .is_some_and(|m| METHODS.split(", ").any(|a| a.eq_ignore_ascii_case(m)));
    let unknown_header = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .find(|h| !h.is_empty() && !ALLOW_HEADERS.contains(&h.as_str()));
    if !method_ok || unknown_header.is_some() {
        let what = match unknown_header {
            Some(h) => format!("the request header {h} is not one the API reads"),
            None => format!("the method is not one of {METHODS}"),
        };
        return Some(ApiError::with_detail(ProblemType::CorsRefused, what).into_response());
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(METHODS),
    );
    if let Ok(v) = HeaderValue::from_str(&ALLOW_HEADERS.join(", ")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    Some(resp)
}

/// Name the allowed origin on any answer to it, whichever layer made it.
pub(crate) fn decorate(cors: &Cors, resp: &mut Response) {
    let h = resp.headers_mut();
    if !matches!(cors, Cors::NotApplicable) {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let Cors::Allowed(origin) = cors {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
}
