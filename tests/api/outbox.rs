//! The outbox has several readers (issue 28, item 4): two consumers, each
//! draining from three instances at once while clinics write through three
//! servers, see every event written after they registered exactly once each,
//! and neither's pace touches the other's.

use std::time::{Duration, Instant};

use madoguchi_persistence::{begin_writer, commit, connect, outbox, DbOptions};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{Desk, TestApp};

const CONSUMERS: [&str; 2] = ["test-mail", "test-receipts"];

/// One "instance" of a consumer: its own pool, taking small batches and
/// logging what it took in the same transaction, until told to stop and
/// nothing waits for it.
async fn drain_loop(
    db: madoguchi_persistence::Db,
    consumer: &'static str,
    batch: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> usize {
    let mut taken = 0;
    loop {
        let tx = begin_writer(&db).await.expect("begin");
        let events = outbox::take(&tx, consumer, batch).await.expect("take");
        for e in &events {
            tx.execute(sea_orm::Statement::from_sql_and_values(
                tx.get_database_backend(),
                if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
                    "INSERT INTO consumer_log (consumer, outbox_id) VALUES ($1, $2)"
                } else {
                    "INSERT INTO consumer_log (consumer, outbox_id) VALUES (?, ?)"
                },
                [consumer.into(), e.id.into()],
            ))
            .await
            .expect("log");
        }
        commit(tx).await.expect("commit");
        taken += events.len();
        if events.is_empty() {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return taken;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn two_consumers_on_three_instances_each_see_every_event_once() {
    let d = Desk::on(TestApp::spawn().await).await;
    let app = &d.app;
    let (b, c) = (app.sibling().await, app.sibling().await);
    app.exec(
        "CREATE TABLE consumer_log (consumer VARCHAR(60) NOT NULL, outbox_id BIGINT NOT NULL)",
        vec![],
    )
    .await;
    // Events from before a consumer registered are not for it.
    let before = app
        .scalar("SELECT COALESCE(MAX(id), 0) AS n FROM outbox")
        .await;
    for name in CONSUMERS {
        outbox::register(&app.db, name, app.clock.now())
            .await
            .expect("register");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut drains = Vec::new();
    for (i, name) in CONSUMERS.into_iter().enumerate() {
        for instance in 0..3u64 {
            let pools = connect(&DbOptions {
                url: app.database_url(),
                max_connections: 2,
                connect_timeout: Duration::from_secs(10),
            })
            .await
            .expect("connect");
            drains.push(tokio::spawn(drain_loop(
                pools.write,
                name,
                // Different paces: one consumer takes 1–3 events at a time,
                // the other 7–9.
                1 + instance + 6 * i as u64,
                stop.clone(),
            )));
        }
    }
    // Clinics write through all three servers meanwhile.
    let urls = [
        app.url(""),
        format!("http://{}", b.addr),
        format!("http://{}", c.addr),
    ];
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for (w, base) in urls.iter().enumerate() {
        let (client, base, token) = (client.clone(), base.clone(), d.customer.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..8 {
                let r = client
                    .post(format!("{base}/v1/threads"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("予約画面が開かない {w}-{n}"), "body": "受付で予約一覧が表示されません。"}))
                    .send()
                    .await
                    .expect("create");
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
                let t: serde_json::Value = r.json().await.expect("thread");
                let number = t["number"].as_i64().expect("number");
                let r = client
                    .post(format!("{base}/v1/threads/{number}/posts"))
                    .bearer_auth(&token)
                    .json(&json!({"body": "再起動しても同じです。"}))
                    .send()
                    .await
                    .expect("reply");
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    let mut taken = 0;
    for d in drains {
        taken += d.await.expect("drain");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "drains finished"
        );
    }
    let written = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM outbox WHERE id > {before}"
        ))
        .await;
    assert!(written >= 48, "threads and replies wrote events: {written}");
    assert_eq!(taken as i64, written * 2, "every event once per consumer");
    for name in CONSUMERS {
        let seen = app
            .scalar(&format!(
                "SELECT COUNT(DISTINCT outbox_id) AS n FROM consumer_log WHERE consumer = '{name}' AND outbox_id > {before}"
            ))
            .await;
        let rows = app
            .scalar(&format!(
                "SELECT COUNT(*) AS n FROM consumer_log WHERE consumer = '{name}'"
            ))
            .await;
        assert_eq!(seen, written, "{name} saw every event");
        assert_eq!(
            rows, written,
            "{name} saw each event once and nothing older"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) AS n FROM outbox_pending WHERE consumer = '{name}'"
            ))
            .await,
            0
        );
    }
    // The webhook fan-out, a third reader run by the servers themselves, took
    // every event too, whatever the others took.
    crate::webhooks::until_fanned_out(app).await;
}
