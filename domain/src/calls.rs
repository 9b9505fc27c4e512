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
            ValidationError::new("caller_number", "must be a Japanese phone number such as 03-6413-0612, 090-1234-5678 or +81 3 6413 0612").because(crate::Reason::NotAPhoneNumber)
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
        return Err(
            ValidationError::new("started_at", "a call cannot start in the future")
                .because(crate::Reason::InTheFuture),
        );
    }
    if let Some(end) = ended_at {
        if end < started_at {
            return Err(
                ValidationError::new("ended_at", "a call cannot end before it started")
                    .because(crate::Reason::EndsBeforeStart),
            );
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

/// Calls of one kind, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub inbound_answered: u64,
    pub inbound_missed: u64,
    pub outbound_answered: u64,
    pub outbound_missed: u64,
    /// Inbound calls that started outside reception hours.
    pub outside_hours: u64,
}

impl Counts {
    fn add(&mut self, c: &CallSample) {
        match (c.direction, c.answered) {
            (Direction::Inbound, true) => self.inbound_answered += 1,
            (Direction::Inbound, false) => self.inbound_missed += 1,
            (Direction::Outbound, true) => self.outbound_answered += 1,
            (Direction::Outbound, false) => self.outbound_missed += 1,
        }
        if c.outside_hours {
            self.outside_hours += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.inbound_answered + self.inbound_missed + self.outbound_answered + self.outbound_missed
    }
}

/// What a report needs of a call.
#[derive(Debug, Clone, Copy)]
pub struct CallSample {
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub direction: Direction,
    pub answered: bool,
    pub outside_hours: bool,
}

/// Calls per Tokyo day and per hour of day over a date range, built one call at a
/// time (the caller streams them; nothing is kept per call).
#[derive(Debug, Clone)]
pub struct CallReport {
    pub from: chrono::NaiveDate,
    pub days: Vec<(chrono::NaiveDate, Counts)>,
    pub hours: [Counts; 24],
    pub total: Counts,
    handled: u64,
    handle_seconds: i64,
}

impl CallReport {
    /// Every day of [from, to] starts at zero, so an empty range reports zeros.
    pub fn new(from: chrono::NaiveDate, to: chrono::NaiveDate) -> Self {
        let days = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|d| (d, Counts::default()))
            .collect();
        CallReport {
            from,
            days,
            hours: [Counts::default(); 24],
            total: Counts::default(),
            handled: 0,
            handle_seconds: 0,
        }
    }

    pub fn add(&mut self, c: &CallSample) {
        use chrono::Timelike;
        let local = c.started_at.with_timezone(&crate::time::TOKYO);
        let i = (local.date_naive() - self.from).num_days();
        if i < 0 || i as usize >= self.days.len() {
            return;
        }
        self.days[i as usize].1.add(c);
        self.hours[local.hour() as usize].add(c);
        self.total.add(c);
        if let (true, Some(d)) = (c.answered, duration_seconds(c.started_at, c.ended_at)) {
            self.handled += 1;
            self.handle_seconds += d;
        }
    }

    /// Average handle time of answered, finished calls, in whole seconds.
    pub fn average_handle_seconds(&self) -> Option<i64> {
        (self.handled > 0).then(|| self.handle_seconds / self.handled as i64)
    }

    /// Share of all calls that were inbound outside hours (0 when there are none).
    pub fn outside_hours_share(&self) -> f64 {
        let n = self.total.total();
        if n == 0 {
            0.0
        } else {
            self.total.outside_hours as f64 / n as f64
        }
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDate, TimeZone};

    fn jst(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        FixedOffset::east_opt(9 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn reports_count_by_tokyo_day_and_hour() {
        let mut r = CallReport::new(
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        );
        assert_eq!(r.days.len(), 2);
        assert_eq!(r.average_handle_seconds(), None);
        assert_eq!(r.outside_hours_share(), 0.0);
        // 08:30 JST on the 21st is 23:30 UTC on the 20th: it counts on the 21st.
        for (at, dir, ans, secs, out) in [
            (jst(20, 10, 0), Direction::Inbound, true, 120, false),
            (jst(20, 10, 30), Direction::Inbound, false, 0, false),
            (jst(21, 8, 30), Direction::Inbound, true, 60, true),
            (jst(20, 11, 0), Direction::Outbound, true, 300, false),
            (jst(22, 11, 0), Direction::Outbound, true, 300, false), // outside the range
        ] {
            r.add(&CallSample {
                started_at: at,
                ended_at: Some(at + chrono::Duration::seconds(secs)),
                direction: dir,
                answered: ans,
                outside_hours: out,
            });
        }
        assert_eq!(r.days[0].1.total(), 3);
        assert_eq!(r.days[1].1.total(), 1);
        assert_eq!(r.days[1].1.outside_hours, 1);
        assert_eq!(r.hours[10].inbound_answered, 1);
        assert_eq!(r.hours[10].inbound_missed, 1);
        assert_eq!(r.hours[8].inbound_answered, 1);
        // (120 + 60 + 300) / 3 answered calls.
        assert_eq!(r.average_handle_seconds(), Some(160));
        assert_eq!(r.outside_hours_share(), 0.25);
    }
}
