//! When scheduled work is due: the instants of a recurring job, in business
//! or calendar time in Tokyo ("the first business day of the month at 09:00",
//! "every business day at opening", "every ten minutes"). Pure: the job runner
//! asks for the latest occurrence at or before the application clock's now,
//! and the database makes sure one instance runs it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::{calendar::BusinessCalendar, time::TOKYO};

/// A recurring schedule. Times of day are Tokyo seconds since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The first day of each month on which the window opens (not a weekend,
    /// holiday or closure of the business calendar), at `at`.
    FirstBusinessDayOfMonth { at: u32 },
    /// Every day on which the window opens, at `at`.
    BusinessDays { at: u32 },
    /// Every calendar day, at `at`.
    Daily { at: u32 },
    /// Every `seconds` seconds, at multiples of it since the Unix epoch
    /// (housekeeping that needs no calendar).
    Every { seconds: u32 },
}

impl Schedule {
    /// The latest occurrence at or before `now`, or `None` when there is none
    /// the calendar can place (before its first year, or a schedule of zero
    /// seconds).
    pub fn latest(&self, now: DateTime<Utc>, cal: &BusinessCalendar) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&TOKYO).date_naive();
        match *self {
            Schedule::Every { seconds } => {
                let s = i64::from(seconds);
                (s > 0)
                    .then(|| now.timestamp().div_euclid(s) * s)
                    .and_then(|t| DateTime::from_timestamp(t, 0))
            }
            Schedule::Daily { at } => (0..2)
                .filter_map(|back| cal.instant(today - Duration::days(back), at).ok())
                .find(|t| *t <= now),
            Schedule::BusinessDays { at } => (0..400)
                .map(|back| today - Duration::days(back))
                .filter(|d| is_business_day(cal, *d))
                .filter_map(|d| cal.instant(d, at).ok())
                .find(|t| *t <= now),
            Schedule::FirstBusinessDayOfMonth { at } => {
                let mut month = today.with_day(1)?;
                for _ in 0..24 {
                    if let Some(t) = first_business_day(cal, month)
                        .and_then(|d| cal.instant(d, at).ok())
                        .filter(|t| *t <= now)
                    {
                        return Some(t);
                    }
                    month = month.pred_opt()?.with_day(1)?;
                }
                None
            }
        }
    }
}

/// Whether the window opens at all on `d`.
pub fn is_business_day(cal: &BusinessCalendar, d: NaiveDate) -> bool {
    cal.day(d).is_ok_and(|info| !info.intervals.is_empty())
}

/// The first business day of the month that `first` (its first day) starts.
pub fn first_business_day(cal: &BusinessCalendar, first: NaiveDate) -> Option<NaiveDate> {
    first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .find(|d| is_business_day(cal, *d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarRules, DateOverride};
    use chrono::TimeZone;

    const NINE: u32 = 9 * 3600;

    fn jst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        TOKYO
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cal() -> BusinessCalendar {
        BusinessCalendar::build(CalendarRules::default())
    }

    // Worked out by hand from the calendar's rules:
    // January 2027: the 1st (Fri) is 元日 and the 1st–3rd the year-end
    // closure; the 2nd and 3rd are a weekend anyway; Monday the 4th opens.
    // January 2026: Thursday the 1st is 元日, Friday the 2nd is closed for
    // the year end, then a weekend; Monday the 5th opens.
    // November 2026: Sunday the 1st; Monday the 2nd opens.
    // May 2026: Friday the 1st is an ordinary weekday.
    // December 2026: Tuesday the 1st.
    #[test]
    fn the_first_business_day_skips_holidays_closures_and_weekends() {
        let cal = cal();
        let first = |y, m| first_business_day(&cal, NaiveDate::from_ymd_opt(y, m, 1).unwrap());
        assert_eq!(first(2027, 1), NaiveDate::from_ymd_opt(2027, 1, 4));
        assert_eq!(first(2026, 1), NaiveDate::from_ymd_opt(2026, 1, 5));
        assert_eq!(first(2026, 11), NaiveDate::from_ymd_opt(2026, 11, 2));
        assert_eq!(first(2026, 5), NaiveDate::from_ymd_opt(2026, 5, 1));
        assert_eq!(first(2026, 12), NaiveDate::from_ymd_opt(2026, 12, 1));
    }

    #[test]
    fn the_monthly_occurrence_is_the_latest_passed_one() {
        let cal = cal();
        let monthly = Schedule::FirstBusinessDayOfMonth { at: NINE };
        // A minute before January's: December's is the latest.
        assert_eq!(
            monthly.latest(jst(2027, 1, 4, 8, 59), &cal),
            Some(jst(2026, 12, 1, 9, 0))
        );
        // At the instant itself it is January's.
        assert_eq!(
            monthly.latest(jst(2027, 1, 4, 9, 0), &cal),
            Some(jst(2027, 1, 4, 9, 0))
        );
        // On New Year's Day, still December's.
        assert_eq!(
            monthly.latest(jst(2027, 1, 1, 12, 0), &cal),
            Some(jst(2026, 12, 1, 9, 0))
        );
        // Mid-month: that month's.
        assert_eq!(
            monthly.latest(jst(2026, 11, 20, 15, 0), &cal),
            Some(jst(2026, 11, 2, 9, 0))
        );
    }

    #[test]
    fn a_closure_moves_the_monthly_occurrence() {
        // The admin closes Monday 4 January 2027 (a system migration): the
        // first business day becomes Tuesday the 5th.
        let mut rules = CalendarRules::default();
        rules.overrides.insert(
            NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
            DateOverride::Closed {
                note: "システム移行".into(),
            },
        );
        let cal = BusinessCalendar::build(rules);
        let monthly = Schedule::FirstBusinessDayOfMonth { at: NINE };
        assert_eq!(
            monthly.latest(jst(2027, 1, 5, 10, 0), &cal),
            Some(jst(2027, 1, 5, 9, 0))
        );
        assert_eq!(
            monthly.latest(jst(2027, 1, 4, 10, 0), &cal),
            Some(jst(2026, 12, 1, 9, 0))
        );
    }

    #[test]
    fn business_days_skip_the_weekend_and_daily_does_not() {
        let cal = cal();
        // Monday 7 December 2026 at 08:00: the last business-day opening was
        // Friday the 4th; the last daily 09:00 was Sunday the 6th.
        let now = jst(2026, 12, 7, 8, 0);
        assert_eq!(
            Schedule::BusinessDays { at: NINE }.latest(now, &cal),
            Some(jst(2026, 12, 4, 9, 0))
        );
        assert_eq!(
            Schedule::Daily { at: NINE }.latest(now, &cal),
            Some(jst(2026, 12, 6, 9, 0))
        );
    }

    #[test]
    fn every_is_aligned_to_its_period() {
        let cal = cal();
        let now = jst(2026, 12, 7, 10, 17);
        assert_eq!(
            Schedule::Every { seconds: 600 }.latest(now, &cal),
            Some(jst(2026, 12, 7, 10, 10))
        );
        assert_eq!(Schedule::Every { seconds: 0 }.latest(now, &cal), None);
    }
}
