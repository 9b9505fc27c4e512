use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use madoguchi_domain::calls::{CallReport, Counts};
use madoguchi_persistence::calls::CallFilter;
use poem::web::Data;
use poem_openapi::{
    param::{Header, Path, Query},
    payload::{Json, PlainText},
    ApiResponse, OpenApi,
};
use uuid::Uuid;

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::cursor,
    http::etag::etag,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::calls::{self as svc, CallView},
    types::{
        call_dto, CallDayDto, CallDto, CallHourDto, CallList, CallReportDto, CreateCall,
        DirectionDto, UpdateCall,
    },
};

pub struct CallsApi;

const LIST: &str = "calls";

#[derive(ApiResponse)]
enum Report {
    #[oai(status = 200)]
    Json(Json<CallReportDto>),
    /// With `Accept: text/csv`: UTF-8 with a BOM and Japanese headers, for Excel.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

fn csv_row(kind: &str, key: &str, c: &Counts) -> String {
    format!(
        "{kind},{key},{},{},{},{},{}\r\n",
        c.inbound_answered,
        c.inbound_missed,
        c.outbound_answered,
        c.outbound_missed,
        c.outside_hours
    )
}

/// One sheet: per-day rows, per-hour rows, the total, then the averages.
fn csv(r: &CallReport) -> String {
    let mut out = String::from("\u{feff}区分,日付・時間帯,着信（応答）,着信（不在）,発信（応答）,発信（不在）,時間外着信\r\n");
    for (d, c) in &r.days {
        out.push_str(&csv_row("日別", &d.to_string(), c));
    }
    for (h, c) in r.hours.iter().enumerate() {
        out.push_str(&csv_row("時間帯別", &format!("{h:02}時"), c));
    }
    out.push_str(&csv_row("合計", "", &r.total));
    out.push_str(&format!(
        "平均応対時間（秒）,{},,,,,\r\n時間外の割合,{:.4},,,,,\r\n",
        r.average_handle_seconds()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        r.outside_hours_share()
    ));
    out
}

#[derive(ApiResponse)]
enum Created {
    #[oai(status = 201)]
    Created(
        Json<CallDto>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum One {
    #[oai(status = 200)]
    Ok(Json<CallDto>, #[oai(header = "ETag")] String),
}

fn one(v: CallView) -> One {
    let tag = etag(v.call.version);
    One::Ok(Json(call_dto(v)), tag)
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Calls")]
impl CallsApi {
    /// Log a phone call
    ///
    /// Agent, admin. `outside_hours` and `duration_seconds` are derived. With
    /// `thread_number` the call attaches to that thread; with `open_thread` it opens
    /// one (channel `phone`) whose clocks start at the call's start. An answered
    /// call meets the thread's first response at the call's start.
    #[oai(path = "/calls", method = "post", operation_id = "createCall")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateCall>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let v = svc::log_call(
            &state,
            &auth.0,
            svc::NewCall {
                organization_id: b.organization_id,
                caller_name: &b.caller_name,
                caller_number: &b.caller_number,
                direction: b.direction.into(),
                answered: b.answered,
                started_at: b.started_at.with_timezone(&Utc),
                ended_at: b.ended_at.map(|t| t.with_timezone(&Utc)),
                summary: b.summary.as_deref(),
                thread_number: b.thread_number,
                open_thread: b
                    .open_thread
                    .as_ref()
                    .map(|o| (o.title.as_str(), o.priority.map(Into::into))),
            },
        )
        .await?;
        let tag = etag(v.call.version);
        let loc = format!("/v1/calls/{}", v.call.id);
        Ok(Created::Created(Json(call_dto(v)), loc, tag))
    }

    /// List calls
    ///
    /// Agent, admin. Newest first. Audited.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/calls", method = "get", operation_id = "listCalls")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
        organization_id: Query<Option<Uuid>>,
        agent_id: Query<Option<Uuid>>,
        direction: Query<Option<DirectionDto>>,
        outside_hours: Query<Option<bool>>,
        from: Query<Option<DateTime<FixedOffset>>>,
        to: Query<Option<DateTime<FixedOffset>>>,
    ) -> Result<Json<CallList>, ApiError> {
        let before = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let filter = CallFilter {
            organization_id: organization_id.0,
            agent_id: agent_id.0,
            direction: direction.0.map(Into::into),
            outside_hours: outside_hours.0,
            from: from.0.map(|t| t.with_timezone(&Utc)),
            to: to.0.map(|t| t.with_timezone(&Utc)),
        };
        let page = svc::list_calls(&state, &auth.0, filter, before, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |v| {
            v.call.id
        });
        Ok(Json(CallList {
            items: page.items.into_iter().map(call_dto).collect(),
            next_cursor,
        }))
    }

    /// Read a call
    ///
    /// Agent, admin. Audited.
    #[oai(path = "/calls/:id", method = "get", operation_id = "getCall")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<One, ApiError> {
        Ok(one(svc::get_call(&state, &auth.0, id.0).await?))
    }

    /// Finish or correct a call
    ///
    /// Agent, admin. Requires `If-Match`.
    #[oai(path = "/calls/:id", method = "patch", operation_id = "updateCall")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<UpdateCall>,
    ) -> Result<One, ApiError> {
        let b = body.0;
        let v = svc::update_call(
            &state,
            &auth.0,
            id.0,
            if_match.0.as_deref(),
            svc::CallChanges {
                ended_at: b.ended_at.map(|t| t.with_timezone(&Utc)),
                summary: b.summary.as_deref(),
                answered: b.answered,
            },
        )
        .await?;
        Ok(one(v))
    }

    /// Call report
    ///
    /// Agent, admin. Calls per Tokyo day and per hour of day (inbound/outbound,
    /// answered/missed), average handle time of answered calls, and the share of
    /// calls outside hours, over dates `from`..=`to` (at most 366 days), optionally
    /// for one organization. `Accept: text/csv` gives the same as CSV for Excel.
    #[oai(path = "/reports/calls", method = "get", operation_id = "callReport")]
    async fn report(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        from: Query<NaiveDate>,
        to: Query<NaiveDate>,
        organization_id: Query<Option<Uuid>>,
        #[oai(name = "Accept")] accept: Header<Option<String>>,
    ) -> Result<Report, ApiError> {
        let r = svc::report(&state, &auth.0, from.0, to.0, organization_id.0).await?;
        if accept.0.as_deref().is_some_and(|a| a.contains("text/csv")) {
            return Ok(Report::Csv(PlainText(csv(&r))));
        }
        Ok(Report::Json(Json(CallReportDto {
            from: from.0,
            to: to.0,
            organization_id: organization_id.0,
            days: r
                .days
                .iter()
                .map(|(d, c)| CallDayDto {
                    date: *d,
                    counts: (*c).into(),
                })
                .collect(),
            hours: r
                .hours
                .iter()
                .enumerate()
                .map(|(h, c)| CallHourDto {
                    hour: h as u32,
                    counts: (*c).into(),
                })
                .collect(),
            total: r.total.into(),
            average_handle_seconds: r.average_handle_seconds(),
            outside_hours_share: r.outside_hours_share(),
        })))
    }
}
