//! The one path every error takes to the wire: `application/problem+json`
//! (RFC 9457) with a stable `type` a client can branch on.
//!
//! Domain and storage errors convert into [`ApiError`]; framework errors (bad
//! JSON, unknown route, wrong method, oversized body …) are converted by
//! [`from_poem_error`], called from the manners middleware.

use madoguchi_domain::ValidationError;
use madoguchi_persistence::StoreError;
use poem::{
    error::{MethodNotAllowedError, NotFoundError, ReadBodyError, ResponseError},
    http::{header, HeaderValue, StatusCode},
    IntoResponse, Response,
};
use poem_openapi::{
    error::{
        AuthorizationError, ContentTypeError, ParseMultipartError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    },
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
    ApiResponse, Object,
};

use crate::context::RequestCtx;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field that failed validation.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct FieldProblem {
    /// The request member or parameter, e.g. `email`.
    pub field: String,
    /// What is wrong with it, in English.
    pub message: String,
}

/// Problem Details (RFC 9457).
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `/problems/validation-failed`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a person to read.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id (`X-Request-Id`) of this occurrence: quote it to support.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The same as the last segment of `type`, for clients that prefer a bare code.
    pub code: String,
    /// For validation problems: each field and what is wrong with it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldProblem>>,
    /// For 409 conflicts with a state machine: the states that are allowed from
    /// here. For 403: the roles that may do what was refused.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// For 429: seconds to wait (also sent as `Retry-After`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An error on its way to becoming a problem response. Boxed so that `Result`s
/// carrying it stay one pointer wide on the happy path.
#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorBody>);

impl std::ops::Deref for ApiError {
    type Target = ApiErrorBody;
    fn deref(&self) -> &ApiErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorBody {
        &mut self.0
    }
}

#[derive(Debug, Clone)]
pub struct ApiErrorBody {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldProblem>,
    pub allowed: Vec<String>,
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        ApiError(Box::new(ApiErrorBody {
            status,
            code,
            title,
            detail: None,
            errors: Vec::new(),
            allowed: Vec::new(),
            retry_after: None,
        }))
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request").detail(detail)
    }

    /// 422 for a `from`/`to` pair the API cannot answer: reversed, or too long.
    pub fn invalid_range(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-range",
            "Invalid range",
        )
        .detail(detail)
    }

    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid parameter",
        )
        .detail(detail)
    }

    pub fn validation(errors: Vec<ValidationError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "The request is well-formed but some values are not acceptable",
        )
        .detail(detail);
        e.errors = errors
            .into_iter()
            .map(|v| FieldProblem {
                field: v.field.into_owned(),
                message: v.message,
            })
            .collect();
        e
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
        )
        .detail("a valid bearer token is required")
    }

    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "Login failed",
        )
        .detail("the email or password is not correct")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
            .detail("your role may not do this")
    }

    /// 403 naming who may: the roles in `allowed`.
    pub fn forbidden_for(allowed: &[madoguchi_domain::Role]) -> Self {
        let names: Vec<String> = allowed.iter().map(|r| r.as_str().to_owned()).collect();
        let mut e = Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed").detail(format!(
            "your role may not do this; allowed for: {}",
            names.join(", ")
        ));
        e.allowed = names;
        e
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail("no such resource")
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict").detail(detail)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "The object changed since you read it",
        )
        .detail("the If-Match version is not the current one; read the object again")
    }

    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "If-Match required",
        )
        .detail("send the ETag you read in If-Match, so a concurrent change is not overwritten")
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many attempts",
        )
        .detail(format!("try again in {retry_after} seconds"));
        e.retry_after = Some(retry_after);
        e
    }

    /// Something failed on our side. The cause is logged with the request id; the
    /// client sees only that id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(request_id = %RequestCtx::current().request_id, error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
        )
        .detail("something went wrong on our side; quote the instance when you contact support")
    }

    pub fn to_problem(&self) -> Problem {
        let instance = RequestCtx::current().request_id;
        Problem {
            type_: format!("/problems/{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            instance: (!instance.is_empty()).then_some(instance),
            code: self.code.to_owned(),
            errors: (!self.errors.is_empty()).then(|| self.errors.clone()),
            allowed: (!self.allowed.is_empty()).then(|| self.allowed.clone()),
            retry_after: self.retry_after,
        }
    }
}

impl From<madoguchi_domain::time::ReversedRange> for ApiError {
    fn from(e: madoguchi_domain::time::ReversedRange) -> Self {
        ApiError::invalid_range(e.to_string())
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::validation(vec![e])
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict => ApiError::conflict(
                "already-exists",
                "an object with these values already exists",
            ),
            StoreError::Stale => ApiError::precondition_failed(),
            StoreError::Db(e) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.to_problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = Response::builder()
            .status(self.status)
            .content_type(PROBLEM_JSON)
            .body(body);
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "A problem (RFC 9457): bad input (400, 413, 415, 422), \
                              authentication (401), role (403), not found or not yours (404), \
                              conflict (409), stale version (412), missing If-Match (428), \
                              throttled (429, with Retry-After).",
                status: None,
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: PROBLEM_JSON,
                    schema: Problem::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Turn any error the framework produced into our problem form.
pub fn from_poem_error(err: &poem::Error) -> ApiError {
    if let Some(e) = err.downcast_ref::<ApiError>() {
        return e.clone();
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        if let Some(v) = schema_violation(&e.reason) {
            return ApiError::validation(vec![v]);
        }
        return ApiError::bad_request(
            "malformed-body",
            format!("the request body could not be read: {}", e.reason),
        )
        .with_title("Malformed request body");
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::invalid_parameter(format!("parameter `{}`: {}", e.name, e.reason));
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return ApiError::invalid_parameter(format!("path parameter `{}`: {}", e.name, e.reason));
    }
    if err.downcast_ref::<ParseMultipartError>().is_some() {
        return ApiError::bad_request("malformed-body", "the multipart body could not be read");
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
        )
        .detail(match e {
            ContentTypeError::NotSupported { content_type } => {
                format!("`{content_type}` is not accepted here; send application/json")
            }
            ContentTypeError::ExpectContentType => {
                "send a Content-Type header (application/json)".to_owned()
            }
        });
    }
    if err.downcast_ref::<AuthorizationError>().is_some() {
        return ApiError::unauthorized();
    }
    if err.downcast_ref::<NotFoundError>().is_some() {
        return ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail("no such route");
    }
    if err.downcast_ref::<MethodNotAllowedError>().is_some() {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        )
        .detail("this route does not accept that method");
    }
    if let Some(ReadBodyError::PayloadTooLarge) = err.downcast_ref::<ReadBodyError>() {
        return payload_too_large();
    }
    let status = err.status();
    match status.as_u16() {
        413 => payload_too_large(),
        400 => ApiError::bad_request("bad-request", "the request could not be understood"),
        401 => ApiError::unauthorized(),
        403 => ApiError::forbidden(),
        404 => ApiError::not_found(),
        405 => ApiError::new(status, "method-not-allowed", "Method not allowed"),
        415 => ApiError::new(status, "unsupported-media-type", "Unsupported media type"),
        s if s >= 500 => ApiError::internal(err),
        _ => ApiError::new(status, "client-error", "Request refused").detail(err.to_string()),
    }
}

/// poem-openapi reports a schema limit (e.g. `maxLength`) as a payload parse
/// error: "… field `name` verification failed. maxLength(200)". The JSON was
/// well-formed, so answer it like any other unacceptable value: 422 naming the field.
fn schema_violation(reason: &str) -> Option<ValidationError> {
    let at = reason.find("verification failed.")?;
    let field = reason[..at]
        .rsplit_once("field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(f, _)| f)
        .unwrap_or("body");
    let rule = reason[at + "verification failed.".len()..].trim();
    let message = match rule
        .strip_prefix("maxLength(")
        .and_then(|r| r.strip_suffix(')'))
    {
        Some(n) => format!("must be at most {n} characters"),
        None => format!("must satisfy {rule}"),
    };
    Some(ValidationError::new(field.to_owned(), message))
}

fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Request body too large",
    )
    .detail("the request body exceeds the configured limit")
}

impl ApiError {
    fn with_title(mut self, title: &'static str) -> Self {
        self.title = title;
        self
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
