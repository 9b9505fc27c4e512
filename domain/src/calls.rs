//! The phone line: numbers as clinics write them, and when a call counts as
//! outside reception hours.

use chrono::{DateTime, Duration, Utc};

use crate::{calendar::BusinessCalendar, error::ValidationError};

/// A Japanese phone number, kept in E.164 (`+81…`) so one line is one value
/// however it was typed (03-6413-0612, ０３（６４１３）０６１２, +81 3 6413 0612).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new("caller_number", "must be a Japanese phone number such as 03-6413-0612, 090-1234-5678 or +81 3 6413 0612")
        };
        let normalized: String = crate::board::search::normalize(raw.trim());
        if normalized.is_empty() || normalized.chars().count() > 30 {
            return Err(bad());
        }
        let mut digits = String::new();
        let mut plus = false;
        for (i, c) in normalized.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                '-' | ' ' | '(' | ')' | '.' => {}
                _ => return Err(bad()),
            }
        }
        let national = if plus {
            let rest = digits.strip_prefix("81").ok_or_else(bad)?;
            // "+81 (0)3 …" is common: drop a trunk zero written after the country code.
            format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
        } else {
            digits
        };
        let ok = national.starts_with('0')
            && !national.starts_with("00")
            && match &national[..3.min(national.len())] {
                "070" | "080" | "090" | "050" | "020" => national.len() == 11,
                _ if national.starts_with("0120") || national.starts_with("0800") => {
                    national.len() == 10 || national.len() == 11
                }
                _ => national.len() == 10,
            };
        if !ok {
            return Err(bad());
        }
        Ok(PhoneNumber(format!("+81{}", &national[1..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::board::values::simple_enum!(
    /// Who dialed.
    Direction, "direction", { Inbound = "inbound", Outbound = "outbound" }
);

/// How far in the future a call's start may lie (clock skew between a phone
/// system and this server).
pub const FUTURE_SKEW: i64 = 60;

/// The times of a call, checked: it cannot start in the future (skew aside), and
/// it cannot end before it started.
pub fn check_times(
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    if started_at > now + Duration::seconds(FUTURE_SKEW) {
        return Err(ValidationError::new(
            "started_at",
            "a call cannot start in the future",
        ));
    }
    if let Some(end) = ended_at {
        if end < started_at {
            return Err(ValidationError::new(
                "ended_at",
                "a call cannot end before it started",
            ));
        }
    }
    Ok(())
}

/// An inbound call outside the reception window (weekend, holiday, closure,
/// outside a special-hours day's hours, or at closing time itself). Outbound
/// calls are the vendor's own and never "outside hours" for the disclosure.
pub fn outside_hours(
    cal: &BusinessCalendar,
    direction: Direction,
    started_at: DateTime<Utc>,
) -> bool {
    direction == Direction::Inbound && !cal.is_open(started_at).unwrap_or(false)
}

/// Whole seconds between start and end, once the call has ended.
pub fn duration_seconds(started_at: DateTime<Utc>, ended_at: Option<DateTime<Utc>>) -> Option<i64> {
    ended_at.map(|e| (e - started_at).num_seconds().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarRules;
    use chrono::{FixedOffset, TimeZone};

    #[test]
    fn japanese_numbers_normalize_to_one_form() {
        for (raw, want) in [
            ("03-6413-0612", "+81364130612"),
            ("0364130612", "+81364130612"),
            ("+81 3 6413 0612", "+81364130612"),
            ("+81 (0)3-6413-0612", "+81364130612"),
            ("０３（６４１３）０６１２", "+81364130612"),
            ("090-1234-5678", "+819012345678"),
            ("0120-123-456", "+81120123456"),
            ("06-6123-4567", "+81661234567"),
        ] {
            assert_eq!(PhoneNumber::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        for bad in [
            "",
            "abc",
            "03-6413-061",
            "090-1234-567",
            "+1 212 555 0100",
            "00-1234-5678",
            "03-6413-0612 内線12",
            &"0".repeat(40),
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    fn jst(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(9 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, d, h, min, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn outside_hours_follows_the_calendar() {
        let cal = BusinessCalendar::build(CalendarRules::default());
        let i = Direction::Inbound;
        // Friday 2026-11-27.
        assert!(!outside_hours(&cal, i, jst(2026, 11, 27, 17, 29, 59)));
        assert!(outside_hours(&cal, i, jst(2026, 11, 27, 17, 30, 0)));
        assert!(outside_hours(&cal, i, jst(2026, 11, 27, 8, 59, 59)));
        assert!(
            outside_hours(&cal, i, jst(2026, 11, 28, 10, 0, 0)),
            "Saturday"
        );
        assert!(
            outside_hours(&cal, i, jst(2026, 5, 6, 10, 0, 0)),
            "2026-05-06 振替休日"
        );
        assert!(
            outside_hours(&cal, i, jst(2026, 12, 29, 10, 0, 0)),
            "year-end closure"
        );
        assert!(!outside_hours(
            &cal,
            Direction::Outbound,
            jst(2026, 11, 28, 10, 0, 0)
        ));
    }

    #[test]
    fn times_are_checked() {
        let now = jst(2026, 11, 25, 12, 0, 0);
        assert!(check_times(now + Duration::seconds(59), None, now).is_ok());
        assert!(check_times(now + Duration::seconds(61), None, now).is_err());
        assert!(check_times(now, Some(now - Duration::seconds(1)), now).is_err());
        assert_eq!(
            duration_seconds(now, Some(now + Duration::seconds(125))),
            Some(125)
        );
        assert_eq!(duration_seconds(now, None), None);
    }
}
