//! Soak: a bounded mixed load at a fixed rate against a running server, for
//! long enough that growth shows (README, "Soak"). Every `SOAK_SAMPLE_SECS`
//! (60) it prints one row: the server's RSS and open file descriptors (from
//! `/proc/<pid>`), the database's size, and the minute's requests, errors and
//! p50 / p99 latency; and, to tell the server's stalls from the machine's, the
//! CPU time the hypervisor took from this VM (`steal`, from `/proc/stat`), the
//! longest a 50 ms sleep of the soak's own sampling thread overran (`stall`:
//! when it is as long as the p99, the whole machine stopped, not the server),
//! and the time every task waited for I/O (`io full`, pressure stall
//! information from `/proc/pressure/io`).
//!
//! ```sh
//! MADOGUCHI_USER_RATE_PER_MINUTE=0 MADOGUCHI_TOKEN_TTL_SECONDS=7200 \
//!   MADOGUCHI_ADMIN_PASSWORD=bench-admin-password-1 target/release/madoguchi &
//! cargo run --release --example soak -- http://127.0.0.1:8080 bench-admin-password-1 $! \
//!   "sqlite:///path/bench.db"   # or the postgres:// URL the server uses
//! ```
//!
//! `SOAK_MINUTES` (30) and `SOAK_RATE` (requests per second, 500) bound it. The
//! mix, per 20 requests: 2 new threads, 3 replies, 1 status change, 1 call, 4
//! queue pages, 4 thread lists, 3 thread pages, 2 searches. A request that
//! would start while 256 are in flight is counted as `skipped` instead of
//! queueing without bound: the load stays the rate asked for.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};

const MIX: [Op; 20] = {
    use Op::*;
    [
        Queue, Create, List, Reply, Thread, Queue, Search, List, Reply, Status, Queue, Thread,
        Create, List, Call, Reply, Queue, Thread, List, Search,
    ]
};

#[derive(Clone, Copy)]
enum Op {
    Create,
    Reply,
    Status,
    Call,
    Queue,
    List,
    Thread,
    Search,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Reply => "reply",
            Op::Status => "status",
            Op::Call => "call",
            Op::Queue => "queue",
            Op::List => "list",
            Op::Thread => "thread",
            Op::Search => "search",
        }
    }
}

#[derive(Default)]
struct Minute {
    latencies_us: Vec<u64>,
    errors: u64,
    /// The slowest request of the minute: its latency and what it was.
    slowest: (u64, &'static str),
}

/// What the machine did, counted since the soak began.
#[derive(Default, Clone, Copy)]
struct MachineCounters {
    /// CPU time stolen by the hypervisor, ms (all CPUs).
    steal_ms: u64,
    /// Time every non-idle task stalled on I/O at once, ms.
    io_full_ms: u64,
}

impl MachineCounters {
    fn read() -> Self {
        // /proc/stat: "cpu user nice system idle iowait irq softirq steal ..." in
        // clock ticks (USER_HZ, 100 on Linux).
        let steal_ms = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines().next().and_then(|l| {
                    l.split_whitespace()
                        .nth(8)
                        .and_then(|v| v.parse::<u64>().ok())
                })
            })
            .map_or(0, |ticks| ticks * 10);
        // /proc/pressure/io: "full avg10=… avg60=… avg300=… total=<µs>".
        let io_full_ms = std::fs::read_to_string("/proc/pressure/io")
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("full")).and_then(|l| {
                    l.rsplit("total=")
                        .next()
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
            })
            .map_or(0, |us| us / 1000);
        MachineCounters {
            steal_ms,
            io_full_ms,
        }
    }
}

/// Sleep 50 ms over and over on an OS thread of its own and keep the longest
/// overrun since last taken: a stall that the soak's client sees too is the
/// machine's, not the server's.
fn spawn_stall_meter() -> Arc<AtomicU64> {
    let worst = Arc::new(AtomicU64::new(0));
    let w = worst.clone();
    std::thread::spawn(move || loop {
        let t = Instant::now();
        std::thread::sleep(Duration::from_millis(50));
        let over = t.elapsed().saturating_sub(Duration::from_millis(50));
        w.fetch_max(over.as_micros() as u64, Ordering::Relaxed);
    });
    worst
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    token: String,
    orgs: Vec<String>,
    /// Thread numbers this run created, to reply to and page through.
    numbers: Mutex<Vec<i64>>,
    n: AtomicU64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proc_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn proc_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

async fn db_size_bytes(url: &str, pg: Option<&sea_orm::DatabaseConnection>) -> u64 {
    use sea_orm::ConnectionTrait;
    if let Some(db) = pg {
        let row = db
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_database_size(current_database())::bigint AS n",
            ))
            .await
            .ok()
            .flatten();
        return row
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .map_or(0, |n| n as u64);
    }
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
        .map(|m| m.len())
        .sum()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn run(ctx: &Ctx, op: Op) -> bool {
    let n = ctx.n.fetch_add(1, Ordering::Relaxed);
    let pick = |ctx: &Ctx| {
        let nums = ctx.numbers.lock().unwrap();
        if nums.is_empty() {
            None
        } else {
            Some(nums[(n as usize * 7919) % nums.len()])
        }
    };
    let org = &ctx.orgs[n as usize % ctx.orgs.len()];
    let url = |p: &str| format!("{}{p}", ctx.base);
    let auth = |r: reqwest::RequestBuilder| r.bearer_auth(&ctx.token);
    let res = match op {
        Op::Create => {
            let r = auth(ctx.http.post(url("/v1/threads")))
                .header("Idempotency-Key", format!("soak-{n}-{}", std::process::id()))
                .json(&json!({
                    "title": format!("電子カルテの表示が遅い（{n}）"),
                    "body": "本日午前から予約画面の表示に時間がかかります。再起動しても改善しません。",
                    "priority": "normal",
                    "organization_id": org,
                }))
                .send()
                .await;
            if let Ok(r) = res_ok(r, 201) {
                if let Ok(v) = r.json::<Value>().await {
                    if let Some(num) = v["number"].as_i64() {
                        ctx.numbers.lock().unwrap().push(num);
                    }
                }
                return true;
            }
            return false;
        }
        Op::Reply => match pick(ctx) {
            Some(num) => auth(ctx.http.post(url(&format!("/v1/threads/{num}/posts"))))
                .json(&json!({"body": "ご連絡ありがとうございます。ログを確認しております。"}))
                .send()
                .await
                .map(|r| r.status().as_u16() == 201),
            None => Ok(true),
        },
        Op::Status => match pick(ctx) {
            Some(num) => {
                // Read the version, then move it between open and pending.
                let got = auth(ctx.http.get(url(&format!("/v1/threads/{num}"))))
                    .send()
                    .await;
                match got {
                    Ok(g) if g.status().is_success() => {
                        let etag = g
                            .headers()
                            .get("etag")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let v: Value = g.json().await.unwrap_or(Value::Null);
                        let next = if v["status"] == "pending" {
                            "open"
                        } else {
                            "pending"
                        };
                        auth(ctx.http.patch(url(&format!("/v1/threads/{num}"))))
                            .header("If-Match", etag)
                            .json(&json!({"status": next}))
                            .send()
                            .await
                            // Another writer moved it first: a conflict, not a fault.
                            .map(|r| r.status().is_success() || r.status().as_u16() == 412)
                    }
                    Ok(_) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            None => Ok(true),
        },
        Op::Call => auth(ctx.http.post(url("/v1/calls")))
            .json(&json!({
                "organization_id": org,
                "caller_name": "受付 田中",
                "caller_number": "03-6413-0612",
                "direction": "inbound",
                "answered": true,
                "started_at": "2026-11-20T10:00:00+09:00",
                "ended_at": "2026-11-20T10:03:00+09:00",
                "summary": "予約システムの操作方法について",
            }))
            .send()
            .await
            .map(|r| r.status().as_u16() == 201),
        Op::Queue => get_ok(auth(ctx.http.get(url("/v1/queue")))).await,
        Op::List => get_ok(auth(ctx.http.get(url("/v1/threads?limit=20")))).await,
        Op::Thread => match pick(ctx) {
            Some(num) => get_ok(auth(ctx.http.get(url(&format!("/v1/threads/{num}"))))).await,
            None => Ok(true),
        },
        Op::Search => {
            let q = ["予約", "電子カルテ", "ログイン エラー", "FAX"][n as usize % 4];
            get_ok(auth(ctx.http.get(url("/v1/search")).query(&[("q", q)]))).await
        }
    };
    res.unwrap_or(false)
}

fn res_ok(r: reqwest::Result<reqwest::Response>, want: u16) -> Result<reqwest::Response, ()> {
    match r {
        Ok(r) if r.status().as_u16() == want => Ok(r),
        _ => Err(()),
    }
}

async fn get_ok(req: reqwest::RequestBuilder) -> reqwest::Result<bool> {
    let r = req.send().await?;
    let ok = r.status().is_success();
    // Read the body: a client does, and the server's work includes writing it.
    let _ = r.bytes().await;
    Ok(ok)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, password, pid, db_url] = args.as_slice() else {
        eprintln!("usage: soak BASE ADMIN_PASSWORD SERVER_PID DATABASE_URL");
        std::process::exit(2);
    };
    let pid: u32 = pid.parse().expect("SERVER_PID is a number");
    let minutes = env_u64("SOAK_MINUTES", 30);
    let rate = env_u64("SOAK_RATE", 500).max(1);
    let sample = Duration::from_secs(env_u64("SOAK_SAMPLE_SECS", 60).max(1));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "admin@localhost", "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login answer");
    let token = login["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let orgs: Value = http
        .get(format!("{base}/v1/organizations?limit=10"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("organizations")
        .json()
        .await
        .expect("organizations answer");
    let orgs: Vec<String> = orgs["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !orgs.is_empty(),
        "the database needs an organization (seed)"
    );
    let pg = if db_url.starts_with("postgres") {
        Some(
            sea_orm::Database::connect(db_url.as_str())
                .await
                .expect("database"),
        )
    } else {
        None
    };
    let ctx = Arc::new(Ctx {
        http,
        base: base.clone(),
        token,
        orgs,
        numbers: Mutex::new(Vec::new()),
        n: AtomicU64::new(0),
    });
    let minute = Arc::new(Mutex::new(Minute::default()));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(256));
    let skipped = Arc::new(AtomicU64::new(0));

    println!(
        "| min | RSS MiB | fds | db MiB | requests | errors | skipped | p50 ms | p99 ms | slowest | steal ms | stall ms | io full ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let stall = spawn_stall_meter();
    let mut counters = MachineCounters::read();
    let mut row = |i: u64, m: Minute, skipped: u64, db: u64| {
        let mut l = m.latencies_us;
        l.sort_unstable();
        let now = MachineCounters::read();
        println!(
            "| {i} | {:.1} | {} | {:.1} | {} | {} | {} | {:.2} | {:.2} | {:.0} {} | {} | {:.0} | {} |",
            proc_rss_kib(pid) as f64 / 1024.0,
            proc_fds(pid),
            db as f64 / 1_048_576.0,
            l.len(),
            m.errors,
            skipped,
            pct(&l, 0.50),
            pct(&l, 0.99),
            m.slowest.0 as f64 / 1000.0,
            m.slowest.1,
            now.steal_ms.saturating_sub(counters.steal_ms),
            stall.swap(0, Ordering::Relaxed) as f64 / 1000.0,
            now.io_full_ms.saturating_sub(counters.io_full_ms),
        );
        counters = now;
    };
    row(
        0,
        Minute::default(),
        0,
        db_size_bytes(db_url, pg.as_ref()).await,
    );

    let start = Instant::now();
    let end = start + Duration::from_secs(minutes * 60);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut next_sample = start + sample;
    let mut samples = 0;
    let mut i: usize = 0;
    while Instant::now() < end {
        tick.tick().await;
        if Instant::now() >= next_sample {
            samples += 1;
            next_sample += sample;
            let m = std::mem::take(&mut *minute.lock().unwrap());
            let s = skipped.swap(0, Ordering::Relaxed);
            row(samples, m, s, db_size_bytes(db_url, pg.as_ref()).await);
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let op = MIX[i % MIX.len()];
        i += 1;
        let (ctx, minute) = (ctx.clone(), minute.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let ok = run(&ctx, op).await;
            let us = t.elapsed().as_micros() as u64;
            let mut m = minute.lock().unwrap();
            m.latencies_us.push(us);
            if us > m.slowest.0 {
                m.slowest = (us, op.name());
            }
            if !ok {
                m.errors += 1;
            }
            drop(permit);
        });
    }
}
