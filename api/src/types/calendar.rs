//! The business calendar.

use chrono::{DateTime, FixedOffset};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use crate::http::text::Text;

/// A national holiday (国民の祝日, 振替休日 or 国民の休日).
#[derive(Debug, Object)]
#[oai(example)]
pub struct HolidayDto {
    pub date: chrono::NaiveDate,
    /// Japanese name, e.g. 振替休日.
    pub name: String,
}

impl poem_openapi::types::Example for HolidayDto {
    fn example() -> Self {
        HolidayDto {
            date: chrono::NaiveDate::from_ymd_opt(2026, 5, 6).unwrap_or_default(),
            name: "振替休日".into(),
        }
    }
}

/// Why a day is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ClosedReasonDto {
    /// No hours on this weekday.
    Weekend,
    /// A national holiday (`holiday_name` says which).
    Holiday,
    /// A company closure: year-end, or a day an admin closed (`note` says why).
    Closure,
}

/// One open interval of a day, as instants.
#[derive(Debug, Object)]
pub struct OpenInterval {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// One day of the business calendar.
#[derive(Debug, Object)]
pub struct DayDto {
    pub date: chrono::NaiveDate,
    /// `mon` … `sun`.
    pub weekday: String,
    pub open: bool,
    /// Open intervals; empty when closed.
    pub intervals: Vec<OpenInterval>,
    pub closed_reason: Option<ClosedReasonDto>,
    /// The holiday's name, also on a holiday an admin opened.
    pub holiday_name: Option<String>,
    /// The closure's or special-hours day's note.
    pub note: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct DueResponse {
    pub from: DateTime<FixedOffset>,
    /// Business seconds asked for.
    pub seconds: u64,
    /// The earliest instant by which that much open time has passed.
    pub due: DateTime<FixedOffset>,
}

impl poem_openapi::types::Example for DueResponse {
    fn example() -> Self {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap_or_default();
        DueResponse {
            from: t("2026-11-27T17:00:00+09:00"),
            seconds: 3600,
            due: t("2026-11-30T09:30:00+09:00"),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ElapsedResponse {
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// Business seconds inside [from, to].
    pub seconds: u64,
}

impl poem_openapi::types::Example for ElapsedResponse {
    fn example() -> Self {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap_or_default();
        ElapsedResponse {
            from: t("2026-11-27T17:00:00+09:00"),
            to: t("2026-11-30T10:00:00+09:00"),
            seconds: 5400,
        }
    }
}

/// An admin's exception for one date: closed, or open only during `hours`.
#[derive(Debug, Object)]
pub struct ClosureDto {
    pub date: chrono::NaiveDate,
    /// `closed`, or `special_hours` with `hours`.
    pub kind: String,
    /// `HH:MM-HH:MM` intervals for `special_hours`.
    pub hours: Vec<String>,
    pub note: String,
    pub created_at: DateTime<FixedOffset>,
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Object)]
pub struct ClosureList {
    pub items: Vec<ClosureDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CreateClosure {
    pub date: chrono::NaiveDate,
    /// Up to 200 characters, e.g. システムメンテナンス.
    #[oai(validator(max_length = 200))]
    pub note: Text,
    /// Leave out to close the whole day; or 1–8 `HH:MM-HH:MM` intervals of special hours.
    pub hours: Option<Vec<Text>>,
}

impl poem_openapi::types::Example for CreateClosure {
    fn example() -> Self {
        CreateClosure {
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 28).unwrap_or_default(),
            note: Text("仕事納め".into()),
            hours: Some(vec![Text("09:00-12:00".into())]),
        }
    }
}
