//! `madoguchi` serves the API; `madoguchi --help` lists the other commands.

use std::io::IsTerminal;

use madoguchi::{bind, ensure_admin, prepare, serve, Config};
use madoguchi_api::service::bootstrap::{self, AdminBootstrap};
use poem::listener::Acceptor;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: SQLite rows are copied value by value on
/// sqlx's worker thread and freed on a tokio worker, a cross-thread pattern
/// glibc serves with locked arenas (a quarter of an audit verify's time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("madoguchi: {message}");
    std::process::exit(1);
}

const HELP: &str = "\
madoguchi: the support-desk backend (REST API under /v1, OpenAPI at /openapi.json)

Usage: madoguchi [COMMAND]

Commands:
  serve                      Serve HTTP (the default when no command is given)
  openapi                    Print the OpenAPI document
  reset-admin-password [--email EMAIL]
                             Give an admin account a new password (MADOGUCHI_ADMIN_PASSWORD,
                             or a generated one printed once), reactivate it and revoke its
                             sessions; audited. EMAIL defaults to MADOGUCHI_ADMIN_EMAIL
  healthcheck                Exit 0 when the server on MADOGUCHI_LISTEN answers /readyz with 200
                             (for a container HEALTHCHECK)
  backup --to FILE           Copy the SQLite database into the new FILE while servers run
                             (one consistent snapshot), then check the copy: integrity and
                             the audit chain. PostgreSQL: pg_dump (see the README)
  restore --from FILE        Check a backup and write it as DATABASE_URL's file, which must
                             not exist yet; then start the server on it
  scrub                      After an erasure, rewrite the tables it touched so no byte of the
                             erased text stays in their files (PostgreSQL: VACUUM FULL, which
                             locks each table while it is copied: run it in a maintenance
                             window; SQLite: a checkpoint, as every erasure already does)
  seed [--threads N] [--posts-per-thread M]
                             Write benchmark threads straight to the database
  seed-audit N               Append N chained audit entries, for verify/export benchmarks
  help, --help, -h           Show this text

Configuration comes from the environment (DATABASE_URL, MADOGUCHI_*); see the README.
";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => {}
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            return;
        }
        Some("openapi") => {
            println!("{}", madoguchi_api::openapi_json());
            return;
        }
        Some("seed") => {
            seed(&args[1..]).await;
            return;
        }
        Some("seed-audit") => {
            let n = args
                .get(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| fail("seed-audit needs a number of entries"));
            let config = Config::from_env().unwrap_or_else(|e| fail(e));
            let state = prepare(&config).await.unwrap_or_else(|e| fail(e));
            match madoguchi::seed::seed_audit(&state.db, n).await {
                Ok(secs) => eprintln!("appended {n} chained audit entries in {secs:.1} s"),
                Err(e) => fail(format!("seed-audit failed: {e}")),
            }
            return;
        }
        Some("healthcheck") => {
            let config = Config::from_env().unwrap_or_else(|e| fail(e));
            if let Err(e) = madoguchi::healthcheck(config.listen) {
                fail(format!("not ready: {e}"));
            }
            return;
        }
        Some("scrub") => {
            let config = Config::from_env().unwrap_or_else(|e| fail(e));
            let state = prepare(&config).await.unwrap_or_else(|e| fail(e));
            let started = std::time::Instant::now();
            match madoguchi_persistence::erasure::scrub_files(
                &state.db,
                std::time::Duration::from_secs(30),
                madoguchi_persistence::erasure::Scrub::Full,
            )
            .await
            {
                Ok(()) => eprintln!(
                    "scrubbed the tables an erasure touches in {:.1} s",
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => fail(format!("scrub failed: {e}")),
            }
            return;
        }
        Some("reset-admin-password") => {
            reset_admin_password(&args[1..]).await;
            return;
        }
        Some(cmd @ ("backup" | "restore")) => {
            let flag = if cmd == "backup" { "--to" } else { "--from" };
            let file = match &args[1..] {
                [f, file] if f == flag => std::path::PathBuf::from(file),
                _ => fail(format!("usage: madoguchi {cmd} {flag} FILE")),
            };
            let config = Config::from_env().unwrap_or_else(|e| fail(e));
            let done = if cmd == "backup" {
                madoguchi::backup::backup(&config, &file).await
            } else {
                madoguchi::backup::restore(&config, &file).await
            };
            match done {
                Ok(report) => eprintln!("{report}"),
                Err(e) => fail(format!("{cmd}: {e}")),
            }
            return;
        }
        Some(other) => fail(format!(
            "unknown command {other:?}; `madoguchi --help` lists the commands"
        )),
    }

    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    let filter =
        EnvFilter::try_new(&config.log).unwrap_or_else(|e| fail(format!("MADOGUCHI_LOG: {e}")));
    // Colour only for a person at a terminal; a log file or collector gets plain text.
    let ansi = std::io::stdout().is_terminal();
    if config.log_json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(ansi)
            .init();
    }

    let state = prepare(&config).await.unwrap_or_else(|e| fail(e));
    // Bind before creating the first admin: a start that cannot serve (a busy
    // port) must not use up the one printing of a generated password.
    let acceptor = bind(config.listen).await.unwrap_or_else(|e| fail(e));
    match ensure_admin(&state, &config)
        .await
        .unwrap_or_else(|e| fail(e))
    {
        AdminBootstrap::Existing => {}
        AdminBootstrap::Created { email } => {
            tracing::info!(%email, "created the first admin with the configured password")
        }
        AdminBootstrap::Generated { email, password } => {
            // Printed once, to the terminal only (never to the log stream).
            eprintln!();
            eprintln!("  First start: an admin account was created.");
            eprintln!("    email:    {email}");
            eprintln!("    password: {password}");
            eprintln!("  It is shown only this once. Log in and change it (POST /v1/me/password);");
            eprintln!("  if it is lost, `madoguchi reset-admin-password` sets a new one.");
            eprintln!();
        }
    }
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(config.listen);
    tracing::info!(listen = %local, "madoguchi is serving");
    if let Err(e) = serve(
        acceptor,
        state,
        madoguchi::Timing::from_config(&config),
        shutdown_signal(),
    )
    .await
    {
        fail(format!("server stopped: {e}"));
    }
    tracing::info!("shut down cleanly");
}

/// `madoguchi reset-admin-password [--email EMAIL]`.
async fn reset_admin_password(args: &[String]) {
    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    let email = match args {
        [] => config.admin_email.clone(),
        [flag, email] if flag == "--email" => email.clone(),
        _ => fail("usage: madoguchi reset-admin-password [--email EMAIL]"),
    };
    let state = prepare(&config).await.unwrap_or_else(|e| fail(e));
    match bootstrap::reset_admin_password(&state, &email, config.admin_password.as_deref()).await {
        Ok(done) => {
            eprintln!(
                "The admin {} has a new password; {} session(s) were ended.",
                done.email, done.revoked_sessions
            );
            match done.generated {
                Some(password) => {
                    eprintln!("    password: {password}");
                    eprintln!("  It is shown only this once.");
                }
                None => eprintln!("  It is the one in MADOGUCHI_ADMIN_PASSWORD."),
            }
        }
        Err(e) => fail(format!("reset-admin-password: {e}")),
    }
}

/// `madoguchi seed [--threads N] [--posts-per-thread M]`: benchmark data.
async fn seed(args: &[String]) {
    let mut threads = 1000u64;
    let mut posts = 5u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let val = || -> u64 {
            it.clone()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| fail(format!("{a} needs a number")))
        };
        match a.as_str() {
            "--threads" => threads = val(),
            "--posts-per-thread" => posts = val(),
            other => fail(format!("unknown seed option {other:?}")),
        }
        it.next();
    }
    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    let state = prepare(&config).await.unwrap_or_else(|e| fail(e));
    eprintln!(
        "seeding {threads} threads with {posts} posts each into {}",
        config.database_url.split('@').next_back().unwrap_or("")
    );
    match madoguchi::seed::seed(&state.db, threads, posts).await {
        Ok(r) => eprintln!(
            "seeded {} threads and {} posts in {:.1} s: {:.0} threads/s written straight to the database, one transaction per thread",
            r.threads, r.posts, r.seconds, r.threads as f64 / r.seconds
        ),
        Err(e) => fail(format!("seed failed: {e}")),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
