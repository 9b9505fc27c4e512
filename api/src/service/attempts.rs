//! Failure budgets for anything that checks a secret (a password, a second
//! factor's code): which keys an attempt counts on, claimed before the check.
//!
//! Keys name an account or a client address by a keyed hash (HMAC-SHA-256 with
//! a key derived from the shared signing secret), so the throttle table never
//! holds an email address: a failed login after an erasure writes nothing the
//! erasure removed, and a copy of the table lists nobody.

use hmac::{Hmac, Mac};
use madoguchi_domain::throttle::ThrottlePolicy;
use madoguchi_persistence::{throttle, Tx};
use std::net::IpAddr;

use crate::{app::state::AppState, http::problem::ApiError};

fn keyed(state: &AppState, kind: &str, value: &str) -> String {
    let digest = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(&state.jwt.throttle_key) {
        Ok(mut mac) => {
            mac.update(kind.as_bytes());
            mac.update(b"\0");
            mac.update(value.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes a key of any length; this arm is never taken.
        Err(_) => Vec::new(),
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}

/// The per-account key; the same for any spelling of the address's case.
pub(crate) fn account(state: &AppState, email: &str) -> (String, ThrottlePolicy) {
    (
        keyed(state, "account", &email.to_lowercase()),
        ThrottlePolicy::per_account(),
    )
}

/// The per-address key (IPv4-mapped IPv6 written as IPv4, so one client is
/// one key however it arrived).
pub(crate) fn address(state: &AppState, ip: IpAddr) -> (String, ThrottlePolicy) {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    (
        keyed(state, "address", &ip.to_string()),
        ThrottlePolicy::per_address(),
    )
}

/// An attempt counted on its keys, not yet known to be right or wrong. A wrong
/// one needs nothing more (it was counted when claimed); a right one calls
/// [`Attempt::succeeded`].
#[derive(Debug)]
pub(crate) struct Attempt {
    claims: Vec<throttle::Claimed>,
}

/// Count one attempt on every key before it is checked, or answer 429 with
/// the wait when any key is locked (then nothing is counted).
pub(crate) async fn claim(
    state: &AppState,
    keys: &[(String, ThrottlePolicy)],
) -> Result<Result<Attempt, u64>, ApiError> {
    Ok(throttle::claim(&state.db, keys, state.now())
        .await?
        .map(|claims| Attempt { claims }))
}

impl Attempt {
    /// The attempt was right: the account's earlier failures are forgiven (its
    /// key cleared), other keys (a shared clinic address) get this attempt back.
    pub(crate) async fn succeeded(&self, state: &AppState, tx: &Tx) -> Result<(), ApiError> {
        for c in &self.claims {
            if c.key.starts_with("account:") {
                throttle::clear(tx, &c.key).await?;
            } else {
                throttle::refund(tx, c, state.now()).await?;
            }
        }
        Ok(())
    }
}
