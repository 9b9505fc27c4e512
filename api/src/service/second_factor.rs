//! The second factor: enrolment, removal, an admin's reset, the settings that
//! require it (of all staff; of one organization's users), and the check at
//! login.
//!
//! Rules, in one place:
//! - every person may enrol (what a clinic writes can name patients); API keys
//!   may not;
//! - a TOTP code is accepted for a time step later than any accepted before
//!   (once only, on every instance), with one step of skew either side;
//! - a recovery code is accepted once;
//! - a wrong code counts against the account like a wrong password (429 once
//!   the account's budget is spent);
//! - while staff must use a second factor, a staff session without one may
//!   only enrol it; so may a session of a user whose organization requires
//!   one ([`principal_for`]).

use madoguchi_domain::Action;
use madoguchi_domain::{Role, ValidationError};
use madoguchi_persistence::{
    audit::Outcome, begin, commit, second_factor as store, sessions, settings, users, users::User,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    attempts::{self, Attempt},
    entry, record, Object,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    security::principal::Principal,
    security::totp::{
        looks_like_code, matching_step, new_recovery_codes, new_secret, otpauth, qr_svg,
        recovery_hash,
    },
};

/// The setting (in the shared settings table, so every instance agrees) that
/// requires a second factor of every agent and admin.
const STAFF_REQUIRED: &str = "staff_totp_required";

/// What an enrolment hands out: enough for any authenticator app.
pub struct Enrolment {
    /// The shared secret in base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

fn person(p: &Principal) -> Result<&User, ApiError> {
    match p {
        Principal::User { user, .. } => Ok(user),
        Principal::Key(_) => Err(ApiError::missing_scope(None)),
    }
}

/// Whether every agent and admin must use a second factor.
pub async fn staff_required(state: &AppState) -> Result<bool, ApiError> {
    Ok(is_on(
        settings::get(&state.read, STAFF_REQUIRED).await?.as_deref(),
    ))
}

/// How the setting's stored value reads.
pub fn is_on(value: Option<&str>) -> bool {
    value == Some("true")
}

/// The security settings, for an admin.
pub async fn settings(state: &AppState, p: &Principal) -> Result<bool, ApiError> {
    super::authorize(
        state,
        p,
        Role::ADMINS,
        Action::SettingsRead,
        Some(Object::kind("security_settings")),
    )
    .await?;
    staff_required(state).await
}

/// Require (or stop requiring) a second factor of every agent and admin. Admin
/// only, audited; to require it, the admin must have one. Staff without one keep their sessions but may only enrol
/// until they have.
pub async fn set_staff_required(
    state: &AppState,
    p: &Principal,
    required: bool,
) -> Result<bool, ApiError> {
    super::authorize(
        state,
        p,
        Role::ADMINS,
        Action::SettingsUpdate,
        Some(Object::kind("security_settings")),
    )
    .await?;
    // Whoever requires it shows it works first, and cannot lock themselves out.
    if required && !person(p)?.totp_enrolled {
        return Err(ValidationError::new(
            "staff_totp_required",
            "enrol your own second factor first (POST /v1/me/totp)",
        )
        .into());
    }
    let tx = begin(&state.db).await?;
    settings::put(&tx, STAFF_REQUIRED, if required { "true" } else { "false" }).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::SettingsUpdate,
            Some(Object::kind("security_settings")),
            Outcome::Success,
            Some(json!({"staff_totp_required": required})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(required)
}

/// The principal of a live session of `user`: restricted to enrolment when the
/// person is staff, has no second factor and one is required.
pub async fn principal_for(
    state: &AppState,
    user: User,
    session_id: Uuid,
) -> Result<Principal, ApiError> {
    let required = required_of(state, &user).await?;
    Ok(principal_with(user, session_id, required, required))
}

/// The setting [`principal_with`] needs, for a caller that reads it together
/// with the session (the bearer check of every request).
pub const STAFF_REQUIRED_SETTING: &str = STAFF_REQUIRED;

/// The principal of a session whose user is known, given whether staff must
/// use a second factor (`staff_required`, the setting's value) and whether the
/// user's organization requires one (`org_required`).
pub fn principal_with(
    user: User,
    session_id: Uuid,
    staff_required: bool,
    org_required: bool,
) -> Principal {
    let required = if Role::STAFF.contains(&user.role) {
        staff_required
    } else {
        org_required
    };
    let enrol_only = required && !user.totp_enrolled;
    Principal::User {
        user,
        session_id,
        enrol_only,
    }
}

/// Start an enrolment: a new secret, kept sealed until a code from it is
/// confirmed. Starting again replaces an unconfirmed one.
pub async fn start(state: &AppState, p: &Principal) -> Result<Enrolment, ApiError> {
    let user = person(p)?;
    let factor = store::get(&state.db, user.id).await?;
    if factor.secret.is_some() {
        return Err(ApiError::new(ProblemType::SecondFactorExists));
    }
    let secret = new_secret();
    let sealed = state
        .sealer
        .seal(user.id, &secret)
        .ok_or_else(|| ApiError::internal("sealing a TOTP secret failed"))?;
    let enrolment = enrolment(user, &secret)?;
    let tx = begin(&state.db).await?;
    store::set_pending(&tx, user.id, &sealed).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::SecondFactorEnrolStart,
            Some(Object::new("user", &user.id.to_string())),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(enrolment)
}

fn enrolment(user: &User, secret: &[u8]) -> Result<Enrolment, ApiError> {
    let (otpauth_uri, base32) = otpauth(secret, &user.email)
        .ok_or_else(|| ApiError::internal("building the otpauth URI failed"))?;
    let svg =
        qr_svg(&otpauth_uri).ok_or_else(|| ApiError::internal("drawing the QR code failed"))?;
    Ok(Enrolment {
        secret: base32,
        otpauth_uri,
        qr_svg: svg,
    })
}

/// The enrolment started and not yet confirmed, shown again (a page
/// reloaded, a code mistyped).
pub async fn pending(state: &AppState, p: &Principal) -> Result<Option<Enrolment>, ApiError> {
    let user = person(p)?;
    let factor = store::get(&state.read, user.id).await?;
    let Some(sealed) = factor.pending.filter(|_| factor.secret.is_none()) else {
        return Ok(None);
    };
    let secret = state
        .sealer
        .open(user.id, &sealed)
        .ok_or_else(|| ApiError::internal("a pending TOTP secret does not open"))?;
    enrolment(user, &secret).map(Some)
}

/// Count one code attempt against the account before the code is checked;
/// refused (429) while the account's failure budget is spent.
async fn claim_attempt(state: &AppState, user: &User) -> Result<Attempt, ApiError> {
    attempts::claim(state, &[attempts::account(state, &user.email)])
        .await?
        .map_err(ApiError::too_many_requests)
}

/// A wrong code (already counted by its claim), audited; the 422 names `code`.
async fn wrong_code(
    state: &AppState,
    p: &Principal,
    user: &User,
    action: Action,
) -> Result<ApiError, ApiError> {
    let tx = begin(&state.db).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            action,
            Some(Object::new("user", &user.id.to_string())),
            Outcome::Failure,
            Some(json!({"reason": "wrong code"})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(ValidationError::new(
        "code",
        "is not a current code of the authenticator app (or an unused recovery code)",
    )
    .into())
}

/// Confirm an enrolment with a code from the new secret: the factor is live
/// from now on, and ten recovery codes are answered, once.
pub async fn confirm(state: &AppState, p: &Principal, code: &str) -> Result<Vec<String>, ApiError> {
    let user = person(p)?;
    let factor = store::get(&state.db, user.id).await?;
    if factor.secret.is_some() {
        return Err(ApiError::new(ProblemType::SecondFactorExists));
    }
    let Some(pending) = factor.pending else {
        return Err(ValidationError::new(
            "code",
            "there is no enrolment to confirm: start one with POST /v1/me/totp",
        )
        .because(madoguchi_domain::Reason::NotStarted)
        .into());
    };
    let secret = state
        .sealer
        .open(user.id, &pending)
        .ok_or_else(|| ApiError::internal("a pending TOTP secret does not open"))?;
    let attempt = claim_attempt(state, user).await?;
    let step =
        looks_like_code(code).and_then(|c| matching_step(&secret, &c, state.now().timestamp()));
    let Some(step) = step else {
        return Err(wrong_code(state, p, user, Action::SecondFactorEnrol).await?);
    };
    let codes = new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    let tx = begin(&state.db).await?;
    if !store::confirm(&tx, user.id, &pending, step, state.now()).await? {
        return Err(ValidationError::new(
            "code",
            "another enrolment was started meanwhile: use the newest QR code",
        )
        .into());
    }
    store::replace_recovery_codes(&tx, user.id, &hashes, state.now()).await?;
    attempt.succeeded(state, &tx).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::SecondFactorEnrol,
            Some(Object::new("user", &user.id.to_string())),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(codes)
}

/// Remove one's own second factor, proven with a current code or a recovery
/// code (a stolen token alone cannot take it away).
pub async fn remove(state: &AppState, p: &Principal, code: &str) -> Result<(), ApiError> {
    let user = person(p)?;
    let factor = store::get(&state.db, user.id).await?;
    let Some(sealed) = factor.secret else {
        return Err(ApiError::with_detail(
            ProblemType::NotFound,
            "no second factor is enrolled",
        ));
    };
    let attempt = claim_attempt(state, user).await?;
    if !accept(state, user.id, &sealed, code).await? {
        return Err(wrong_code(state, p, user, Action::SecondFactorRemove).await?);
    }
    let tx = begin(&state.db).await?;
    store::remove(&tx, user.id, state.now()).await?;
    attempt.succeeded(state, &tx).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::SecondFactorRemove,
            Some(Object::new("user", &user.id.to_string())),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// An admin removes a person's second factor (a lost phone): every session of
/// the person ends too, since whoever has the phone may be signed in. Audited.
/// Answers how many sessions ended.
pub async fn reset(state: &AppState, p: &Principal, user_id: Uuid) -> Result<u64, ApiError> {
    let key = user_id.to_string();
    super::authorize(
        state,
        p,
        Role::ADMINS,
        Action::SecondFactorReset,
        Some(Object::new("user", &key)),
    )
    .await?;
    users::get(&state.db, user_id).await?;
    let tx = begin(&state.db).await?;
    if !store::remove(&tx, user_id, state.now()).await? {
        return Err(ApiError::with_detail(
            ProblemType::NotFound,
            "the user has no second factor",
        ));
    }
    let ended = sessions::revoke_all_for_user(&tx, user_id, state.now()).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::SecondFactorReset,
            Some(Object::new("user", &key)),
            Outcome::Success,
            Some(json!({"sessions_revoked": ended})),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(ended)
}

/// Whether `code` proves the factor whose sealed secret is `sealed`: a TOTP
/// code for a step later than any accepted, or an unspent recovery code.
/// Whatever it accepts is spent.
pub(crate) async fn accept(
    state: &AppState,
    user_id: Uuid,
    sealed: &str,
    code: &str,
) -> Result<bool, ApiError> {
    if let Some(digits) = looks_like_code(code) {
        let Some(secret) = state.sealer.open(user_id, sealed) else {
            return Err(ApiError::internal(
                "a TOTP secret does not open with this key",
            ));
        };
        return match matching_step(&secret, &digits, state.now().timestamp()) {
            Some(step) => Ok(store::accept_step(&state.db, user_id, step).await?),
            None => Ok(false),
        };
    }
    Ok(store::spend_recovery_code(&state.db, user_id, &recovery_hash(code), state.now()).await?)
}

/// The person's second factor as their account page shows it.
pub struct Status {
    pub enrolled: bool,
    pub recovery_codes_left: u64,
    pub required: bool,
}

pub async fn status(state: &AppState, p: &Principal) -> Result<Status, ApiError> {
    let user = person(p)?;
    let factor = store::get(&state.read, user.id).await?;
    Ok(Status {
        enrolled: factor.secret.is_some(),
        recovery_codes_left: store::recovery_codes_left(&state.read, user.id).await?,
        required: required_of(state, user).await?,
    })
}

/// Whether this person must use a second factor: staff while the staff
/// setting is on, a clinic's user while the clinic requires it.
async fn required_of(state: &AppState, user: &User) -> Result<bool, ApiError> {
    if Role::STAFF.contains(&user.role) {
        return staff_required(state).await;
    }
    Ok(match user.organization_id {
        Some(org) => {
            madoguchi_persistence::organizations::get(&state.read, org)
                .await?
                .totp_required
        }
        None => false,
    })
}
