//! Phone-call logs and their report.

use crate::service::calls::CallView;
use chrono::{DateTime, FixedOffset};
use madoguchi_domain::time::to_wire;
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use super::PriorityDto;
use crate::http::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DirectionDto {
    Inbound,
    Outbound,
}

impl From<DirectionDto> for madoguchi_domain::calls::Direction {
    fn from(d: DirectionDto) -> Self {
        match d {
            DirectionDto::Inbound => madoguchi_domain::calls::Direction::Inbound,
            DirectionDto::Outbound => madoguchi_domain::calls::Direction::Outbound,
        }
    }
}

impl From<madoguchi_domain::calls::Direction> for DirectionDto {
    fn from(d: madoguchi_domain::calls::Direction) -> Self {
        match d {
            madoguchi_domain::calls::Direction::Inbound => DirectionDto::Inbound,
            madoguchi_domain::calls::Direction::Outbound => DirectionDto::Outbound,
        }
    }
}

/// A logged phone call (personal data: staff only).
#[derive(Debug, Object)]
pub struct CallDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub caller_name: String,
    /// E.164, e.g. +81364130612.
    pub caller_number: String,
    pub direction: DirectionDto,
    pub answered: bool,
    pub started_at: DateTime<FixedOffset>,
    /// Absent while the call is still going.
    pub ended_at: Option<DateTime<FixedOffset>>,
    /// Derived: whole seconds from start to end.
    pub duration_seconds: Option<i64>,
    /// Derived: an inbound call that started outside reception hours.
    pub outside_hours: bool,
    pub agent_id: Option<Uuid>,
    pub summary: Option<String>,
    pub thread_number: Option<i64>,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object)]
pub struct CallList {
    pub items: Vec<CallDto>,
    pub next_cursor: Option<String>,
}

/// Open a thread (channel `phone`) from the call.
#[derive(Debug, Object)]
pub struct OpenThreadFromCall {
    #[oai(validator(max_length = 200))]
    pub title: Text,
    pub priority: Option<PriorityDto>,
}

#[derive(Debug, Object)]
pub struct CreateCall {
    pub organization_id: Uuid,
    /// 1 to 100 characters.
    #[oai(validator(max_length = 100))]
    pub caller_name: Text,
    /// Japanese forms such as 03-6413-0612, 090-1234-5678, +81 3 6413 0612.
    #[oai(validator(max_length = 30))]
    pub caller_number: Text,
    pub direction: DirectionDto,
    pub answered: bool,
    pub started_at: DateTime<FixedOffset>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    #[oai(validator(max_length = 10000))]
    pub summary: Option<Text>,
    /// Attach to this thread …
    pub thread_number: Option<i64>,
    /// … or open a new one.
    pub open_thread: Option<OpenThreadFromCall>,
}

#[derive(Debug, Object)]
pub struct UpdateCall {
    pub ended_at: Option<DateTime<FixedOffset>>,
    #[oai(validator(max_length = 10000))]
    pub summary: Option<Text>,
    pub answered: Option<bool>,
}

/// Calls of one day or hour.
#[derive(Debug, Object)]
pub struct CallCountsDto {
    pub inbound_answered: u64,
    pub inbound_missed: u64,
    pub outbound_answered: u64,
    pub outbound_missed: u64,
    pub outside_hours: u64,
}

impl From<madoguchi_domain::calls::Counts> for CallCountsDto {
    fn from(c: madoguchi_domain::calls::Counts) -> Self {
        CallCountsDto {
            inbound_answered: c.inbound_answered,
            inbound_missed: c.inbound_missed,
            outbound_answered: c.outbound_answered,
            outbound_missed: c.outbound_missed,
            outside_hours: c.outside_hours,
        }
    }
}

#[derive(Debug, Object)]
pub struct CallDayDto {
    pub date: chrono::NaiveDate,
    #[oai(flatten)]
    pub counts: CallCountsDto,
}

#[derive(Debug, Object)]
pub struct CallHourDto {
    /// Hour of day in Tokyo, 0–23.
    pub hour: u32,
    #[oai(flatten)]
    pub counts: CallCountsDto,
}

#[derive(Debug, Object)]
pub struct CallReportDto {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub organization_id: Option<Uuid>,
    pub days: Vec<CallDayDto>,
    pub hours: Vec<CallHourDto>,
    pub total: CallCountsDto,
    /// Answered, finished calls; null when there are none.
    pub average_handle_seconds: Option<i64>,
    /// Inbound calls outside hours over all calls, 0–1.
    pub outside_hours_share: f64,
}

/// A call as the API shows it.
pub fn call_dto(v: CallView) -> CallDto {
    let c = v.call;
    CallDto {
        id: c.id,
        organization_id: c.organization_id,
        caller_name: c.caller_name,
        caller_number: c.caller_number,
        direction: c.direction.into(),
        answered: c.answered,
        started_at: to_wire(c.started_at),
        ended_at: c.ended_at.map(to_wire),
        duration_seconds: v.duration_seconds,
        outside_hours: c.outside_hours,
        agent_id: c.agent_id,
        summary: c.summary,
        thread_number: v.thread_number,
        version: c.version,
        created_at: to_wire(c.created_at),
    }
}
