//! Facts about the request being served, reachable from anywhere that runs on its
//! behalf: the request id (in every log line and problem `instance`) and the
//! client address (in every audit entry).

use std::net::IpAddr;

tokio::task_local! {
    static CURRENT: RequestCtx;
}

#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub request_id: String,
    pub ip: Option<IpAddr>,
}

impl RequestCtx {
    /// The context of the request this task serves; empty outside a request
    /// (start-up, background work).
    pub fn current() -> RequestCtx {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }

    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// Whether `peer` is one of the proxies whose forwarding headers are believed.
pub fn is_trusted_proxy(peer: Option<IpAddr>, proxies: &[ipnet::IpNet]) -> bool {
    peer.is_some_and(|ip| proxies.iter().any(|net| net.contains(&unmapped(ip))))
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client's address, for the throttle and the audit trail. The
/// connection's peer, unless it is a trusted proxy: then `X-Forwarded-For`
/// (all its headers, in order) is read from the right, each trusted proxy's
/// hop skipped, and the first address that is not a trusted proxy is the
/// client. Proxies append what they saw, so everything left of that point was
/// written by the client and proves nothing; taking the leftmost entry would
/// let a client choose its own address. An entry that does not parse ends the
/// walk at the hop to its right.
pub fn client_address<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    proxies: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let mut client = peer.map(unmapped);
    if !is_trusted_proxy(peer, proxies) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = Some(unmapped(ip));
        if !is_trusted_proxy(Some(ip), proxies) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<ipnet::IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy() {
        let proxies = nets(&["127.0.0.0/8", "10.0.0.0/24"]);
        // A client that writes its own header, behind an appending proxy.
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                ["6.6.6.6, 203.0.113.9"].into_iter(),
                &proxies
            ),
            ip("203.0.113.9")
        );
        // Two proxies of ours, each appending.
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                ["6.6.6.6", "198.51.100.4, 10.0.0.7"].into_iter(),
                &proxies
            ),
            ip("198.51.100.4")
        );
        // A peer that is not a proxy of ours is the client, whatever it says.
        assert_eq!(
            client_address(ip("198.51.100.4"), ["127.0.0.1"].into_iter(), &proxies),
            ip("198.51.100.4")
        );
        // Garbage stops the walk at the last hop that parsed.
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                ["nonsense, 10.0.0.7"].into_iter(),
                &proxies
            ),
            ip("10.0.0.7")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), std::iter::empty(), &proxies),
            ip("127.0.0.1")
        );
        // Nothing trusted: the peer, always.
        assert_eq!(
            client_address(ip("127.0.0.1"), ["203.0.113.9"].into_iter(), &[]),
            ip("127.0.0.1")
        );
    }
}
