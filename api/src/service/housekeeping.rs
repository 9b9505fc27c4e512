//! Housekeeping as a scheduled job: forget `Idempotency-Key`s past their
//! lifetime, so the table holds about a day of keys, and login-throttle rows
//! whose window and lock have passed (they would count from zero anyway).

use chrono::{DateTime, Utc};
use madoguchi_domain::{schedule::Schedule, throttle::ThrottlePolicy};
use madoguchi_persistence::{idempotency, throttle};

use super::jobs::{Job, JobFuture};
use crate::app::state::AppState;

/// Every ten minutes.
pub struct Purge;

impl Job for Purge {
    fn name(&self) -> &'static str {
        "purge-expired"
    }

    fn schedule(&self) -> Option<Schedule> {
        Some(Schedule::Every { seconds: 600 })
    }

    fn run<'a>(&'a self, state: &'a AppState, _due_at: DateTime<Utc>) -> JobFuture<'a> {
        Box::pin(async move {
            let now = state.now();
            let keys =
                idempotency::purge_expired(&state.db, now, state.config.idempotency_ttl).await?;
            let rows =
                throttle::purge_expired(&state.db, now, ThrottlePolicy::longest_window()).await?;
            if keys + rows > 0 {
                tracing::info!(keys, throttle_rows = rows, "expired keys purged");
            }
            Ok(())
        })
    }
}
