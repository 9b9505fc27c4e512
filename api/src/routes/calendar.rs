use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use madoguchi_domain::{
    calendar::{ClosedReason, DateOverride, DayInfo, Interval},
    time::to_wire,
};
use madoguchi_persistence::calendar::StoredOverride;
use poem::web::Data;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::cursor,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::calendar as svc,
    types::{
        ClosedReasonDto, ClosureDto, ClosureList, CreateClosure, DayDto, DueResponse,
        ElapsedResponse, HolidayDto, OpenInterval,
    },
};

pub struct CalendarApi;

const LIST: &str = "closures";

/// Largest `seconds` accepted: more than 140 years of business hours.
const MAX_SECONDS: u64 = 10_000_000_000;

fn example_from() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-27T17:00:00+09:00").unwrap_or_default()
}

fn example_to() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00+09:00").unwrap_or_default()
}

fn example_seconds() -> u64 {
    3600
}

fn example_year() -> i32 {
    2026
}

fn example_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 28).unwrap_or_default()
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_dto(state: &AppState, d: DayInfo) -> Result<DayDto, ApiError> {
    let intervals = d
        .intervals
        .iter()
        .map(|iv| {
            Ok(OpenInterval {
                start: to_wire(svc::instant(state, d.date, iv.start)?),
                end: to_wire(svc::instant(state, d.date, iv.end)?),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let (closed_reason, note) = match d.closed {
        None => (None, d.note),
        Some(ClosedReason::Weekend) => (Some(ClosedReasonDto::Weekend), None),
        Some(ClosedReason::Holiday { .. }) => (Some(ClosedReasonDto::Holiday), None),
        Some(ClosedReason::Closure { note }) => (Some(ClosedReasonDto::Closure), Some(note)),
    };
    Ok(DayDto {
        date: d.date,
        weekday: WEEKDAYS[d.date.weekday().num_days_from_monday() as usize].to_owned(),
        open: !intervals.is_empty(),
        intervals,
        closed_reason,
        holiday_name: d.holiday.map(str::to_owned),
        note,
    })
}

fn closure_dto(o: StoredOverride) -> ClosureDto {
    let (kind, hours, note) = match o.rule {
        DateOverride::Closed { note } => ("closed", Vec::new(), note),
        DateOverride::Hours { intervals, note } => (
            "special_hours",
            intervals.iter().map(Interval::format).collect(),
            note,
        ),
    };
    ClosureDto {
        date: o.date,
        kind: kind.to_owned(),
        hours,
        note,
        created_at: to_wire(o.created_at),
        created_by: o.created_by,
    }
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(Json<ClosureDto>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
enum Deleted {
    /// The override is gone; the day follows the normal rules again.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Calendar")]
impl CalendarApi {
    /// National holidays of a year
    ///
    /// Public. Every 国民の祝日, 振替休日 and 国民の休日 of `year` (1955–2099), with
    /// its Japanese name, computed from the law's rules.
    #[oai(
        path = "/calendar/holidays",
        method = "get",
        operation_id = "listHolidays"
    )]
    async fn holidays(
        &self,
        #[oai(example = "example_year")] year: Query<i32>,
    ) -> Result<Json<Vec<HolidayDto>>, ApiError> {
        Ok(Json(
            svc::holidays(year.0)?
                .into_iter()
                .map(|h| HolidayDto {
                    date: h.date,
                    name: h.name.to_owned(),
                })
                .collect(),
        ))
    }

    /// Days of a range
    ///
    /// Public. Each day from `from` to `to` (inclusive, at most 366 days) with its
    /// open intervals, or why it is closed.
    #[oai(
        path = "/calendar/days",
        method = "get",
        operation_id = "listCalendarDays"
    )]
    async fn days(
        &self,
        state: Data<&AppState>,
        from: Query<NaiveDate>,
        to: Query<NaiveDate>,
    ) -> Result<Json<Vec<DayDto>>, ApiError> {
        let days = svc::days(&state, from.0, to.0)?;
        Ok(Json(
            days.into_iter()
                .map(|d| day_dto(&state, d))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// When is it due
    ///
    /// Public. The earliest instant by which `seconds` of business time have passed
    /// since `from` (a start outside hours counts from the next opening; `seconds=0`
    /// answers `from`).
    #[oai(path = "/calendar/due", method = "get", operation_id = "calendarDue")]
    async fn due(
        &self,
        state: Data<&AppState>,
        /// RFC 3339 with any offset.
        #[oai(example = "example_from")]
        from: Query<DateTime<FixedOffset>>,
        /// Business seconds, 0 to 10 000 000 000.
        #[oai(example = "example_seconds", validator(maximum(value = "10000000000")))]
        seconds: Query<u64>,
    ) -> Result<Json<DueResponse>, ApiError> {
        let n = seconds.0.min(MAX_SECONDS);
        let due = svc::due(&state, from.0.with_timezone(&Utc), n)?;
        Ok(Json(DueResponse {
            from: to_wire(from.0.with_timezone(&Utc)),
            seconds: n,
            due: to_wire(due),
        }))
    }

    /// Business time between two instants
    ///
    /// Public. Open seconds inside [`from`, `to`]; 0 when `to` is not after `from`.
    #[oai(
        path = "/calendar/elapsed",
        method = "get",
        operation_id = "calendarElapsed"
    )]
    async fn elapsed(
        &self,
        state: Data<&AppState>,
        #[oai(example = "example_from")] from: Query<DateTime<FixedOffset>>,
        #[oai(example = "example_to")] to: Query<DateTime<FixedOffset>>,
    ) -> Result<Json<ElapsedResponse>, ApiError> {
        let (a, b) = (from.0.with_timezone(&Utc), to.0.with_timezone(&Utc));
        let seconds = svc::elapsed(&state, a, b)?;
        Ok(Json(ElapsedResponse {
            from: to_wire(a),
            to: to_wire(b),
            seconds,
        }))
    }

    /// List closures and special-hours days
    ///
    /// Admin. By date. Audited.
    #[oai(
        path = "/calendar/closures",
        method = "get",
        operation_id = "listClosures"
    )]
    async fn list_closures(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
    ) -> Result<Json<ClosureList>, ApiError> {
        let after = cursor::decode_as::<NaiveDate>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let page = svc::list_closures(&state, &auth.0, after, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |o| o.date);
        Ok(Json(ClosureList {
            items: page.items.into_iter().map(closure_dto).collect(),
            next_cursor,
        }))
    }

    /// Close a day or give it special hours
    ///
    /// Admin. Without `hours` the date is closed all day; with `hours` it is open
    /// only then (also on a holiday). Running SLA clocks keep the business time
    /// already used and re-project the rest. Every instance sees it within seconds.
    #[oai(
        path = "/calendar/closures",
        method = "post",
        operation_id = "createClosure"
    )]
    async fn create_closure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateClosure>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let hours: Option<Vec<String>> = b
            .hours
            .map(|h| h.into_iter().map(|t| t.into_string()).collect());
        let stored = svc::add_closure(&state, &auth.0, b.date, &b.note, hours.as_deref()).await?;
        let loc = format!("/v1/calendar/closures/{}", stored.date);
        Ok(Created::Created(Json(closure_dto(stored)), loc))
    }

    /// Remove a closure or special-hours day
    ///
    /// Admin. The date follows the weekly schedule and holidays again.
    #[oai(
        path = "/calendar/closures/:date",
        method = "delete",
        operation_id = "deleteClosure"
    )]
    async fn delete_closure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(example = "example_date")] date: Path<NaiveDate>,
    ) -> Result<Deleted, ApiError> {
        svc::remove_closure(&state, &auth.0, date.0).await?;
        Ok(Deleted::Deleted)
    }
}
