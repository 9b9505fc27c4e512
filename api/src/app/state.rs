use std::sync::Arc;

use madoguchi_persistence::{Db, Pools};

use madoguchi_domain::calendar::CalendarRules;

use crate::{
    app::calendar_handle::CalendarHandle, app::clock::Clock, app::metrics::Metrics,
    security::tokens::JwtKeys, security::totp::Sealer, service::opener::ThreadOpener,
};

/// Settings the HTTP layer needs, read once by the binary.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Lifetime of an access token.
    pub token_ttl: chrono::Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Believe `X-Forwarded-For` and `X-Forwarded-Proto` from the proxies in
    /// `proxies` (only behind proxies you run).
    pub trust_forwarded_for: bool,
    /// The proxies whose forwarding headers are believed, when
    /// `trust_forwarded_for` is on.
    pub proxies: Vec<ipnet::IpNet>,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: chrono::Duration,
    /// Share of an SLA target at which the warning fires, in per mille (750 = 75 %).
    pub warn_permille: u32,
    /// Requests one API key may make per minute on one instance (bursts of a
    /// sixth of that); beyond, 429 with `Retry-After`.
    pub api_key_rate_per_minute: u32,
    /// Requests one signed-in person may make per minute on one instance
    /// (bursts of a sixth); 0: unlimited.
    pub user_rate_per_minute: u32,
    /// The bearer token `/metrics` asks for; `None`: loopback callers only.
    pub metrics_token: Option<String>,
    pub webhooks: WebhookConfig,
    /// A web board session idle this long ends by itself.
    pub web_idle: chrono::Duration,
    /// Served over HTTPS: `Secure` cookies and `Strict-Transport-Security`
    /// whatever the request says.
    pub secure_cookies: bool,
    /// Browser origins that may call the API cross-site; empty: none.
    pub cors_origins: Vec<String>,
}

/// Where and how webhooks may be delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Accept `http://` targets (otherwise `https://` only).
    pub allow_http: bool,
    /// Deliver to loopback, private, link-local and metadata addresses.
    pub allow_private: bool,
    /// The longest one attempt may take.
    pub timeout: std::time::Duration,
    /// How often the dispatcher looks for due deliveries when nothing woke it.
    pub poll: std::time::Duration,
    /// The proxy every delivery goes through (`MADOGUCHI_WEBHOOK_PROXY`);
    /// `None`: straight to the receiver, whatever `HTTP_PROXY` says.
    pub proxy: Option<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_http: false,
            allow_private: false,
            timeout: std::time::Duration::from_secs(10),
            poll: std::time::Duration::from_secs(1),
            proxy: None,
        }
    }
}

impl ApiConfig {
    /// The proxies whose forwarding headers count: none unless
    /// `trust_forwarded_for` is on.
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        if self.trust_forwarded_for {
            &self.proxies
        } else {
            &[]
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token_ttl: chrono::Duration::minutes(15),
            max_body_bytes: 1024 * 1024,
            trust_forwarded_for: false,
            proxies: Vec::new(),
            idempotency_ttl: chrono::Duration::hours(24),
            warn_permille: 750,
            api_key_rate_per_minute: 600,
            user_rate_per_minute: 600,
            metrics_token: None,
            webhooks: WebhookConfig::default(),
            web_idle: chrono::Duration::minutes(30),
            secure_cookies: false,
            cors_origins: Vec::new(),
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
    /// Seals and opens TOTP secrets at rest.
    pub sealer: Arc<Sealer>,
    pub config: Arc<ApiConfig>,
    pub metrics: Arc<Metrics>,
    pub calendar: Arc<CalendarHandle>,
    /// Where every "now" comes from: the system clock, or a test's adjustable one.
    pub clock: Clock,
    /// Per-key request budgets (this instance's share).
    pub key_limiter: Arc<KeyLimiter>,
    /// Per-person request budgets (this instance's share); `None`: unlimited.
    pub user_limiter: Option<Arc<KeyLimiter>>,
    /// Wakes this instance's webhook dispatcher: something may be new in the
    /// outbox or a delivery may be due.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// This process, as its heartbeat and its idempotency claims name it.
    pub instance_id: uuid::Uuid,
    /// How common each search token is (PostgreSQL's statistics), kept for a
    /// while: which tokens search asks the index for.
    pub search_stats: Arc<madoguchi_persistence::board::LexemeStats>,
}

/// How long an instance may go without a heartbeat (sent every
/// [`HEARTBEAT`]) before the work it claimed counts as orphaned: three missed
/// beats, so a busy instance is not mistaken for a dead one.
pub const INSTANCE_GRACE: chrono::Duration = chrono::Duration::seconds(15);
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longer than any request can run (database statements and connections time
/// out after 10 s): an unanswered idempotency claim older than this is
/// orphaned whatever its instance's state.
pub const REQUEST_LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// A rate limiter per API key id.
pub type KeyLimiter = governor::DefaultKeyedRateLimiter<uuid::Uuid>;

fn limiter(per_minute: u32) -> KeyLimiter {
    let rate = std::num::NonZeroU32::new(per_minute.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    let burst =
        std::num::NonZeroU32::new((per_minute / 6).max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_minute(rate).allow_burst(burst))
}

impl AppState {
    /// Starts the thread writer: call on the tokio runtime that will serve.
    pub fn new(
        pools: Pools,
        jwt: JwtKeys,
        sealer: Sealer,
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
        let key_limiter = Arc::new(limiter(config.api_key_rate_per_minute));
        let user_limiter = (config.user_rate_per_minute > 0)
            .then(|| Arc::new(limiter(config.user_rate_per_minute)));
        AppState {
            key_limiter,
            user_limiter,
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
            instance_id: uuid::Uuid::new_v4(),
            search_stats: Arc::new(madoguchi_persistence::board::LexemeStats::new()),
            db: pools.write,
            read: pools.read,
            opener,
            jwt: Arc::new(jwt),
            sealer: Arc::new(sealer),
            config: Arc::new(config),
            metrics,
            calendar,
            clock,
        }
    }

    /// Spend one request of `id`'s budget (a person's or an API key's), or
    /// answer 429 with how long to wait.
    pub fn within_rate(
        &self,
        limiter: &KeyLimiter,
        id: &uuid::Uuid,
    ) -> Result<(), crate::http::problem::ApiError> {
        use governor::clock::{Clock as _, DefaultClock};
        limiter.check_key(id).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            crate::http::problem::ApiError::too_many_requests(wait.as_secs().max(1))
        })
    }

    /// The current instant by the application's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
