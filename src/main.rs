//! `madoguchi` serves the API; `madoguchi openapi` prints the OpenAPI document.

use madoguchi::{bind, prepare, serve, Config};
use madoguchi_api::service::bootstrap::AdminBootstrap;
use poem::listener::Acceptor;
use tracing_subscriber::EnvFilter;

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
        Some(other) => fail(format!(
            "unknown command {other:?}; use `madoguchi` or `madoguchi openapi`"
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
