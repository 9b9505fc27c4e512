//! The madoguchi binary's library half: configuration and start-up, shared by
//! `main` and the end-to-end tests so both start exactly the same server.

pub mod config;

use std::time::Duration;

use madoguchi_api::{
    auth::JwtKeys,
    service::bootstrap::{self, AdminBootstrap},
    ApiConfig, AppState,
};
use madoguchi_persistence::DbOptions;
use poem::{
    listener::{Acceptor, Listener, TcpListener},
    Server,
};

pub use config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("DATABASE_URL: cannot open the database: {0}")]
    Database(String),
    #[error("{0}")]
    Bootstrap(String),
    #[error("MADOGUCHI_LISTEN: cannot listen on {addr}: {message}")]
    Listen { addr: String, message: String },
}

/// Open the database, run migrations, settle the token secret and the first admin.
pub async fn prepare(config: &Config) -> Result<(AppState, AdminBootstrap), StartError> {
    let db = madoguchi_persistence::connect(&DbOptions {
        url: config.database_url.clone(),
        max_connections: config.db_max_connections,
        connect_timeout: Duration::from_secs(10),
    })
    .await
    .map_err(|e| StartError::Database(e.to_string()))?;
    let secret = bootstrap::jwt_secret(&db, config.jwt_secret.as_deref())
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;
    let admin = bootstrap::ensure_admin(&db, &config.admin_email, config.admin_password.as_deref())
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;
    let api_config = ApiConfig {
        token_ttl: chrono::Duration::seconds(config.token_ttl_seconds),
        max_body_bytes: config.max_body_bytes,
        trust_forwarded_for: config.trust_forwarded_for,
        ..ApiConfig::default()
    };
    Ok((
        AppState::new(db, JwtKeys::from_secret(&secret), api_config),
        admin,
    ))
}

/// Bind the listener; the returned acceptor knows its real port (useful with port 0).
pub async fn bind(addr: std::net::SocketAddr) -> Result<impl Acceptor, StartError> {
    TcpListener::bind(addr.to_string())
        .into_acceptor()
        .await
        .map_err(|e| StartError::Listen {
            addr: addr.to_string(),
            message: e.to_string(),
        })
}

/// Serve until `shutdown` resolves, then finish in-flight requests (up to 10 s).
pub async fn serve(
    acceptor: impl Acceptor + 'static,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            madoguchi_api::app(state),
            shutdown,
            Some(Duration::from_secs(10)),
        )
        .await
}
