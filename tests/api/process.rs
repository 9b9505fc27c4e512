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

use crate::helpers::fresh_database;

/// A madoguchi process whose output is collected as it runs; killed on drop.
struct Server {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(database_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_madoguchi"));
    c.env_clear()
        .env("DATABASE_URL", database_url)
        .env("MADOGUCHI_LISTEN", "127.0.0.1:0")
        .env("MADOGUCHI_ADMIN_EMAIL", "admin@madoguchi.test")
        .env("MADOGUCHI_DB_MAX_CONNECTIONS", "2")
        .env("MADOGUCHI_LOG", "info");
    c
}

fn start(mut c: Command) -> Server {
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
    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait until the server says where it serves, or until it exits.
    async fn address(&mut self) -> Result<String, String> {
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
    let token: Value = client
        .post(format!("http://{addr}/v1/auth/login"))
        .json(&json!({"email": "admin@madoguchi.test", "password": second}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audit: Value = client
        .get(format!(
            "http://{addr}/v1/audit-events?action=user.password_reset"
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
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
