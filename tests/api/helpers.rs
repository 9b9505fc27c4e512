//! `TestApp::spawn()` starts the whole server on a random port with its own fresh
//! database: a temp SQLite file, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set (dropped again when the test ends).

use std::net::SocketAddr;

use madoguchi::Config;
use madoguchi_api::app::clock::Clock;
use poem::listener::Acceptor;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@madoguchi.test";
pub const ADMIN_PASSWORD: &str = "test-admin-password-0001";
pub const PASSWORD: &str = "correct horse battery staple";
/// The clinic every [`Desk`] has, and its customer.
pub const CLINIC: &str = "さくら内科クリニック";
pub const CUSTOMER_EMAIL: &str = "tanaka@sakura.test";
/// A second clinic, for tests of what one clinic may not see of another.
pub const OTHER_CLINIC: &str = "あおば整形外科";
pub const OTHER_CUSTOMER_EMAIL: &str = "suzuki@aoba.test";
pub const AGENT_EMAIL: &str = "agent@madoguchi.test";

/// Routes written once, so a test names the resource rather than spelling its path.
pub mod route {
    pub fn thread(n: i64) -> String {
        format!("/v1/threads/{n}")
    }
    pub fn posts(n: i64) -> String {
        format!("/v1/threads/{n}/posts")
    }
    pub fn sla_events(n: i64) -> String {
        format!("/v1/threads/{n}/sla-events")
    }
    pub fn user(id: &str) -> String {
        format!("/v1/users/{id}")
    }
    pub fn organization(id: &str) -> String {
        format!("/v1/organizations/{id}")
    }
    pub fn call(id: &str) -> String {
        format!("/v1/calls/{id}")
    }
    pub fn announcement(id: &str) -> String {
        format!("/v1/announcements/{id}")
    }
}

/// The usual cast of a test: a server, its admin, one agent, and one clinic
/// with its customer (tokens signed in, the clinic's id).
pub struct Desk {
    pub app: TestApp,
    pub admin: String,
    pub agent: String,
    pub org: String,
    pub customer: String,
}

impl Desk {
    pub async fn new() -> Desk {
        Desk::on(TestApp::spawn().await).await
    }

    /// A desk whose servers' clock reads `at` (and runs on from there).
    pub async fn at(at: chrono::DateTime<chrono::Utc>) -> Desk {
        let app = TestApp::spawn().await;
        app.clock.set(at);
        Desk::on(app).await
    }

    pub async fn on(app: TestApp) -> Desk {
        let admin = app.admin().await;
        let (org, customer) = app.clinic(&admin, CLINIC, CUSTOMER_EMAIL).await;
        app.create_user(&admin, AGENT_EMAIL, "agent", None).await;
        let agent = app.login(AGENT_EMAIL, PASSWORD).await;
        Desk {
            app,
            admin,
            agent,
            org,
            customer,
        }
    }

    /// Move the servers' clock; tokens and sessions age with it, so everyone
    /// signs in again, as they would after a night.
    pub async fn advance(&mut self, by: chrono::Duration) {
        self.app.clock.advance(by);
        self.admin = self.app.admin().await;
        self.agent = self.app.login(AGENT_EMAIL, PASSWORD).await;
        self.customer = self.app.login(CUSTOMER_EMAIL, PASSWORD).await;
    }

    /// The second clinic and its customer's token.
    pub async fn other_clinic(&self) -> (String, String) {
        self.app
            .clinic(&self.admin, OTHER_CLINIC, OTHER_CUSTOMER_EMAIL)
            .await
    }
}

/// The value of the unlabelled metric `name` on the `/metrics` page at `url`
/// (0 before it is first counted).
pub async fn metric_at(client: &reqwest::Client, url: &str, name: &str) -> f64 {
    let text = client.get(url).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A snapshot less the audit trail: what a refused request (whose refusal is
/// itself audited) must leave as it was.
pub fn without_audit(s: &[(String, i64)]) -> Vec<(String, i64)> {
    s.iter()
        .filter(|(k, _)| !k.starts_with("audit"))
        .cloned()
        .collect()
}

/// The JSON body of a successful answer (fails the test on any other).
pub async fn ok_json(r: Response) -> Value {
    let s = r.status();
    let v: Value = r.json().await.expect("json body");
    assert!(s.is_success(), "{s}: {v}");
    v
}

/// A new, empty database of the backend under test: its URL, and the guard that
/// removes it when dropped.
pub async fn fresh_database() -> (String, Backing) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.trim().is_empty() => {
            let name = format!("madoguchi_test_{id}");
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("TEST_DATABASE_URL reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            drop(admin);
            (
                with_database(&admin_url, &name),
                Backing::Postgres { admin_url, name },
            )
        }
        _ => {
            let path = std::env::temp_dir().join(format!("madoguchi-test-{id}.db"));
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                Backing::Sqlite(path),
            )
        }
    }
}

pub enum Backing {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Drop for Backing {
    fn drop(&mut self) {
        match self {
            Backing::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Backing::Postgres { admin_url, name } => {
                let (url, name) = (admin_url.clone(), name.clone());
                // The test's runtime is shutting down; drop from a runtime of our own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(db) = Database::connect(url.as_str()).await {
                                let _ = db
                                    .execute_unprepared(&format!(
                                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                    ))
                                    .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The servers' clock: move it instead of sleeping or rewriting stored times.
    pub clock: Clock,
    pub client: reqwest::Client,
    pub db: sea_orm::DatabaseConnection,
    vars: Vec<(String, String)>,
    server: tokio::task::JoinHandle<()>,
    _backing: Backing,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Sibling {
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Sibling {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start(
    vars: &[(String, String)],
    clock: &Clock,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .expect("test config");
    let state = madoguchi::prepare_with_clock(&config, clock.clone())
        .await
        .expect("prepare");
    let acceptor = madoguchi::bind(config.listen).await.expect("bind");
    madoguchi::ensure_admin(&state, &config)
        .await
        .expect("first admin");
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .expect("socket address");
    let timing = madoguchi::Timing::from_config(&config);
    let server = tokio::spawn(async move {
        let _ = madoguchi::serve(acceptor, state, timing, std::future::pending()).await;
    });
    (addr, server)
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = base.rsplit_once('/').map(|(p, _)| p).unwrap_or(base);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Start with extra configuration variables.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        // `MADOGUCHI_TEST_LOG=warn cargo test` shows the servers' logs.
        if let Ok(filter) = std::env::var("MADOGUCHI_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let (database_url, backing) = fresh_database().await;
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), database_url.clone()),
            ("MADOGUCHI_LISTEN".into(), "127.0.0.1:0".into()),
            ("MADOGUCHI_ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
            ("MADOGUCHI_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("MADOGUCHI_DB_MAX_CONNECTIONS".into(), "4".into()),
            ("MADOGUCHI_CALENDAR_POLL_MS".into(), "200".into()),
            ("MADOGUCHI_SWEEP_MS".into(), "200".into()),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push((k.to_string(), v.to_string()));
        }
        let clock = Clock::adjustable();
        let (addr, server) = start(&vars, &clock).await;
        let db = Database::connect(database_url.as_str())
            .await
            .expect("test db handle");
        TestApp {
            addr,
            clock,
            client: reqwest::Client::new(),
            db,
            vars,
            server,
            _backing: backing,
        }
    }

    /// A second server on the same database, as another instance behind a load
    /// balancer. It shares this app's clock, as instances share real time.
    pub async fn sibling(&self) -> Sibling {
        let (addr, server) = start(&self.vars, &self.clock).await;
        Sibling { addr, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.req(Method::GET, path, token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.req(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn login_raw(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.login_raw(email, password).await;
        assert_eq!(r.status(), StatusCode::OK, "login of {email}");
        let v: Value = r.json().await.expect("json");
        v["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn create_org(&self, token: &str, name: &str) -> Value {
        let r = self
            .post("/v1/organizations", Some(token), &json!({"name": name}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "create org {name}");
        r.json().await.expect("json")
    }

    pub async fn create_user(
        &self,
        token: &str,
        email: &str,
        role: &str,
        org: Option<&str>,
    ) -> Value {
        let mut body = json!({"email": email, "display_name": "山田 花子", "role": role, "password": PASSWORD});
        if let Some(o) = org {
            body["organization_id"] = json!(o);
        }
        let r = self.post("/v1/users", Some(token), &body).await;
        assert_eq!(r.status(), StatusCode::CREATED, "create user {email}");
        r.json().await.expect("json")
    }

    /// A clinic with one customer; returns (org id, customer token).
    pub async fn clinic(&self, admin: &str, name: &str, email: &str) -> (String, String) {
        let org = self.create_org(admin, name).await;
        let id = org["id"].as_str().expect("id").to_owned();
        self.create_user(admin, email, "customer", Some(&id)).await;
        (id, self.login(email, PASSWORD).await)
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .await
    }

    /// Run SQL written with `$1` placeholders on either backend.
    pub async fn exec(&self, sql: &str, values: Vec<sea_orm::Value>) -> u64 {
        let backend = self.db.get_database_backend();
        let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
            let mut out = String::new();
            let mut it = sql.chars().peekable();
            while let Some(c) = it.next() {
                if c == '$' && it.peek().is_some_and(|d| d.is_ascii_digit()) {
                    out.push('?');
                    while let Some(d) = it.peek().copied().filter(|d| d.is_ascii_digit()) {
                        out.push(d);
                        it.next();
                    }
                } else {
                    out.push(c);
                }
            }
            out
        } else {
            sql.to_owned()
        };
        self.db
            .execute(Statement::from_sql_and_values(backend, sql, values))
            .await
            .expect("exec")
            .rows_affected()
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres
    }

    #[allow(dead_code)]
    pub fn database_url(&self) -> String {
        self.vars
            .iter()
            .find(|(k, _)| k == "DATABASE_URL")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub async fn create_thread(&self, token: &str, body: &Value) -> Value {
        let r = self.post("/v1/threads", Some(token), body).await;
        assert_eq!(r.status(), StatusCode::CREATED, "create thread");
        r.json().await.expect("json")
    }

    /// Post on thread `n` (`visibility` "public" when `None`).
    pub async fn reply(
        &self,
        token: &str,
        n: i64,
        body: &str,
        visibility: Option<&str>,
    ) -> Response {
        let mut b = json!({"body": body});
        if let Some(v) = visibility {
            b["visibility"] = json!(v);
        }
        self.post(&route::posts(n), Some(token), &b).await
    }

    pub async fn patch_thread(&self, token: &str, number: i64, body: &Value) -> Response {
        let cur = self.get(&route::thread(number), Some(token)).await;
        let etag = cur
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("GET /v1/threads/{number} answered no ETag"))
            .to_owned();
        self.req(Method::PATCH, &route::thread(number), Some(token))
            .header("If-Match", etag)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// What a request could have changed: the row count of every table, the
    /// sum of the versions of every versioned one (an update bumps it), and the
    /// counters (thread numbers, the audit chain's head). Equal snapshots mean
    /// nothing was written.
    pub async fn snapshot(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for t in [
            "organizations",
            "users",
            "sessions",
            "audit_events",
            "audit_chain_head",
            "idempotency_keys",
            "login_throttle",
            "calendar_overrides",
            "settings",
            "counters",
            "sla_policies",
            "threads",
            "thread_tags",
            "posts",
            "sla_clocks",
            "sla_clock_events",
            "outbox",
            "outbox_pending",
            "search_docs",
            "calls",
            "announcements",
            "announcement_organizations",
            "announcement_threads",
            "announcement_updates",
            "api_keys",
            "webhooks",
            "webhook_deliveries",
            "webhook_attempts",
        ] {
            out.push((t.to_owned(), self.count(t).await));
        }
        for t in [
            "organizations",
            "users",
            "sla_policies",
            "threads",
            "calls",
            "announcements",
            "webhooks",
        ] {
            out.push((
                format!("{t}.version"),
                self.scalar(&format!(
                    "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) AS n FROM {t}"
                ))
                .await,
            ));
        }
        out.push((
            "counters.value".into(),
            self.scalar("SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) AS n FROM counters")
                .await,
        ));
        out.push((
            "audit_chain_head.last_id".into(),
            self.scalar("SELECT COALESCE(MAX(last_id), 0) AS n FROM audit_chain_head")
                .await,
        ));
        out
    }

    /// One integer read with `SELECT … AS n`.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one(Statement::from_string(backend, sql.to_owned()))
            .await
            .expect(sql)
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// Read a problem response and check its shape.
pub async fn problem(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    let rid = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let v: Value = r.json().await.expect("problem json");
    assert_eq!(v["status"], json!(status));
    assert_eq!(v["type"], json!(format!("/problems/{code}")), "problem {v}");
    assert_eq!(v["code"], json!(code));
    assert!(v["title"].is_string());
    assert_eq!(
        v["instance"].as_str(),
        rid.as_deref(),
        "instance is the request id"
    );
    v
}

/// An instant written in Japan time.
pub fn jst(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&chrono::Utc)
}
