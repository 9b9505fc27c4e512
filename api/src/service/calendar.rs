//! Business-calendar use cases: public computations and admins' overrides.

use chrono::{DateTime, NaiveDate, Utc};
use madoguchi_domain::time::Span;
use madoguchi_domain::Action;
use madoguchi_domain::{
    calendar::{
        schedule_normalize, CalendarError, DateOverride, DayInfo, Holiday, Interval, FIRST_YEAR,
        LAST_YEAR,
    },
    Role, ValidationError,
};
use madoguchi_persistence::{
    audit::Outcome, begin, calendar, calendar::StoredOverride, commit, Page, StoreError,
};
use serde_json::json;

use super::{authorize, entry, record, Object};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    security::principal::Principal,
};

/// The longest range `days` answers at once.
pub const MAX_DAYS: i64 = 366;

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        ApiError::new(ProblemType::OutOfRange).detail(e.to_string())
    }
}

pub fn holidays(year: i32) -> Result<Vec<Holiday>, ApiError> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(CalendarError::OutOfRange.into());
    }
    Ok(madoguchi_domain::calendar::holidays_of_year(year))
}

pub fn days(state: &AppState, from: NaiveDate, to: NaiveDate) -> Result<Vec<DayInfo>, ApiError> {
    Span::new(from, to)?;
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid_range("at most 366 days at a time"));
    }
    let cal = state.calendar.get();
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|d| cal.day(d).map_err(ApiError::from))
        .collect()
}

pub fn due(state: &AppState, from: DateTime<Utc>, seconds: u64) -> Result<DateTime<Utc>, ApiError> {
    Ok(state.calendar.get().due(from, seconds)?)
}

/// Open seconds inside [`from`, `to`]; 0 when `to` is not after `from` (the
/// SPEC's `elapsed(a, b)`), so a clock asked about the past reads nothing used.
pub fn elapsed(state: &AppState, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<u64, ApiError> {
    Ok(state.calendar.get().elapsed(from, to)?)
}

/// UTC instant of a local second of day, for writing a day's intervals.
pub fn instant(state: &AppState, date: NaiveDate, second: u32) -> Result<DateTime<Utc>, ApiError> {
    Ok(state.calendar.get().instant(date, second)?)
}

pub async fn list_closures(
    state: &AppState,
    p: &Principal,
    after: Option<NaiveDate>,
    limit: u64,
) -> Result<Page<StoredOverride>, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::CalendarRead,
        Some(Object::kind("calendar_override")),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let page = calendar::list(&tx, after, limit).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::CalendarRead,
            Some(Object::kind("calendar_override")),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(page)
}

pub async fn add_closure(
    state: &AppState,
    p: &Principal,
    date: NaiveDate,
    note: &str,
    hours: Option<&[String]>,
) -> Result<StoredOverride, ApiError> {
    let key = date.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::CalendarCreate,
        Some(Object::new("calendar_override", &key)),
    )
    .await?;
    let note = note.trim();
    let mut errors = Vec::new();
    if note.chars().count() > 200 || note.chars().any(char::is_control) {
        errors.push(ValidationError::new(
            "note",
            "at most 200 characters, no control characters",
        ));
    }
    if state.calendar.get().day(date).is_err() {
        errors.push(ValidationError::new(
            "date",
            format!("must lie between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"),
        ));
    }
    let rule = match hours {
        None => DateOverride::Closed {
            note: note.to_owned(),
        },
        Some(list) => {
            if list.is_empty() || list.len() > 8 {
                errors.push(ValidationError::new(
                    "hours",
                    "give 1 to 8 intervals, or leave hours out to close the day",
                ));
                DateOverride::Closed {
                    note: note.to_owned(),
                }
            } else {
                match list
                    .iter()
                    .map(|s| Interval::parse(s))
                    .collect::<Result<Vec<_>, _>>()
                    .and_then(schedule_normalize)
                {
                    Ok(intervals) => DateOverride::Hours {
                        intervals,
                        note: note.to_owned(),
                    },
                    Err(e) => {
                        errors.push(e);
                        DateOverride::Closed {
                            note: note.to_owned(),
                        }
                    }
                }
            }
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let tx = begin(&state.db).await?;
    let stored = calendar::insert(&tx, date, &rule, p.user_id(), state.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict => ApiError::with_detail(
                ProblemType::ClosureExists,
                "this date already has an override; delete it first",
            ),
            e => e.into(),
        })?;
    calendar::bump_revision(&tx).await?;
    let detail = match &rule {
        DateOverride::Closed { note } => json!({"kind": "closed", "note": note}),
        DateOverride::Hours { intervals, note } => {
            json!({"kind": "hours", "hours": intervals.iter().map(Interval::format).collect::<Vec<_>>(), "note": note})
        }
    };
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::CalendarCreate,
            Some(Object::new("calendar_override", &key)),
            Outcome::Success,
            Some(detail),
        ),
    )
    .await?;
    // The tables before this change: the background poll may rebuild them as
    // soon as it commits, and the clocks must still be re-projected from these.
    let before = state.calendar.get();
    commit(tx).await?;
    refresh(state, before).await;
    Ok(stored)
}

pub async fn remove_closure(
    state: &AppState,
    p: &Principal,
    date: NaiveDate,
) -> Result<(), ApiError> {
    let key = date.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::CalendarDelete,
        Some(Object::new("calendar_override", &key)),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let old = calendar::get(&tx, date).await?;
    calendar::delete(&tx, date).await?;
    calendar::bump_revision(&tx).await?;
    let kind = match old.rule {
        DateOverride::Closed { .. } => "closed",
        DateOverride::Hours { .. } => "hours",
    };
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::CalendarDelete,
            Some(Object::new("calendar_override", &key)),
            Outcome::Success,
            Some(json!({"kind": kind})),
        ),
    )
    .await?;
    // The tables before this change: the background poll may rebuild them as
    // soon as it commits, and the clocks must still be re-projected from these.
    let before = state.calendar.get();
    commit(tx).await?;
    refresh(state, before).await;
    Ok(())
}

/// Rebuild this instance's tables now (the others follow at their next poll), and
/// re-project every running SLA clock from `before` (the tables read before the
/// change committed): the time it used stays, the rest is projected under the
/// new calendar. Whether this call or the background poll rebuilt the tables,
/// the clocks are re-projected once here.
async fn refresh(
    state: &AppState,
    before: std::sync::Arc<madoguchi_domain::calendar::BusinessCalendar>,
) {
    if let Err(e) = state.calendar.refresh(&state.db).await {
        tracing::warn!(error = %e, "calendar refresh failed; keeping the previous tables");
        return;
    }
    let new = state.calendar.get();
    if std::sync::Arc::ptr_eq(&before, &new) {
        return;
    }
    match super::board::reproject_all(state, &before, &new, state.now()).await {
        Ok(n) => tracing::info!(
            threads = n,
            "SLA clocks re-projected after a calendar change"
        ),
        Err(e) => tracing::error!(error = %e, "SLA clocks could not be re-projected"),
    }
}
