//! The web board's sessions and CSRF protection.
//!
//! A browser session is a row of the same `sessions` table as a token's: the
//! cookie carries a random secret, the row holds only its SHA-256, so a copy of
//! the database opens no session. It is renewed at every login (a new secret),
//! revoked at logout, ends after [`crate::ApiConfig::web_idle`] without use and
//! after twelve hours in any case.
//!
//! Every form carries a CSRF token: an HMAC, under a key derived from the
//! shared token secret, of what the form is bound to (the session's cookie
//! hash, or before login a pre-session cookie). A form is accepted only with
//! its token and, when the browser says where the request came from
//! (`Sec-Fetch-Site`, `Origin`), only from this site.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use poem::{http::header, Request};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{app::state::AppState, http::problem::ApiError, security::principal::Principal};

/// The session cookie. `__Host-` when Secure, so no subdomain can set it.
const SESSION: &str = "madoguchi_session";
const SESSION_SECURE: &str = "__Host-madoguchi_session";
/// Binds the login form's CSRF token before there is a session.
const PRE: &str = "madoguchi_pre";
const PRE_SECURE: &str = "__Host-madoguchi_pre";

/// A signed-in person on the board.
pub struct WebSession {
    pub principal: Principal,
    /// The CSRF token of this session's forms.
    pub csrf: String,
}

/// A fresh random secret for a cookie, and the hash kept of it.
pub fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&secret);
    (secret, hash)
}

fn hash(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CSRF token of forms bound to `binding`.
pub fn csrf_token(state: &AppState, binding: &str) -> String {
    // HMAC takes a key of any length; an empty token would never verify.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&state.jwt.web_key) else {
        return String::new();
    };
    mac.update(b"csrf:");
    mac.update(binding.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn csrf_ok(state: &AppState, binding: &str, given: &str) -> bool {
    let Ok(given) = URL_SAFE_NO_PAD.decode(given.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&state.jwt.web_key) else {
        return false;
    };
    mac.update(b"csrf:");
    mac.update(binding.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Whether a form may be accepted from where the browser says it came from:
/// `Sec-Fetch-Site` when the browser sends it, else `Origin`, which must be
/// this host with this site's scheme (over HTTPS an `http://` origin is
/// another, unprotected site).
pub fn same_site(state: &AppState, req: &Request) -> bool {
    if let Some(site) = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        // Neither header: an older client; the token alone decides.
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let schemes: &[&str] = if secure(state, req) {
        &["https"]
    } else {
        // Not known to be behind HTTPS: a proxy may terminate it unannounced.
        &["http", "https"]
    };
    origin
        .split_once("://")
        .is_some_and(|(scheme, rest)| rest == host && schemes.contains(&scheme))
}

fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the board is reached over HTTPS: configured, or said by a proxy we trust.
pub fn secure(state: &AppState, req: &Request) -> bool {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    state.config.secure_cookies
        || (crate::http::context::is_trusted_proxy(peer, state.config.trusted_proxies())
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https")))
}

fn names(secure: bool) -> (&'static str, &'static str) {
    if secure {
        (SESSION_SECURE, PRE_SECURE)
    } else {
        (SESSION, PRE)
    }
}

fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// The signed-in person behind the request's cookie, if the session is live.
/// Use renews the idle timer (written at most once a minute).
pub async fn current(state: &AppState, req: &Request) -> Result<Option<WebSession>, ApiError> {
    let (name, _) = names(secure(state, req));
    let Some(secret) = cookie(req, name) else {
        return Ok(None);
    };
    let h = hash(secret);
    Ok(crate::service::auth::web_principal(state, &h)
        .await?
        .map(|principal| WebSession {
            principal,
            csrf: csrf_token(state, &h),
        }))
}

/// Whether a form sent with `token` belongs to the request's session.
pub fn session_form_ok(state: &AppState, req: &Request, token: &str) -> bool {
    let (name, _) = names(secure(state, req));
    same_site(state, req)
        && cookie(req, name).is_some_and(|secret| csrf_ok(state, &hash(secret), token))
}

/// The login form's binding: the pre-session cookie, and a `Set-Cookie` when
/// it had to be made.
pub fn pre_session(state: &AppState, req: &Request) -> (String, Option<String>) {
    let secure = secure(state, req);
    let (_, pre) = names(secure);
    if let Some(v) = cookie(req, pre).filter(|v| minted_here(state, v)) {
        return (csrf_token(state, v), None);
    }
    let (secret, _) = new_secret();
    let value = format!("{secret}.{}", pre_session_mac(state, &secret));
    (
        csrf_token(state, &value),
        Some(set_cookie(pre, &value, secure, None)),
    )
}

fn pre_session_mac(state: &AppState, secret: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(&state.jwt.web_key) {
        Ok(mut mac) => {
            mac.update(b"pre-session:");
            mac.update(secret.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Whether a pre-session cookie is one this server made (`secret.mac`): a
/// value planted in the browser by someone else (cookie tossing from a
/// neighbouring host) is replaced, not adopted as the login form's binding.
fn minted_here(state: &AppState, value: &str) -> bool {
    let Some((secret, mac)) = value.split_once('.') else {
        return false;
    };
    secret.len() >= 32
        && crate::security::secrets::constant_time_eq(
            mac.as_bytes(),
            pre_session_mac(state, secret).as_bytes(),
        )
}

/// Whether a login form sent with `token` came from this browser's login page.
pub fn login_form_ok(state: &AppState, req: &Request, token: &str) -> bool {
    let (_, pre) = names(secure(state, req));
    same_site(state, req)
        && cookie(req, pre).is_some_and(|v| minted_here(state, v) && csrf_ok(state, v, token))
}

/// The cookie that carries a new session's secret.
pub fn session_cookie(state: &AppState, req: &Request, secret: &str) -> String {
    let secure = secure(state, req);
    set_cookie(names(secure).0, secret, secure, None)
}

/// The cookie that clears the session on logout.
pub fn clear_session_cookie(state: &AppState, req: &Request) -> String {
    let secure = secure(state, req);
    set_cookie(names(secure).0, "", secure, Some(0))
}
