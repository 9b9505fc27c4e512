//! Where a webhook may be delivered: `https` (or `http` when allowed), and never
//! to a loopback, private, link-local or metadata address unless allowed. The
//! address is checked when subscribing and again on every delivery, by the
//! resolver the delivery client uses, since DNS can change in between.

use std::net::{IpAddr, SocketAddr};

use madoguchi_domain::{integrations::public_address, ValidationError};
use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    Url,
};

use crate::app::state::WebhookConfig;

const MAX_URL_CHARS: usize = 2000;

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new("url", message)
}

/// Where a URL's host resolves now is allowed (every address public, unless
/// private targets are allowed): the check an attempt through the configured
/// proxy makes itself, since the proxy resolves the host.
pub(crate) async fn check_resolved(cfg: &WebhookConfig, raw: &str) -> Result<(), ValidationError> {
    let url = Url::parse(raw).map_err(|e| invalid(format!("not a URL: {e}")))?;
    let Some(host) = url.host_str() else {
        return Err(invalid("has no host"));
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs = lookup(host, port)
        .await
        .map_err(|e| invalid(format!("{host} does not resolve: {e}")))?;
    if !cfg.allow_private {
        if let Some(a) = addrs.iter().find(|a| !public_address(a.ip())) {
            return Err(invalid(format!(
                "{host} resolves to {}, a loopback, private, link-local or metadata address",
                a.ip()
            )));
        }
    }
    Ok(())
}

/// The URL as it will be called, after checking its scheme and where it points.
pub async fn check_url(cfg: &WebhookConfig, raw: &str) -> Result<String, ValidationError> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(invalid(format!("at most {MAX_URL_CHARS} characters")));
    }
    let url = Url::parse(raw).map_err(|e| invalid(format!("not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if cfg.allow_http => {}
        "http" => return Err(invalid("must be https://")),
        other => return Err(invalid(format!("scheme {other}: must be https://"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry a user name or password"));
    }
    check_resolved(cfg, url.as_str()).await?;
    Ok(url.to_string())
}

async fn lookup(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, port)).await?.collect();
    if found.is_empty() {
        return Err(std::io::Error::other("no addresses"));
    }
    Ok(found)
}

/// Whether a URL's literal IP host (which skips the resolver) may be called.
pub(crate) fn literal_host_allowed(cfg: &WebhookConfig, url: &str) -> bool {
    let Ok(u) = Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Ipv4(ip)) => cfg.allow_private || public_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => cfg.allow_private || public_address(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

/// The delivery client's resolver: the system's answers, less any address a
/// delivery may not go to.
pub(crate) struct GuardedResolver {
    pub allow_private: bool,
    /// The configured proxy's host, which may be a private address: the
    /// operator chose it, and the targets behind it are checked before each
    /// attempt.
    pub proxy_host: Option<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private || self.proxy_host.as_deref() == Some(&host);
        Box::pin(async move {
            let all = lookup(&host, 0).await?;
            let allowed: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| allow_private || public_address(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private, link-local or metadata addresses"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
