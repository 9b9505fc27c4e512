//! The second factor's cryptography: TOTP codes (RFC 6238, by totp-rs),
//! the QR code an authenticator app scans, one-time recovery codes, and the
//! sealing of TOTP secrets at rest (AES-256-GCM, bound to their user).
//!
//! The rules of use (a code is good once, ±1 step of skew, throttled failures,
//! who must enrol) are applied by [`crate::service::second_factor`].

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::{rngs::OsRng, Rng, RngCore};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use crate::security::secrets::constant_time_eq;
use uuid::Uuid;

/// Seconds per TOTP step, digits per code: what every authenticator app assumes.
pub const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// Steps either side of now that still count: a phone's clock a little off, or
/// a code typed as it changed.
pub const SKEW_STEPS: u64 = 1;
/// Shown to authenticator apps beside the account.
const ISSUER: &str = "madoguchi";
/// 160 bits, the HMAC-SHA1 block RFC 4226 recommends for the shared secret.
const SECRET_BYTES: usize = 20;
/// How many recovery codes an enrolment hands out.
pub const RECOVERY_CODES: usize = 10;
/// Each recovery code: 16 characters of a 32-letter alphabet, 80 bits.
const RECOVERY_CHARS: usize = 16;
/// Lower-case letters and digits without the look-alikes (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const SEALED_PREFIX: &str = "v1:";

/// A new shared secret for an enrolment.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn totp(secret: &[u8], account: &str) -> Option<TOTP> {
    // An otpauth label may not hold a colon; an email never needs one.
    let account = account.replace(':', "_");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS as u8,
        STEP_SECONDS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account,
    )
    .ok()
}

/// The `otpauth://totp/…` URI an authenticator app is given, and the secret
/// in base32 for typing in by hand.
pub fn otpauth(secret: &[u8], account: &str) -> Option<(String, String)> {
    let t = totp(secret, account)?;
    Some((t.get_url(), t.get_secret_base32()))
}

/// The QR code of `uri` as an SVG document (dark modules on white, with the
/// quiet zone), to be put in a page or an API answer as it is.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

/// Whether `input` is shaped like a TOTP code (six digits, spaces allowed, as
/// apps show them "123 456") rather than a recovery code.
pub fn looks_like_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The time step `code` belongs to, if it is the code of `secret` at `unix`
/// or one step either side. Compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, unix: i64) -> Option<i64> {
    let t = totp(secret, "x")?;
    let now = u64::try_from(unix).ok()? / STEP_SECONDS;
    let mut found = None;
    for step in now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS {
        let expected = t.generate(step * STEP_SECONDS);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            found = i64::try_from(step).ok();
        }
    }
    found
}

/// Ten new recovery codes, written `abcd-efgh-jkmn-pqrs`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_CHARS)
                .map(|_| RECOVERY_ALPHABET[OsRng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            raw.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored of a recovery code: SHA-256 (hex) of its letters, so case,
/// spaces and hyphens as typed do not matter. 80 random bits need no slow hash.
pub fn recovery_hash(code: &str) -> String {
    let letters: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(letters.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seals TOTP secrets at rest with AES-256-GCM. The user's id is the
/// associated data, so a sealed secret copied to another account's row does
/// not open there.
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    /// From a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Sealer {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, user: Uuid, secret: &[u8]) -> Option<String> {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: user.as_bytes(),
                },
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Some(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// The secret, if `sealed` was sealed with this key for this user.
    pub fn open(&self, user: Uuid, sealed: &str) -> Option<Vec<u8>> {
        let raw = STANDARD.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, body) = raw.split_at(12);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: user.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII secret
    /// "12345678901234567890" and eight digits; the six-digit codes apps use are
    /// the last six of each (the same truncation, modulo 10^6).
    #[test]
    fn codes_are_rfc_6238s_test_vectors() {
        let secret = b"12345678901234567890";
        let rows = [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        for (time, eight) in rows {
            let t = totp(secret, "rfc@example.com").expect("a valid TOTP");
            assert_eq!(t.generate(time), eight[2..], "at T = {time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let secret = b"12345678901234567890";
        // 1111111109 is step 37037036; its code is 081804.
        assert_eq!(matching_step(secret, "081804", 1111111109), Some(37037036));
        assert_eq!(
            matching_step(secret, "081804", 1111111109 + 30),
            Some(37037036)
        );
        assert_eq!(
            matching_step(secret, "081804", 1111111109 - 30),
            Some(37037036)
        );
        assert_eq!(matching_step(secret, "081804", 1111111109 + 60), None);
        assert_eq!(matching_step(secret, "000000", 1111111109), None);
    }

    #[test]
    fn six_digits_read_as_a_code_anything_else_as_a_recovery_code() {
        assert_eq!(looks_like_code("123 456").as_deref(), Some("123456"));
        assert_eq!(looks_like_code("12345"), None);
        assert_eq!(looks_like_code("abcd-efgh-jkmn-pqrs"), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        let c = &codes[0];
        assert_eq!(c.len(), 19);
        assert_eq!(
            recovery_hash(c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(c), recovery_hash(&codes[1]));
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_and_key() {
        let s = Sealer::new(&[7u8; 32]);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = s.seal(a, b"secret bytes").expect("sealed");
        assert!(!sealed.contains("secret"));
        assert_eq!(s.open(a, &sealed).as_deref(), Some(&b"secret bytes"[..]));
        assert_eq!(s.open(b, &sealed), None);
        assert_eq!(Sealer::new(&[8u8; 32]).open(a, &sealed), None);
        assert_eq!(s.open(a, "v1:!!"), None);
    }

    #[test]
    fn the_qr_code_is_an_svg_and_the_uri_names_the_issuer() {
        let (uri, base32) = otpauth(&new_secret(), "sato@vendor.example").expect("uri");
        assert!(uri.starts_with("otpauth://totp/madoguchi:sato%40vendor.example?"));
        assert!(uri.contains(&format!("secret={base32}")));
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.contains("<svg"));
    }
}
