//! `ETag` / `If-Match` for optimistic concurrency: the version number of the row,
//! quoted. A PATCH without `If-Match` is refused (428) so a client cannot
//! overwrite a change it never saw.

use crate::http::problem::{ApiError, ProblemType};

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version the client last saw. `*` means "whatever is current".
pub fn expected_version(if_match: Option<&str>, current: i32) -> Result<i32, ApiError> {
    let raw = if_match.ok_or_else(ApiError::precondition_required)?.trim();
    if raw == "*" {
        return Ok(current);
    }
    let raw = raw.strip_prefix("W/").unwrap_or(raw);
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or_else(|| {
            ApiError::with_detail(
                ProblemType::InvalidIfMatch,
                "If-Match must be an ETag from a previous response, e.g. \"3\"",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_we_issue() {
        assert_eq!(expected_version(Some(&etag(3)), 9).unwrap(), 3);
        assert_eq!(expected_version(Some("W/\"4\""), 9).unwrap(), 4);
        assert_eq!(expected_version(Some("*"), 9).unwrap(), 9);
        assert_eq!(expected_version(None, 9).unwrap_err().status.as_u16(), 428);
        assert_eq!(
            expected_version(Some("3"), 9).unwrap_err().status.as_u16(),
            400
        );
    }
}
