use chrono::Duration;
use madoguchi_domain::Action;
use madoguchi_domain::{Email, Password, ValidationError};
use madoguchi_persistence::{audit::Outcome, begin, commit, sessions, users, users::User};
use serde_json::json;

use super::{attempts, entry, record, second_factor, Object};
use crate::{
    app::state::AppState,
    http::context::RequestCtx,
    http::problem::ApiError,
    security::passwords::{check_guessable, hash_password, verify_password},
    security::principal::Principal,
    security::tokens::Claims,
};

pub struct Token {
    pub access_token: String,
    pub expires_in: i64,
}

/// Email + password (+ TOTP when enrolled) to a bearer token.
///
/// Unknown email, inactive account and wrong password all give the same answer
/// in about the same time, and all count towards the throttle of both the account
/// and the client address.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    totp: Option<String>,
) -> Result<Token, ApiError> {
    let t = state.now();
    let session_ends = t + Duration::hours(WEB_SESSION_LIFETIME_HOURS);
    let (user, sid) = open_session(
        state,
        email,
        password,
        totp,
        SessionKind::Token,
        session_ends,
    )
    .await?;
    token_for(state, &user, sid, session_ends)
}

/// A token for a live session: `MADOGUCHI_TOKEN_TTL_SECONDS` long, never past
/// the session's own end.
fn token_for(
    state: &AppState,
    user: &User,
    sid: uuid::Uuid,
    session_ends: chrono::DateTime<chrono::Utc>,
) -> Result<Token, ApiError> {
    let t = state.now();
    let expires_at = (t + state.config.token_ttl).min(session_ends);
    let claims = Claims {
        iss: "madoguchi".into(),
        sub: user.id.to_string(),
        role: user.role,
        org: user.organization_id.map(|o| o.to_string()),
        sid: sid.to_string(),
        iat: t.timestamp(),
        exp: expires_at.timestamp(),
    };
    let access_token = state.jwt.sign(&claims)?;
    Ok(Token {
        access_token,
        expires_in: (expires_at - t).num_seconds(),
    })
}

/// A fresh token for the caller's live session, without the password: the
/// session must still be live (not revoked, not idle, within its 12 hours),
/// which the token check already established.
pub async fn refresh(state: &AppState, p: &Principal) -> Result<Token, ApiError> {
    let Principal::User {
        user, session_id, ..
    } = p
    else {
        return Err(ApiError::missing_scope(None));
    };
    let ends = sessions::expires_at(&state.db, *session_id).await?;
    token_for(state, user, *session_id, ends)
}

/// The caller's live sessions (tokens and board cookies), most recent first.
pub async fn my_sessions(
    state: &AppState,
    p: &Principal,
) -> Result<Vec<sessions::SessionInfo>, ApiError> {
    let Some(uid) = p.user_id() else {
        return Err(ApiError::missing_scope(None));
    };
    Ok(sessions::live_for_user(&state.read, uid, state.now(), state.config.web_idle).await?)
}

/// End one of the caller's own sessions (another device, a forgotten
/// browser); someone else's is "not found".
pub async fn end_my_session(
    state: &AppState,
    p: &Principal,
    session: uuid::Uuid,
) -> Result<(), ApiError> {
    let Some(uid) = p.user_id() else {
        return Err(ApiError::missing_scope(None));
    };
    end_session(state, p, uid, session).await
}

/// A user's live sessions, for an admin (audited: it shows where they sign in from).
pub async fn user_sessions(
    state: &AppState,
    p: &Principal,
    user_id: uuid::Uuid,
) -> Result<Vec<sessions::SessionInfo>, ApiError> {
    let key = user_id.to_string();
    super::authorize(
        state,
        p,
        madoguchi_domain::Role::ADMINS,
        Action::SessionList,
        Some(Object::new("user", &key)),
    )
    .await?;
    users::get(&state.db, user_id).await?;
    let list =
        sessions::live_for_user(&state.db, user_id, state.now(), state.config.web_idle).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::SessionList,
            Some(Object::new("user", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    Ok(list)
}

/// End one of a user's sessions, for an admin (a lost device, a leaver).
pub async fn end_user_session(
    state: &AppState,
    p: &Principal,
    user_id: uuid::Uuid,
    session: uuid::Uuid,
) -> Result<(), ApiError> {
    super::authorize(
        state,
        p,
        madoguchi_domain::Role::ADMINS,
        Action::SessionRevoke,
        Some(Object::new("session", &session.to_string())),
    )
    .await?;
    end_session(state, p, user_id, session).await
}

async fn end_session(
    state: &AppState,
    p: &Principal,
    user_id: uuid::Uuid,
    session: uuid::Uuid,
) -> Result<(), ApiError> {
    let tx = begin(&state.db).await?;
    if !sessions::revoke_of_user(&tx, user_id, session, state.now()).await? {
        return Err(ApiError::new(crate::http::problem::ProblemType::NotFound));
    }
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::SessionRevoke,
            Some(Object::new("session", &session.to_string())),
            Outcome::Success,
            Some(json!({"user_id": user_id})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// How long a browser session lasts at most, however active: a working day.
pub const WEB_SESSION_LIFETIME_HOURS: i64 = 12;

/// Email + password (+ TOTP when enrolled) to a browser session named by the
/// hash of its cookie's secret; the same checks, throttle and audit as
/// [`login`]. Returns the session's id.
pub async fn login_web(
    state: &AppState,
    email: &str,
    password: String,
    totp: Option<String>,
    cookie_hash: &str,
    user_agent: Option<String>,
) -> Result<(User, uuid::Uuid), ApiError> {
    let expires_at = state.now() + Duration::hours(WEB_SESSION_LIFETIME_HOURS);
    open_session(
        state,
        email,
        password,
        totp,
        SessionKind::Cookie {
            hash: cookie_hash,
            user_agent,
        },
        expires_at,
    )
    .await
}

/// The person of a board session named by the hash of its cookie's secret:
/// live (not revoked, not idle past `MADOGUCHI_WEB_IDLE_MINUTES`), within the
/// person's request rate, its activity recorded at most once a minute.
/// `None`: no such live session.
pub async fn web_principal(
    state: &AppState,
    cookie_hash: &str,
) -> Result<Option<Principal>, ApiError> {
    let now = state.now();
    let Some(live) =
        sessions::web_session(&state.read, cookie_hash, now, state.config.web_idle).await?
    else {
        return Ok(None);
    };
    if let Some(limiter) = &state.user_limiter {
        state.within_rate(limiter, &live.user.id)?;
    }
    if now - live.last_seen_at >= Duration::minutes(1) {
        sessions::touch(&state.db, live.id, now).await?;
    }
    Ok(Some(
        second_factor::principal_for(state, live.user, live.id).await?,
    ))
}

enum SessionKind<'a> {
    Token,
    Cookie {
        hash: &'a str,
        user_agent: Option<String>,
    },
}

async fn open_session(
    state: &AppState,
    email: &str,
    password: String,
    totp: Option<String>,
    kind: SessionKind<'_>,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<(User, uuid::Uuid), ApiError> {
    let email = Email::parse(email)?;
    let ctx = RequestCtx::current();
    let t = state.now();
    let mut keys = vec![attempts::account(state, email.as_str())];
    keys.extend(ctx.ip.map(|ip| attempts::address(state, ip)));

    // Counted before it is checked: concurrent guesses cannot all pass a
    // budget that none of them has yet spent.
    let attempt = match attempts::claim(state, &keys).await? {
        Ok(a) => a,
        Err(secs) => {
            // The account by its id, never the address typed: the trail outlives an
            // erasure and must hold nothing it would have to forget.
            let account = users::credentials_by_email(&state.db, &email)
                .await?
                .map(|c| c.user.id.to_string());
            record(
                &state.db,
                entry(
                    state.now(),
                    None,
                    Action::AuthLogin,
                    account.as_deref().map(|id| Object::new("user", id)),
                    Outcome::Denied,
                    Some(json!({"reason": "throttled"})),
                ),
            )
            .await?;
            return Err(ApiError::too_many_requests(secs));
        }
    };

    let creds = users::credentials_by_email(&state.db, &email).await?;
    let hash = creds.as_ref().map(|c| c.password_hash.clone());
    let password_ok = verify_password(password, hash).await?;
    // An account with a second factor answers every failure with "second
    // factor required", so the answer never tells whether the password was
    // right. The code is only checked (and spent) after the right password.
    let factor = creds
        .as_ref()
        .filter(|c| c.user.active)
        .and_then(|c| c.totp_secret.clone());
    let refusal = if factor.is_some() {
        ApiError::second_factor_required()
    } else {
        ApiError::invalid_credentials()
    };
    let account = creds.as_ref().map(|c| c.user.id.to_string());
    let user = creds.map(|c| c.user).filter(|u| u.active && password_ok);
    let mut reason = "password";
    let user = match (user, factor) {
        (Some(u), Some(sealed)) => {
            reason = if totp.is_some() {
                "second factor wrong"
            } else {
                "second factor missing"
            };
            match &totp {
                Some(code) if second_factor::accept(state, u.id, &sealed, code).await? => Some(u),
                _ => None,
            }
        }
        (u, _) => u,
    };

    let tx = begin(&state.db).await?;
    let Some(user) = user else {
        // Already counted by the claim.
        let reason = if account.is_some() {
            reason
        } else {
            "unknown account"
        };
        record(
            &tx,
            entry(
                state.now(),
                None,
                Action::AuthLogin,
                account.as_deref().map(|id| Object::new("user", id)),
                Outcome::Failure,
                Some(json!({"reason": reason})),
            ),
        )
        .await?;
        commit(tx).await?;
        return Err(refusal);
    };
    attempt.succeeded(state, &tx).await?;
    let sid = match kind {
        SessionKind::Token => {
            sessions::create(&tx, user.id, t, expires_at, ctx.ip_string()).await?
        }
        SessionKind::Cookie { hash, user_agent } => {
            sessions::create_web(
                &tx,
                sessions::NewWebSession {
                    user_id: user.id,
                    cookie_hash: hash,
                    now: t,
                    expires_at,
                    client_address: ctx.ip_string(),
                    user_agent,
                },
            )
            .await?
        }
    };
    let uid = user.id.to_string();
    let mut e = entry(
        state.now(),
        None,
        Action::AuthLogin,
        Some(Object::new("user", &uid)),
        Outcome::Success,
        None,
    );
    e.actor_type = "user";
    e.actor_id = Some(uid.clone());
    record(&tx, e).await?;
    commit(tx).await?;
    Ok((user, sid))
}

/// End this session: the token stops working at once.
pub async fn logout(state: &AppState, p: &Principal) -> Result<(), ApiError> {
    let Principal::User { session_id, .. } = p else {
        // A key has no session: it is revoked by an admin, not logged out.
        return Err(ApiError::missing_scope(None));
    };
    let tx = begin(&state.db).await?;
    sessions::revoke(&tx, *session_id, state.now()).await?;
    let sid = session_id.to_string();
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::AuthLogout,
            Some(Object::new("session", &sid)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// The caller's own account. Reading oneself is not an access to someone else's
/// personal data, so it is not audited (it would double every request's writes).
pub fn me(p: &Principal) -> Result<User, ApiError> {
    match p {
        Principal::User { user, .. } => Ok(user.clone()),
        Principal::Key(_) => Err(ApiError::missing_scope(None)),
    }
}

/// Change one's own password. The current one is asked first and a wrong one
/// counts against the account like a failed login (so a stolen token cannot
/// be used to guess it); the new one follows the rules of every password.
/// Every other session of the person ends; the one that asked stays. Answers
/// how many sessions were ended.
pub async fn change_password(
    state: &AppState,
    p: &Principal,
    current: String,
    new: &str,
) -> Result<u64, ApiError> {
    let Principal::User {
        user, session_id, ..
    } = p
    else {
        return Err(ApiError::missing_scope(None));
    };
    let t = state.now();
    let attempt = attempts::claim(state, &[attempts::account(state, &user.email)])
        .await?
        .map_err(ApiError::too_many_requests)?;
    let email = Email::parse(&user.email)?;
    let creds = users::credentials_by_email(&state.db, &email).await?;
    let hash = creds.as_ref().map(|c| c.password_hash.clone());
    if !verify_password(current, hash).await? {
        let tx = begin(&state.db).await?;
        record(
            &tx,
            entry(
                t,
                Some(p),
                Action::UserPasswordChange,
                Some(Object::new("user", &user.id.to_string())),
                Outcome::Failure,
                Some(json!({"reason": "current password wrong"})),
            ),
        )
        .await?;
        commit(tx).await?;
        return Err(ValidationError::new("current_password", "is not the current password").into());
    }
    // The rules of every password, named after this request's field.
    let as_new = |e: ValidationError| ValidationError::new("new_password", e.message);
    let new = match Password::parse(new).and_then(|new| {
        check_guessable(&new, &[&user.email, &user.display_name])?;
        Ok(new)
    }) {
        Ok(new) => new,
        Err(e) => {
            // The current password was right: this was no guess.
            let tx = begin(&state.db).await?;
            attempt.succeeded(state, &tx).await?;
            commit(tx).await?;
            return Err(as_new(e).into());
        }
    };
    let password_hash = hash_password(new.expose().to_owned()).await?;
    let tx = begin(&state.db).await?;
    let current = users::get(&tx, user.id).await?;
    let changes = users::UserChanges {
        display_name: None,
        role: None,
        organization_id: None,
        active: None,
        password_hash: Some(password_hash),
    };
    users::update(&tx, user.id, current.version, changes, t).await?;
    let ended = sessions::revoke_others(&tx, user.id, *session_id, t).await?;
    attempt.succeeded(state, &tx).await?;
    record(
        &tx,
        entry(
            t,
            Some(p),
            Action::UserPasswordChange,
            Some(Object::new("user", &user.id.to_string())),
            Outcome::Success,
            Some(json!({"sessions_revoked": ended})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(ended)
}
