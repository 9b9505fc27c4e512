//! Scheduled work (issue 28, item 6): a job due on the first business day of
//! the month at 09:00 in Tokyo runs once across three instances when the
//! application clock passes its instant, is counted in `/metrics`, and leaves
//! its result where an auditor looks.

use std::time::{Duration, Instant};

use crate::helpers::{jst, metric_at, TestApp};

const JOB: &str = "audit-chain-check";

async fn finished(app: &TestApp) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) AS n FROM job_occurrences WHERE job = '{JOB}' AND finished_at IS NOT NULL"
    ))
    .await
}

async fn until_finished(app: &TestApp, n: i64) {
    let started = Instant::now();
    while finished(app).await < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "occurrence {n} of {JOB} ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_monthly_job_runs_once_across_three_instances_when_its_instant_passes() {
    let app = TestApp::spawn().await;
    // Friday 1 January 2027, noon: 元日, and the year-end closure until the
    // 3rd. The latest first-business-day 09:00 is Tuesday 1 December 2026's.
    app.clock.set(jst(2027, 1, 1, 12, 0));
    let b = app.sibling().await;
    let c = app.sibling().await;
    until_finished(&app, 1).await;
    let december = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM job_occurrences WHERE job = '{JOB}' AND occurrence = '2026-12-01T00:00:00Z'"
        ))
        .await;
    assert_eq!(december, 1, "December's occurrence is the one that ran");

    // Monday 4 January 2027 is the first business day: at 08:59 nothing new
    // is due; once the clock passes 09:00 January's occurrence runs.
    app.clock.set(jst(2027, 1, 4, 8, 59));
    // The ten-minute housekeeping job's 08:50 occurrence having run shows the
    // instances have looked at their schedules since the clock moved.
    let started = Instant::now();
    while app
        .scalar("SELECT COUNT(*) AS n FROM job_occurrences WHERE job = 'purge-expired' AND occurrence = '2027-01-03T23:50:00Z' AND finished_at IS NOT NULL")
        .await
        == 0
    {
        assert!(started.elapsed() < Duration::from_secs(30), "housekeeping ran at 08:50");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(finished(&app).await, 1, "nothing monthly is due at 08:59");
    app.clock
        .set(jst(2027, 1, 4, 9, 0) + chrono::Duration::seconds(1));
    until_finished(&app, 2).await;
    let january = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM job_occurrences WHERE job = '{JOB}' AND occurrence = '2027-01-04T00:00:00Z' AND attempts = 1"
        ))
        .await;
    assert_eq!(january, 1, "January's occurrence was claimed once");

    // Each occurrence left one check in the audit trail, by the system.
    let checks = app
        .scalar(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'audit.verify' AND actor_type = 'system' AND outcome = 'success'",
        )
        .await;
    assert_eq!(checks, 2);

    // The three instances ran it twice between them.
    let series = format!("madoguchi_job_runs_total{{job=\"{JOB}\",result=\"ok\"}}");
    let mut runs = 0.0;
    for url in [
        app.url("/metrics"),
        format!("http://{}/metrics", b.addr),
        format!("http://{}/metrics", c.addr),
    ] {
        runs += metric_at(&app.client, &url, &series).await;
    }
    assert_eq!(runs, 2.0);
}
