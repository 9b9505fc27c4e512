//! The business calendar: when the support window is open, and business-time
//! arithmetic over it.
//!
//! Open time is a weekly schedule in Asia/Tokyo, minus national holidays, minus
//! company closures (Dec 29 – Jan 3 by default), with per-date overrides that
//! admins add at run time (a closure day, or special hours). [`BusinessCalendar`]
//! precomputes, for every day of 1955–2099, its open intervals and the prefix sum
//! of open seconds before it, so `due` and `elapsed` are a table lookup and a
//! binary search, whatever the span.

pub mod holidays;
mod schedule;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use thiserror::Error;

pub use holidays::{holidays_of_year, Holiday, FIRST_YEAR, LAST_YEAR};
pub use schedule::{hhmm, normalize as schedule_normalize, Interval, WeeklySchedule};

use crate::time::TOKYO;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("dates must lie between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31 (Tokyo)")]
    OutOfRange,
}

/// An admin's exception for one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateOverride {
    /// Closed all day (maintenance, a company event).
    Closed { note: String },
    /// Open only during these intervals (e.g. 09:00–12:00 on the last working day),
    /// whatever the weekday or holiday would say.
    Hours {
        intervals: Vec<Interval>,
        note: String,
    },
}

/// Everything that decides the open time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRules {
    pub schedule: WeeklySchedule,
    /// Close Dec 29 – Jan 3 (the usual Japanese year-end closure).
    pub year_end_closure: bool,
    pub overrides: BTreeMap<NaiveDate, DateOverride>,
}

impl Default for CalendarRules {
    fn default() -> Self {
        CalendarRules {
            schedule: WeeklySchedule::default(),
            year_end_closure: true,
            overrides: BTreeMap::new(),
        }
    }
}

pub const YEAR_END_NOTE: &str = "年末年始休業";

/// Why a day is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosedReason {
    /// No hours on this weekday.
    Weekend,
    Holiday {
        name: &'static str,
    },
    Closure {
        note: String,
    },
}

/// One day as the calendar sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayInfo {
    pub date: NaiveDate,
    /// Open intervals, local seconds since midnight; empty when closed.
    pub intervals: Vec<Interval>,
    pub closed: Option<ClosedReason>,
    /// A holiday name even on a day an override opened.
    pub holiday: Option<&'static str>,
    /// The note of a special-hours override.
    pub note: Option<String>,
}

fn is_year_end(d: NaiveDate) -> bool {
    matches!((d.month(), d.day()), (12, 29..=31) | (1, 1..=3))
}

impl CalendarRules {
    /// Decide one day. Precedence: an admin override, then national holidays, then
    /// the year-end closure, then the weekly schedule.
    pub fn day(&self, date: NaiveDate, holiday: Option<&'static str>) -> DayInfo {
        let mut info = DayInfo {
            date,
            intervals: Vec::new(),
            closed: None,
            holiday,
            note: None,
        };
        match self.overrides.get(&date) {
            Some(DateOverride::Closed { note }) => {
                info.closed = Some(ClosedReason::Closure { note: note.clone() });
            }
            Some(DateOverride::Hours { intervals, note }) => {
                info.intervals = intervals.clone();
                info.note = Some(note.clone());
                if intervals.is_empty() {
                    info.closed = Some(ClosedReason::Closure { note: note.clone() });
                }
            }
            None => {
                if let Some(name) = holiday {
                    info.closed = Some(ClosedReason::Holiday { name });
                } else if self.year_end_closure && is_year_end(date) {
                    info.closed = Some(ClosedReason::Closure {
                        note: YEAR_END_NOTE.to_owned(),
                    });
                } else {
                    let ivs = self.schedule.on(date.weekday());
                    if ivs.is_empty() {
                        info.closed = Some(ClosedReason::Weekend);
                    } else {
                        info.intervals = ivs.to_vec();
                    }
                }
            }
        }
        info
    }
}

/// The precomputed calendar. Cheap to share (`Arc`), rebuilt whole when the rules
/// change (a few milliseconds).
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    rules: CalendarRules,
    first: NaiveDate,
    /// UTC second of each day's local midnight, one more entry than days.
    day_start: Vec<i64>,
    /// Open seconds before each day, one more entry than days.
    prefix: Vec<i64>,
    /// Index into `ivs` of each day's intervals, one more entry than days.
    iv_at: Vec<u32>,
    ivs: Vec<(u32, u32)>,
    holidays: Vec<Option<&'static str>>,
}

impl BusinessCalendar {
    pub fn build(rules: CalendarRules) -> Self {
        let first = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or(NaiveDate::MIN);
        let end = NaiveDate::from_ymd_opt(LAST_YEAR + 1, 1, 1).unwrap_or(NaiveDate::MAX);
        let days = (end - first).num_days() as usize;
        let mut holidays = vec![None; days];
        for y in FIRST_YEAR..=LAST_YEAR {
            for h in holidays_of_year(y) {
                let i = (h.date - first).num_days() as usize;
                if i < days {
                    holidays[i] = Some(h.name);
                }
            }
        }
        let mut day_start = Vec::with_capacity(days + 1);
        let mut prefix = Vec::with_capacity(days + 1);
        let mut iv_at = Vec::with_capacity(days + 1);
        let mut ivs = Vec::with_capacity(days * 6 / 10 + 16);
        let mut total: i64 = 0;
        // Midnight in Tokyo, through chrono-tz; the offset is looked up once per
        // change of offset, not assumed.
        let midnight = |d: NaiveDate| -> i64 {
            let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            TOKYO
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp())
                .unwrap_or_else(|| naive.and_utc().timestamp() - 9 * 3600)
        };
        let mut date = first;
        for &holiday in &holidays {
            day_start.push(midnight(date));
            prefix.push(total);
            iv_at.push(ivs.len() as u32);
            let info = rules.day(date, holiday);
            for iv in &info.intervals {
                ivs.push((iv.start, iv.end));
                total += i64::from(iv.end - iv.start);
            }
            date = date.succ_opt().unwrap_or(date);
        }
        day_start.push(midnight(end));
        prefix.push(total);
        iv_at.push(ivs.len() as u32);
        BusinessCalendar {
            rules,
            first,
            day_start,
            prefix,
            iv_at,
            ivs,
            holidays,
        }
    }

    pub fn rules(&self) -> &CalendarRules {
        &self.rules
    }

    fn days(&self) -> usize {
        self.day_start.len() - 1
    }

    /// Index of the day containing UTC second `t`.
    fn day_of(&self, t: i64) -> Result<usize, CalendarError> {
        let n = self.days();
        if t < self.day_start[0] || t >= self.day_start[n] {
            return Err(CalendarError::OutOfRange);
        }
        // Days are 86 400 s long in Tokyo (no DST since 1951); guess, then correct.
        let mut i = (((t - self.day_start[0]) / 86_400) as usize).min(n - 1);
        while t < self.day_start[i] {
            i -= 1;
        }
        while t >= self.day_start[i + 1] {
            i += 1;
        }
        Ok(i)
    }

    /// Open seconds of day `i` before local second `s`.
    #[inline]
    fn open_before(&self, i: usize, s: i64) -> i64 {
        let mut acc = 0;
        for &(a, b) in &self.ivs[self.iv_at[i] as usize..self.iv_at[i + 1] as usize] {
            let (a, b) = (i64::from(a), i64::from(b));
            if s <= a {
                break;
            }
            acc += s.min(b) - a;
        }
        acc
    }

    /// Open seconds from the start of the calendar to `t`.
    fn cumulative(&self, t: i64) -> Result<i64, CalendarError> {
        let i = self.day_of(t)?;
        Ok(self.prefix[i] + self.open_before(i, t - self.day_start[i]))
    }

    /// Open seconds inside [a, b]; 0 when b ≤ a. Sub-second parts are dropped.
    pub fn elapsed(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<u64, CalendarError> {
        let (ca, cb) = (
            self.cumulative(a.timestamp())?,
            self.cumulative(b.timestamp())?,
        );
        Ok((cb - ca).max(0) as u64)
    }

    /// The earliest instant d ≥ t such that the open time inside [t, d] is exactly
    /// `n` seconds. A start outside hours counts from the next opening; reaching
    /// the end of a day's hours ends there (Monday 09:00 + 510 min = Monday 17:30);
    /// `n = 0` gives `t`. Sub-second parts of `t` are dropped.
    pub fn due(&self, t: DateTime<Utc>, n: u64) -> Result<DateTime<Utc>, CalendarError> {
        let ts = t.timestamp();
        let start = self.cumulative(ts)?;
        if n == 0 {
            return DateTime::from_timestamp(ts, 0).ok_or(CalendarError::OutOfRange);
        }
        let target = start
            .checked_add(i64::try_from(n).map_err(|_| CalendarError::OutOfRange)?)
            .ok_or(CalendarError::OutOfRange)?;
        let days = self.days();
        if target > self.prefix[days] {
            return Err(CalendarError::OutOfRange);
        }
        // First day j whose end-of-day total reaches the target.
        let j = self.prefix[1..].partition_point(|&p| p < target);
        let mut rest = target - self.prefix[j];
        for &(a, b) in &self.ivs[self.iv_at[j] as usize..self.iv_at[j + 1] as usize] {
            let len = i64::from(b - a);
            if rest <= len {
                let d = self.day_start[j] + i64::from(a) + rest;
                return DateTime::from_timestamp(d, 0).ok_or(CalendarError::OutOfRange);
            }
            rest -= len;
        }
        Err(CalendarError::OutOfRange)
    }

    /// One day with its open intervals or the reason it is closed.
    pub fn day(&self, date: NaiveDate) -> Result<DayInfo, CalendarError> {
        let i = (date - self.first).num_days();
        if i < 0 || i as usize >= self.days() {
            return Err(CalendarError::OutOfRange);
        }
        Ok(self.rules.day(date, self.holidays[i as usize]))
    }

    /// UTC instant of a local time of day on `date` (seconds since midnight).
    pub fn instant(
        &self,
        date: NaiveDate,
        second_of_day: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let i = (date - self.first).num_days();
        if i < 0 || i as usize >= self.days() {
            return Err(CalendarError::OutOfRange);
        }
        DateTime::from_timestamp(self.day_start[i as usize] + i64::from(second_of_day), 0)
            .ok_or(CalendarError::OutOfRange)
    }

    /// Whether the window is open at `t` (an instant exactly at a closing time is not).
    pub fn is_open(&self, t: DateTime<Utc>) -> Result<bool, CalendarError> {
        let ts = t.timestamp();
        let i = self.day_of(ts)?;
        let s = ts - self.day_start[i];
        Ok(self.ivs[self.iv_at[i] as usize..self.iv_at[i + 1] as usize]
            .iter()
            .any(|&(a, b)| i64::from(a) <= s && s < i64::from(b)))
    }
}

/// Weekday as the schedule indexes it (Monday = 0).
pub(crate) fn weekday_index(w: Weekday) -> usize {
    w.num_days_from_monday() as usize
}

#[cfg(test)]
mod tests;
