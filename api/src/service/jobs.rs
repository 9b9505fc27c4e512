//! Scheduled work: named jobs that run at instants in business or calendar
//! time, exactly once across every instance.
//!
//! A [`Job`] says when it is due (a recurring [`Schedule`] computed by the
//! domain, or occurrences planned ahead with [`plan`] for instants known in
//! advance, such as a maintenance notice's start) and what to do. Every
//! instance runs [`run_due`] on a short tick; the first to see an occurrence
//! due creates its row, one instance claims it under a lease
//! (`persistence::jobs`), runs it, and marks it finished. A failed occurrence
//! is retried a minute later; one whose instance died is taken up when its
//! lease runs out. The application clock decides what is due, so tests move
//! time instead of waiting, and `/metrics` counts each job's runs.
//!
//! Adding a job: implement [`Job`] next to the service it calls and add it to
//! the server's list (`standard_jobs` in `src/lib.rs`).

use std::{future::Future, pin::Pin, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use madoguchi_domain::{schedule::Schedule, time::to_wire};
use madoguchi_persistence::{jobs, StoreError};

use crate::{app::state::AppState, http::problem::ApiError};

/// What a job's run returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// A named piece of scheduled work.
pub trait Job: Send + Sync {
    /// Its name in the database and in `/metrics`. Never rename one: its
    /// occurrences are kept under it.
    fn name(&self) -> &'static str;

    /// When it recurs; `None` for a job whose occurrences are only planned.
    fn schedule(&self) -> Option<Schedule>;

    /// How long one run may take before another instance may take the
    /// occurrence up again (as if this one had died).
    fn lease(&self) -> Duration {
        Duration::minutes(10)
    }

    /// Do the work of the occurrence due at `due_at`. It may run again after
    /// a failure or a crash, so it must be safe to repeat.
    fn run<'a>(&'a self, state: &'a AppState, due_at: DateTime<Utc>) -> JobFuture<'a>;
}

/// The jobs an instance runs.
#[derive(Clone, Default)]
pub struct Jobs(Vec<Arc<dyn Job>>);

impl Jobs {
    /// These jobs (the server's list is `src/lib.rs`'s `standard_jobs`).
    pub fn of(jobs: Vec<Arc<dyn Job>>) -> Jobs {
        Jobs(jobs)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|j| j.name()).collect()
    }
}

/// How long a failed occurrence waits before it is tried again.
const RETRY: Duration = Duration::minutes(1);

/// The key of a recurring job's occurrence: its instant, in UTC.
fn key_of(due_at: DateTime<Utc>) -> String {
    due_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Plan an occurrence of `job` at `due_at` under `key` (a notice's start, a
/// reminder the business day before), unless it is planned already. Call it
/// in the transaction of the change that makes it due.
pub async fn plan(
    db: &impl madoguchi_persistence::Conn,
    job: &dyn Job,
    key: &str,
    due_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    jobs::plan(db, job.name(), key, due_at).await
}

/// Create the occurrences that have come due by `now`, then run every due
/// occurrence this instance can claim; returns how many it ran.
pub async fn run_due(
    state: &AppState,
    set: &Jobs,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let cal = state.calendar.get();
    for job in &set.0 {
        if let Some(due) = job.schedule().and_then(|s| s.latest(now, &cal)) {
            jobs::plan(&state.db, job.name(), &key_of(due), due).await?;
        }
    }
    let names = set.names();
    let mut ran = 0;
    loop {
        let lease = set
            .0
            .iter()
            .map(|j| j.lease())
            .max()
            .unwrap_or(Duration::minutes(10));
        let Some(o) = jobs::claim(&state.db, &names, now, lease).await? else {
            return Ok(ran);
        };
        // Claimed by name from this set, so it is there.
        let Some(job) = set.0.iter().find(|j| j.name() == o.job) else {
            return Ok(ran);
        };
        match job.run(state, o.due_at).await {
            Ok(()) => {
                jobs::finish(&state.db, &o, state.now()).await?;
                state
                    .metrics
                    .job_ran(job.name(), o.due_at.timestamp(), true);
                tracing::info!(job = job.name(), due_at = %to_wire(o.due_at), "scheduled job ran");
            }
            Err(e) => {
                let message = e.to_string();
                jobs::fail(&state.db, &o, &message, RETRY).await?;
                state
                    .metrics
                    .job_ran(job.name(), o.due_at.timestamp(), false);
                tracing::warn!(job = job.name(), due_at = %to_wire(o.due_at), attempts = o.attempts, error = %message, "scheduled job failed; will retry");
            }
        }
        ran += 1;
    }
}
