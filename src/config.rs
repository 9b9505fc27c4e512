//! Configuration, read once from the environment at start-up. Every variable, its
//! default and its meaning is in [`VARIABLES`], which the README's table mirrors
//! (a test keeps them in step). A bad value stops start-up with one line naming it.

use std::net::SocketAddr;

use madoguchi_domain::calendar::WeeklySchedule;

/// (name, default, meaning)
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "DATABASE_URL",
        "sqlite://madoguchi.db?mode=rwc",
        "Database: an SQLite file or postgres://user:pass@host/db",
    ),
    (
        "MADOGUCHI_LISTEN",
        "0.0.0.0:8080",
        "Address and port to serve HTTP on",
    ),
    (
        "MADOGUCHI_ADMIN_EMAIL",
        "admin@localhost",
        "Email of the admin created on first start",
    ),
    (
        "MADOGUCHI_ADMIN_PASSWORD",
        "(generated, printed once)",
        "Password of the admin created on first start (12-128 characters)",
    ),
    (
        "MADOGUCHI_JWT_SECRET",
        "(generated once, kept in the database)",
        "HS256 signing secret for access tokens, at least 32 bytes; every instance must agree",
    ),
    (
        "MADOGUCHI_TOTP_KEY",
        "(generated once, kept in the database)",
        "AES-256-GCM key sealing the staff TOTP secrets: 32 bytes in base64 (`openssl rand -base64 32`); set it to keep the key out of the database",
    ),
    (
        "MADOGUCHI_TOKEN_TTL_SECONDS",
        "900",
        "Lifetime of an access token, 60-86400",
    ),
    (
        "MADOGUCHI_MAX_BODY_BYTES",
        "1048576",
        "Largest accepted request body; larger ones get 413",
    ),
    (
        "MADOGUCHI_TRUST_FORWARDED_FOR",
        "false",
        "Believe X-Forwarded-For and X-Forwarded-Proto from the proxies in MADOGUCHI_TRUSTED_PROXIES (only behind proxies you run)",
    ),
    (
        "MADOGUCHI_TRUSTED_PROXIES",
        "127.0.0.0/8,::1/128",
        "The proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For is believed; the client is the rightmost hop that is not one of them",
    ),
    (
        "MADOGUCHI_DB_MAX_CONNECTIONS",
        "10",
        "Connection pool size per instance: on PostgreSQL the pool, on SQLite the read-only connections beside the one writer",
    ),
    (
        "MADOGUCHI_DB_TIMEOUT_MS",
        "5000",
        "Longest wait for a database connection (and SQLite's lock); past it a request is answered 503 unavailable, so an outage never hangs clients",
    ),
    (
        "MADOGUCHI_BUSINESS_HOURS",
        "mon-fri=09:00-17:30",
        "Weekly reception hours in Asia/Tokyo: day or day range = HH:MM-HH:MM intervals, separated by ; (e.g. mon-fri=09:00-12:00,13:00-17:30;sat=09:00-12:00)",
    ),
    (
        "MADOGUCHI_YEAR_END_CLOSURE",
        "true",
        "Close Dec 29 - Jan 3 (年末年始休業)",
    ),
    (
        "MADOGUCHI_CALENDAR_POLL_MS",
        "2000",
        "How often an instance checks for calendar changes made through another instance, 100-60000 ms",
    ),
    (
        "MADOGUCHI_SWEEP_MS",
        "1000",
        "How often the SLA sweeper looks for warnings and breaches that are due, 100-60000 ms",
    ),
    (
        "MADOGUCHI_SLA_WARNING_PERCENT",
        "75",
        "Share of an SLA target at which the warning event fires, 1-99",
    ),
    (
        "MADOGUCHI_API_KEY_RATE_PER_MINUTE",
        "600",
        "Requests one API key may make per minute on each instance (bursts of a sixth of it), 1-1000000; beyond, 429 with Retry-After",
    ),
    (
        "MADOGUCHI_USER_RATE_PER_MINUTE",
        "600",
        "Requests one signed-in person may make per minute on each instance, API and board (bursts of a sixth of it), 0-1000000 (0: no limit, for load tests); beyond, 429 with Retry-After",
    ),
    (
        "MADOGUCHI_METRICS_TOKEN",
        "(none: /metrics answers loopback only)",
        "Bearer token Prometheus sends to read /metrics (at least 16 characters); without it, /metrics answers only requests from this machine that no proxy forwarded",
    ),
    (
        "MADOGUCHI_WEBHOOK_ALLOW_HTTP",
        "false",
        "Accept webhook URLs with http:// (otherwise https:// only)",
    ),
    (
        "MADOGUCHI_WEBHOOK_ALLOW_PRIVATE",
        "false",
        "Deliver webhooks to loopback, private, link-local and metadata addresses (refused otherwise, at subscription and at every delivery)",
    ),
    (
        "MADOGUCHI_WEBHOOK_TIMEOUT_MS",
        "10000",
        "How long one webhook delivery attempt may take, 100-60000 ms",
    ),
    (
        "MADOGUCHI_WEBHOOK_POLL_MS",
        "1000",
        "How often the webhook dispatcher looks for due deliveries when nothing woke it, 50-60000 ms",
    ),
    (
        "MADOGUCHI_WEBHOOK_PROXY",
        "",
        "An http:// or https:// proxy every webhook delivery goes through; none by default, and HTTP_PROXY/HTTPS_PROXY are never used. madoguchi still checks each target's addresses before handing it over; the proxy must refuse private destinations itself too",
    ),
    (
        "MADOGUCHI_WEB_IDLE_MINUTES",
        "30",
        "A session (a web board cookie or an API token) unused this long ends by itself; either lasts 12 hours at most, 5-720 minutes",
    ),
    (
        "MADOGUCHI_SECURE_COOKIES",
        "false",
        "Served over HTTPS: the web board's cookies are Secure (__Host-) and every answer carries Strict-Transport-Security (behind a trusted proxy, X-Forwarded-Proto: https does it per request)",
    ),
    (
        "MADOGUCHI_CORS_ORIGINS",
        "",
        "Browser origins allowed to call the API cross-site (CORS), comma-separated, e.g. https://portal.example.jp; none by default",
    ),
    (
        "MADOGUCHI_LOG",
        "info",
        "Log filter (tracing EnvFilter syntax, e.g. info,madoguchi=debug)",
    ),
    (
        "MADOGUCHI_LOG_FORMAT",
        "text",
        "Log line format: text or json",
    ),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    pub admin_email: String,
    pub admin_password: Option<String>,
    pub jwt_secret: Option<String>,
    /// The key sealing TOTP secrets; generated and kept in the database when absent.
    pub totp_key: Option<[u8; 32]>,
    pub token_ttl_seconds: i64,
    pub max_body_bytes: usize,
    pub trust_forwarded_for: bool,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before a 503.
    pub db_timeout_ms: u64,
    pub log: String,
    pub log_json: bool,
    pub business_hours: WeeklySchedule,
    pub year_end_closure: bool,
    pub calendar_poll_ms: u64,
    pub sweep_ms: u64,
    pub sla_warning_percent: u32,
    pub api_key_rate_per_minute: u32,
    /// Requests per minute per signed-in person; 0: unlimited.
    pub user_rate_per_minute: u32,
    /// The token `/metrics` asks for; without one, loopback only.
    pub metrics_token: Option<String>,
    pub webhook_allow_http: bool,
    pub webhook_allow_private: bool,
    pub webhook_timeout_ms: u64,
    pub webhook_poll_ms: u64,
    pub webhook_proxy: Option<String>,
    pub web_idle_minutes: i64,
    pub secure_cookies: bool,
    pub cors_origins: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

fn default_of(name: &str) -> &'static str {
    VARIABLES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, d, _)| *d)
        .unwrap_or("")
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read from any lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let val = |k: &'static str| get(k).filter(|v| !v.trim().is_empty());
        let or_default = |k: &'static str| val(k).unwrap_or_else(|| default_of(k).to_owned());

        let database_url = or_default("DATABASE_URL");
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        if database_url.starts_with("sqlite:")
            && (database_url.contains(":memory:") || database_url.contains("mode=memory"))
        {
            // The server reads on connections of its own beside the writer, and an
            // in-memory database is private to the connection that made it.
            return Err(err(
                "DATABASE_URL",
                "an in-memory SQLite database cannot be shared by the server's connections; name a file, e.g. sqlite://madoguchi.db?mode=rwc",
            ));
        }
        let listen_raw = or_default("MADOGUCHI_LISTEN");
        let listen = listen_raw.parse::<SocketAddr>().map_err(|_| {
            err(
                "MADOGUCHI_LISTEN",
                format!("not an address:port: {listen_raw:?}"),
            )
        })?;
        let token_ttl_seconds = parse_num(
            "MADOGUCHI_TOKEN_TTL_SECONDS",
            &or_default("MADOGUCHI_TOKEN_TTL_SECONDS"),
            60,
            86_400,
        )?;
        let max_body_bytes = parse_num(
            "MADOGUCHI_MAX_BODY_BYTES",
            &or_default("MADOGUCHI_MAX_BODY_BYTES"),
            1024,
            64 * 1024 * 1024,
        )? as usize;
        let db_max_connections = parse_num(
            "MADOGUCHI_DB_MAX_CONNECTIONS",
            &or_default("MADOGUCHI_DB_MAX_CONNECTIONS"),
            1,
            1000,
        )? as u32;
        let db_timeout_ms = parse_num(
            "MADOGUCHI_DB_TIMEOUT_MS",
            &or_default("MADOGUCHI_DB_TIMEOUT_MS"),
            100,
            120_000,
        )? as u64;
        let trust_forwarded_for = parse_bool(
            "MADOGUCHI_TRUST_FORWARDED_FOR",
            &or_default("MADOGUCHI_TRUST_FORWARDED_FOR"),
        )?;
        let year_end_closure = parse_bool(
            "MADOGUCHI_YEAR_END_CLOSURE",
            &or_default("MADOGUCHI_YEAR_END_CLOSURE"),
        )?;
        let business_hours = WeeklySchedule::parse(&or_default("MADOGUCHI_BUSINESS_HOURS"))
            .map_err(|e| err("MADOGUCHI_BUSINESS_HOURS", e.message))?;
        let calendar_poll_ms = parse_num(
            "MADOGUCHI_CALENDAR_POLL_MS",
            &or_default("MADOGUCHI_CALENDAR_POLL_MS"),
            100,
            60_000,
        )? as u64;
        let sweep_ms = parse_num(
            "MADOGUCHI_SWEEP_MS",
            &or_default("MADOGUCHI_SWEEP_MS"),
            100,
            60_000,
        )? as u64;
        let sla_warning_percent = parse_num(
            "MADOGUCHI_SLA_WARNING_PERCENT",
            &or_default("MADOGUCHI_SLA_WARNING_PERCENT"),
            1,
            99,
        )? as u32;
        let api_key_rate_per_minute = parse_num(
            "MADOGUCHI_API_KEY_RATE_PER_MINUTE",
            &or_default("MADOGUCHI_API_KEY_RATE_PER_MINUTE"),
            1,
            1_000_000,
        )? as u32;
        let user_rate_per_minute = parse_num(
            "MADOGUCHI_USER_RATE_PER_MINUTE",
            &or_default("MADOGUCHI_USER_RATE_PER_MINUTE"),
            0,
            1_000_000,
        )? as u32;
        let metrics_token = val("MADOGUCHI_METRICS_TOKEN");
        if metrics_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < 16 || t.chars().any(|c| c.is_whitespace()))
        {
            return Err(err(
                "MADOGUCHI_METRICS_TOKEN",
                "must be at least 16 characters, without spaces",
            ));
        }
        let webhook_allow_http = parse_bool(
            "MADOGUCHI_WEBHOOK_ALLOW_HTTP",
            &or_default("MADOGUCHI_WEBHOOK_ALLOW_HTTP"),
        )?;
        let webhook_allow_private = parse_bool(
            "MADOGUCHI_WEBHOOK_ALLOW_PRIVATE",
            &or_default("MADOGUCHI_WEBHOOK_ALLOW_PRIVATE"),
        )?;
        let webhook_timeout_ms = parse_num(
            "MADOGUCHI_WEBHOOK_TIMEOUT_MS",
            &or_default("MADOGUCHI_WEBHOOK_TIMEOUT_MS"),
            100,
            60_000,
        )? as u64;
        let webhook_poll_ms = parse_num(
            "MADOGUCHI_WEBHOOK_POLL_MS",
            &or_default("MADOGUCHI_WEBHOOK_POLL_MS"),
            50,
            60_000,
        )? as u64;
        let webhook_proxy = match or_default("MADOGUCHI_WEBHOOK_PROXY").trim() {
            "" => None,
            p => match url::Url::parse(p) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    Some(p.to_owned())
                }
                _ => {
                    return Err(err(
                        "MADOGUCHI_WEBHOOK_PROXY",
                        format!("must be an http:// or https:// URL, got {p:?}"),
                    ))
                }
            },
        };
        let web_idle_minutes = parse_num(
            "MADOGUCHI_WEB_IDLE_MINUTES",
            &or_default("MADOGUCHI_WEB_IDLE_MINUTES"),
            5,
            720,
        )?;
        let secure_cookies = parse_bool(
            "MADOGUCHI_SECURE_COOKIES",
            &or_default("MADOGUCHI_SECURE_COOKIES"),
        )?;
        let trusted_proxies = parse_networks(
            "MADOGUCHI_TRUSTED_PROXIES",
            &or_default("MADOGUCHI_TRUSTED_PROXIES"),
        )?;
        let cors_origins = parse_origins(
            "MADOGUCHI_CORS_ORIGINS",
            &or_default("MADOGUCHI_CORS_ORIGINS"),
        )?;
        let log_json = match or_default("MADOGUCHI_LOG_FORMAT").as_str() {
            "text" => false,
            "json" => true,
            other => {
                return Err(err(
                    "MADOGUCHI_LOG_FORMAT",
                    format!("must be text or json, got {other:?}"),
                ))
            }
        };
        let jwt_secret = val("MADOGUCHI_JWT_SECRET");
        if let Some(s) = &jwt_secret {
            if s.len() < 32 {
                return Err(err("MADOGUCHI_JWT_SECRET", "must be at least 32 bytes"));
            }
        }
        let totp_key = match val("MADOGUCHI_TOTP_KEY") {
            None => None,
            Some(v) => Some(parse_key(&v).ok_or_else(|| {
                err(
                    "MADOGUCHI_TOTP_KEY",
                    "must be 32 bytes in base64 (openssl rand -base64 32)",
                )
            })?),
        };
        Ok(Config {
            database_url,
            listen,
            admin_email: or_default("MADOGUCHI_ADMIN_EMAIL"),
            admin_password: val("MADOGUCHI_ADMIN_PASSWORD"),
            jwt_secret,
            totp_key,
            token_ttl_seconds,
            max_body_bytes,
            trust_forwarded_for,
            trusted_proxies,
            db_max_connections,
            db_timeout_ms,
            log: or_default("MADOGUCHI_LOG"),
            log_json,
            business_hours,
            year_end_closure,
            calendar_poll_ms,
            sweep_ms,
            sla_warning_percent,
            api_key_rate_per_minute,
            user_rate_per_minute,
            metrics_token,
            webhook_allow_http,
            webhook_allow_private,
            webhook_timeout_ms,
            webhook_poll_ms,
            webhook_proxy,
            web_idle_minutes,
            secure_cookies,
            cors_origins,
        })
    }
}

/// Addresses (`10.0.0.5`) and networks (`10.0.0.0/24`), comma-separated.
fn parse_networks(var: &'static str, raw: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| err(var, format!("not an address or network: {s:?}")))
        })
        .collect()
}

/// Origins as browsers send them: `scheme://host[:port]`, no path, no `*`
/// (a wildcard would let any site read a signed-in clinic's data).
/// A 32-byte key written in base64.
fn parse_key(raw: &str) -> Option<[u8; 32]> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    STANDARD.decode(raw.trim()).ok()?.try_into().ok()
}

fn parse_origins(var: &'static str, raw: &str) -> Result<Vec<String>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && o.split("://").nth(1).is_some_and(|rest| {
                    !rest.is_empty() && !rest.contains(['/', '*', '?', '#', ' '])
                });
            if ok {
                Ok(o.to_ascii_lowercase())
            } else {
                Err(err(
                    var,
                    format!("{o:?} is not an origin such as https://portal.example.jp"),
                ))
            }
        })
        .collect()
}

fn parse_bool(var: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(err(var, format!("must be true or false, got {other:?}"))),
    }
}

fn parse_num(var: &'static str, raw: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    let n = raw
        .trim()
        .parse::<i64>()
        .map_err(|_| err(var, format!("not a whole number: {raw:?}")))?;
    if n < min || n > max {
        return Err(err(
            var,
            format!("must be between {min} and {max}, got {n}"),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn cors_takes_exact_origins_and_refuses_wildcards_and_paths() {
        let c = cfg(&[(
            "MADOGUCHI_CORS_ORIGINS",
            "https://Portal.example.jp, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            ["https://portal.example.jp", "http://localhost:3000"]
        );
        assert!(cfg(&[]).unwrap().cors_origins.is_empty(), "none by default");
        for bad in [
            "*",
            "https://*.example.jp",
            "https://portal.example.jp/app",
            "portal.example.jp",
        ] {
            assert!(cfg(&[("MADOGUCHI_CORS_ORIGINS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_serve_sqlite_on_8080() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
        assert!(c.database_url.starts_with("sqlite:"));
        assert_eq!(c.admin_email, "admin@localhost");
        assert_eq!(c.token_ttl_seconds, 900);
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(
            cfg(&[("MADOGUCHI_LISTEN", "nowhere")]).unwrap_err().var,
            "MADOGUCHI_LISTEN"
        );
        assert_eq!(
            cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
        assert_eq!(
            cfg(&[("DATABASE_URL", "sqlite::memory:")]).unwrap_err().var,
            "DATABASE_URL"
        );
        assert_eq!(
            cfg(&[("DATABASE_URL", "sqlite://x.db?mode=memory")])
                .unwrap_err()
                .var,
            "DATABASE_URL"
        );
        assert_eq!(
            cfg(&[("MADOGUCHI_TOKEN_TTL_SECONDS", "5")])
                .unwrap_err()
                .var,
            "MADOGUCHI_TOKEN_TTL_SECONDS"
        );
        assert_eq!(
            cfg(&[("MADOGUCHI_JWT_SECRET", "short")]).unwrap_err().var,
            "MADOGUCHI_JWT_SECRET"
        );
        assert_eq!(
            cfg(&[("MADOGUCHI_TOTP_KEY", "c2hvcnQ=")]).unwrap_err().var,
            "MADOGUCHI_TOTP_KEY"
        );
        assert_eq!(
            cfg(&[(
                "MADOGUCHI_TOTP_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
            )])
            .ok()
            .and_then(|c| c.totp_key)
            .map(|k| k[31]),
            Some(31)
        );
        assert_eq!(
            cfg(&[("MADOGUCHI_LOG_FORMAT", "xml")]).unwrap_err().var,
            "MADOGUCHI_LOG_FORMAT"
        );
    }

    #[test]
    fn a_webhook_proxy_is_an_http_url_or_nothing() {
        assert_eq!(cfg(&[]).unwrap().webhook_proxy, None);
        assert_eq!(
            cfg(&[("MADOGUCHI_WEBHOOK_PROXY", "http://10.0.0.5:3128")])
                .unwrap()
                .webhook_proxy
                .as_deref(),
            Some("http://10.0.0.5:3128")
        );
        for bad in ["10.0.0.5:3128", "socks5://10.0.0.5", "http://"] {
            assert_eq!(
                cfg(&[("MADOGUCHI_WEBHOOK_PROXY", bad)]).unwrap_err().var,
                "MADOGUCHI_WEBHOOK_PROXY",
                "{bad}"
            );
        }
    }

    #[test]
    fn readme_lists_every_variable() {
        let readme = include_str!("../README.md");
        for (name, _, _) in VARIABLES {
            assert!(
                readme.contains(&format!("`{name}`")),
                "README misses {name}"
            );
        }
    }
}
