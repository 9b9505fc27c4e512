//! Opaque pagination cursors. A cursor is the last key of a page plus the list it
//! belongs to, signed with HMAC-SHA256, so a forged cursor or one taken from
//! another list is refused (400) instead of silently paging somewhere odd.
//! The signing key is the caller's own ([`key_for`]): a cursor works only for
//! the person or API key it was handed to.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::http::problem::{ApiError, ProblemType};

/// The cursor key of one caller: the server's cursor secret bound to who is
/// asking (a person or an API key), so a cursor passed to someone else is 400.
pub fn key_for(
    state: &crate::app::state::AppState,
    p: &crate::security::principal::Principal,
) -> Vec<u8> {
    let issued_to = format!("{}:{}", p.kind().as_str(), p.id());
    mac(&state.jwt.cursor_key, "cursor-owner", &issued_to).unwrap_or_default()
}

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

/// A list's sort key, as a cursor carries it. One codec per key type, for
/// every list that sorts by it.
pub trait Position: Sized {
    fn to_position(&self) -> String;
    fn from_position(s: &str) -> Option<Self>;
}

impl Position for uuid::Uuid {
    fn to_position(&self) -> String {
        self.to_string()
    }
    fn from_position(s: &str) -> Option<Self> {
        uuid::Uuid::parse_str(s).ok()
    }
}

impl Position for i64 {
    fn to_position(&self) -> String {
        self.to_string()
    }
    fn from_position(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl Position for chrono::NaiveDate {
    fn to_position(&self) -> String {
        self.format("%Y-%m-%d").to_string()
    }
    fn from_position(s: &str) -> Option<Self> {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }
}

/// The queue's key: (rank, due, number), the due time to the nanosecond, since
/// a rounded key would repeat rows.
impl Position for (i32, chrono::DateTime<chrono::Utc>, i64) {
    fn to_position(&self) -> String {
        format!(
            "{}|{}.{}|{}",
            self.0,
            self.1.timestamp(),
            self.1.timestamp_subsec_nanos(),
            self.2
        )
    }
    fn from_position(s: &str) -> Option<Self> {
        let mut it = s.split('|');
        let rank = it.next()?.parse().ok()?;
        let (secs, nanos) = it.next()?.split_once('.')?;
        let due = chrono::DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)?;
        let number = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        Some((rank, due, number))
    }
}

/// Read an optional cursor of `list` back into its position.
pub fn decode_as<T: Position>(
    key: &[u8],
    list: &str,
    cursor: Option<&str>,
) -> Result<Option<T>, ApiError> {
    cursor
        .map(|c| {
            T::from_position(&decode(key, list, c)?).ok_or_else(|| {
                ApiError::with_detail(ProblemType::InvalidCursor, "malformed cursor")
            })
        })
        .transpose()
}

/// The cursor that continues `list` after `position`.
pub fn encode_as<T: Position>(key: &[u8], list: &str, position: &T) -> String {
    encode(key, list, &position.to_position())
}

/// The cursor of the page after `page`, if there is one.
pub fn next<T, P: Position>(
    key: &[u8],
    list: &str,
    page: &madoguchi_persistence::Page<T>,
    position: impl Fn(&T) -> P,
) -> Option<String> {
    if !page.has_more {
        return None;
    }
    page.items
        .last()
        .map(|last| encode_as(key, list, &position(last)))
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

    #[test]
    fn every_position_round_trips_and_junk_is_refused() {
        let key = b"k";
        let id = uuid::Uuid::now_v7();
        let c = encode_as(key, "users", &id);
        assert_eq!(
            decode_as::<uuid::Uuid>(key, "users", Some(&c)).unwrap(),
            Some(id)
        );
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 29).unwrap();
        let c = encode_as(key, "closures", &day);
        assert_eq!(decode_as(key, "closures", Some(&c)).unwrap(), Some(day));
        let due = chrono::DateTime::from_timestamp(1_796_000_000, 123_456_789).unwrap();
        let q = (2, due, 42i64);
        let c = encode_as(key, "queue", &q);
        assert_eq!(decode_as(key, "queue", Some(&c)).unwrap(), Some(q));
        // A signed cursor of another key type is malformed here, not a 500.
        let c = encode_as(key, "queue", &7i64);
        assert!(
            decode_as::<(i32, chrono::DateTime<chrono::Utc>, i64)>(key, "queue", Some(&c)).is_err()
        );
        assert_eq!(decode_as::<i64>(key, "queue", None).unwrap(), None);
    }
}
