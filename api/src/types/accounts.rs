//! Accounts: roles, contract states, sign-in, sessions, passwords, the second factor.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::{time::to_wire, ContractStatus, Role};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use crate::http::text::Text;

/// Role of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoleDto {
    Customer,
    Agent,
    Admin,
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Customer => Role::Customer,
            RoleDto::Agent => Role::Agent,
            RoleDto::Admin => Role::Admin,
        }
    }
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Customer => RoleDto::Customer,
            Role::Agent => RoleDto::Agent,
            Role::Admin => RoleDto::Admin,
        }
    }
}

/// State of an organization's support contract. Only `active` organizations may
/// open threads or post; the others keep read access to their history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ContractStatusDto {
    Active,
    Suspended,
    Ended,
}

impl From<ContractStatusDto> for ContractStatus {
    fn from(c: ContractStatusDto) -> Self {
        match c {
            ContractStatusDto::Active => ContractStatus::Active,
            ContractStatusDto::Suspended => ContractStatus::Suspended,
            ContractStatusDto::Ended => ContractStatus::Ended,
        }
    }
}

impl From<ContractStatus> for ContractStatusDto {
    fn from(c: ContractStatus) -> Self {
        match c {
            ContractStatus::Active => ContractStatusDto::Active,
            ContractStatus::Suspended => ContractStatusDto::Suspended,
            ContractStatus::Ended => ContractStatusDto::Ended,
        }
    }
}

/// `POST /v1/auth/login`
#[derive(Debug, Object)]
pub struct LoginRequest {
    #[oai(validator(max_length = 254))]
    pub email: Text,
    #[oai(validator(max_length = 128))]
    pub password: Text,
    /// For accounts with a second factor: the authenticator app's current
    /// six-digit code, or one of the recovery codes (each works once).
    #[oai(validator(max_length = 32))]
    pub totp: Option<Text>,
}

/// A signed-in session: an API token's or a board cookie's.
#[derive(Debug, Object)]
pub struct SessionDto {
    pub id: Uuid,
    /// `token` (the API) or `board` (a browser on the web board).
    pub kind: String,
    /// The session the request itself was made with.
    pub current: bool,
    pub created_at: DateTime<FixedOffset>,
    /// Last request made with it (recorded at most once a minute); a session
    /// unused for `MADOGUCHI_WEB_IDLE_MINUTES` ends by itself.
    pub last_seen_at: DateTime<FixedOffset>,
    /// When it ends at the latest (12 hours after sign-in).
    pub expires_at: DateTime<FixedOffset>,
    /// The address it signed in from, when known.
    pub client_address: Option<String>,
    /// The browser it signed in with (board sessions).
    pub user_agent: Option<String>,
}

impl SessionDto {
    pub fn of(s: madoguchi_persistence::sessions::SessionInfo, current: Option<Uuid>) -> Self {
        SessionDto {
            id: s.id,
            kind: if s.browser { "board" } else { "token" }.to_owned(),
            current: Some(s.id) == current,
            created_at: to_wire(s.created_at),
            last_seen_at: to_wire(s.last_seen_at),
            expires_at: to_wire(s.expires_at),
            client_address: s.client_address,
            user_agent: s.user_agent,
        }
    }
}

/// `POST /v1/me/password`
#[derive(Debug, Object)]
pub struct ChangePassword {
    #[oai(validator(max_length = 128))]
    pub current_password: Text,
    /// 12 to 128 characters (counted as characters, so Japanese counts as it
    /// reads), not easy to guess: common passwords, patterns and words from
    /// the person's own name or email are refused.
    #[oai(validator(min_length = 12, max_length = 128))]
    pub new_password: Text,
}

/// `POST /v1/me/totp`: what an authenticator app needs. Shown once; the
/// factor works after `POST /v1/me/totp/confirm`.
#[derive(Debug, Object)]
pub struct TotpEnrolment {
    /// The shared secret in base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/madoguchi:<email>?secret=…&issuer=madoguchi` (SHA-1,
    /// 6 digits, 30 seconds), what the QR code holds.
    pub otpauth_uri: String,
    /// The URI as a QR code: an SVG document.
    pub qr_svg: String,
}

/// A code from the authenticator app (or, to remove the factor, a recovery code).
#[derive(Debug, Object)]
pub struct TotpCode {
    #[oai(validator(min_length = 1, max_length = 32))]
    pub code: Text,
}

/// `POST /v1/me/totp/confirm`: the factor is live.
#[derive(Debug, Object)]
pub struct RecoveryCodes {
    /// Ten one-time codes for when the phone is lost, shown only now: each
    /// signs in once in place of a TOTP code.
    pub recovery_codes: Vec<String>,
}

/// The caller's second factor.
#[derive(Debug, Object)]
pub struct TotpStatus {
    pub enrolled: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: u64,
    /// Whether the caller must have one (staff, while the admin setting is on).
    pub required: bool,
}

/// Settings that apply to every sign-in.
#[derive(Debug, Object)]
pub struct SecuritySettings {
    /// Every agent and admin must use a second factor: one without it may
    /// only enrol (`POST /v1/me/totp`) until it is done.
    pub staff_totp_required: bool,
}

/// `DELETE /v1/users/{id}/totp`: the factor is gone and so are the sessions.
#[derive(Debug, Object)]
pub struct SecondFactorReset {
    /// How many sessions of the person were ended.
    pub sessions_revoked: u64,
}

#[derive(Debug, Object)]
pub struct PasswordChanged {
    /// How many other sessions of this person were ended.
    pub sessions_revoked: u64,
}

#[derive(Debug, Object)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}
