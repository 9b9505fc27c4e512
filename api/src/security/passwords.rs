//! Password hashing: argon2id, with a dummy verification for unknown accounts so
//! that a missing email costs the same time as a wrong password.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use uuid::Uuid;

use madoguchi_domain::{Password, ValidationError};

use crate::http::problem::ApiError;

/// The lowest zxcvbn score a password people set may have: 3 of 4, "safely
/// unguessable" (about 10^10 guesses), the level NIST SP 800-63B's blocklist
/// advice and OWASP's ASVS 2.1.7 aim at. Common passwords, keyboard walks,
/// dates, repeats and words built from the person's own name or email fall
/// below it. Length is already checked in characters (`Password::parse`), so a
/// Japanese passphrase counts as long as it reads.
const MIN_SCORE: u8 = 3;

/// Refuse a password that is easy to guess, given what else is known of its
/// owner (`inputs`: email, name). The same check for every way a password is
/// set: an admin creating or resetting one, and a person changing their own.
pub fn check_guessable(password: &Password, inputs: &[&str]) -> Result<(), ValidationError> {
    let mut words: Vec<&str> = inputs.to_vec();
    // The parts of an email are words too (tanaka, sakura).
    for i in inputs {
        words.extend(i.split(['@', '.', ' ', '-', '_']).filter(|w| w.len() >= 3));
    }
    let estimate = zxcvbn::zxcvbn(password.expose(), &words);
    if (estimate.score() as u8) < MIN_SCORE {
        return Err(ValidationError::new(
            "password",
            "is too easy to guess (a common password, a pattern, or built from the name or email); use a longer phrase",
        )
        .because(madoguchi_domain::Reason::Guessable));
    }
    Ok(())
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
