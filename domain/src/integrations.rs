//! What an integration (another system holding an API key) may do.
//!
//! A key carries scopes; each audited action of a service belongs to at most one
//! scope ([`Scope::for_action`]), and an action outside every scope (managing
//! users, organizations, keys, webhooks, policies or the calendar) is never open
//! to a key. A key bound to an organization acts as that clinic's customer, so it
//! may hold only the scopes a customer could use.

use serde::{Deserialize, Serialize};

use crate::{events::EventType, Action, Role, ValidationError};

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
    /// Exhaustive: a new action is a compile error here until someone decides
    /// whether a key may do it.
    pub fn for_action(action: Action) -> Option<Scope> {
        use Action::*;
        match action {
            ThreadRead | ThreadList | PostList | QueueRead | Search => Some(Scope::ThreadsRead),
            ThreadCreate | ThreadUpdate | PostCreate => Some(Scope::ThreadsWrite),
            CallRead | CallList | CallReport => Some(Scope::CallsRead),
            CallCreate | CallUpdate => Some(Scope::CallsWrite),
            AnnouncementRead | AnnouncementList => Some(Scope::AnnouncementsRead),
            AnnouncementCreate | AnnouncementUpdate => Some(Scope::AnnouncementsWrite),
            AuditRead | AuditExport | AuditVerify => Some(Scope::AuditRead),
            ThreadSlaLogRead
            | UserCreate
            | UserRead
            | UserList
            | UserUpdate
            | UserPasswordChange
            | UserPasswordReset
            | AuthLogin
            | AuthLogout
            | SessionList
            | SessionRevoke
            | SecondFactorEnrolStart
            | SecondFactorEnrol
            | SecondFactorRemove
            | SecondFactorReset
            | OrganizationCreate
            | OrganizationRead
            | OrganizationList
            | OrganizationUpdate
            | OrganizationExport
            | OrganizationExportFinished
            | OrganizationErase
            | CalendarRead
            | CalendarCreate
            | CalendarDelete
            | SlaPolicyRead
            | SlaPolicyUpdate
            | SettingsRead
            | SettingsUpdate
            | ApiKeyCreate
            | ApiKeyRead
            | ApiKeyList
            | ApiKeyRevoke
            | WebhookCreate
            | WebhookRead
            | WebhookList
            | WebhookUpdate
            | WebhookDelete
            | WebhookRotateSecret
            | WebhookPing
            | WebhookDeliveries
            | WebhookRetry
            | RequestReplay => None,
        }
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
            Action::UserCreate,
            Action::UserRead,
            Action::OrganizationUpdate,
            Action::SlaPolicyUpdate,
            Action::CalendarCreate,
            Action::ApiKeyCreate,
            Action::WebhookCreate,
        ] {
            assert_eq!(Scope::for_action(action), None, "{action}");
        }
    }

    #[test]
    fn reading_and_writing_threads_are_separate() {
        assert_eq!(
            Scope::for_action(Action::ThreadRead),
            Some(Scope::ThreadsRead)
        );
        assert_eq!(Scope::for_action(Action::Search), Some(Scope::ThreadsRead));
        assert_eq!(
            Scope::for_action(Action::PostCreate),
            Some(Scope::ThreadsWrite)
        );
        assert_eq!(
            Scope::for_action(Action::CallCreate),
            Some(Scope::CallsWrite)
        );
        assert_eq!(
            Scope::for_action(Action::AuditExport),
            Some(Scope::AuditRead)
        );
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
        if e != "*" && !EventType::parse(e).is_some_and(EventType::subscribable) {
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
    event_type: EventType,
    event_organization: Option<u128>,
    internal: bool,
) -> bool {
    let typed = types.iter().any(|t| t == "*" || t == event_type.as_str());
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
/// global unicast only, as the IANA special-purpose address registries
/// (IPv4 and IPv6) draw it. Refused: loopback, private, shared (CGNAT),
/// link-local, documentation, benchmarking, reserved, multicast, broadcast,
/// the IETF protocol blocks (192.0.0.0/24, 2001::/23), the cloud platforms'
/// host addresses (169.254.169.254 and Azure's 168.63.129.16), unique-local,
/// site-local and discard-only IPv6, and the transition forms that smuggle an
/// IPv4 address inside IPv6 without a translator we can check (6to4
/// 2002::/16, Teredo, IPv4-compatible `::a.b.c.d`). IPv4-mapped
/// (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::/96`) addresses are judged by the
/// IPv4 address they carry.
pub fn public_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_v4(v4);
            }
            let seg = v6.segments();
            // NAT64, well-known prefix: the IPv4 address in the last 32 bits.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let o = v6.octets();
                return public_v4(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            let in_prefix = |prefix: u128, len: u32| -> bool {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                (u128::from(v6) & mask) == prefix
            };
            // Global unicast is 2000::/3; everything else (::/8 with loopback,
            // unspecified and IPv4-compatible, 100::/64 discard, fc00::/7,
            // fe80::/10, fec0::/10, ff00::/8) is not.
            if !in_prefix(0x2000 << 112, 3) {
                return false;
            }
            const NOT_GLOBAL: [(u128, u32); 5] = [
                // IETF protocol assignments, Teredo (2001::/32) included.
                (0x2001_0000 << 96, 23),
                // Documentation.
                (0x2001_0db8 << 96, 32),
                (0x3fff << 112, 20),
                // 6to4.
                (0x2002 << 112, 16),
                // Segment Routing SIDs.
                (0x5f00 << 112, 16),
            ];
            !NOT_GLOBAL.iter().any(|(p, l)| in_prefix(*p, *l))
        }
    }
}

fn public_v4(v4: std::net::Ipv4Addr) -> bool {
    const NOT_GLOBAL: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 2, 0], 24),
        ([192, 88, 99, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        // Multicast, then reserved (240/4, the limited broadcast included).
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
        // Azure's host address (platform DNS, metadata), reached from any VM.
        ([168, 63, 129, 16], 32),
        // Alibaba Cloud's metadata service sits in 100.64/10 and Oracle's in
        // 192.0.0.0/24, both above; AWS's IPv6 one (fd00:ec2::254) is unique-local.
    ];
    let ip = u32::from(v4);
    !NOT_GLOBAL.iter().any(|(net, len)| {
        let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
        ip & mask == u32::from_be_bytes(*net) & mask
    })
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
            EventType::PostCreated,
            Some(7),
            false
        ));
        assert!(!subscription_wants(
            &all,
            Some(7),
            EventType::PostCreated,
            Some(8),
            false
        ));
        assert!(!subscription_wants(
            &all,
            Some(7),
            EventType::PostCreated,
            Some(7),
            true
        ));
        assert!(!subscription_wants(
            &all,
            Some(7),
            EventType::AnnouncementPublished,
            None,
            false
        ));
        // Staff subscriptions hear everything they asked for.
        assert!(subscription_wants(
            &all,
            None,
            EventType::PostCreated,
            Some(8),
            true
        ));
        let breaches = vec!["sla.breached".to_owned()];
        assert!(subscription_wants(
            &breaches,
            None,
            EventType::SlaBreached,
            Some(1),
            false
        ));
        assert!(!subscription_wants(
            &breaches,
            None,
            EventType::SlaWarning,
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
    fn only_global_unicast_addresses_are_public() {
        // From the IANA IPv4 and IPv6 special-purpose address registries (each
        // entry whose "Globally Reachable" is False), and the cloud metadata
        // addresses; IPv4 carried in IPv6 is judged by the IPv4 address.
        for ip in [
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.100.100.200",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.192",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.10",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "168.63.129.16",
            "::",
            "::1",
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd00:ec2::254",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!public_address(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "133.242.0.1",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2001:4860:4860::8888",
            "2400:cb00::1",
        ] {
            assert!(public_address(ip.parse().unwrap()), "{ip}");
        }
    }
}
