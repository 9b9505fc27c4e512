//! The real binary as an operator runs it: several instances started at once on
//! a new database, a start that cannot bind its port, the command line's help
//! and its admin password reset, an unreachable database.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{fresh_database, Backing};

/// A madoguchi process whose output is collected as it runs; killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    out: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn command(database_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_madoguchi"));
    c.env_clear()
        .env("DATABASE_URL", database_url)
        .env("MADOGUCHI_LISTEN", "127.0.0.1:0")
        .env("MADOGUCHI_ADMIN_EMAIL", "admin@madoguchi.test")
        .env("MADOGUCHI_DB_MAX_CONNECTIONS", "2")
        .env("MADOGUCHI_LOG", "info");
    c
}

pub(crate) fn start(mut c: Command) -> Server {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start madoguchi");
    let out = Arc::new(Mutex::new(String::new()));
    let pipes: [Box<dyn std::io::Read + Send>; 2] = [
        Box::new(child.stdout.take().expect("stdout")),
        Box::new(child.stderr.take().expect("stderr")),
    ];
    for pipe in pipes {
        let out = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut o = out.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
    }
    Server { child, out }
}

impl Server {
    pub(crate) fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait until the server says where it serves, or until it exits.
    pub(crate) async fn address(&mut self) -> Result<String, String> {
        let started = Instant::now();
        loop {
            let out = self.output();
            if let Some(addr) = out
                .lines()
                .find(|l| l.contains("madoguchi is serving"))
                .and_then(|l| l.split("listen=").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
            {
                return Ok(addr.to_owned());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the readers drain what the process wrote last.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!("exited with {status}: {}", self.output()));
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!("not serving after 60 s: {out}"));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Wait for the process to end by itself; its exit code.
    async fn exit_code(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return status.code();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "still running: {}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The password a start or a reset printed once.
fn printed_password(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_owned())
}

async fn login(client: &reqwest::Client, addr: &str, password: &str) -> StatusCode {
    client
        .post(format!("http://{addr}/v1/auth/login"))
        .json(&json!({"email": "admin@madoguchi.test", "password": password}))
        .send()
        .await
        .expect("login request")
        .status()
}

#[tokio::test]
async fn instances_started_together_on_a_new_database_all_come_up() {
    let (url, _db) = fresh_database().await;
    let mut servers: Vec<Server> = (0..3)
        .map(|_| {
            let mut c = command(&url);
            c.env("MADOGUCHI_ADMIN_PASSWORD", "test-admin-password-0001");
            start(c)
        })
        .collect();
    let client = reqwest::Client::new();
    for s in &mut servers {
        let addr = s.address().await.unwrap_or_else(|e| panic!("{e}"));
        let ready = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "{}", s.output());
        assert_eq!(
            login(&client, &addr, "test-admin-password-0001").await,
            StatusCode::OK
        );
    }
    // One admin, created once; the log is plain text, not terminal colours.
    for s in &servers {
        assert!(!s.output().contains('\u{1b}'), "{}", s.output());
    }
    let created = servers
        .iter()
        .filter(|s| s.output().contains("created the first admin"))
        .count();
    assert_eq!(created, 1);
}

#[tokio::test]
async fn the_first_admin_password_is_printed_only_by_a_start_that_serves() {
    let (url, _db) = fresh_database().await;
    // The port is taken: the start fails, naming the port, and prints no password.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let mut c = command(&url);
    c.env("MADOGUCHI_LISTEN", format!("127.0.0.1:{port}"));
    let mut failed = start(c);
    assert_eq!(failed.exit_code().await, Some(1));
    let out = failed.output();
    assert!(
        out.contains(&format!(
            "MADOGUCHI_LISTEN: cannot listen on 127.0.0.1:{port}"
        )),
        "{out}"
    );
    assert_eq!(printed_password(&out), None, "{out}");
    drop(busy);

    // The next start serves, and it is the one that prints the password.
    let mut server = start(command(&url));
    let addr = server.address().await.unwrap_or_else(|e| panic!("{e}"));
    let out = server.output();
    let first = printed_password(&out).unwrap_or_else(|| panic!("no password in {out}"));
    let client = reqwest::Client::new();
    assert_eq!(login(&client, &addr, &first).await, StatusCode::OK);

    // The container HEALTHCHECK: ready on the configured address, not elsewhere.
    let mut check = command(&url);
    check.arg("healthcheck").env("MADOGUCHI_LISTEN", &addr);
    assert_eq!(start(check).exit_code().await, Some(0));
    let mut check = command(&url);
    check
        .arg("healthcheck")
        .env("MADOGUCHI_LISTEN", format!("127.0.0.1:{port}"));
    let mut check = start(check);
    assert_eq!(check.exit_code().await, Some(1));
    assert!(check.output().contains("not ready"), "{}", check.output());

    // Lost anyway? The operator sets a new one from the command line.
    let mut reset = command(&url);
    reset.arg("reset-admin-password");
    let mut reset = start(reset);
    assert_eq!(reset.exit_code().await, Some(0), "{}", reset.output());
    let second = printed_password(&reset.output())
        .unwrap_or_else(|| panic!("no password in {}", reset.output()));
    assert_ne!(first, second);
    assert_eq!(
        login(&client, &addr, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&client, &addr, &second).await, StatusCode::OK);
    // It is in the audit trail as the system's doing.
    let token = admin_token(&client, &addr, &second).await;
    let audit: Value = client
        .get(format!(
            "http://{addr}/v1/audit-events?action=user.password_reset"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actor_type"], "system");

    // An email that is not an admin's is refused, and nothing changes.
    let mut wrong = command(&url);
    wrong.args(["reset-admin-password", "--email", "nobody@madoguchi.test"]);
    let mut wrong = start(wrong);
    assert_eq!(wrong.exit_code().await, Some(1));
    assert!(
        wrong.output().contains("no admin account has the email"),
        "{}",
        wrong.output()
    );
    assert_eq!(login(&client, &addr, &second).await, StatusCode::OK);
}

#[tokio::test]
async fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "serve",
        "healthcheck",
        "openapi",
        "reset-admin-password",
        "seed",
        "seed-audit",
        "backup",
        "restore",
        "help",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} missing from {text}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--help"));
}

#[tokio::test]
async fn an_unreachable_postgresql_is_named_at_once() {
    // Port 1 on loopback: nothing listens there, the kernel refuses at once.
    let started = Instant::now();
    let mut s = start(command("postgres://postgres@127.0.0.1:1/madoguchi"));
    assert_eq!(s.exit_code().await, Some(1));
    let out = s.output();
    assert!(
        out.contains("DATABASE_URL: cannot connect to the database")
            && out.to_lowercase().contains("connection refused"),
        "{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} to say so",
        started.elapsed()
    );
}

/// Run one of the binary's commands to its end: (exit code, everything it printed).
fn run(database_url: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .env_clear()
        .env("DATABASE_URL", database_url)
        .args(args)
        .output()
        .expect("run madoguchi");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The JSON answer of the server at `addr` to a GET of `path`, or to a POST of
/// `body` when one is given.
pub(crate) async fn call(
    client: &reqwest::Client,
    addr: &str,
    token: &str,
    path: &str,
    body: Option<&Value>,
) -> Value {
    let url = format!("http://{addr}{path}");
    let req = match body {
        Some(b) => client.post(url).json(b),
        None => client.get(url),
    };
    req.bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn admin_token(client: &reqwest::Client, addr: &str, password: &str) -> String {
    let v: Value = client
        .post(format!("http://{addr}/v1/auth/login"))
        .json(&json!({"email": "admin@madoguchi.test", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().expect("token").to_owned()
}

/// Every thread number and title the server lists, walking all pages.
async fn all_threads(client: &reqwest::Client, addr: &str, token: &str) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut path = "/v1/threads?limit=200".to_owned();
    loop {
        let page = call(client, addr, token, &path, None).await;
        for t in page["items"].as_array().unwrap() {
            out.push((
                t["number"].as_i64().unwrap(),
                t["title"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/threads?limit=200&cursor={c}"),
            None => break,
        }
    }
    out.sort();
    out
}

/// A backup taken while a clinic keeps writing holds everything acknowledged
/// before it began, and a server started on its restored copy serves it with
/// an audit chain that verifies. SQLite: `madoguchi backup` / `restore`;
/// PostgreSQL: the README's `pg_dump` / `pg_restore` commands.
#[tokio::test]
async fn a_backup_taken_while_clinics_write_restores_to_a_server_with_the_same_threads() {
    let (url, _db) = fresh_database().await;
    let password = "test-admin-password-0001";
    let mut c = command(&url);
    c.env("MADOGUCHI_ADMIN_PASSWORD", password)
        .env("MADOGUCHI_USER_RATE_PER_MINUTE", "0");
    let mut server = start(c);
    let addr = server.address().await.expect("serving");
    let client = reqwest::Client::new();
    let admin = admin_token(&client, &addr, password).await;
    let org = call(
        &client,
        &addr,
        &admin,
        "/v1/organizations",
        Some(&json!({"name": "ひまわり小児科"})),
    )
    .await;
    let create = {
        let (client, addr, admin, org) = (
            client.clone(),
            addr.clone(),
            admin.clone(),
            org["id"].clone(),
        );
        move |i: usize| {
            let (client, addr, admin, org) =
                (client.clone(), addr.clone(), admin.clone(), org.clone());
            async move {
                let r = client
                .post(format!("http://{addr}/v1/threads"))
                .bearer_auth(&admin)
                .json(&json!({"title": format!("バックアップ中の問い合わせ{i}"), "body": "本文", "organization_id": org}))
                .send()
                .await
                .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                r.json::<Value>().await.unwrap()["number"].as_i64().unwrap()
            }
        }
    };
    let mut before = Vec::new();
    for i in 0..30 {
        before.push(create(i).await);
    }
    // A clinic goes on writing while the copy is taken.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        let create = create.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                create(1000 + n).await;
                n += 1;
                written.store(n, std::sync::atomic::Ordering::Relaxed);
            }
            n
        })
    };
    // The copy starts once the clinic is writing.
    let started = Instant::now();
    while written.load(std::sync::atomic::Ordering::Relaxed) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the writer never wrote"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = std::env::temp_dir().join(format!(
        "madoguchi-backup-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("copy");
    let pg = url.starts_with("postgres");
    let backup = file.display().to_string();
    let (code, out) = if pg {
        let out = Command::new("pg_dump")
            .args([
                "--format=custom",
                "--no-owner",
                &format!("--file={backup}"),
                &url,
            ])
            .output()
            .expect("pg_dump on PATH");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    } else {
        run(&url, &["backup", "--to", &backup])
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = writer.await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(during > 0, "the clinic wrote during the backup");
    if !pg {
        assert!(
            out.contains("audit chain of") && out.contains("verifies"),
            "{out}"
        );
        // Never over an existing file.
        let (code, out) = run(&url, &["backup", "--to", &backup]);
        assert_eq!(code, Some(1));
        assert!(out.contains("already exists"), "{out}");
    }
    let served_then = all_threads(&client, &addr, &admin).await;
    drop(server);

    // Restore into a new database and serve it.
    let (restored_url, _restored): (String, Backing) = if pg {
        let (new_url, backing) = fresh_database().await;
        let out = Command::new("pg_restore")
            .args(["--no-owner", &format!("--dbname={new_url}"), &backup])
            .output()
            .expect("pg_restore on PATH");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (new_url, backing)
    } else {
        let path = dir.join("restored.db");
        let new_url = format!("sqlite://{}?mode=rwc", path.display());
        let (code, out) = run(&new_url, &["restore", "--from", &backup]);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("restored"), "{out}");
        // A second restore would overwrite: refused.
        let (code, out) = run(&new_url, &["restore", "--from", &backup]);
        assert_eq!(code, Some(1));
        assert!(out.contains("never overwrites"), "{out}");
        (new_url, Backing::Sqlite(path))
    };
    let mut again = start(command(&restored_url));
    let addr = again.address().await.expect("the restored database serves");
    let admin = admin_token(&client, &addr, password).await;
    let restored = all_threads(&client, &addr, &admin).await;
    for n in &before {
        assert!(
            restored.iter().any(|(m, _)| m == n),
            "thread {n}, acknowledged before the backup, is missing"
        );
    }
    // Nothing the live server did not have, each as it was.
    for t in &restored {
        assert!(served_then.contains(t), "{t:?} was not served before");
    }
    let numbers: std::collections::HashSet<i64> = restored.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers.len(), restored.len(), "no thread twice");
    let v = call(&client, &addr, &admin, "/v1/audit-events/verify", None).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_u64().unwrap() > 30);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
