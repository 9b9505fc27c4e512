//! Webhook delivery figures against a running server (see README, Benchmarks):
//!
//! ```sh
//! MADOGUCHI_WEBHOOK_ALLOW_HTTP=true MADOGUCHI_WEBHOOK_ALLOW_PRIVATE=true \
//!   MADOGUCHI_ADMIN_PASSWORD=bench-admin-password-1 target/release/madoguchi &
//! cargo run --release --example webhook_bench -- http://127.0.0.1:8080 bench-admin-password-1
//! ```
//!
//! 1. latency at idle: threads created one after another; the time from the
//!    create's answer (its commit) to the `thread.created` delivery, over 1,000;
//! 2. the same with a second subscription whose receiver never answers;
//! 3. throughput: 4,000 deliveries (`BENCH_BACKLOG`) held back (their receiver
//!    refused the first attempt) and then all due at once (with
//!    `BENCH_DATABASE_URL`, the server's database, they are made due at one
//!    instant), drained by one instance.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use poem::{
    handler,
    listener::{Acceptor, Listener},
    web::Data,
    EndpointExt,
};
use serde_json::{json, Value};

type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

#[handler]
async fn receive(body: poem::Body, arrivals: Data<&Arrivals>) -> &'static str {
    let at = Instant::now();
    let raw = body.into_vec().await.unwrap_or_default();
    let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    if let Some(n) = v["data"]["thread_number"].as_u64() {
        arrivals.lock().unwrap().entry(n).or_insert(at);
    }
    "ok"
}

/// A receiver that answers at once; returns its URL and what arrived when.
async fn receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let app = poem::Route::new()
        .at("/hook", poem::post(receive))
        .data(arrivals.clone());
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://{addr}/hook"), arrivals)
}

/// A receiver that accepts connections and never answers.
async fn black_hole() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    format!("http://{addr}/hook")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Api {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn delete(&self, path: &str) {
        self.http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
    }
}

async fn latency(api: &Api, org: &str, arrivals: &Arrivals, n: usize, label: &str) {
    let mut sent = Vec::with_capacity(n);
    for i in 0..n {
        let t = api
            .post(
                "/v1/threads",
                json!({"organization_id": org, "title": format!("遅延測定 {i}"), "body": "配信までの時間"}),
            )
            .await;
        sent.push((t["number"].as_u64().unwrap(), Instant::now()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    loop {
        let got = arrivals.lock().unwrap().len();
        if sent
            .iter()
            .all(|(k, _)| arrivals.lock().unwrap().contains_key(k))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{got} arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = arrivals.lock().unwrap();
    let mut ms: Vec<f64> = sent
        .iter()
        .map(|(k, at)| a[k].saturating_duration_since(*at).as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(|x, y| x.total_cmp(y));
    println!(
        "{label}: {n} events, commit → delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

#[allow(non_snake_case)]
#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let password = args
        .next()
        .unwrap_or_else(|| "bench-admin-password-1".into());
    let email = args.next().unwrap_or_else(|| "admin@localhost".into());
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = Api {
        base,
        http,
        token: login["access_token"].as_str().unwrap().to_owned(),
    };
    let org = api
        .post(
            "/v1/organizations",
            json!({"name": format!("配信測定クリニック {}", std::process::id())}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // 1. Idle latency.
    let (url, arrivals) = receiver().await;
    let fast = api
        .post(
            "/v1/webhooks",
            json!({"url": url, "event_types": ["thread.created"], "organization_id": org}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    latency(&api, &org, &arrivals, 1000, "idle").await;

    // 2. With a receiver that never answers beside it.
    let hole = black_hole().await;
    let slow = api
        .post(
            "/v1/webhooks",
            json!({"url": hole, "event_types": ["thread.created"], "organization_id": org}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    latency(
        &api,
        &org,
        &arrivals,
        1000,
        "beside a receiver that never answers",
    )
    .await;
    api.delete(&format!("/v1/webhooks/{slow}")).await;
    api.delete(&format!("/v1/webhooks/{fast}")).await;

    // 3. Throughput: a backlog whose first attempt found nobody listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let backlog = api
        .post(
            "/v1/webhooks",
            json!({"url": format!("http://{closed}/hook"), "event_types": ["thread.created"], "organization_id": org}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Small enough that every thread is created before the first retries come
    // due (5 s after the first attempts), so they all come due together.
    let n_backlog: usize = std::env::var("BENCH_BACKLOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let N = n_backlog;
    let mut pending = Vec::new();
    for i in 0..N {
        let (http, base, token, org) = (
            api.http.clone(),
            api.base.clone(),
            api.token.clone(),
            org.clone(),
        );
        pending.push(tokio::spawn(async move {
            http.post(format!("{base}/v1/threads"))
                .bearer_auth(token)
                .json(&json!({"organization_id": org, "title": format!("一括 {i}"), "body": "スループット"}))
                .send()
                .await
                .unwrap();
        }));
        if pending.len() == 32 {
            for p in pending.drain(..) {
                p.await.unwrap();
            }
        }
    }
    for p in pending {
        p.await.unwrap();
    }
    // Point the subscription at a live receiver; the retries (5 s after the
    // first attempt) then come due together.
    let (url, arrivals) = receiver().await;
    let current: Value = api
        .http
        .get(format!("{}/v1/webhooks/{backlog}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = api
        .http
        .patch(format!("{}/v1/webhooks/{backlog}", api.base))
        .bearer_auth(&api.token)
        .header("If-Match", format!("\"{}\"", current["version"]))
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // With the database at hand, make the whole backlog due at this instant, so
    // the figure is the dispatcher's and not the retry schedule's spread.
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
        let now = chrono::Utc::now();
        let sql = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE status = 'pending'"
        } else {
            "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE status = 'pending'"
        };
        db.execute(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [now.into()],
        ))
        .await
        .unwrap();
    }
    let started = Instant::now();
    while arrivals.lock().unwrap().len() < N {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "backlog not drained"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = arrivals.lock().unwrap();
    let first = a.values().min().copied().unwrap();
    let last = a.values().max().copied().unwrap();
    let secs = last.duration_since(first).as_secs_f64();
    println!(
        "throughput: {N} deliveries in {secs:.2} s from the first to the last = {:.0}/s",
        N as f64 / secs
    );
}
