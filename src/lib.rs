//! The madoguchi binary's library half: configuration and start-up, shared by
//! `main` and the end-to-end tests so both start exactly the same server.

pub mod backup;
pub mod config;
pub mod seed;

use std::time::Duration;

use madoguchi_api::{
    app::clock::Clock,
    security::tokens::JwtKeys,
    security::totp::Sealer,
    service::bootstrap::{self, AdminBootstrap},
    service::{jobs::Jobs, webhooks::dispatcher::FanOut},
    ApiConfig, AppState,
};
use madoguchi_domain::calendar::CalendarRules;
use madoguchi_persistence::DbOptions;
use poem::{
    listener::{Acceptor, Listener, TcpListener},
    Server,
};

pub use config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Naming the variable: the URL is what the operator fixes.
    #[error("DATABASE_URL: {0}")]
    Connect(#[from] madoguchi_persistence::ConnectError),
    #[error("reading the business calendar: {0}")]
    Calendar(String),
    #[error("{0}")]
    Bootstrap(String),
    #[error("MADOGUCHI_LISTEN: cannot listen on {addr}: {message}")]
    Listen { addr: String, message: String },
}

/// Open the database, run migrations and settle the token secret, on the
/// system clock. The first admin is created later, by [`ensure_admin`], once the
/// port is bound.
pub async fn prepare(config: &Config) -> Result<AppState, StartError> {
    prepare_with_clock(config, Clock::system()).await
}

/// [`prepare`] with a given clock (tests pass an adjustable one).
pub async fn prepare_with_clock(config: &Config, clock: Clock) -> Result<AppState, StartError> {
    let pools = madoguchi_persistence::connect(&DbOptions {
        url: config.database_url.clone(),
        max_connections: config.db_max_connections,
        connect_timeout: Duration::from_millis(config.db_timeout_ms),
    })
    .await?;
    let db = pools.write.clone();
    let secret = bootstrap::jwt_secret(&db, config.jwt_secret.as_deref())
        .await
        .map_err(|e| StartError::Bootstrap(format!("settling the token secret: {e}")))?;
    let totp_key = bootstrap::totp_key(&db, config.totp_key)
        .await
        .map_err(|e| StartError::Bootstrap(format!("settling the TOTP key: {e}")))?;
    let api_config = ApiConfig {
        token_ttl: chrono::Duration::seconds(config.token_ttl_seconds),
        max_body_bytes: config.max_body_bytes,
        trust_forwarded_for: config.trust_forwarded_for,
        proxies: config.trusted_proxies.clone(),
        warn_permille: config.sla_warning_percent * 10,
        api_key_rate_per_minute: config.api_key_rate_per_minute,
        user_rate_per_minute: config.user_rate_per_minute,
        metrics_token: config.metrics_token.clone(),
        web_idle: chrono::Duration::minutes(config.web_idle_minutes),
        secure_cookies: config.secure_cookies,
        cors_origins: config.cors_origins.clone(),
        webhooks: madoguchi_api::app::state::WebhookConfig {
            allow_http: config.webhook_allow_http,
            allow_private: config.webhook_allow_private,
            timeout: std::time::Duration::from_millis(config.webhook_timeout_ms),
            poll: std::time::Duration::from_millis(config.webhook_poll_ms),
            proxy: config.webhook_proxy.clone(),
        },
        ..ApiConfig::default()
    };
    let rules = CalendarRules {
        schedule: config.business_hours.clone(),
        year_end_closure: config.year_end_closure,
        ..CalendarRules::default()
    };
    let state = AppState::new(
        pools,
        JwtKeys::from_secret(&secret),
        Sealer::new(&totp_key),
        api_config,
        rules,
        clock,
    );
    state
        .calendar
        .refresh(&state.db)
        .await
        .map_err(|e| StartError::Calendar(e.to_string()))?;
    madoguchi_api::service::outbox::register::<FanOut>(&state)
        .await
        .map_err(|e| StartError::Bootstrap(format!("registering the outbox's readers: {e}")))?;
    Ok(state)
}

/// Create the first admin if there is none. Call it after [`bind`] succeeded:
/// a generated password is then printed by a server that goes on serving.
pub async fn ensure_admin(state: &AppState, config: &Config) -> Result<AdminBootstrap, StartError> {
    bootstrap::ensure_admin(state, &config.admin_email, config.admin_password.as_deref())
        .await
        .map_err(|e| StartError::Bootstrap(format!("creating the first admin: {e}")))
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
/// Background work (calendar refresh, SLA sweeps, scheduled jobs, webhook
/// delivery) runs alongside and stops with the server.
pub async fn serve(
    acceptor: impl Acceptor + 'static,
    state: AppState,
    timing: Timing,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let refresher = tokio::spawn(refresh_calendar(state.clone(), timing.calendar_poll));
    let sweeper = tokio::spawn(sweep_sla(state.clone(), timing.sweep));
    let jobs = tokio::spawn(run_jobs(state.clone(), standard_jobs(), timing.sweep));
    let beat = tokio::spawn(heartbeat(state.clone()));
    let leaving = state.clone();
    let dispatcher = tokio::spawn(madoguchi_api::service::webhooks::dispatcher::run(
        state.clone(),
    ));
    let result = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            madoguchi_api::app(state),
            shutdown,
            Some(Duration::from_secs(10)),
        )
        .await;
    refresher.abort();
    sweeper.abort();
    jobs.abort();
    dispatcher.abort();
    beat.abort();
    // A clean stop says so, so nobody waits out the grace period for our claims.
    if let Err(e) =
        madoguchi_persistence::instances::leave(&leaving.db, leaving.instance_id, leaving.now())
            .await
    {
        tracing::warn!(error = %e, "could not sign this instance off");
    }
    result
}

/// Say every few seconds that this instance is alive: a claim it holds is
/// orphaned only once the beats stop (`api::state::INSTANCE_GRACE`).
async fn heartbeat(state: AppState) {
    let mut tick = tokio::time::interval(madoguchi_api::app::state::HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) =
            madoguchi_persistence::instances::heartbeat(&state.db, state.instance_id, state.now())
                .await
        {
            tracing::warn!(error = %e, "heartbeat failed; will retry");
        }
    }
}

/// Every scheduled job the server runs.
pub fn standard_jobs() -> Jobs {
    Jobs::of(vec![
        std::sync::Arc::new(madoguchi_api::service::housekeeping::Purge),
        std::sync::Arc::new(madoguchi_api::service::audit_trail::MonthlyCheck),
    ])
}

/// Run the scheduled jobs (`service::jobs`) whose occurrences have come due,
/// on the sweep's tick: each occurrence runs on exactly one instance.
async fn run_jobs(state: AppState, jobs: Jobs, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = madoguchi_api::service::jobs::run_due(&state, &jobs, state.now()).await {
            tracing::warn!(error = %e, "running scheduled jobs failed; will retry");
        }
    }
}

/// `madoguchi healthcheck`: ask `/readyz` of the server configured to listen on
/// `listen` (an unspecified address such as 0.0.0.0 means this host), for a
/// container's HEALTHCHECK without curl in the image. Plain HTTP/1.0 over std:
/// one request, no dependency.
pub fn healthcheck(listen: std::net::SocketAddr) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let timeout = Duration::from_secs(3);
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("{addr}: {e}"))?;
    stream
        .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{addr}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status = line.lines().next().unwrap_or("").to_owned();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("{addr}/readyz answered {status:?}"))
    }
}

/// How often background work runs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub calendar_poll: Duration,
    pub sweep: Duration,
}

impl Timing {
    pub fn from_config(c: &Config) -> Self {
        Timing {
            calendar_poll: Duration::from_millis(c.calendar_poll_ms),
            sweep: Duration::from_millis(c.sweep_ms),
        }
    }
}

/// Record SLA warnings and breaches as they come due. Every instance runs it;
/// on PostgreSQL they share the work through row locks, so each event is
/// recorded exactly once.
async fn sweep_sla(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match madoguchi_api::service::board::sweep(&state, state.now()).await {
            Ok(0) => state.metrics.sla_swept(0),
            Ok(n) => {
                state.metrics.sla_swept(n);
                state.webhook_wake.notify_one();
                tracing::info!(events = n, "SLA sweeper recorded events")
            }
            Err(e) => tracing::warn!(error = %e, "SLA sweep failed; will retry"),
        }
    }
}

/// Pick up calendar changes made through another instance: a cheap read of the
/// stored revision, and a rebuild (milliseconds) only when it changed.
async fn refresh_calendar(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.calendar.refresh(&state.db).await {
            Ok(true) => tracing::info!("business calendar rebuilt after a change"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "calendar refresh failed; keeping the previous tables")
            }
        }
    }
}
