//! The secrets madoguchi hands to integrations, in forms that secret scanners
//! and the Standard Webhooks libraries recognise.
//!
//! An API key is `mdg_` + 30 base62 characters of randomness (178 bits) + 6
//! base62 characters of its CRC-32, as GitHub writes its tokens: a scanner can
//! tell a real key from a look-alike without asking us, and a mistyped key is
//! refused before any database read. A webhook signing secret is `whsec_` +
//! base64 of 24 random bytes, as Standard Webhooks writes it.

use base64::{engine::general_purpose::STANDARD, Engine};
use rand::{rngs::OsRng, Rng, RngCore};
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "mdg_";
const RANDOM_CHARS: usize = 30;
const CHECKSUM_CHARS: usize = 6;
/// How much of a key is kept in the clear to tell keys apart in a list.
const SHOWN_CHARS: usize = KEY_PREFIX.len() + 8;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

fn base62_fixed(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn checksum(random: &str) -> String {
    base62_fixed(
        u64::from(crc32fast::hash(random.as_bytes())),
        CHECKSUM_CHARS,
    )
}

/// A new API key secret, shown once.
pub fn new_api_key() -> String {
    let random: String = (0..RANDOM_CHARS)
        .map(|_| BASE62[OsRng.gen_range(0..BASE62.len())] as char)
        .collect();
    let sum = checksum(&random);
    format!("{KEY_PREFIX}{random}{sum}")
}

/// Whether `s` has the shape and checksum of a key this server could have made.
pub fn is_api_key(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(KEY_PREFIX) else {
        return false;
    };
    if rest.len() != RANDOM_CHARS + CHECKSUM_CHARS || !rest.bytes().all(|b| BASE62.contains(&b)) {
        return false;
    }
    let (random, sum) = rest.split_at(RANDOM_CHARS);
    checksum(random) == sum
}

/// What is stored of a key: SHA-256, hex.
pub fn api_key_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The part of a key shown in lists.
pub fn api_key_shown(secret: &str) -> String {
    secret.chars().take(SHOWN_CHARS).collect()
}

/// Equality that takes the same time wherever the first difference is, for
/// comparing secrets and codes.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new webhook signing secret.
pub fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    format!("{WEBHOOK_SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a webhook secret: the base64 after `whsec_`.
pub fn webhook_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(WEBHOOK_SECRET_PREFIX)?)
        .ok()
}

/// The `webhook-signature` header of a delivery: `v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">` for each live secret, separated by spaces (Standard
/// Webhooks 1.0). A secret that does not decode signs nothing.
pub fn webhook_signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    secrets
        .iter()
        .filter_map(|s| webhook_key(s))
        .filter_map(|key| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_the_scanner_shape_and_checks_out() {
        let k = new_api_key();
        assert!(k.starts_with("mdg_"));
        assert_eq!(k.len(), 4 + 30 + 6);
        assert!(is_api_key(&k));
        assert_ne!(k, new_api_key());
    }

    #[test]
    fn a_mistyped_key_fails_its_checksum() {
        let k = new_api_key();
        let mut chars: Vec<char> = k.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(!is_api_key(&typo));
        assert!(!is_api_key("mdg_short"));
        assert!(!is_api_key(&k.replace("mdg_", "mdx_")));
        assert!(!is_api_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }

    #[test]
    fn only_a_prefix_is_shown_and_the_hash_is_stable() {
        let k = new_api_key();
        assert_eq!(api_key_shown(&k).len(), 12);
        assert!(k.starts_with(&api_key_shown(&k)));
        assert_eq!(api_key_hash(&k), api_key_hash(&k));
        assert_eq!(api_key_hash(&k).len(), 64);
    }

    #[test]
    fn the_signature_is_the_standards_example() {
        // The example of the Standard Webhooks specification (spec/standard-webhooks.md).
        let sig = webhook_signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = webhook_signature(
            &[
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(two.split(' ').count(), 2);
    }

    #[test]
    fn a_webhook_secret_decodes_to_its_key() {
        let s = new_webhook_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(webhook_key(&s).map(|k| k.len()), Some(24));
        assert_eq!(webhook_key("whsec_!!"), None);
    }
}
