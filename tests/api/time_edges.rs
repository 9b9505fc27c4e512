//! Time as production meets it (issue 16.5): the server's clock jumping back,
//! and the calendar changing while the sweeper runs. Events stay exactly once
//! per clock cycle; idempotent retries still replay.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    jst, metric_at, Desk, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, CUSTOMER_EMAIL, PASSWORD,
};

async fn sweeps(app: &TestApp) -> f64 {
    metric_at(
        &app.client,
        &app.url("/metrics"),
        "madoguchi_sla_sweeps_total",
    )
    .await
}

/// Wait until the sweeper has finished `n` more rounds: what it would record,
/// it has recorded by then.
async fn until_swept(app: &TestApp, n: f64) {
    let from = sweeps(app).await;
    let started = Instant::now();
    while sweeps(app).await < from + n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the sweeper stalled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn until_count(app: &TestApp, what: &str, n: i64) {
    let started = Instant::now();
    while app.count(what).await < n {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: {} of {n}",
            app.count(what).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const BREACHES: &str = "outbox WHERE event_type = 'sla.breached'";
const WARNINGS: &str = "outbox WHERE event_type = 'sla.warning'";

#[tokio::test]
async fn a_clock_jumping_back_neither_refires_events_nor_breaks_retries() {
    // Monday 2026-12-07 09:00 JST: an urgent question (first response in 30 business minutes).
    let d = Desk::at(jst(2026, 12, 7, 9, 0)).await;
    let app = &d.app;
    let body = json!({"title": "電子カルテが起動しません", "body": "至急お願いします", "priority": "urgent"});
    let create = |token: String| {
        app.req(Method::POST, "/v1/threads", Some(&token))
            .header("Idempotency-Key", "clock-jump-1")
            .json(&body)
            .send()
    };
    let first = create(d.customer.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    // 10:00: warned at 09:22:30, breached at 09:30, once each.
    app.clock.set(jst(2026, 12, 7, 10, 0));
    until_count(app, BREACHES, 1).await;
    until_count(app, WARNINGS, 1).await;

    // The clock goes back a minute (an NTP step), then back before the breach,
    // then forward again past it: nothing is recorded twice.
    for at in [
        jst(2026, 12, 7, 9, 59),
        jst(2026, 12, 7, 9, 25),
        jst(2026, 12, 7, 10, 5),
    ] {
        app.clock.set(at);
        until_swept(app, 3.0).await;
    }
    assert_eq!(app.count(BREACHES).await, 1);
    assert_eq!(app.count(WARNINGS).await, 1);

    // The retry after the jumps still replays the first answer.
    let customer = app.login(CUSTOMER_EMAIL, PASSWORD).await;
    let again = create(customer.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["number"], first["number"]);
    assert_eq!(app.count("threads").await, 1);
}

#[tokio::test]
async fn calendar_changes_during_sweeps_neither_double_fire_nor_lose_an_event() {
    // Tokens outlive the minutes this test moves through.
    let app = TestApp::spawn_with(&[("MADOGUCHI_TOKEN_TTL_SECONDS", "86400")]).await;
    app.clock.set(jst(2026, 12, 7, 9, 0));
    let d = Desk::on(app).await;
    let app = &d.app;
    const THREADS: i64 = 12;
    for i in 0..THREADS {
        app.create_thread(
            &d.customer,
            &json!({"title": format!("障害{i}"), "body": "至急", "priority": "urgent"}),
        )
        .await;
    }
    // Just before the warnings are due, an admin closes and reopens today over
    // and over while the clock runs past every due time and the sweeper works.
    app.clock.set(jst(2026, 12, 7, 9, 22));
    let toggler = {
        let client = app.client.clone();
        let base = app.url("");
        let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        tokio::spawn(async move {
            for _ in 0..15 {
                let r = client
                    .post(format!("{base}/v1/calendar/closures"))
                    .bearer_auth(&token)
                    .json(&json!({"date": "2026-12-07", "note": "臨時休業"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                tokio::time::sleep(Duration::from_millis(40)).await;
                let r = client
                    .delete(format!("{base}/v1/calendar/closures/2026-12-07"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::NO_CONTENT);
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    for minute in [23, 26, 29, 31, 35, 40] {
        app.clock.set(jst(2026, 12, 7, 9, minute));
        until_swept(app, 1.0).await;
    }
    toggler.await.unwrap();
    // The day is open again. Minutes that passed while it was closed did not
    // count, so the first responses fell due later than 09:30, but by 11:00 all
    // have; the resolution clocks (240 minutes, warned at 180) warn at 12:00 at
    // the earliest, however much of the morning the closures took.
    app.clock.set(jst(2026, 12, 7, 11, 0));
    until_count(app, BREACHES, THREADS).await;
    until_count(app, WARNINGS, THREADS).await;
    until_swept(app, 3.0).await;
    assert_eq!(app.count(BREACHES).await, THREADS, "one breach per clock");
    assert_eq!(app.count(WARNINGS).await, THREADS, "one warning per clock");
    // And each thread's log says so once.
    assert_eq!(
        app.count("sla_clock_events WHERE event = 'breach'").await,
        THREADS
    );
}
