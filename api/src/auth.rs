//! Authentication: argon2id password hashes, HS256 access tokens bound to a
//! revocable session, and the bearer security scheme every protected route takes.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use madoguchi_domain::{Actor, ActorKind, Role};
use madoguchi_persistence::{sessions, users::User};
use poem::Request;
use poem_openapi::{auth::Bearer, SecurityScheme};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{problem::ApiError, state::AppState};

const ISSUER: &str = "madoguchi";

/// What an access token says. `sid` ties it to a session row, so logout and
/// deactivation take effect at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org: Option<String>,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signing and verification keys derived from the one shared secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Separate key for signing pagination cursors, derived from the same secret.
    pub cursor_key: Vec<u8>,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        // Expiry is checked against the application's clock in `verify`, not
        // the library's reading of the system clock, so that tests can move time.
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = false;
        use hmac::{Hmac, Mac};
        let cursor_key = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(b"madoguchi cursor key v1");
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => secret.to_vec(),
        };
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            cursor_key,
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Verify signature, algorithm, issuer and expiry (at `now`, with 5 s of
    /// leeway for clocks that disagree). Anything else (another secret,
    /// `alg: none`, garbage) is simply "not a token".
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        const LEEWAY_SECONDS: i64 = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
            .filter(|c| c.exp.saturating_add(LEEWAY_SECONDS) >= now.timestamp())
    }
}

/// Hash a password with argon2id (the crate's defaults follow OWASP: 19 MiB, t=2, p=1).
/// Runs on the blocking pool: it is deliberately slow.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// A hash no password matches, verified when the email is unknown so that a
/// missing account costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(Uuid::new_v4().to_string().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Check `password` against `hash` (or against a dummy when there is no account).
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let h = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&h) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .map_err(ApiError::internal)
}

/// An authenticated caller of a protected route.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub session_id: Uuid,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: self.user.id.as_u128(),
            role: self.user.role,
            organization: self.user.organization_id.map(|o| o.as_u128()),
        }
    }

    pub fn role(&self) -> Role {
        self.user.role
    }
}

/// Bearer JWT from `POST /v1/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let claims = state
        .jwt
        .verify(&bearer.token, state.now())
        .ok_or_else(ApiError::unauthorized)?;
    let sid = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::unauthorized())?;
    let user = sessions::active_user(&state.read, sid, state.now())
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::unauthorized)?;
    if user.id.to_string() != claims.sub {
        return Err(ApiError::unauthorized().into());
    }
    Ok(Principal {
        user,
        session_id: sid,
    })
}

/// The subject of a valid token, without touching the database: enough to scope
/// an idempotency key. The route itself still checks the session.
pub fn token_subject(state: &AppState, req: &Request) -> Option<String> {
    let value = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    state.jwt.verify(token.trim(), state.now()).map(|c| c.sub)
}
