//! Crash safety, tried from outside: four clients create threads, replies and
//! call logs with `Idempotency-Key`s, retrying until answered, while the real
//! binary is killed with SIGKILL at random moments and started again on the
//! same database. Afterwards every request is in the database exactly once,
//! thread numbers are unique, every thread has its clocks and its outbox event,
//! and the audit chain verified after every restart.

use std::{
    collections::HashMap,
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
const CLIENTS: usize = 4;
/// Ten in CI; `MADOGUCHI_CRASH_KILLS=200 cargo test --release --test api crash::`
/// for the longer run (README, "Tests").
fn kills() -> usize {
    std::env::var("MADOGUCHI_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn server(url: &str) -> Server {
    let mut c = command(url);
    c.env("MADOGUCHI_ADMIN_PASSWORD", PASSWORD)
        .env("MADOGUCHI_USER_RATE_PER_MINUTE", "0");
    start(c)
}

/// How each request ended: answered (2xx) or, after a crash, "applied".
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    applied: usize,
    retries: usize,
}

async fn scalar(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn count_where(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    column: &str,
    value: &str,
) -> i64 {
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DatabaseBackend::Postgres {
        format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1")
    } else {
        format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?")
    };
    let row = db
        .query_one(Statement::from_sql_and_values(backend, sql, [value.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_across_ten_sigkills() {
    let (url, _db) = fresh_database().await;
    let mut current = server(&url);
    let first = current.address().await.expect("serving");
    let addr = Arc::new(RwLock::new(first.clone()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = admin_token(&client, &first, PASSWORD).await;
    let org = call(
        &client,
        &first,
        &token,
        "/v1/organizations",
        Some(&json!({"name": "つばさ眼科"})),
    )
    .await;
    let org = org["id"].as_str().unwrap().to_owned();

    let tallies = Arc::new(Mutex::new(Tally::default()));
    // The clients write for as long as the server is being killed.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, addr, token, org, tallies, stop) = (
            client.clone(),
            addr.clone(),
            token.clone(),
            org.clone(),
            tallies.clone(),
            stop.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut my_thread: Option<i64> = None;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("crash-c{c}-{i}");
                // Threads, replies on this client's last thread, and calls, in turn.
                let (path, body) = match (i % 3, my_thread) {
                    (1, Some(n)) => (format!("/v1/threads/{n}/posts"), json!({"body": key})),
                    (2, _) => (
                        "/v1/calls".to_owned(),
                        json!({"organization_id": org, "caller_name": key, "caller_number": "03-6413-0612",
                               "direction": "inbound", "answered": true, "started_at": "2026-12-01T10:00:00+09:00"}),
                    ),
                    _ => (
                        "/v1/threads".to_owned(),
                        json!({"title": key, "body": "強制終了のあいだの問い合わせ", "organization_id": org}),
                    ),
                };
                let started = Instant::now();
                loop {
                    assert!(started.elapsed() < Duration::from_secs(120), "{key} never answered");
                    let at = addr.read().unwrap().clone();
                    let sent = client
                        .post(format!("http://{at}{path}"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", &key)
                        .json(&body)
                        .send()
                        .await;
                    let r = match sent {
                        Ok(r) => r,
                        Err(_) => {
                            // The server died under us: the same request again.
                            tallies.lock().unwrap().retries += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let status = r.status();
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if status.is_success() {
                        if path == "/v1/threads" {
                            my_thread = v["number"].as_i64();
                        }
                        tallies.lock().unwrap().answered += 1;
                        break;
                    }
                    match (status, v["code"].as_str()) {
                        (StatusCode::CONFLICT, Some("idempotency-applied")) => {
                            tallies.lock().unwrap().applied += 1;
                            break;
                        }
                        // The first attempt's claim waits for its dead process to be noticed.
                        (StatusCode::CONFLICT, Some("idempotency-in-progress"))
                        | (StatusCode::SERVICE_UNAVAILABLE, _) => {
                            tallies.lock().unwrap().retries += 1;
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                        _ => panic!("{key}: {status} {v}"),
                    }
                }
                i += 1;
            }
            i
        }));
    }

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("crash harness seed {seed}");
    let mut rng = Lcg(seed);
    let mut restarts = Vec::new();
    for _ in 0..kills() {
        tokio::time::sleep(Duration::from_millis(150 + rng.below(650))).await;
        let _ = current.child.kill(); // SIGKILL
        let _ = current.child.wait();
        let t = Instant::now();
        current = server(&url);
        let at = current.address().await.expect("restarts");
        *addr.write().unwrap() = at.clone();
        restarts.push(t.elapsed());
        // The chain verifies after every restart.
        let v = call(&client, &at, &token, "/v1/audit-events/verify", None).await;
        assert_eq!(v["ok"], true, "after a restart: {v}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut ops = Vec::new();
    for c in clients {
        ops.push(c.await.unwrap());
    }
    let tally = std::mem::take(&mut *tallies.lock().unwrap());
    eprintln!("{tally:?}; requests per client {ops:?}; restarts took {restarts:?}");
    assert_eq!(tally.answered + tally.applied, ops.iter().sum::<usize>());
    assert!(tally.retries > 0, "the kills met requests in flight");

    let db = Database::connect(url.as_str()).await.unwrap();
    let mut seen: HashMap<&str, i64> = HashMap::new();
    for (c, &n) in ops.iter().enumerate() {
        for i in 0..n {
            let key = format!("crash-c{c}-{i}");
            let (table, column) = match i % 3 {
                1 if i > 0 => ("posts", "body"),
                2 => ("calls", "caller_name"),
                _ => ("threads", "title"),
            };
            let n = count_where(&db, table, column, &key).await;
            assert_eq!(n, 1, "{key} is in {table} {n} times");
            *seen.entry(table).or_default() += 1;
        }
    }
    eprintln!("rows checked: {seen:?}");
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) - COUNT(DISTINCT number) AS n FROM threads"
        )
        .await,
        0,
        "thread numbers are unique"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM threads t WHERE NOT EXISTS \
             (SELECT 1 FROM outbox o WHERE o.thread_id = t.id AND o.event_type = 'thread.created')"
        )
        .await,
        0,
        "every thread has its thread.created event"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM threads t WHERE \
             (SELECT COUNT(*) FROM sla_clocks c WHERE c.thread_id = t.id) = 0"
        )
        .await,
        0,
        "every thread has its clocks"
    );
    // Each thread's first post comes with thread.created; every reply has its own event.
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM outbox WHERE event_type = 'post.created'"
        )
        .await,
        scalar(
            &db,
            "SELECT (SELECT COUNT(*) FROM posts) - (SELECT COUNT(*) FROM threads) AS n"
        )
        .await,
        "every reply has its post.created event, once"
    );
}
