//! Time conventions: storage is UTC, business time is Asia/Tokyo, the wire is +09:00.

use chrono::{DateTime, FixedOffset, Utc};

/// The time zone every business rule is computed in.
pub const TOKYO: chrono_tz::Tz = chrono_tz::Asia::Tokyo;

/// Japan has kept +09:00 without daylight saving since 1951, so the wire offset is a constant.
pub fn jst_offset() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// An instant as the API writes it: same instant, shown in +09:00, truncated to whole
/// seconds so clients comparing strings see stable values.
pub fn to_wire(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    let secs = t.timestamp();
    let whole = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(t);
    whole.with_timezone(&jst_offset())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn wire_time_is_the_same_instant_in_plus_nine() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 5).unwrap();
        let w = to_wire(t);
        assert_eq!(w.to_rfc3339(), "2026-11-25T08:30:05+09:00");
        assert_eq!(w.with_timezone(&Utc), t);
    }

    #[test]
    fn wire_time_drops_subseconds() {
        let t = Utc.timestamp_opt(1_700_000_000, 999_000_000).unwrap();
        assert_eq!(to_wire(t).timestamp_subsec_nanos(), 0);
    }
}

/// A range whose end does not come before its start: report periods, calendar
/// days, audit filters. Every list and report that takes `from` and `to` builds
/// one, so a reversed range is answered the same way everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<T> {
    pub from: T,
    pub to: T,
}

/// `to` came before `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`to` is before `from`")]
pub struct ReversedRange;

impl<T: PartialOrd + Copy> Span<T> {
    pub fn new(from: T, to: T) -> Result<Self, ReversedRange> {
        if to < from {
            Err(ReversedRange)
        } else {
            Ok(Span { from, to })
        }
    }
}

#[cfg(test)]
mod span_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_range_may_be_one_point_but_not_reversed() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        assert_eq!(
            Span::new(d(1), d(1)),
            Ok(Span {
                from: d(1),
                to: d(1)
            })
        );
        assert!(Span::new(d(1), d(31)).is_ok());
        assert_eq!(Span::new(d(2), d(1)), Err(ReversedRange));
    }
}
