//! Several instances of the real binary on one database (issue 16.3): clients
//! spread over three instances create threads, reply and change statuses; an
//! admin changes the calendar on one and the others follow within their poll;
//! then each instance in turn is stopped with SIGTERM (drained first, as a
//! load balancer does) and started again. Nothing fails that a client would not
//! retry, thread numbers stay unique and gapless, and the audit chain is one
//! line that verifies.

use std::{
    collections::HashMap,
    process::Command,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

use crate::{
    helpers::fresh_database,
    process::{admin_token, call, command, start, Server},
};

const PASSWORD: &str = "test-admin-password-0001";

fn server(url: &str) -> Server {
    let mut c = command(url);
    c.env("MADOGUCHI_ADMIN_PASSWORD", PASSWORD)
        .env("MADOGUCHI_USER_RATE_PER_MINUTE", "0")
        .env("MADOGUCHI_CALENDAR_POLL_MS", "500");
    start(c)
}

/// What the clients saw, by kind.
#[derive(Debug, Default)]
struct Seen {
    ok: usize,
    /// Refused or cut connections to an instance going away: retried elsewhere.
    reconnects: usize,
    /// 503s: retried.
    unavailable: usize,
    /// 409 idempotency-in-progress (the first attempt still running elsewhere): retried.
    in_progress: usize,
    /// Anything a client would not retry.
    failures: Vec<String>,
}

#[tokio::test]
async fn three_instances_agree_and_a_rolling_restart_fails_nothing() {
    let (url, _db) = fresh_database().await;
    let mut servers: Vec<Server> = (0..3).map(|_| server(&url)).collect();
    let mut first = Vec::new();
    for s in servers.iter_mut() {
        first.push(Some(s.address().await.expect("serving")));
    }
    let addrs = Arc::new(RwLock::new(first));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let a0 = addrs.read().unwrap()[0].clone().unwrap();
    let token = admin_token(&client, &a0, PASSWORD).await;
    let org = call(
        &client,
        &a0,
        &token,
        "/v1/organizations",
        Some(&json!({"name": "青空病院"})),
    )
    .await;
    let org = org["id"].as_str().unwrap().to_owned();

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..6usize {
        let (client, addrs, token, org, seen, stop) = (
            client.clone(),
            addrs.clone(),
            token.clone(),
            org.clone(),
            seen.clone(),
            stop.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut i = 0usize;
            let mut mine: Vec<i64> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("multi-c{c}-{i}");
                let started = Instant::now();
                // Retry on another instance until answered, as a load balancer's client would.
                let mut turn = c + i;
                loop {
                    assert!(started.elapsed() < Duration::from_secs(60), "{key} never answered");
                    let live: Vec<String> = addrs.read().unwrap().iter().flatten().cloned().collect();
                    let at = live[turn % live.len()].clone();
                    turn += 1;
                    let req = match (i % 3, mine.last()) {
                        (1, Some(n)) => client
                            .post(format!("http://{at}/v1/threads/{n}/posts"))
                            .header("Idempotency-Key", &key)
                            .json(&json!({"body": key})),
                        (2, Some(n)) => {
                            // A status change: read, then PATCH with its ETag.
                            match client
                                .get(format!("http://{at}/v1/threads/{n}"))
                                .bearer_auth(&token)
                                .send()
                                .await
                            {
                                Ok(r) if r.status().is_success() => {
                                    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
                                    client
                                        .patch(format!("http://{at}/v1/threads/{n}"))
                                        .header("If-Match", etag)
                                        .json(&json!({"status": "pending"}))
                                }
                                Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {
                                    seen.lock().unwrap().unavailable += 1;
                                    continue;
                                }
                                Ok(r) => {
                                    seen.lock().unwrap().failures.push(format!("{key}: read {}", r.status()));
                                    break;
                                }
                                Err(_) => {
                                    seen.lock().unwrap().reconnects += 1;
                                    continue;
                                }
                            }
                        }
                        _ => client
                            .post(format!("http://{at}/v1/threads"))
                            .header("Idempotency-Key", &key)
                            .json(&json!({"title": key, "body": "複数台での問い合わせ", "organization_id": org})),
                    };
                    match req.bearer_auth(&token).send().await {
                        Err(_) => {
                            seen.lock().unwrap().reconnects += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Ok(r) => {
                            let status = r.status();
                            let v: Value = r.json().await.unwrap_or(Value::Null);
                            if status.is_success() {
                                if i.is_multiple_of(3) || mine.is_empty() {
                                    if let Some(n) = v["number"].as_i64() {
                                        mine.push(n);
                                    }
                                }
                                seen.lock().unwrap().ok += 1;
                                break;
                            }
                            match (status, v["code"].as_str()) {
                                (StatusCode::SERVICE_UNAVAILABLE, _) => {
                                    seen.lock().unwrap().unavailable += 1;
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                                (StatusCode::CONFLICT, Some("idempotency-in-progress")) => {
                                    seen.lock().unwrap().in_progress += 1;
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                                // A status change retried after it landed: already pending.
                                (StatusCode::CONFLICT, Some("illegal-transition"))
                                | (StatusCode::PRECONDITION_FAILED, _)
                                    if i % 3 == 2 =>
                                {
                                    seen.lock().unwrap().ok += 1;
                                    break;
                                }
                                _ => {
                                    seen.lock().unwrap().failures.push(format!("{key}: {status} {v}"));
                                    break;
                                }
                            }
                        }
                    }
                }
                i += 1;
            }
            i
        }));
    }

    // A calendar change on one instance reaches the others within their poll.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let day = "/v1/calendar/days?from=2027-01-04&to=2027-01-04";
    let r = client
        .post(format!("http://{a0}/v1/calendar/closures"))
        .bearer_auth(&token)
        .json(&json!({"date": "2027-01-04", "note": "システム更新"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let changed = Instant::now();
    let mut followed = Vec::new();
    for i in 1..3 {
        let at = addrs.read().unwrap()[i].clone().unwrap();
        loop {
            let v = call(&client, &at, &token, day, None).await;
            if v.to_string().contains("システム更新") {
                followed.push(changed.elapsed());
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(5),
                "instance {i} never saw the closure: {v}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Rolling restart: drain one instance, SIGTERM it, start it again; then the next.
    let mut downtime = Vec::new();
    for (i, slot) in servers.iter_mut().enumerate() {
        tokio::time::sleep(Duration::from_millis(700)).await;
        addrs.write().unwrap()[i] = None;
        let pid = slot.child.id().to_string();
        let t = Instant::now();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let code = slot.child.wait().unwrap();
        assert!(code.success(), "a SIGTERM stop exits cleanly: {code}");
        *slot = server(&url);
        let at = slot.address().await.expect("serving again");
        addrs.write().unwrap()[i] = Some(at);
        downtime.push(t.elapsed());
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut requests = 0;
    for c in clients {
        requests += c.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "{requests} requests: {} ok, {} reconnects, {} unavailable, {} in progress; calendar followed after {followed:?}; restarts took {downtime:?}",
        seen.ok, seen.reconnects, seen.unavailable, seen.in_progress
    );
    assert!(seen.failures.is_empty(), "failed: {:?}", seen.failures);
    assert_eq!(seen.ok, requests);

    let db = Database::connect(url.as_str()).await.unwrap();
    let one = |sql: &str| {
        let db = db.clone();
        let sql = sql.to_owned();
        async move {
            let row = db
                .query_one(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    let count = one("SELECT COUNT(*) AS n FROM threads").await;
    assert_eq!(
        one("SELECT COUNT(DISTINCT number) AS n FROM threads").await,
        count,
        "numbers unique"
    );
    assert_eq!(
        one("SELECT MAX(number) - MIN(number) + 1 AS n FROM threads").await,
        count,
        "numbers without gaps"
    );
    let titles: HashMap<String, i64> = {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT title, COUNT(*) AS n FROM threads GROUP BY title",
            ))
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| (r.try_get("", "title").unwrap(), r.try_get("", "n").unwrap()))
            .collect()
    };
    assert!(titles.values().all(|&n| n == 1), "a create doubled");
    let a = addrs.read().unwrap()[2].clone().unwrap();
    let v = call(&client, &a, &token, "/v1/audit-events/verify", None).await;
    assert_eq!(v["ok"], true, "{v}");
}
