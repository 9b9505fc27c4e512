//! The manners every route shares, in one middleware:
//! request id (taken or generated, echoed, logged, used as problem `instance`),
//! client address, body size limit, `Idempotency-Key` replay, conversion of every
//! error into problem+json, metrics and one access-log line per request.

use madoguchi_domain::Action;
use std::{net::IpAddr, time::Instant};

use madoguchi_persistence::idempotency::{self, Begin, SavedResponse};
use poem::{
    http::{header, HeaderName, HeaderValue, Method, StatusCode},
    web::RemoteAddr,
    Endpoint, IntoResponse, Middleware, PathPattern, Request, Response, Result,
};
use sha2::{Digest, Sha256};

use crate::{
    app::state::AppState,
    http::bodies::BodyPolicy,
    http::context::RequestCtx,
    http::problem::{from_poem_error, ApiError, ProblemType},
    http::schema_check,
    security::auth::token_subject,
};

pub const REQUEST_ID: &str = "x-request-id";
const IDEMPOTENCY_KEY: &str = "idempotency-key";
const IDEMPOTENT_REPLAY: &str = "idempotent-replayed";

pub struct Manners {
    state: AppState,
}

impl Manners {
    pub fn new(state: AppState) -> Self {
        Manners { state }
    }
}

impl<E: Endpoint> Middleware<E> for Manners {
    type Output = MannersEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        MannersEndpoint {
            inner: ep,
            state: self.state.clone(),
        }
    }
}

pub struct MannersEndpoint<E> {
    inner: E,
    state: AppState,
}

/// A client-supplied request id is kept when it is short and printable, so a
/// gateway's id flows through; anything else is replaced.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn client_ip(req: &Request, proxies: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(a)) => Some(a.ip()),
        _ => None,
    };
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    crate::http::context::client_address(peer, forwarded, proxies)
}

/// The headers every answer carries (OWASP's REST and secure-headers
/// guidance), each unless the handler chose its own: the board's pages set a
/// stricter CSP and a same-origin referrer policy themselves; Swagger UI at
/// `/docs` sets a policy that admits its own scripts by their hashes. Personal data must not
/// linger in caches: `/v1` answers default to `no-store`. Over HTTPS
/// (`MADOGUCHI_SECURE_COOKIES`, or a trusted `X-Forwarded-Proto: https`)
/// browsers are told to use HTTPS only, for a year.
fn security_headers(resp: &mut Response, path: &str, https: bool) {
    let h = resp.headers_mut();
    let mut default = |name: &'static str, value: &'static str| {
        if !h.contains_key(name) {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    };
    default("x-content-type-options", "nosniff");
    default("referrer-policy", "no-referrer");
    default("x-frame-options", "DENY");
    default(
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    if path.starts_with("/v1") {
        default("cache-control", "no-store");
    }
    if https {
        default(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
}

impl<E: Endpoint> Endpoint for MannersEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let ctx = RequestCtx {
            request_id: request_id(&req),
            ip: client_ip(&req, self.state.config.trusted_proxies()),
        };
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let https = crate::web::session::secure(&self.state, &req);
        let request_id = ctx.request_id.clone();
        let ip = ctx.ip;

        let cors = crate::http::cors::classify(&self.state.config.cors_origins, &req);
        let (mut resp, route) = ctx
            .scope(async {
                match crate::http::cors::preflight(&cors, &req) {
                    Some(answer) => (answer, None),
                    None => self.handle(&mut req).await,
                }
            })
            .await;
        crate::http::cors::decorate(&cors, &mut resp);

        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID), v);
        }
        security_headers(&mut resp, &path, https);
        let status = resp.status().as_u16();
        let elapsed = started.elapsed();
        // A write that succeeded may have added outbox events: deliver them now
        // rather than at the dispatcher's next poll.
        if method != Method::GET && method != Method::HEAD && resp.status().is_success() {
            self.state.webhook_wake.notify_one();
        }
        // A matched route carries its template. poem reports root-level routes
        // (and misses) with an empty template; only known static paths may become
        // a label, so a client cannot grow the number of series.
        let route_label = match route.as_deref() {
            Some("") | None => match path.as_str() {
                p @ ("/healthz" | "/readyz" | "/openapi.json" | "/metrics") => p,
                p if p.starts_with("/docs") => "/docs",
                p => crate::web::route_label(p).unwrap_or("unmatched"),
            },
            Some(r) => schema_check::index().route(r).unwrap_or(r),
        };
        self.state
            .metrics
            .observe(method.as_str(), route_label, status, elapsed.as_secs_f64());
        tracing::info!(
            request_id = %request_id,
            method = %method,
            path = %path,
            route = route_label,
            status,
            ip = ?ip,
            ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
        Ok(resp)
    }
}

impl<E: Endpoint> MannersEndpoint<E> {
    /// Run the request to a response, whatever happens; also report the route template.
    async fn handle(&self, req: &mut Request) -> (Response, Option<String>) {
        // Each route takes its body as it states (`bodies`): most are read
        // once, whole, within the limit, whatever Content-Length claims (a
        // chunked body has none); a file route gets a stream with its own limit.
        let policy = crate::http::bodies::policy(
            req.method(),
            req.uri().path(),
            self.state.config.max_body_bytes,
        );
        let limit = match policy {
            BodyPolicy::Buffered { limit } => limit as u64,
            BodyPolicy::Streamed { limit } => limit,
        };
        if let Some(len) = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > limit {
                return (
                    from_poem_error(&poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE))
                        .into_response(),
                    None,
                );
            }
        }
        if let BodyPolicy::Streamed { limit } = policy {
            let stream = req.take_body().into_async_read();
            req.set_body(poem::Body::from_async_read(
                crate::http::bodies::Limited::new(stream, limit),
            ));
            return self.route(std::mem::take(req), &[]).await;
        }
        let body = match req.take_body().into_bytes_limit(limit as usize).await {
            Ok(b) => b,
            Err(e) => return (from_poem_error(&poem::Error::from(e)).into_response(), None),
        };

        let idem = if req.method() == Method::POST {
            match self.idempotency_claim(req, &body).await {
                Ok(Claim::None) => None,
                Ok(Claim::Owned(scope, key)) => Some((scope, key)),
                Ok(Claim::Answer(resp)) => return (resp, None),
                Err(e) => return (e.into_response(), None),
            }
        } else {
            None
        };

        req.set_body(body.clone());
        let (resp, route) = self.route(std::mem::take(req), &body).await;

        let resp = match idem {
            Some((scope, key)) => self.idempotency_finish(&scope, &key, resp).await,
            None => resp,
        };
        (resp, route)
    }

    /// Call the routes; any error becomes a problem (`body`, when it was read,
    /// lets the schema check name the member at fault).
    async fn route(&self, req: Request, body: &[u8]) -> (Response, Option<String>) {
        let method = req.method().clone();
        let result = self.inner.call(req).await;
        match result {
            Ok(out) => {
                let resp = out.into_response();
                let route = resp.data::<PathPattern>().map(|p| p.0.to_string());
                (resp, route)
            }
            // A page's own answer carried by an extractor (the board's login
            // page for a request without a session): sent as it is.
            Err(err) if err.is_from_response() => {
                let route = err.data::<PathPattern>().map(|p| p.0.to_string());
                (err.into_response(), route)
            }
            Err(err) => {
                let route = err.data::<PathPattern>().map(|p| p.0.to_string());
                let problem = schema_check::explain(&err, method.as_str(), route.as_deref(), body)
                    .unwrap_or_else(|| from_poem_error(&err));
                (problem.into_response(), route)
            }
        }
    }

    async fn idempotency_claim(&self, req: &Request, body: &[u8]) -> Result<Claim, ApiError> {
        let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
            return Ok(Claim::None);
        };
        let key = raw
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::with_detail(ProblemType::InvalidIdempotencyKey,
                    "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID is a good choice)",
                )
            })?
            .to_owned();
        // Keys are per caller; an unauthenticated request will be refused anyway.
        let Some(subject) = token_subject(&self.state, req) else {
            return Ok(Claim::None);
        };
        let scope = format!("user:{subject}");
        let mut h = Sha256::new();
        h.update(req.method().as_str().as_bytes());
        h.update(b" ");
        h.update(req.uri().path().as_bytes());
        h.update(b"?");
        h.update(req.uri().query().unwrap_or("").as_bytes());
        h.update(b"\n");
        h.update(body);
        let hash = hex(&h.finalize());
        let request_id = crate::http::context::RequestCtx::current().request_id;
        let begin = idempotency::begin(
            &self.state.db,
            &scope,
            &key,
            &hash,
            self.state.now(),
            self.state.config.idempotency_ttl,
            idempotency::Claimant {
                instance_id: self.state.instance_id,
                request_id: &request_id,
                grace: crate::app::state::INSTANCE_GRACE,
                lease: crate::app::state::REQUEST_LEASE,
            },
        )
        .await
        .map_err(ApiError::from)?;
        if matches!(begin, Begin::Replay(_) | Begin::Applied { .. }) {
            // A saved answer (a call's caller and number, say) goes only to a
            // caller who may still ask: after a logout or a key's revocation
            // the replay is a 401 like any other request, and it is audited.
            let token = crate::security::auth::bearer_token(req).unwrap_or_default();
            let principal = crate::security::auth::authenticate(&self.state, token).await?;
            crate::service::record(
                &self.state.db,
                crate::service::entry(
                    self.state.now(),
                    Some(&principal),
                    Action::RequestReplay,
                    None,
                    madoguchi_persistence::audit::Outcome::Success,
                    Some(serde_json::json!({
                        "method": req.method().as_str(),
                        "path": req.uri().path(),
                    })),
                ),
            )
            .await?;
        }
        match begin {
            Begin::Started => Ok(Claim::Owned(scope, key)),
            Begin::Replay(saved) => Ok(Claim::Answer(replay(saved))),
            Begin::Mismatch => Err(ApiError::new(ProblemType::IdempotencyKeyReused).detail(
                "this Idempotency-Key was already used with a different request; use a new key",
            )),
            Begin::Applied {
                object_type,
                object_id,
            } => Ok(Claim::Answer(applied(
                object_type.as_deref(),
                object_id.as_deref(),
            ))),
            Begin::InProgress => Err(ApiError::with_detail(
                ProblemType::IdempotencyInProgress,
                "the first request with this Idempotency-Key is still running; retry shortly",
            )),
        }
    }

    async fn idempotency_finish(&self, scope: &str, key: &str, resp: Response) -> Response {
        // A failure on our side is not an answer worth keeping: let the client
        // retry. The key is released in the background: when the database is
        // what failed (a 503), waiting on it once more held the answer for a
        // third timeout (9 s against the 7.5 s the outage test allows, issue
        // 16.2). A retry that comes before the release is told to retry shortly.
        if resp.status().is_server_error() {
            let (state, scope, key) = (self.state.clone(), scope.to_owned(), key.to_owned());
            tokio::spawn(async move {
                if let Err(e) = idempotency::abandon(&state.db, &scope, &key).await {
                    tracing::warn!(error = %e, "could not release idempotency key");
                }
            });
            return resp;
        }
        let (parts, body) = resp.into_parts();
        let bytes = match body.into_vec().await {
            Ok(b) => b,
            Err(e) => return ApiError::internal(e).into_response(),
        };
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter(|(n, _)| {
                matches!(
                    n.as_str(),
                    "content-type" | "etag" | "location" | "retry-after"
                )
            })
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let saved = SavedResponse {
            status: parts.status.as_u16(),
            headers,
            body: bytes.clone(),
        };
        if let Err(e) = idempotency::complete(&self.state.db, scope, key, &saved).await {
            tracing::warn!(error = %e, "could not save idempotent response");
        }
        let mut resp = Response::from_parts(parts, bytes.into());
        resp.headers_mut().remove(IDEMPOTENT_REPLAY);
        resp
    }
}

/// The answer to a retry whose first attempt was applied by a process that
/// died before answering: a problem naming what it wrote, by `Location`.
fn applied(object_type: Option<&str>, object_id: Option<&str>) -> Response {
    let collection = match object_type {
        Some("thread") => Some("/v1/threads"),
        Some("call") => Some("/v1/calls"),
        Some("announcement") => Some("/v1/announcements"),
        Some("organization") => Some("/v1/organizations"),
        Some("user") => Some("/v1/users"),
        Some("api_key") => Some("/v1/api-keys"),
        Some("webhook") => Some("/v1/webhooks"),
        _ => None,
    };
    let location = collection.zip(object_id).map(|(c, id)| format!("{c}/{id}"));
    let detail = match &location {
        Some(l) => format!(
            "the first request with this Idempotency-Key was applied, but the server stopped before answering it; what it wrote is at {l}"
        ),
        None => "the first request with this Idempotency-Key was applied, but the server stopped before answering it; read the resource to see its result".to_owned(),
    };
    let mut resp = ApiError::with_detail(ProblemType::IdempotencyApplied, detail).into_response();
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(poem::http::header::LOCATION, v);
    }
    resp
}

enum Claim {
    None,
    Owned(String, String),
    Answer(Response),
}

fn replay(saved: SavedResponse) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK))
        .body(saved.body);
    for (n, v) in saved.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(n), HeaderValue::try_from(v)) {
            resp.headers_mut().insert(n, v);
        }
    }
    resp.headers_mut()
        .insert(IDEMPOTENT_REPLAY, HeaderValue::from_static("true"));
    resp
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
