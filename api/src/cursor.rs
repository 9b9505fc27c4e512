//! Opaque pagination cursors. A cursor is the last key of a page plus the list it
//! belongs to, signed with HMAC-SHA256, so a forged cursor or one taken from
//! another list is refused (400) instead of silently paging somewhere odd.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::problem::{ApiError, ProblemType};

/// Lists take `?limit=` (default 50, at most 200).
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

fn mac(key: &[u8], list: &str, position: &str) -> Option<Vec<u8>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    m.update(list.as_bytes());
    m.update(b"\0");
    m.update(position.as_bytes());
    Some(m.finalize().into_bytes()[..16].to_vec())
}

pub fn encode(key: &[u8], list: &str, position: &str) -> String {
    let tag = mac(key, list, position).unwrap_or_default();
    let mut raw = position.as_bytes().to_vec();
    raw.push(b'.');
    raw.extend_from_slice(URL_SAFE_NO_PAD.encode(tag).as_bytes());
    URL_SAFE_NO_PAD.encode(raw)
}

pub fn decode(key: &[u8], list: &str, cursor: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::with_detail(
            ProblemType::InvalidCursor,
            "the cursor is not one this list issued; start again without it",
        )
    };
    if cursor.len() > 512 {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (position, tag) = raw.rsplit_once('.').ok_or_else(bad)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| bad())?;
    m.update(list.as_bytes());
    m.update(b"\0");
    m.update(position.as_bytes());
    m.verify_truncated_left(&tag).map_err(|_| bad())?;
    if tag.len() != 16 {
        return Err(bad());
    }
    Ok(position.to_owned())
}

/// Decode an optional cursor whose position is a UUID (lists ordered by id).
pub fn decode_uuid(
    key: &[u8],
    list: &str,
    cursor: Option<&str>,
) -> Result<Option<uuid::Uuid>, ApiError> {
    cursor
        .map(|c| {
            uuid::Uuid::parse_str(&decode(key, list, c)?)
                .map_err(|_| ApiError::with_detail(ProblemType::InvalidCursor, "malformed cursor"))
        })
        .transpose()
}

/// Decode an optional cursor whose position is a number (lists ordered by a sequence).
pub fn decode_i64(key: &[u8], list: &str, cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            decode(key, list, c)?
                .parse::<i64>()
                .map_err(|_| ApiError::with_detail(ProblemType::InvalidCursor, "malformed cursor"))
        })
        .transpose()
}

/// The cursor of the page after `page`, if there is one.
pub fn next<T>(
    key: &[u8],
    list: &str,
    page: &madoguchi_persistence::Page<T>,
    position: impl Fn(&T) -> String,
) -> Option<String> {
    if !page.has_more {
        return None;
    }
    page.items
        .last()
        .map(|last| encode(key, list, &position(last)))
}

/// The page size asked for, or the default.
pub fn limit(requested: Option<u32>) -> u64 {
    u64::from(requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let key = b"k".repeat(32);
        let c = encode(&key, "users", "0193-abc");
        assert_eq!(decode(&key, "users", &c).unwrap(), "0193-abc");
        assert!(decode(&key, "organizations", &c).is_err(), "foreign list");
        assert!(decode(b"other-key", "users", &c).is_err(), "other secret");
        assert!(decode(&key, "users", "bm90LWEtY3Vyc29y").is_err(), "forged");
        assert!(decode(&key, "users", "!!!").is_err());
        let forged = URL_SAFE_NO_PAD.encode(b"0193-abd.AAAAAAAAAAAAAAAAAAAAAA");
        assert!(decode(&key, "users", &forged).is_err());
    }
}
