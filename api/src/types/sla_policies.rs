//! SLA policies.

use chrono::{DateTime, FixedOffset};
use poem_openapi::Object;

use super::PriorityDto;

#[derive(Debug, Object)]
pub struct SlaPolicyDto {
    pub priority: PriorityDto,
    pub first_response_minutes: u32,
    pub next_reply_minutes: u32,
    pub resolution_minutes: u32,
    pub version: i32,
    pub updated_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Object)]
pub struct PutSlaPolicy {
    /// Business minutes, 1 to 100 000.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub first_response_minutes: u32,
    /// Defaults to `first_response_minutes`.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub next_reply_minutes: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub resolution_minutes: u32,
}
