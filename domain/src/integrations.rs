//! What an integration (another system holding an API key) may do.
//!
//! A key carries scopes; each audited action of a service belongs to at most one
//! scope ([`Scope::for_action`]), and an action outside every scope (managing
//! users, organizations, keys, webhooks, policies or the calendar) is never open
//! to a key. A key bound to an organization acts as that clinic's customer, so it
//! may hold only the scopes a customer could use.

use serde::{Deserialize, Serialize};

use crate::{Role, ValidationError};

/// One permission of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read threads, posts, the SLA clock log, the queue and search.
    ThreadsRead,
    /// Open threads, reply, change status, priority, assignee and tags.
    ThreadsWrite,
    /// Read call logs and the call report.
    CallsRead,
    /// Log and correct calls.
    CallsWrite,
    /// Read incident notices.
    AnnouncementsRead,
    /// Publish notices and post their updates.
    AnnouncementsWrite,
    /// Read, export and verify the audit trail.
    AuditRead,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::ThreadsRead,
        Scope::ThreadsWrite,
        Scope::CallsRead,
        Scope::CallsWrite,
        Scope::AnnouncementsRead,
        Scope::AnnouncementsWrite,
        Scope::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ThreadsRead => "threads:read",
            Scope::ThreadsWrite => "threads:write",
            Scope::CallsRead => "calls:read",
            Scope::CallsWrite => "calls:write",
            Scope::AnnouncementsRead => "announcements:read",
            Scope::AnnouncementsWrite => "announcements:write",
            Scope::AuditRead => "audit:read",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new("scopes", "unknown scope"))
    }

    /// The scope an audited action needs; `None` when no key may do it.
    pub fn for_action(action: &str) -> Option<Scope> {
        Some(match action {
            "thread.read" | "thread.list" | "post.list" | "queue.read" | "search" => {
                Scope::ThreadsRead
            }
            "thread.create" | "thread.update" | "post.create" => Scope::ThreadsWrite,
            "call.read" | "call.list" | "call.report" => Scope::CallsRead,
            "call.create" | "call.update" => Scope::CallsWrite,
            "announcement.read" | "announcement.list" => Scope::AnnouncementsRead,
            "announcement.create" | "announcement.update" => Scope::AnnouncementsWrite,
            "audit.read" | "audit.export" | "audit.verify" => Scope::AuditRead,
            _ => return None,
        })
    }

    /// Whether a key bound to one organization (acting as its customer) may hold
    /// this scope: calls, publishing and the audit trail are staff work.
    pub fn for_customers(self) -> bool {
        matches!(
            self,
            Scope::ThreadsRead | Scope::ThreadsWrite | Scope::AnnouncementsRead
        )
    }
}

/// What an admin calls a key or a webhook subscription (e.g. 電子カルテ連携),
/// 1 to 100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationName(String);

impl IntegrationName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        crate::identity::bounded_text("name", raw, 1, Self::MAX_CHARS).map(IntegrationName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Scope {
    /// Whether holding this scope lets an unbound key do the action as an admin
    /// would: reading the audit trail is an admin's work, granted to a key only
    /// by an admin who chose this scope.
    pub fn stands_for_admin(self) -> bool {
        matches!(self, Scope::AuditRead)
    }
}

/// The scopes of a key as asked for: known, not empty, without repeats, and
/// within what its binding allows. Sorted, so two equal sets compare equal.
pub fn key_scopes(asked: &[String], bound: bool) -> Result<Vec<Scope>, ValidationError> {
    if asked.is_empty() {
        return Err(ValidationError::new("scopes", "name at least one scope"));
    }
    let mut out = Vec::with_capacity(asked.len());
    for s in asked {
        let scope = Scope::parse(s)?;
        if bound && !scope.for_customers() {
            return Err(ValidationError::new(
                "scopes",
                "a key bound to an organization acts as its customer and cannot hold this scope",
            ));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out.sort();
    Ok(out)
}

/// The role a key acts with: a bound key is its clinic's customer, an unbound
/// one is staff (an agent) within its scopes.
pub fn key_role(bound: bool) -> Role {
    if bound {
        Role::Customer
    } else {
        Role::Agent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_reads_back_from_its_name() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Ok(s));
        }
        assert!(Scope::parse("threads:admin").is_err());
        assert!(Scope::parse("").is_err());
    }

    #[test]
    fn management_is_never_open_to_a_key() {
        for action in [
            "user.create",
            "user.read",
            "organization.update",
            "sla_policy.update",
            "calendar.create",
            "api_key.create",
            "webhook.create",
        ] {
            assert_eq!(Scope::for_action(action), None, "{action}");
        }
    }

    #[test]
    fn reading_and_writing_threads_are_separate() {
        assert_eq!(Scope::for_action("thread.read"), Some(Scope::ThreadsRead));
        assert_eq!(Scope::for_action("search"), Some(Scope::ThreadsRead));
        assert_eq!(Scope::for_action("post.create"), Some(Scope::ThreadsWrite));
        assert_eq!(Scope::for_action("call.create"), Some(Scope::CallsWrite));
        assert_eq!(Scope::for_action("audit.export"), Some(Scope::AuditRead));
    }

    #[test]
    fn a_clinic_key_holds_only_what_a_customer_could_do() {
        let asked = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(key_scopes(&asked(&["threads:read", "threads:write"]), true).is_ok());
        assert!(key_scopes(&asked(&["calls:write"]), true).is_err());
        assert!(key_scopes(&asked(&["audit:read"]), true).is_err());
        assert!(key_scopes(&asked(&["audit:read"]), false).is_ok());
        assert!(key_scopes(&[], false).is_err());
        assert_eq!(
            key_scopes(
                &asked(&["threads:write", "threads:read", "threads:write"]),
                false
            ),
            Ok(vec![Scope::ThreadsRead, Scope::ThreadsWrite])
        );
    }

    #[test]
    fn a_bound_key_is_a_customer_and_an_unbound_one_staff() {
        assert_eq!(key_role(true), Role::Customer);
        assert!(key_role(false).is_staff());
    }
}

// ---- webhooks -------------------------------------------------------------------

/// The events a subscription may ask for: those the outbox writes.
pub const EVENT_TYPES: [&str; 8] = [
    "thread.created",
    "thread.updated",
    "thread.status_changed",
    "post.created",
    "sla.warning",
    "sla.breached",
    "announcement.published",
    "announcement.updated",
];

/// The event a test ping sends, and the one written when an endpoint is disabled.
pub const PING_EVENT: &str = "webhook.ping";
pub const DISABLED_EVENT: &str = "webhook.disabled";

/// The event types of a subscription as asked for: known ones or `*`, at least
/// one; sorted and without repeats.
pub fn subscription_events(asked: &[String]) -> Result<Vec<String>, ValidationError> {
    if asked.is_empty() {
        return Err(ValidationError::new(
            "event_types",
            "name at least one event type or *",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(asked.len());
    for e in asked {
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            return Err(ValidationError::new(
                "event_types",
                format!("unknown event type {e:?}"),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// What a subscription hears of an event: its types (or `*`), and when bound to
/// an organization only that organization's events, never internal ones (not
/// even that an internal post exists).
pub fn subscription_wants(
    types: &[String],
    bound_to: Option<u128>,
    event_type: &str,
    event_organization: Option<u128>,
    internal: bool,
) -> bool {
    let typed = types.iter().any(|t| t == "*" || t == event_type);
    let scoped = match bound_to {
        None => true,
        Some(org) => !internal && event_organization == Some(org),
    };
    typed && scoped
}

/// How long to wait after the `attempts`-th failed attempt (1-based) before the
/// next, or `None` when the delivery has had its chances (about three days in
/// all). `jitter` in [0, 1) spreads retries of many deliveries over ±10 %.
pub fn retry_delay(attempts: u32, jitter: f64) -> Option<chrono::Duration> {
    const SCHEDULE: [i64; 11] = [
        5,
        5 * 60,
        30 * 60,
        2 * 3600,
        5 * 3600,
        10 * 3600,
        10 * 3600,
        10 * 3600,
        10 * 3600,
        10 * 3600,
        10 * 3600,
    ];
    let base = *SCHEDULE.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let spread = (jitter.clamp(0.0, 1.0) - 0.5) * 0.2;
    let seconds = (base as f64 * (1.0 + spread)).round() as i64;
    Some(chrono::Duration::seconds(seconds.max(1)))
}

/// An endpoint that has failed every attempt for this long is disabled.
pub fn disable_after() -> chrono::Duration {
    chrono::Duration::days(5)
}

/// Whether a delivery may go to `ip` when private targets are not allowed:
/// never loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with
/// the cloud metadata address, fe80::/10), unspecified, broadcast or
/// multicast, nor their IPv4-mapped IPv6 forms.
pub fn public_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 0
                // 100.64.0.0/10, carrier-grade NAT: not the public internet either.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod webhook_tests {
    use super::*;

    #[test]
    fn a_clinic_subscription_never_hears_of_another_clinic_or_an_internal_post() {
        let all = vec!["*".to_owned()];
        assert!(subscription_wants(
            &all,
            Some(7),
            "post.created",
            Some(7),
            false
        ));
        assert!(!subscription_wants(
            &all,
            Some(7),
            "post.created",
            Some(8),
            false
        ));
        assert!(!subscription_wants(
            &all,
            Some(7),
            "post.created",
            Some(7),
            true
        ));
        assert!(!subscription_wants(
            &all,
            Some(7),
            "announcement.published",
            None,
            false
        ));
        // Staff subscriptions hear everything they asked for.
        assert!(subscription_wants(
            &all,
            None,
            "post.created",
            Some(8),
            true
        ));
        let breaches = vec!["sla.breached".to_owned()];
        assert!(subscription_wants(
            &breaches,
            None,
            "sla.breached",
            Some(1),
            false
        ));
        assert!(!subscription_wants(
            &breaches,
            None,
            "sla.warning",
            Some(1),
            false
        ));
    }

    #[test]
    fn event_types_are_known_ones_or_everything() {
        let asked = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(subscription_events(&asked(&["*"])).is_ok());
        assert!(subscription_events(&asked(&["thread.deleted"])).is_err());
        assert!(subscription_events(&[]).is_err());
        assert_eq!(
            subscription_events(&asked(&["sla.warning", "sla.breached", "sla.warning"])),
            Ok(asked(&["sla.breached", "sla.warning"]))
        );
    }

    #[test]
    fn retries_back_off_for_about_three_days_then_stop() {
        assert_eq!(retry_delay(1, 0.5), Some(chrono::Duration::seconds(5)));
        assert_eq!(retry_delay(2, 0.5), Some(chrono::Duration::minutes(5)));
        assert_eq!(retry_delay(3, 0.5), Some(chrono::Duration::minutes(30)));
        let total: i64 = (1..)
            .map_while(|a| retry_delay(a, 0.5))
            .map(|d| d.num_seconds())
            .sum();
        // 5 s + 5 min + 30 min + 2 h + 5 h + 6 × 10 h = 67 h 35 min 5 s.
        assert_eq!(total, 5 + 300 + 1800 + 7200 + 18000 + 6 * 36000);
        assert!(total > 2 * 86400 && total < 4 * 86400);
        assert_eq!(retry_delay(12, 0.5), None);
        assert_eq!(retry_delay(0, 0.5), None);
        // Jitter stays within ±10 %.
        assert_eq!(retry_delay(2, 0.0), Some(chrono::Duration::seconds(270)));
        assert_eq!(retry_delay(2, 1.0), Some(chrono::Duration::seconds(330)));
    }

    #[test]
    fn private_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "203.0.113.10",
            "8.8.8.8",
            "172.32.0.1",
            "2001:4860:4860::8888",
        ] {
            assert!(public_address(ip.parse().unwrap()), "{ip}");
        }
    }
}
