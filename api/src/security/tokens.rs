//! Access tokens: HS256 JWTs bound to a revocable session, and the cursor key
//! derived from the same secret. A leaf module: the application state holds the
//! keys, and nothing here reaches back into it.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use madoguchi_domain::Role;
use serde::{Deserialize, Serialize};

use crate::http::problem::ApiError;

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
    /// Separate key for the web board's CSRF tokens, derived from the same
    /// secret, so every instance agrees on it.
    pub web_key: Vec<u8>,
    /// Key of the hash that names a login-throttle row (an email or a client
    /// address is never stored in the clear there), derived the same way.
    pub throttle_key: Vec<u8>,
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
        let derive = |label: &[u8]| match <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(label);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => secret.to_vec(),
        };
        let cursor_key = derive(b"madoguchi cursor key v1");
        let web_key = derive(b"madoguchi web csrf key v1");
        let throttle_key = derive(b"madoguchi throttle key v1");
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            cursor_key,
            web_key,
            throttle_key,
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
