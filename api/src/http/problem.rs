//! The one path every error takes to the wire: `application/problem+json`
//! (RFC 9457) with a stable `type` a client can branch on.
//!
//! Domain and storage errors convert into [`ApiError`]; framework errors (bad
//! JSON, unknown route, wrong method, oversized body …) are converted by
//! [`from_poem_error`], called from the manners middleware.

use madoguchi_domain::{Reason, ValidationError};
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

use crate::http::context::RequestCtx;

pub const PROBLEM_JSON: &str = "application/problem+json";

macro_rules! problem_types {
    ($($variant:ident = ($code:literal, $status:ident, $title:literal, $when:literal)),+ $(,)?) => {
        /// Every problem `type` the API sends: one closed list, each with its
        /// status and title. Nothing builds a problem from a free-form code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemType {
            $(#[doc = $when] $variant),+
        }

        impl ProblemType {
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant),+];

            /// The stable code, the last segment of `type` (`/problems/<code>`).
            pub fn code(self) -> &'static str {
                match self { $(ProblemType::$variant => $code),+ }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ProblemType::$variant => StatusCode::$status),+ }
            }

            pub fn title(self) -> &'static str {
                match self { $(ProblemType::$variant => $title),+ }
            }

            /// When a client meets it, for the README's list.
            pub fn when(self) -> &'static str {
                match self { $(ProblemType::$variant => $when),+ }
            }
        }
    };
}

problem_types! {
    ValidationFailed = ("validation-failed", UNPROCESSABLE_ENTITY, "The request is well-formed but some values are not acceptable", "a member of the body is missing, of the wrong type, or not acceptable; `errors` names each"),
    InvalidParameter = ("invalid-parameter", BAD_REQUEST, "Invalid parameter", "a path or query parameter cannot be read; `errors` names it"),
    InvalidRange = ("invalid-range", UNPROCESSABLE_ENTITY, "Invalid range", "`to` is before `from`, or the range is longer than allowed"),
    OutOfRange = ("out-of-range", UNPROCESSABLE_ENTITY, "Outside the calendar", "an instant or year outside what the business calendar covers (1955-2099)"),
    MalformedBody = ("malformed-body", BAD_REQUEST, "Malformed request body", "the body is not JSON (or not UTF-8)"),
    BadRequest = ("bad-request", BAD_REQUEST, "Bad request", "the request could not be understood"),
    InvalidCursor = ("invalid-cursor", BAD_REQUEST, "Bad request", "a `cursor` that this list did not hand out"),
    InvalidIfMatch = ("invalid-if-match", BAD_REQUEST, "Bad request", "an `If-Match` that is not an ETag"),
    InvalidIdempotencyKey = ("invalid-idempotency-key", BAD_REQUEST, "Bad request", "an `Idempotency-Key` that is not 1-255 printable ASCII characters"),
    Unauthorized = ("unauthorized", UNAUTHORIZED, "Authentication required", "no valid bearer token (missing, expired, revoked, forged)"),
    InvalidCredentials = ("invalid-credentials", UNAUTHORIZED, "Login failed", "the email or the password is wrong (never says which)"),
    SecondFactorRequired = ("second-factor-required", UNAUTHORIZED, "Second factor required", "this account signs in with a second factor: send `totp` (a current code or a recovery code) with the password; which of the two was wrong is never said"),
    SecondFactorEnrolmentRequired = ("second-factor-enrolment-required", FORBIDDEN, "Enrol a second factor first", "staff (while required of them) and the users of an organization that requires it must use a second factor: until one is enrolled (`POST /v1/me/totp`), this session may only enrol it"),
    SecondFactorExists = ("second-factor-exists", CONFLICT, "Conflict", "a second factor is already enrolled: remove it first (`DELETE /v1/me/totp` with a current code)"),
    Forbidden = ("forbidden", FORBIDDEN, "Not allowed", "the caller's role may not do this; `allowed` names the roles that may"),
    MissingScope = ("missing-scope", FORBIDDEN, "Outside the API key's scopes", "an API key without the scope this needs; `required_scope` names it (absent when no key may do this)"),
    ContractInactive = ("contract-inactive", FORBIDDEN, "Contract not active", "the organization's contract is not active: it reads its history but cannot post"),
    ContractNotEnded = ("contract-not-ended", CONFLICT, "Conflict", "erasure is for an organization whose contract has ended: set `contract_status` to `ended` first"),
    NotFound = ("not-found", NOT_FOUND, "Not found", "no such object, or not the caller's to know of; also an unknown route"),
    MethodNotAllowed = ("method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed", "the route exists but not with this method"),
    IllegalTransition = ("illegal-transition", CONFLICT, "Conflict", "the status cannot change that way; `allowed` lists where it can go"),
    ThreadClosed = ("thread-closed", CONFLICT, "Conflict", "the thread is closed; open a follow-up with `follow_up_of`"),
    EmailTaken = ("email-taken", CONFLICT, "Conflict", "another account has this email"),
    LastAdmin = ("last-admin", CONFLICT, "Conflict", "the change would leave no active admin"),
    ClosureExists = ("closure-exists", CONFLICT, "Conflict", "the date already has a closure or special hours"),
    AlreadyExists = ("already-exists", CONFLICT, "Conflict", "an object with these values already exists"),
    IdempotencyInProgress = ("idempotency-in-progress", CONFLICT, "Conflict", "the first request with this `Idempotency-Key` is still running; retry shortly"),
    IdempotencyApplied = ("idempotency-applied", CONFLICT, "Conflict", "the first request with this `Idempotency-Key` was applied, but the server stopped before answering it; `Location` names what it wrote"),
    IdempotencyKeyReused = ("idempotency-key-reused", UNPROCESSABLE_ENTITY, "Idempotency-Key reused", "the `Idempotency-Key` was used with another request body"),
    PreconditionFailed = ("precondition-failed", PRECONDITION_FAILED, "The object changed since you read it", "`If-Match` is not the current version: read it again"),
    PreconditionRequired = ("precondition-required", PRECONDITION_REQUIRED, "If-Match required", "a change without `If-Match`"),
    PayloadTooLarge = ("payload-too-large", PAYLOAD_TOO_LARGE, "Request body too large", "the body is larger than `MADOGUCHI_MAX_BODY_BYTES`"),
    UnsupportedMediaType = ("unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", "the body is not `application/json`"),
    CorsRefused = ("cors-refused", FORBIDDEN, "Cross-origin request refused", "a browser preflight from an origin not in `MADOGUCHI_CORS_ORIGINS`, or for a method or header the API does not take"),
    TooManyRequests = ("too-many-requests", TOO_MANY_REQUESTS, "Too many attempts", "throttled; `retry_after` (and `Retry-After`) says when to try again"),
    ClientError = ("client-error", BAD_REQUEST, "Request refused", "another refusal by the HTTP layer, with the status it chose"),
    InternalError = ("internal-error", INTERNAL_SERVER_ERROR, "Internal error", "a fault on the server's side; quote `instance` to support"),
    Unavailable = ("unavailable", SERVICE_UNAVAILABLE, "Service unavailable", "the database cannot be reached; retry later (`/readyz` says the same)"),
}

/// One field that failed validation.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct FieldProblem {
    /// The request member or parameter, e.g. `email`.
    pub field: String,
    /// What is wrong with it, in English.
    pub message: String,
    /// Which rule it broke: a code to branch on or to put in one's own words.
    pub reason: FieldReason,
    /// The bound the rule names (characters or items for `too_long` and
    /// `too_short`, the upper end for `out_of_range`); null otherwise.
    pub limit: Option<u64>,
}

/// Which rule a field broke (`domain::Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FieldReason {
    Invalid,
    Empty,
    TooLong,
    TooShort,
    OutOfRange,
    MultipleLines,
    ControlCharacters,
    Guessable,
    NotAnEmail,
    NotAPhoneNumber,
    OrganizationRequired,
    OrganizationNotAllowed,
    UnknownOrganization,
    UnknownThread,
    InTheFuture,
    EndsBeforeStart,
    NotHours,
    TooFewLetters,
    NotStarted,
}

impl From<Reason> for FieldReason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::Invalid => FieldReason::Invalid,
            Reason::Empty => FieldReason::Empty,
            Reason::TooLong => FieldReason::TooLong,
            Reason::TooShort => FieldReason::TooShort,
            Reason::OutOfRange => FieldReason::OutOfRange,
            Reason::MultipleLines => FieldReason::MultipleLines,
            Reason::ControlCharacters => FieldReason::ControlCharacters,
            Reason::Guessable => FieldReason::Guessable,
            Reason::NotAnEmail => FieldReason::NotAnEmail,
            Reason::NotAPhoneNumber => FieldReason::NotAPhoneNumber,
            Reason::OrganizationRequired => FieldReason::OrganizationRequired,
            Reason::OrganizationNotAllowed => FieldReason::OrganizationNotAllowed,
            Reason::UnknownOrganization => FieldReason::UnknownOrganization,
            Reason::UnknownThread => FieldReason::UnknownThread,
            Reason::InTheFuture => FieldReason::InTheFuture,
            Reason::EndsBeforeStart => FieldReason::EndsBeforeStart,
            Reason::NotHours => FieldReason::NotHours,
            Reason::TooFewLetters => FieldReason::TooFewLetters,
            Reason::NotStarted => FieldReason::NotStarted,
        }
    }
}

impl FieldReason {
    /// The domain's reason (the board maps it to Japanese).
    pub fn reason(self) -> Reason {
        Reason::ALL
            .into_iter()
            .find(|r| FieldReason::from(*r) == self)
            .unwrap_or(Reason::Invalid)
    }
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
    /// For `missing-scope`: the API-key scope that would allow this.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
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
    pub kind: ProblemType,
    /// The kind's status, except for [`ProblemType::ClientError`], which keeps
    /// the one the HTTP layer chose.
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldProblem>,
    pub allowed: Vec<String>,
    pub retry_after: Option<u64>,
    pub required_scope: Option<&'static str>,
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
    pub fn new(kind: ProblemType) -> Self {
        ApiError(Box::new(ApiErrorBody {
            kind,
            status: kind.status(),
            code: kind.code(),
            title: kind.title(),
            detail: None,
            errors: Vec::new(),
            allowed: Vec::new(),
            retry_after: None,
            required_scope: None,
        }))
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    /// A problem of `kind` with what went wrong this time.
    pub fn with_detail(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::new(kind).detail(detail)
    }

    /// 422 for a `from`/`to` pair the API cannot answer: reversed, or too long.
    pub fn invalid_range(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::InvalidRange).detail(detail)
    }

    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::InvalidParameter).detail(detail)
    }

    pub fn validation(errors: Vec<ValidationError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        let mut e = Self::new(ProblemType::ValidationFailed).detail(detail);
        e.errors = errors
            .into_iter()
            .map(|v| FieldProblem {
                field: v.field.into_owned(),
                message: v.message,
                reason: v.reason.into(),
                limit: v.limit,
            })
            .collect();
        e
    }

    pub fn unauthorized() -> Self {
        Self::new(ProblemType::Unauthorized).detail("a valid bearer token is required")
    }

    pub fn invalid_credentials() -> Self {
        Self::new(ProblemType::InvalidCredentials).detail("the email or password is not correct")
    }

    pub fn second_factor_required() -> Self {
        Self::new(ProblemType::SecondFactorRequired).detail(
            "this account needs a second factor: send a current code (or a recovery code) in `totp` with the right password",
        )
    }

    pub fn second_factor_enrolment_required() -> Self {
        Self::new(ProblemType::SecondFactorEnrolmentRequired).detail(
            "this account must enrol a second factor before anything else: POST /v1/me/totp",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(ProblemType::Forbidden).detail("your role may not do this")
    }

    /// 403 naming who may: the roles in `allowed`.
    pub fn forbidden_for(allowed: &[madoguchi_domain::Role]) -> Self {
        let names: Vec<String> = allowed.iter().map(|r| r.as_str().to_owned()).collect();
        let mut e = Self::new(ProblemType::Forbidden).detail(format!(
            "your role may not do this; allowed for: {}",
            names.join(", ")
        ));
        e.allowed = names;
        e
    }

    /// 403 for an API key: `scope` would allow this; `None` when no key may.
    pub fn missing_scope(scope: Option<madoguchi_domain::integrations::Scope>) -> Self {
        let mut e = Self::new(ProblemType::MissingScope);
        e.detail = Some(match scope {
            Some(s) => format!("this API key lacks the scope `{}`", s.as_str()),
            None => "API keys cannot do this; sign in as a person".to_owned(),
        });
        e.required_scope = scope.map(|s| s.as_str());
        e
    }

    pub fn not_found() -> Self {
        Self::new(ProblemType::NotFound).detail("no such resource")
    }

    pub fn precondition_failed() -> Self {
        Self::new(ProblemType::PreconditionFailed)
            .detail("the If-Match version is not the current one; read the object again")
    }

    pub fn precondition_required() -> Self {
        Self::new(ProblemType::PreconditionRequired)
            .detail("send the ETag you read in If-Match, so a concurrent change is not overwritten")
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(ProblemType::TooManyRequests)
            .detail(format!("try again in {retry_after} seconds"));
        e.retry_after = Some(retry_after);
        e
    }

    /// Something failed on our side. The cause is logged with the request id; the
    /// client sees only that id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(request_id = %RequestCtx::current().request_id, error = %cause, "internal error");
        Self::new(ProblemType::InternalError)
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
            required_scope: self.required_scope.map(str::to_owned),
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
            StoreError::Conflict => ApiError::with_detail(
                ProblemType::AlreadyExists,
                "an object with these values already exists",
            ),
            StoreError::Stale => ApiError::precondition_failed(),
            StoreError::Unavailable(e) => {
                tracing::warn!(request_id = %RequestCtx::current().request_id, error = %e, "database unavailable");
                let mut err = ApiError::with_detail(
                    ProblemType::Unavailable,
                    "the database cannot be reached just now; nothing was changed, retry shortly",
                );
                err.retry_after = Some(5);
                err
            }
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
                              throttled (429, with Retry-After), database unavailable (503). The `type`s are listed in the README.",
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
        return ApiError::with_detail(
            ProblemType::MalformedBody,
            format!("the request body could not be read: {}", e.reason),
        );
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::invalid_parameter(format!("parameter `{}`: {}", e.name, e.reason));
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return ApiError::invalid_parameter(format!("path parameter `{}`: {}", e.name, e.reason));
    }
    if err.downcast_ref::<ParseMultipartError>().is_some() {
        return ApiError::with_detail(
            ProblemType::MalformedBody,
            "the multipart body could not be read",
        );
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return ApiError::new(ProblemType::UnsupportedMediaType).detail(match e {
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
        return ApiError::new(ProblemType::NotFound).detail("no such route");
    }
    if err.downcast_ref::<MethodNotAllowedError>().is_some() {
        return ApiError::new(ProblemType::MethodNotAllowed)
            .detail("this route does not accept that method");
    }
    if let Some(ReadBodyError::PayloadTooLarge) = err.downcast_ref::<ReadBodyError>() {
        return payload_too_large();
    }
    let status = err.status();
    match status.as_u16() {
        413 => payload_too_large(),
        400 => ApiError::with_detail(
            ProblemType::BadRequest,
            "the request could not be understood",
        ),
        401 => ApiError::unauthorized(),
        403 => ApiError::forbidden(),
        404 => ApiError::not_found(),
        405 => ApiError::new(ProblemType::MethodNotAllowed),
        415 => ApiError::new(ProblemType::UnsupportedMediaType),
        s if s >= 500 => ApiError::internal(err),
        _ => {
            let mut e = ApiError::new(ProblemType::ClientError).detail(err.to_string());
            e.status = status;
            e
        }
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
    ApiError::new(ProblemType::PayloadTooLarge)
        .detail("the request body exceeds the configured limit")
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule's code on the wire is the domain's, and reads back.
    #[test]
    fn field_reasons_carry_the_domain_codes() {
        use poem_openapi::types::ToJSON;
        for r in Reason::ALL {
            let wire = FieldReason::from(r);
            assert_eq!(wire.to_json(), Some(serde_json::json!(r.code())));
            assert_eq!(wire.reason(), r);
        }
    }

    #[test]
    fn every_problem_type_is_listed_in_the_readme_once_with_its_status() {
        let readme = include_str!("../../../README.md");
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemType::ALL {
            assert!(seen.insert(kind.code()), "{} twice", kind.code());
            let row = format!(
                "| `/problems/{}` | {} |",
                kind.code(),
                kind.status().as_u16()
            );
            assert!(readme.contains(&row), "README lacks {row}");
        }
        let listed = readme.matches("| `/problems/").count();
        assert_eq!(
            listed,
            ProblemType::ALL.len(),
            "README lists a problem the API does not send"
        );
    }

    #[test]
    fn every_problem_body_is_its_kind() {
        for kind in ProblemType::ALL {
            let p = ApiError::new(*kind).to_problem();
            assert_eq!(p.type_, format!("/problems/{}", kind.code()));
            assert_eq!(p.code, kind.code());
            assert_eq!(p.status, kind.status().as_u16());
            assert!(kind.status().is_client_error() || kind.status().is_server_error());
        }
    }
}
