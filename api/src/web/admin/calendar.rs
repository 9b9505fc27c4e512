//! The admin's business-calendar page: the year, closures and special hours.

use super::*;

#[derive(Deserialize)]
pub struct CalendarQuery {
    #[serde(default)]
    pub(crate) year: String,
    #[serde(default)]
    pub(crate) done: String,
}

/// What the add form held, kept on a mistake.
#[derive(Default)]
struct ClosureValues {
    pub(crate) date: String,
    pub(crate) special: bool,
    pub(crate) hours: String,
    pub(crate) note: String,
}

fn month_view(days: &[madoguchi_domain::calendar::DayInfo], month: u32) -> MonthView {
    let in_month: Vec<_> = days.iter().filter(|d| d.date.month() == month).collect();
    let mut weeks: Vec<Vec<DayCell>> = Vec::new();
    let mut week: Vec<DayCell> = Vec::new();
    if let Some(first) = in_month.first() {
        // Weeks start on Sunday, as Japanese wall calendars do.
        for _ in 0..first.date.weekday().num_days_from_sunday() {
            week.push(DayCell::default());
        }
    }
    for d in in_month {
        let (class, label) = match &d.closed {
            Some(ClosedReason::Holiday { name }) => ("holiday", (*name).to_owned()),
            Some(ClosedReason::Closure { note }) => (
                "closure",
                if note.is_empty() {
                    "休業".to_owned()
                } else {
                    format!("休業：{note}")
                },
            ),
            Some(ClosedReason::Weekend) => ("weekend", String::new()),
            None if d.note.is_some() => (
                "special",
                format!("特別営業 {}", jp::intervals(&d.intervals)),
            ),
            None => ("open", String::new()),
        };
        let label = match (d.holiday, class) {
            (Some(h), "closure" | "special") => format!("{h}・{label}"),
            _ => label,
        };
        week.push(DayCell {
            day: d.date.day(),
            class,
            label,
            full: jp::date(d.date),
        });
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(DayCell::default());
        }
        weeks.push(week);
    }
    MonthView {
        title: format!("{month}月"),
        weeks,
    }
}

async fn calendar_page(
    state: &AppState,
    s: &WebSession,
    year: i32,
    done: &str,
    form: ClosureValues,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    let year = year.clamp(FIRST_YEAR, LAST_YEAR);
    let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return failure(state, Some(s), ApiError::new(ProblemType::NotFound)).await;
    };
    // The overrides first: they are the admin-only read, audited.
    let after = from.pred_opt();
    let closures = match service::calendar::list_closures(state, &s.principal, after, 200).await {
        Ok(p) => p.items,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let days = match service::calendar::days(state, from, to) {
        Ok(d) => d,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let holidays = match service::calendar::holidays(year) {
        Ok(h) => h,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let page = AdminCalendarPage {
        layout: admin_layout(state, s, &format!("{year}年の営業日カレンダー"), Some(done)).await,
        year,
        prev: (year > FIRST_YEAR).then_some(year - 1),
        next: (year < LAST_YEAR).then_some(year + 1),
        months: (1..=12).map(|m| month_view(&days, m)).collect(),
        holidays: holidays
            .into_iter()
            .map(|h| (jp::date(h.date), h.name))
            .collect(),
        closures: closures
            .into_iter()
            .filter(|c| c.date.year() == year)
            .map(|c| {
                let (kind, note) = match c.rule {
                    DateOverride::Closed { note } => ("休業".to_owned(), note),
                    DateOverride::Hours { intervals, note } => {
                        (format!("特別営業 {}", jp::intervals(&intervals)), note)
                    }
                };
                ClosureRow {
                    date: c.date.to_string(),
                    label: jp::date(c.date),
                    kind,
                    note,
                }
            })
            .collect(),
        hours: jp::hours(state.calendar.get().rules()),
        date: form.date,
        special: form.special,
        special_hours: form.hours,
        note: form.note,
        errors,
    };
    render(status, &page)
}

fn this_year(state: &AppState) -> i32 {
    state
        .now()
        .with_timezone(&madoguchi_domain::time::TOKYO)
        .year()
}

#[handler]
pub async fn calendar(
    state: Data<&AppState>,
    Query(q): Query<CalendarQuery>,
    AdminSignedIn(s): AdminSignedIn,
) -> Response {
    let year = q.year.trim().parse().unwrap_or_else(|_| this_year(&state));
    calendar_page(
        &state,
        &s,
        year,
        &q.done,
        ClosureValues::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct ClosureForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) date: String,
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) hours: String,
    #[serde(default)]
    pub(crate) note: String,
}

#[handler]
pub async fn add_closure(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<ClosureForm>,
) -> Response {
    let special = f.kind == "hours";
    let date = NaiveDate::parse_from_str(f.date.trim(), "%Y-%m-%d").ok();
    let hours: Vec<String> = f
        .hours
        .split([',', '、', ' '])
        .map(|h| h.trim().replace(['〜', '–'], "-"))
        .filter(|h| !h.is_empty())
        .collect();
    let result = match date {
        Some(d) => {
            service::calendar::add_closure(
                &state,
                &s.principal,
                d,
                &f.note,
                special.then_some(hours.as_slice()),
            )
            .await
        }
        None => Err(ApiError::validation(vec![
            madoguchi_domain::ValidationError::new("date", "must be a date"),
        ])),
    };
    let year = date.map(|d| d.year()).unwrap_or_else(|| this_year(&state));
    match result {
        Ok(_) => see_other(&format!("/admin/calendar?year={year}&done=closure-added")),
        Err(e)
            if matches!(
                e.kind,
                ProblemType::ValidationFailed | ProblemType::ClosureExists
            ) =>
        {
            let errors = match e.kind {
                ProblemType::ClosureExists => FieldErrors(vec![(
                    "date".into(),
                    "この日にはすでに休業日か特別営業の設定があります。先に削除してください。"
                        .into(),
                )]),
                _ if date.is_none() => FieldErrors(vec![(
                    "date".into(),
                    "日付を選んでください（例：2026-12-28）。".into(),
                )]),
                _ => field_errors(&e),
            };
            let values = ClosureValues {
                date: f.date,
                special,
                hours: f.hours,
                note: f.note,
            };
            calendar_page(
                &state,
                &s,
                year,
                "",
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

#[handler]
pub async fn remove_closure(
    state: Data<&AppState>,
    Path(date): Path<String>,
    SessionForm(s, _): SessionForm<CsrfForm>,
) -> Response {
    let date: NaiveDate = match path_id(&state, &s, &date).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match service::calendar::remove_closure(&state, &s.principal, date).await {
        Ok(()) => see_other(&format!(
            "/admin/calendar?year={}&done=closure-removed",
            date.year()
        )),
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

csrf_forms!(
    ClosureForm,
    CsrfForm,
    EraseForm,
    NewUserForm,
    OrganizationForm,
    SecurityForm,
    SlaForm,
    UserActionForm
);
