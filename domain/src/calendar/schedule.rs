//! The weekly schedule: per weekday, zero or more open intervals in local time.

use chrono::Weekday;

use super::weekday_index;
use crate::error::ValidationError;

/// `[start, end)` in seconds since local midnight, `start < end ≤ 86 400`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: u32,
    pub end: u32,
}

impl Interval {
    pub fn new(start: u32, end: u32) -> Result<Self, ValidationError> {
        if start >= end || end > 86_400 {
            return Err(ValidationError::new(
                "hours",
                "each interval must start before it ends, within one day",
            ));
        }
        Ok(Interval { start, end })
    }

    /// Parse `HH:MM-HH:MM` (end may be `24:00`).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new("hours", format!("{s:?} is not HH:MM-HH:MM"))
                .because(crate::Reason::NotHours)
        };
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let start = parse_hhmm(a).ok_or_else(bad)?;
        let end = parse_hhmm(b).ok_or_else(bad)?;
        Interval::new(start, end)
    }

    pub fn format(&self) -> String {
        format!("{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

/// `HH:MM` → seconds since midnight (`24:00` allowed as an end).
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 3600 + m * 60)
}

pub fn hhmm(s: u32) -> String {
    format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
}

/// Sort and check that intervals do not overlap.
pub fn normalize(mut ivs: Vec<Interval>) -> Result<Vec<Interval>, ValidationError> {
    ivs.sort();
    if ivs.windows(2).any(|w| w[0].end > w[1].start) {
        return Err(ValidationError::new("hours", "intervals must not overlap"));
    }
    Ok(ivs)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklySchedule {
    days: [Vec<Interval>; 7],
}

impl Default for WeeklySchedule {
    /// Monday to Friday, [09:00, 17:30): the reception hours of the disclosure.
    fn default() -> Self {
        let window = vec![Interval {
            start: 9 * 3600,
            end: 17 * 3600 + 1800,
        }];
        WeeklySchedule {
            days: [
                window.clone(),
                window.clone(),
                window.clone(),
                window.clone(),
                window,
                Vec::new(),
                Vec::new(),
            ],
        }
    }
}

impl WeeklySchedule {
    pub fn on(&self, w: Weekday) -> &[Interval] {
        &self.days[weekday_index(w)]
    }

    /// Parse `mon-fri=09:00-17:30;sat=09:00-12:00` (days or ranges of days, each
    /// with comma-separated intervals; unnamed days are closed).
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let idx = |n: &str| {
            NAMES
                .iter()
                .position(|x| *x == n.trim().to_ascii_lowercase())
        };
        let bad = |m: String| ValidationError::new("schedule", m);
        let mut days: [Vec<Interval>; 7] = Default::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (which, hours) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{part:?} is not day=HH:MM-HH:MM")))?;
            let (from, to) = match which.split_once('-') {
                Some((a, b)) => (idx(a), idx(b)),
                None => (idx(which), idx(which)),
            };
            let (Some(from), Some(to)) = (from, to) else {
                return Err(bad(format!("unknown day in {which:?}; use mon..sun")));
            };
            if from > to {
                return Err(bad(format!("day range {which:?} runs backwards")));
            }
            let ivs = hours
                .split(',')
                .map(Interval::parse)
                .collect::<Result<Vec<_>, _>>()?;
            let ivs = normalize(ivs)?;
            for d in &mut days[from..=to] {
                *d = ivs.clone();
            }
        }
        Ok(WeeklySchedule { days })
    }
}
