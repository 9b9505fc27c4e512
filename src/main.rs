//! `madoguchi` serves the API; `madoguchi openapi` prints the OpenAPI document.

use madoguchi::{bind, prepare, serve, Config};
use madoguchi_api::service::bootstrap::AdminBootstrap;
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

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => {}
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
            let (state, _) = prepare(&config).await.unwrap_or_else(|e| fail(e));
            match madoguchi::seed::seed_audit(&state.db, n).await {
                Ok(secs) => eprintln!("appended {n} chained audit entries in {secs:.1} s"),
                Err(e) => fail(format!("seed-audit failed: {e}")),
            }
            return;
        }
        Some(other) => fail(format!(
            "unknown command {other:?}; use `madoguchi`, `madoguchi openapi` or `madoguchi seed`"
        )),
    }

    let config = Config::from_env().unwrap_or_else(|e| fail(e));
    let filter =
        EnvFilter::try_new(&config.log).unwrap_or_else(|e| fail(format!("MADOGUCHI_LOG: {e}")));
    if config.log_json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    let (state, admin) = prepare(&config).await.unwrap_or_else(|e| fail(e));
    match admin {
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
            eprintln!(
                "  It is shown only this once. Log in and change it (PATCH /v1/users/{{id}})."
            );
            eprintln!();
        }
    }
    let acceptor = bind(config.listen).await.unwrap_or_else(|e| fail(e));
    let local = acceptor
        .local_addr()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_else(|| config.listen.to_string());
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
    let (state, _) = prepare(&config).await.unwrap_or_else(|e| fail(e));
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
