use std::sync::Arc;

use madoguchi_persistence::{Db, Pools};

use madoguchi_domain::calendar::CalendarRules;

use crate::{
    calendar_handle::CalendarHandle, clock::Clock, metrics::Metrics, service::opener::ThreadOpener,
    tokens::JwtKeys,
};

/// Settings the HTTP layer needs, read once by the binary.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Lifetime of an access token.
    pub token_ttl: chrono::Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: chrono::Duration,
    /// Share of an SLA target at which the warning fires, in per mille (750 = 75 %).
    pub warn_permille: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token_ttl: chrono::Duration::minutes(15),
            max_body_bytes: 1024 * 1024,
            trust_forwarded_for: false,
            idempotency_ttl: chrono::Duration::hours(24),
            warn_permille: 750,
        }
    }
}

/// Everything a handler may reach, shared by all requests.
#[derive(Clone)]
pub struct AppState {
    /// Transactions and anything that writes.
    pub db: Db,
    /// Plain reads; on SQLite read-only connections beside the one writer.
    pub read: Db,
    /// Where new threads are written, many per transaction under load.
    pub opener: ThreadOpener,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<ApiConfig>,
    pub metrics: Arc<Metrics>,
    pub calendar: Arc<CalendarHandle>,
    /// Where every "now" comes from: the system clock, or a test's adjustable one.
    pub clock: Clock,
}

impl AppState {
    /// Starts the thread writer: call on the tokio runtime that will serve.
    pub fn new(
        pools: Pools,
        jwt: JwtKeys,
        config: ApiConfig,
        calendar: CalendarRules,
        clock: Clock,
    ) -> Self {
        let calendar = Arc::new(CalendarHandle::new(calendar));
        let metrics = Arc::new(Metrics::new());
        let opener = ThreadOpener::start(
            pools.write.clone(),
            calendar.clone(),
            metrics.clone(),
            config.warn_permille,
            clock.clone(),
        );
        AppState {
            db: pools.write,
            read: pools.read,
            opener,
            jwt: Arc::new(jwt),
            config: Arc::new(config),
            metrics,
            calendar,
            clock,
        }
    }

    /// The current instant by the application's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
