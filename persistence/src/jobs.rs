//! Occurrences of scheduled jobs (`job_occurrences`). An occurrence is created
//! once ([`plan`], by whichever instance sees it due first, or ahead of time
//! for an instant known in advance such as a notice's start), claimed by one
//! instance at a time under a lease ([`claim`]), and finished or given back
//! with its error ([`finish`], [`fail`]). The lease is measured on the
//! database's clock (PostgreSQL's `clock_timestamp()`; on SQLite the machine's,
//! which every instance on the file shares), never the application's, so a
//! clock moved in a test or running ahead on one instance cannot end another's
//! lease early and run an occurrence twice.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Value};

use crate::{
    board::{is_pg, stmt},
    error::StoreError,
};

/// One occurrence of a job, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub job: String,
    /// Its key within the job: the due instant of a recurring job (RFC 3339,
    /// UTC), or a key the planner chose (`notice:<id>:start`).
    pub occurrence: String,
    pub due_at: DateTime<Utc>,
    /// Claims so far, this one included.
    pub attempts: i32,
}

/// Create an occurrence unless it exists; `true` when this call created it.
pub async fn plan(
    db: &impl ConnectionTrait,
    job: &str,
    occurrence: &str,
    due_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = db
        .execute(stmt(
            db,
            "INSERT INTO job_occurrences (job, occurrence, due_at, attempts) \
             VALUES ($1, $2, $3, 0) ON CONFLICT (job, occurrence) DO NOTHING",
            vec![job.into(), occurrence.into(), due_at.into()],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

fn occurrence_of(r: &sea_orm::QueryResult) -> Result<Occurrence, StoreError> {
    Ok(Occurrence {
        job: r.try_get("", "job")?,
        occurrence: r.try_get("", "occurrence")?,
        due_at: r.try_get("", "due_at")?,
        attempts: r.try_get("", "attempts")?,
    })
}

/// Claim the oldest unfinished occurrence of one of `jobs` that is due at
/// `now` (the application's clock) and not leased, for `lease`. Only the jobs
/// named are taken, so an instance of an older version never runs a job it
/// does not know.
pub async fn claim(
    db: &crate::Db,
    jobs: &[&str],
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Option<Occurrence>, StoreError> {
    if jobs.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = (0..jobs.len()).map(|i| format!("${}", i + 3)).collect();
    let names = names.join(", ");
    let mut values: Vec<Value> = vec![lease.num_milliseconds().into(), now.into()];
    values.extend(jobs.iter().map(|j| Value::from(*j)));
    if is_pg(db) {
        let row = db
            .query_one(stmt(
                db,
                &format!(
                    "UPDATE job_occurrences SET attempts = attempts + 1, \
                       leased_until = clock_timestamp() + $1::bigint * interval '1 millisecond' \
                     WHERE (job, occurrence) IN (SELECT job, occurrence FROM job_occurrences \
                       WHERE finished_at IS NULL AND due_at <= $2 AND job IN ({names}) \
                       AND (leased_until IS NULL OR leased_until <= clock_timestamp()) \
                       ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     RETURNING job, occurrence, due_at, attempts"
                ),
                values,
            ))
            .await?;
        return row.as_ref().map(occurrence_of).transpose();
    }
    let machine_now = Utc::now();
    values[0] = machine_now.into();
    let tx = crate::begin_writer(db).await?;
    let row = tx
        .query_one(stmt(
            &tx,
            &format!(
                "SELECT job, occurrence, due_at, attempts FROM job_occurrences \
                 WHERE finished_at IS NULL AND due_at <= $2 AND job IN ({names}) \
                 AND (leased_until IS NULL OR leased_until <= $1) \
                 ORDER BY due_at LIMIT 1"
            ),
            values,
        ))
        .await?;
    let Some(mut o) = row.as_ref().map(occurrence_of).transpose()? else {
        crate::commit(tx).await?;
        return Ok(None);
    };
    tx.execute(stmt(
        &tx,
        "UPDATE job_occurrences SET attempts = attempts + 1, leased_until = $1 \
         WHERE job = $2 AND occurrence = $3",
        vec![
            (machine_now + lease).into(),
            o.job.clone().into(),
            o.occurrence.clone().into(),
        ],
    ))
    .await?;
    crate::commit(tx).await?;
    o.attempts += 1;
    Ok(Some(o))
}

/// The occurrence ran to its end.
pub async fn finish(
    db: &impl ConnectionTrait,
    o: &Occurrence,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    db.execute(stmt(
        db,
        "UPDATE job_occurrences SET finished_at = $1, leased_until = NULL, last_error = NULL \
         WHERE job = $2 AND occurrence = $3",
        vec![
            now.into(),
            o.job.clone().into(),
            o.occurrence.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The occurrence failed: keep `error` and let it be claimed again after
/// `retry` (on the database's clock, like the lease).
pub async fn fail(
    db: &impl ConnectionTrait,
    o: &Occurrence,
    error: &str,
    retry: Duration,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(1000).collect();
    let (sql, until): (&str, Value) = if is_pg(db) {
        (
            "UPDATE job_occurrences SET last_error = $2, \
               leased_until = clock_timestamp() + $1::bigint * interval '1 millisecond' \
             WHERE job = $3 AND occurrence = $4",
            retry.num_milliseconds().into(),
        )
    } else {
        (
            "UPDATE job_occurrences SET last_error = $2, leased_until = $1 \
             WHERE job = $3 AND occurrence = $4",
            (Utc::now() + retry).into(),
        )
    };
    db.execute(stmt(
        db,
        sql,
        vec![
            until,
            error.into(),
            o.job.clone().into(),
            o.occurrence.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}
