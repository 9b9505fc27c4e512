//! The shapes the API reads and writes. Plain poem-openapi objects built from
//! persistence records; no storage type ever appears in the schema.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::{
    events::EventType, integrations::Scope, time::to_wire, ContractStatus, Role,
};
use madoguchi_persistence::{
    api_keys::ApiKey,
    audit::AuditEvent,
    organizations::Organization,
    users::User,
    webhooks::{Attempt, Delivery, DeliveryStatus, Webhook},
};
use poem_openapi::{types::MaybeUndefined, Enum, Object};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    payload::{rfc3339, rfc3339_opt},
    text::Text,
};

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

/// A contract organization (a clinic or hospital).
#[derive(Debug, Object)]
pub struct OrganizationDto {
    pub id: Uuid,
    /// Up to 200 characters, e.g. 医療法人社団 さくら内科クリニック.
    pub name: String,
    pub contract_status: ContractStatusDto,
    /// Its users must sign in with a second factor: one who has none may only
    /// enrol it (`POST /v1/me/totp`) until they do.
    pub totp_required: bool,
    /// Increases with every change; sent as the `ETag`.
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        OrganizationDto {
            id: o.id,
            name: o.name,
            contract_status: o.contract_status.into(),
            totp_required: o.totp_required,
            version: o.version,
            created_at: to_wire(o.created_at),
            updated_at: to_wire(o.updated_at),
        }
    }
}

/// Confirmation of an erasure: the organization's name, typed.
#[derive(Debug, Object)]
pub struct EraseOrganization {
    /// The organization's name exactly as stored (surrounding spaces ignored), so
    /// that a wrong id in a script cannot erase a clinic.
    #[oai(validator(max_length = 200))]
    pub confirm_organization_name: String,
}

/// What an erasure changed. Rows keep their ids and times; the counts are rows
/// whose personal text was overwritten, or rows deleted where they only served
/// that text. Erasing again answers zeros.
#[derive(Debug, Object)]
pub struct ErasureDto {
    pub organization_id: Uuid,
    pub erased_at: DateTime<FixedOffset>,
    /// People whose name and email were replaced; they can no longer sign in.
    pub users: u64,
    /// Their sessions (with client address and user agent), deleted.
    pub sessions: u64,
    /// Their unused recovery codes, deleted (second-factor secrets are cleared with the user).
    pub recovery_codes: u64,
    /// Threads whose title was replaced.
    pub threads: u64,
    /// Tags removed from those threads.
    pub tags: u64,
    /// Posts (public and internal) whose body was replaced; a customer's name as author too.
    pub posts: u64,
    /// Calls whose caller name, number and summary were replaced.
    pub calls: u64,
    /// Search documents removed (titles and bodies are no longer findable).
    pub search_documents: u64,
    /// Outbox events whose payload held personal text (a new thread's title), rewritten.
    pub events: u64,
    /// Webhook deliveries whose body held it, rewritten (receivers' answers dropped).
    pub webhook_deliveries: u64,
    /// Cached answers of recent writes (`Idempotency-Key`) that named the organization, deleted.
    pub idempotency_records: u64,
    /// API keys bound to the organization, revoked.
    pub api_keys_revoked: u64,
    /// Webhook subscriptions bound to it, disabled.
    pub webhooks_disabled: u64,
}

#[derive(Debug, Object)]
pub struct CreateOrganization {
    /// 1 to 200 characters after trimming.
    #[oai(validator(max_length = 200))]
    pub name: Text,
    /// Defaults to `active`.
    pub contract_status: Option<ContractStatusDto>,
}

#[derive(Debug, Object)]
pub struct UpdateOrganization {
    #[oai(validator(max_length = 200))]
    pub name: Option<Text>,
    pub contract_status: Option<ContractStatusDto>,
    /// Require a second factor of the organization's users.
    pub totp_required: Option<bool>,
}

#[derive(Debug, Object)]
pub struct OrganizationList {
    pub items: Vec<OrganizationDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A person who signs in. Never carries a password or its hash.
#[derive(Debug, Object)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    /// Up to 100 characters, usually Japanese (山田 花子).
    pub display_name: String,
    pub role: RoleDto,
    /// Set for customers (their clinic); null for staff.
    pub organization_id: Option<Uuid>,
    pub active: bool,
    pub totp_enrolled: bool,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role.into(),
            organization_id: u.organization_id,
            active: u.active,
            totp_enrolled: u.totp_enrolled,
            version: u.version,
            created_at: to_wire(u.created_at),
            updated_at: to_wire(u.updated_at),
        }
    }
}

#[derive(Debug, Object)]
pub struct CreateUser {
    /// Up to 254 characters; stored lower-case.
    #[oai(validator(max_length = 254))]
    pub email: Text,
    /// 1 to 100 characters after trimming.
    #[oai(validator(max_length = 100))]
    pub display_name: Text,
    pub role: RoleDto,
    /// Required for customers, absent for staff.
    pub organization_id: Option<Uuid>,
    /// 12 to 128 characters.
    #[oai(validator(max_length = 128))]
    pub password: Text,
}

#[derive(Debug, Object)]
pub struct UpdateUser {
    #[oai(validator(max_length = 100))]
    pub display_name: Option<Text>,
    pub role: Option<RoleDto>,
    /// `null` removes the organization (when the role becomes staff).
    pub organization_id: MaybeUndefined<Uuid>,
    /// `false` deactivates the user and revokes every token at once.
    pub active: Option<bool>,
    /// A new password (12 to 128 characters); revokes every token.
    #[oai(validator(max_length = 128))]
    pub password: Option<Text>,
}

#[derive(Debug, Object)]
pub struct UserList {
    pub items: Vec<UserDto>,
    pub next_cursor: Option<String>,
}

/// One audited access.
#[derive(Debug, Object)]
pub struct AuditEventDto {
    pub id: i64,
    pub occurred_at: DateTime<FixedOffset>,
    /// `user`, `api_key`, `anonymous` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    /// e.g. `auth.login`, `user.create`, `organization.read`.
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// SHA-256 link of this entry in the tamper-evident chain.
    pub hash: Option<String>,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        AuditEventDto {
            id: e.id,
            occurred_at: to_wire(e.occurred_at),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            ip: e.ip,
            outcome: e.outcome,
            request_id: e.request_id,
            detail: e.detail,
            hash: e.hash,
        }
    }
}

/// Where the audit chain first breaks.
#[derive(Debug, Object)]
pub struct ChainBreak {
    /// The first entry that does not verify.
    pub id: i64,
    /// `edited`, `missing` or `reordered`.
    pub reason: String,
}

#[derive(Debug, Object)]
pub struct AuditVerification {
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    pub first_broken: Option<ChainBreak>,
}

#[derive(Debug, Object)]
pub struct AuditEventList {
    pub items: Vec<AuditEventDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct Health {
    /// `ok`
    pub status: String,
}

// ---- calendar --------------------------------------------------------------

/// A national holiday (国民の祝日, 振替休日 or 国民の休日).
#[derive(Debug, Object)]
#[oai(example)]
pub struct HolidayDto {
    pub date: chrono::NaiveDate,
    /// Japanese name, e.g. 振替休日.
    pub name: String,
}

impl poem_openapi::types::Example for HolidayDto {
    fn example() -> Self {
        HolidayDto {
            date: chrono::NaiveDate::from_ymd_opt(2026, 5, 6).unwrap_or_default(),
            name: "振替休日".into(),
        }
    }
}

/// Why a day is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ClosedReasonDto {
    /// No hours on this weekday.
    Weekend,
    /// A national holiday (`holiday_name` says which).
    Holiday,
    /// A company closure: year-end, or a day an admin closed (`note` says why).
    Closure,
}

/// One open interval of a day, as instants.
#[derive(Debug, Object)]
pub struct OpenInterval {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// One day of the business calendar.
#[derive(Debug, Object)]
pub struct DayDto {
    pub date: chrono::NaiveDate,
    /// `mon` … `sun`.
    pub weekday: String,
    pub open: bool,
    /// Open intervals; empty when closed.
    pub intervals: Vec<OpenInterval>,
    pub closed_reason: Option<ClosedReasonDto>,
    /// The holiday's name, also on a holiday an admin opened.
    pub holiday_name: Option<String>,
    /// The closure's or special-hours day's note.
    pub note: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct DueResponse {
    pub from: DateTime<FixedOffset>,
    /// Business seconds asked for.
    pub seconds: u64,
    /// The earliest instant by which that much open time has passed.
    pub due: DateTime<FixedOffset>,
}

impl poem_openapi::types::Example for DueResponse {
    fn example() -> Self {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap_or_default();
        DueResponse {
            from: t("2026-11-27T17:00:00+09:00"),
            seconds: 3600,
            due: t("2026-11-30T09:30:00+09:00"),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct ElapsedResponse {
    pub from: DateTime<FixedOffset>,
    pub to: DateTime<FixedOffset>,
    /// Business seconds inside [from, to].
    pub seconds: u64,
}

impl poem_openapi::types::Example for ElapsedResponse {
    fn example() -> Self {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap_or_default();
        ElapsedResponse {
            from: t("2026-11-27T17:00:00+09:00"),
            to: t("2026-11-30T10:00:00+09:00"),
            seconds: 5400,
        }
    }
}

/// An admin's exception for one date: closed, or open only during `hours`.
#[derive(Debug, Object)]
pub struct ClosureDto {
    pub date: chrono::NaiveDate,
    /// `closed`, or `special_hours` with `hours`.
    pub kind: String,
    /// `HH:MM-HH:MM` intervals for `special_hours`.
    pub hours: Vec<String>,
    pub note: String,
    pub created_at: DateTime<FixedOffset>,
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Object)]
pub struct ClosureList {
    pub items: Vec<ClosureDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct CreateClosure {
    pub date: chrono::NaiveDate,
    /// Up to 200 characters, e.g. システムメンテナンス.
    #[oai(validator(max_length = 200))]
    pub note: Text,
    /// Leave out to close the whole day; or 1–8 `HH:MM-HH:MM` intervals of special hours.
    pub hours: Option<Vec<Text>>,
}

impl poem_openapi::types::Example for CreateClosure {
    fn example() -> Self {
        CreateClosure {
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 28).unwrap_or_default(),
            note: Text("仕事納め".into()),
            hours: Some(vec![Text("09:00-12:00".into())]),
        }
    }
}

// ---- board -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PriorityDto {
    Low,
    Normal,
    High,
    Urgent,
}

impl From<PriorityDto> for madoguchi_domain::board::Priority {
    fn from(p: PriorityDto) -> Self {
        use madoguchi_domain::board::Priority as P;
        match p {
            PriorityDto::Low => P::Low,
            PriorityDto::Normal => P::Normal,
            PriorityDto::High => P::High,
            PriorityDto::Urgent => P::Urgent,
        }
    }
}

impl From<madoguchi_domain::board::Priority> for PriorityDto {
    fn from(p: madoguchi_domain::board::Priority) -> Self {
        use madoguchi_domain::board::Priority as P;
        match p {
            P::Low => PriorityDto::Low,
            P::Normal => PriorityDto::Normal,
            P::High => PriorityDto::High,
            P::Urgent => PriorityDto::Urgent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    New,
    Open,
    Pending,
    Resolved,
    Closed,
}

impl From<StatusDto> for madoguchi_domain::board::ThreadStatus {
    fn from(s: StatusDto) -> Self {
        use madoguchi_domain::board::ThreadStatus as S;
        match s {
            StatusDto::New => S::New,
            StatusDto::Open => S::Open,
            StatusDto::Pending => S::Pending,
            StatusDto::Resolved => S::Resolved,
            StatusDto::Closed => S::Closed,
        }
    }
}

impl From<madoguchi_domain::board::ThreadStatus> for StatusDto {
    fn from(s: madoguchi_domain::board::ThreadStatus) -> Self {
        use madoguchi_domain::board::ThreadStatus as S;
        match s {
            S::New => StatusDto::New,
            S::Open => StatusDto::Open,
            S::Pending => StatusDto::Pending,
            S::Resolved => StatusDto::Resolved,
            S::Closed => StatusDto::Closed,
        }
    }
}

/// Who wrote a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AuthorRoleDto {
    Customer,
    Agent,
    Admin,
    System,
}

impl From<madoguchi_domain::board::AuthorRole> for AuthorRoleDto {
    fn from(r: madoguchi_domain::board::AuthorRole) -> Self {
        use madoguchi_domain::board::AuthorRole as A;
        match r {
            A::Customer => AuthorRoleDto::Customer,
            A::Agent => AuthorRoleDto::Agent,
            A::Admin => AuthorRoleDto::Admin,
            A::System => AuthorRoleDto::System,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum VisibilityDto {
    Public,
    Internal,
}

/// One SLA clock as of the response.
#[derive(Debug, Object, Serialize)]
pub struct ClockDto {
    pub target_minutes: u32,
    /// When the goal is due; null when paused or met.
    #[serde(serialize_with = "rfc3339_opt")]
    pub due_at: Option<DateTime<FixedOffset>>,
    /// `running`, `paused`, `met` or `breached`.
    pub state: String,
    /// Business seconds used so far.
    pub used_seconds: u64,
    pub remaining_seconds: u64,
    #[serde(serialize_with = "rfc3339_opt")]
    pub met_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Object, Serialize)]
pub struct SlaDto {
    pub first_response: ClockDto,
    /// Null until a customer writes after an agent's answer.
    pub next_reply: Option<ClockDto>,
    pub resolution: ClockDto,
}

// Written with serde on the big pages (`crate::payload::Serialized`): its
// `Serialize` derive must write what its `Object` derive documents (the test
// at the end of this file checks).
/// A support thread.
#[derive(Debug, Object, Serialize)]
pub struct ThreadDto {
    /// Human-friendly, sequential.
    pub number: i64,
    pub organization_id: Uuid,
    pub title: String,
    pub category: Option<String>,
    pub priority: PriorityDto,
    pub status: StatusDto,
    /// `board`, `phone` or `api`.
    pub channel: String,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub created_by: Option<Uuid>,
    /// The closed thread this one follows up.
    pub follow_up_of: Option<i64>,
    /// Posts the caller can see.
    pub post_count: i32,
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_public_post_at: Option<DateTime<FixedOffset>>,
    /// Any clock breached.
    pub breached: bool,
    pub sla: SlaDto,
    /// What `ETag` carries. A customer's moves only with what they can see:
    /// an internal note changes staff's version, not theirs.
    pub version: i32,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<FixedOffset>,
    /// The last change the caller can see (for a customer, internal notes
    /// do not count).
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object, Serialize)]
pub struct ThreadList {
    pub items: Vec<ThreadDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreateThread {
    /// 1 to 200 characters, one line.
    #[oai(validator(max_length = 200))]
    pub title: Text,
    /// The first post: 1 to 10 000 characters.
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    #[oai(validator(max_length = 50))]
    pub category: Option<Text>,
    /// Defaults to `normal`.
    pub priority: Option<PriorityDto>,
    /// Up to 10 tags of up to 30 characters.
    pub tags: Option<Vec<Text>>,
    /// Staff only, required for them: the organization the thread belongs to.
    pub organization_id: Option<Uuid>,
    /// The number of a closed thread this follows up.
    pub follow_up_of: Option<i64>,
}

#[derive(Debug, Object)]
pub struct UpdateThread {
    #[oai(validator(max_length = 200))]
    pub title: Option<Text>,
    #[oai(validator(max_length = 50))]
    pub category: Option<Text>,
    pub priority: Option<PriorityDto>,
    pub status: Option<StatusDto>,
    /// An agent or admin; null unassigns.
    pub assignee_id: MaybeUndefined<Uuid>,
    pub tags: Option<Vec<Text>>,
}

/// A post on a thread.
#[derive(Debug, Object)]
pub struct PostDto {
    pub id: Uuid,
    pub thread_number: i64,
    pub author_id: Option<Uuid>,
    pub author_name: String,
    /// `system` for what the window itself posted (a notice's update).
    pub author_role: AuthorRoleDto,
    pub visibility: VisibilityDto,
    pub body: String,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object)]
pub struct PostList {
    pub items: Vec<PostDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreatePost {
    /// 1 to 10 000 characters.
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    /// Defaults to `public`. Customers may only post public.
    pub visibility: Option<VisibilityDto>,
}

/// One line of an SLA clock's log.
#[derive(Debug, Object)]
pub struct ClockEventDto {
    /// `first_response`, `next_reply` or `resolution`.
    pub clock: String,
    pub cycle: u32,
    /// `start`, `pause`, `resume`, `met`, `warning`, `breach`, `retarget`, `reproject`.
    pub event: String,
    pub at: DateTime<FixedOffset>,
    /// What caused it: `thread.created`, `post:<id>`, `status:pending`, `priority:high`,
    /// `calendar.changed`, `sweeper`.
    pub cause: String,
    pub used_seconds: u64,
}

#[derive(Debug, Object)]
pub struct SearchItem {
    pub number: i64,
    pub title: String,
    pub status: StatusDto,
    /// The matching text with some context.
    pub snippet: String,
    /// `title` or `post`.
    pub matched: String,
    pub post_id: Option<Uuid>,
}

#[derive(Debug, Object)]
pub struct SearchResults {
    pub items: Vec<SearchItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct SlaPolicyDto {
    pub priority: PriorityDto,
    pub first_response_minutes: u32,
    pub next_reply_minutes: u32,
    pub resolution_minutes: u32,
    pub version: i32,
    pub updated_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Object)]
pub struct PutSlaPolicy {
    /// Business minutes, 1 to 100 000.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub first_response_minutes: u32,
    /// Defaults to `first_response_minutes`.
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub next_reply_minutes: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub resolution_minutes: u32,
}

// ---- calls -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DirectionDto {
    Inbound,
    Outbound,
}

impl From<DirectionDto> for madoguchi_domain::calls::Direction {
    fn from(d: DirectionDto) -> Self {
        match d {
            DirectionDto::Inbound => madoguchi_domain::calls::Direction::Inbound,
            DirectionDto::Outbound => madoguchi_domain::calls::Direction::Outbound,
        }
    }
}

impl From<madoguchi_domain::calls::Direction> for DirectionDto {
    fn from(d: madoguchi_domain::calls::Direction) -> Self {
        match d {
            madoguchi_domain::calls::Direction::Inbound => DirectionDto::Inbound,
            madoguchi_domain::calls::Direction::Outbound => DirectionDto::Outbound,
        }
    }
}

/// A logged phone call (personal data: staff only).
#[derive(Debug, Object)]
pub struct CallDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub caller_name: String,
    /// E.164, e.g. +81364130612.
    pub caller_number: String,
    pub direction: DirectionDto,
    pub answered: bool,
    pub started_at: DateTime<FixedOffset>,
    /// Absent while the call is still going.
    pub ended_at: Option<DateTime<FixedOffset>>,
    /// Derived: whole seconds from start to end.
    pub duration_seconds: Option<i64>,
    /// Derived: an inbound call that started outside reception hours.
    pub outside_hours: bool,
    pub agent_id: Option<Uuid>,
    pub summary: Option<String>,
    pub thread_number: Option<i64>,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object)]
pub struct CallList {
    pub items: Vec<CallDto>,
    pub next_cursor: Option<String>,
}

/// Open a thread (channel `phone`) from the call.
#[derive(Debug, Object)]
pub struct OpenThreadFromCall {
    #[oai(validator(max_length = 200))]
    pub title: Text,
    pub priority: Option<PriorityDto>,
}

#[derive(Debug, Object)]
pub struct CreateCall {
    pub organization_id: Uuid,
    /// 1 to 100 characters.
    #[oai(validator(max_length = 100))]
    pub caller_name: Text,
    /// Japanese forms such as 03-6413-0612, 090-1234-5678, +81 3 6413 0612.
    #[oai(validator(max_length = 30))]
    pub caller_number: Text,
    pub direction: DirectionDto,
    pub answered: bool,
    pub started_at: DateTime<FixedOffset>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    #[oai(validator(max_length = 10000))]
    pub summary: Option<Text>,
    /// Attach to this thread …
    pub thread_number: Option<i64>,
    /// … or open a new one.
    pub open_thread: Option<OpenThreadFromCall>,
}

#[derive(Debug, Object)]
pub struct UpdateCall {
    pub ended_at: Option<DateTime<FixedOffset>>,
    #[oai(validator(max_length = 10000))]
    pub summary: Option<Text>,
    pub answered: Option<bool>,
}

/// Calls of one day or hour.
#[derive(Debug, Object)]
pub struct CallCountsDto {
    pub inbound_answered: u64,
    pub inbound_missed: u64,
    pub outbound_answered: u64,
    pub outbound_missed: u64,
    pub outside_hours: u64,
}

impl From<madoguchi_domain::calls::Counts> for CallCountsDto {
    fn from(c: madoguchi_domain::calls::Counts) -> Self {
        CallCountsDto {
            inbound_answered: c.inbound_answered,
            inbound_missed: c.inbound_missed,
            outbound_answered: c.outbound_answered,
            outbound_missed: c.outbound_missed,
            outside_hours: c.outside_hours,
        }
    }
}

#[derive(Debug, Object)]
pub struct CallDayDto {
    pub date: chrono::NaiveDate,
    #[oai(flatten)]
    pub counts: CallCountsDto,
}

#[derive(Debug, Object)]
pub struct CallHourDto {
    /// Hour of day in Tokyo, 0–23.
    pub hour: u32,
    #[oai(flatten)]
    pub counts: CallCountsDto,
}

#[derive(Debug, Object)]
pub struct CallReportDto {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub organization_id: Option<Uuid>,
    pub days: Vec<CallDayDto>,
    pub hours: Vec<CallHourDto>,
    pub total: CallCountsDto,
    /// Answered, finished calls; null when there are none.
    pub average_handle_seconds: Option<i64>,
    /// Inbound calls outside hours over all calls, 0–1.
    pub outside_hours_share: f64,
}

// ---- announcements ---------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SeverityDto {
    Info,
    Minor,
    Major,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum NoticeStatusDto {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl From<SeverityDto> for madoguchi_domain::announcements::Severity {
    fn from(s: SeverityDto) -> Self {
        use madoguchi_domain::announcements::Severity as S;
        match s {
            SeverityDto::Info => S::Info,
            SeverityDto::Minor => S::Minor,
            SeverityDto::Major => S::Major,
            SeverityDto::Critical => S::Critical,
        }
    }
}

impl From<NoticeStatusDto> for madoguchi_domain::announcements::NoticeStatus {
    fn from(s: NoticeStatusDto) -> Self {
        use madoguchi_domain::announcements::NoticeStatus as S;
        match s {
            NoticeStatusDto::Investigating => S::Investigating,
            NoticeStatusDto::Identified => S::Identified,
            NoticeStatusDto::Monitoring => S::Monitoring,
            NoticeStatusDto::Resolved => S::Resolved,
        }
    }
}

#[derive(Debug, Object)]
pub struct NoticeUpdateDto {
    pub id: Uuid,
    pub body: String,
    /// The status this update set, if any.
    pub status: Option<String>,
    pub created_at: DateTime<FixedOffset>,
}

/// An incident notice.
#[derive(Debug, Object)]
pub struct AnnouncementDto {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    /// `info`, `minor`, `major` or `critical`.
    pub severity: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    pub active: bool,
    /// Addressed to every organization; otherwise `organization_ids` (staff only).
    pub all_organizations: bool,
    pub organization_ids: Option<Vec<Uuid>>,
    /// Threads the notice concerns (a customer sees only its own
    /// organization's); each update is posted to them as a public reply.
    pub thread_numbers: Vec<i64>,
    /// Every update, oldest first.
    pub updates: Vec<NoticeUpdateDto>,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(Debug, Object)]
pub struct AnnouncementList {
    pub items: Vec<AnnouncementDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct CreateAnnouncement {
    #[oai(validator(max_length = 200))]
    pub title: Text,
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    pub severity: SeverityDto,
    pub status: NoticeStatusDto,
    /// Leave out to address every organization.
    pub organization_ids: Option<Vec<Uuid>>,
    /// Threads the notice concerns; each must belong to the audience.
    pub thread_numbers: Option<Vec<i64>>,
}

#[derive(Debug, Object)]
pub struct UpdateAnnouncement {
    #[oai(validator(max_length = 200))]
    pub title: Option<Text>,
    #[oai(validator(max_length = 10000))]
    pub body: Option<Text>,
    pub severity: Option<SeverityDto>,
}

#[derive(Debug, Object)]
pub struct CreateNoticeUpdate {
    #[oai(validator(max_length = 10000))]
    pub body: Text,
    pub status: Option<NoticeStatusDto>,
}

// ---- integrations -------------------------------------------------------------

/// What an API key may do. `threads:*` and `announcements:read` are the only
/// scopes a key bound to an organization may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ScopeDto {
    /// Threads, posts, the SLA clock log, the queue, search.
    #[oai(rename = "threads:read")]
    ThreadsRead,
    /// Open threads, reply, change status, priority, assignee, tags.
    #[oai(rename = "threads:write")]
    ThreadsWrite,
    /// Call logs and the call report.
    #[oai(rename = "calls:read")]
    CallsRead,
    /// Log and correct calls.
    #[oai(rename = "calls:write")]
    CallsWrite,
    /// Incident notices.
    #[oai(rename = "announcements:read")]
    AnnouncementsRead,
    /// Publish notices and their updates.
    #[oai(rename = "announcements:write")]
    AnnouncementsWrite,
    /// Read, export and verify the audit trail.
    #[oai(rename = "audit:read")]
    AuditRead,
}

impl From<ScopeDto> for Scope {
    fn from(s: ScopeDto) -> Self {
        match s {
            ScopeDto::ThreadsRead => Scope::ThreadsRead,
            ScopeDto::ThreadsWrite => Scope::ThreadsWrite,
            ScopeDto::CallsRead => Scope::CallsRead,
            ScopeDto::CallsWrite => Scope::CallsWrite,
            ScopeDto::AnnouncementsRead => Scope::AnnouncementsRead,
            ScopeDto::AnnouncementsWrite => Scope::AnnouncementsWrite,
            ScopeDto::AuditRead => Scope::AuditRead,
        }
    }
}

impl From<Scope> for ScopeDto {
    fn from(s: Scope) -> Self {
        match s {
            Scope::ThreadsRead => ScopeDto::ThreadsRead,
            Scope::ThreadsWrite => ScopeDto::ThreadsWrite,
            Scope::CallsRead => ScopeDto::CallsRead,
            Scope::CallsWrite => ScopeDto::CallsWrite,
            Scope::AnnouncementsRead => ScopeDto::AnnouncementsRead,
            Scope::AnnouncementsWrite => ScopeDto::AnnouncementsWrite,
            Scope::AuditRead => ScopeDto::AuditRead,
        }
    }
}

/// A new API key.
#[derive(Debug, Object)]
pub struct CreateApiKey {
    /// 1 to 100 characters, e.g. 電子カルテ連携.
    #[oai(validator(max_length = 100))]
    pub name: Text,
    /// At least one.
    #[oai(validator(min_items = 1, max_items = 7))]
    pub scopes: Vec<ScopeDto>,
    /// Bind the key to one clinic: it then acts as that clinic's customer.
    pub organization_id: Option<Uuid>,
    /// When the key stops working; must be in the future. Never, when absent.
    pub expires_at: Option<DateTime<FixedOffset>>,
}

/// An API key as listed: never its secret.
#[derive(Debug, Object)]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub name: String,
    /// The first 12 characters of the secret (`mdg_` and 8 more), to recognise it.
    pub prefix: String,
    pub scopes: Vec<ScopeDto>,
    /// The clinic the key acts for; null for a staff key.
    pub organization_id: Option<Uuid>,
    pub expires_at: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        ApiKeyDto {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.into_iter().map(Into::into).collect(),
            organization_id: k.organization_id,
            expires_at: k.expires_at.map(to_wire),
            revoked_at: k.revoked_at.map(to_wire),
            last_used_at: k.last_used_at.map(to_wire),
            created_at: to_wire(k.created_at),
        }
    }
}

/// A key just created, with its secret: shown this once, stored only as a hash.
#[derive(Debug, Object)]
pub struct IssuedApiKeyDto {
    /// `mdg_` + 36 characters; send as `Authorization: Bearer <secret>`.
    pub secret: String,
    #[oai(flatten)]
    pub key: ApiKeyDto,
}

#[derive(Debug, Object)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An event a webhook subscription asks for; `*` is every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum WebhookEventDto {
    #[oai(rename = "*")]
    All,
    #[oai(rename = "thread.created")]
    ThreadCreated,
    #[oai(rename = "thread.updated")]
    ThreadUpdated,
    #[oai(rename = "thread.status_changed")]
    ThreadStatusChanged,
    #[oai(rename = "post.created")]
    PostCreated,
    #[oai(rename = "sla.warning")]
    SlaWarning,
    #[oai(rename = "sla.breached")]
    SlaBreached,
    #[oai(rename = "announcement.published")]
    AnnouncementPublished,
    #[oai(rename = "announcement.updated")]
    AnnouncementUpdated,
}

impl WebhookEventDto {
    /// Every value, `*` first.
    const ALL: [WebhookEventDto; 9] = [
        WebhookEventDto::All,
        WebhookEventDto::ThreadCreated,
        WebhookEventDto::ThreadUpdated,
        WebhookEventDto::ThreadStatusChanged,
        WebhookEventDto::PostCreated,
        WebhookEventDto::SlaWarning,
        WebhookEventDto::SlaBreached,
        WebhookEventDto::AnnouncementPublished,
        WebhookEventDto::AnnouncementUpdated,
    ];

    /// The domain's event (`None` for `*`): the wire names come from
    /// `domain::events`, and a test holds the `rename`s above to them.
    pub fn event(self) -> Option<EventType> {
        match self {
            WebhookEventDto::All => None,
            WebhookEventDto::ThreadCreated => Some(EventType::ThreadCreated),
            WebhookEventDto::ThreadUpdated => Some(EventType::ThreadUpdated),
            WebhookEventDto::ThreadStatusChanged => Some(EventType::ThreadStatusChanged),
            WebhookEventDto::PostCreated => Some(EventType::PostCreated),
            WebhookEventDto::SlaWarning => Some(EventType::SlaWarning),
            WebhookEventDto::SlaBreached => Some(EventType::SlaBreached),
            WebhookEventDto::AnnouncementPublished => Some(EventType::AnnouncementPublished),
            WebhookEventDto::AnnouncementUpdated => Some(EventType::AnnouncementUpdated),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.event().map_or("*", EventType::as_str)
    }

    fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A new webhook subscription.
#[derive(Debug, Object)]
pub struct CreateWebhook {
    /// `https://` (or `http://` when the server allows it); refused when its host
    /// resolves to a loopback, private, link-local or metadata address.
    #[oai(validator(max_length = 2000))]
    pub url: Text,
    #[oai(validator(min_items = 1, max_items = 9))]
    pub event_types: Vec<WebhookEventDto>,
    /// Only this clinic's events, never an internal one.
    pub organization_id: Option<Uuid>,
    /// Defaults to true.
    pub enabled: Option<bool>,
    /// Up to 500 characters.
    #[oai(validator(max_length = 500))]
    pub description: Option<Text>,
}

/// Changes to a subscription; absent members stay as they are.
#[derive(Debug, Object)]
pub struct UpdateWebhook {
    #[oai(validator(max_length = 2000))]
    pub url: Option<Text>,
    #[oai(validator(min_items = 1, max_items = 9))]
    pub event_types: Option<Vec<WebhookEventDto>>,
    /// null: no longer bound to an organization.
    pub organization_id: MaybeUndefined<Uuid>,
    /// Turning a disabled subscription on again clears its failure record.
    pub enabled: Option<bool>,
    /// null or empty: no description.
    #[oai(validator(max_length = 500))]
    pub description: MaybeUndefined<Text>,
}

/// A webhook subscription; never its secret.
#[derive(Debug, Object)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEventDto>,
    pub organization_id: Option<Uuid>,
    pub enabled: bool,
    pub description: Option<String>,
    /// Why the server turned it off (every delivery failing for five days).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed; null while it is healthy.
    pub failing_since: Option<DateTime<FixedOffset>>,
    /// After a rotation: until when the previous secret still signs too.
    pub previous_secret_until: Option<DateTime<FixedOffset>>,
    /// Increases with every change; sent as the `ETag`.
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        WebhookDto {
            id: w.id,
            url: w.url,
            event_types: w
                .event_types
                .iter()
                .filter_map(|e| WebhookEventDto::from_stored(e))
                .collect(),
            organization_id: w.organization_id,
            enabled: w.enabled,
            description: w.description,
            disabled_reason: w.disabled_reason,
            failing_since: w.failing_since.map(to_wire),
            previous_secret_until: w.previous_secret_until.map(to_wire),
            version: w.version,
            created_at: to_wire(w.created_at),
            updated_at: to_wire(w.updated_at),
        }
    }
}

/// A subscription with its signing secret, shown on creation and rotation only.
#[derive(Debug, Object)]
pub struct WebhookWithSecretDto {
    /// `whsec_` + base64: the key of the HMAC-SHA256 signatures (Standard Webhooks).
    pub secret: String,
    #[oai(flatten)]
    pub webhook: WebhookDto,
}

#[derive(Debug, Object)]
pub struct WebhookList {
    pub items: Vec<WebhookDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatusDto {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Out of retries (about three days); a manual retry sends it again.
    Failed,
}

impl From<DeliveryStatus> for DeliveryStatusDto {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => DeliveryStatusDto::Pending,
            DeliveryStatus::Delivered => DeliveryStatusDto::Delivered,
            DeliveryStatus::Failed => DeliveryStatusDto::Failed,
        }
    }
}

impl From<DeliveryStatusDto> for DeliveryStatus {
    fn from(s: DeliveryStatusDto) -> Self {
        match s {
            DeliveryStatusDto::Pending => DeliveryStatus::Pending,
            DeliveryStatusDto::Delivered => DeliveryStatus::Delivered,
            DeliveryStatusDto::Failed => DeliveryStatus::Failed,
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Object)]
pub struct AttemptDto {
    pub attempted_at: DateTime<FixedOffset>,
    /// The receiver's status; null when there was no answer.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The first 1 KiB of the answer.
    pub response_excerpt: Option<String>,
    /// Why it did not count as delivered.
    pub error: Option<String>,
}

/// An event on its way to one subscription, and every attempt so far.
#[derive(Debug, Object)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// Sent as `webhook-id`: the same on every attempt, so a receiver can drop repeats.
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatusDto,
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    pub attempts: Vec<AttemptDto>,
}

impl From<(Delivery, Vec<Attempt>)> for DeliveryDto {
    fn from((d, attempts): (Delivery, Vec<Attempt>)) -> Self {
        DeliveryDto {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.into(),
            next_attempt_at: d.next_attempt_at.map(to_wire),
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: to_wire(d.created_at),
            delivered_at: d.delivered_at.map(to_wire),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptDto {
                    attempted_at: to_wire(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    response_excerpt: a.response_excerpt,
                    error: a.error,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Object)]
pub struct DeliveryList {
    pub items: Vec<DeliveryDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use poem_openapi::types::ToJSON;

    use super::*;

    fn clock(due: Option<DateTime<FixedOffset>>, met: Option<DateTime<FixedOffset>>) -> ClockDto {
        ClockDto {
            target_minutes: 240,
            due_at: due,
            state: "running".into(),
            used_seconds: 1_234,
            remaining_seconds: 13_166,
            met_at: met,
        }
    }

    fn thread(full: bool, priority: PriorityDto, status: StatusDto) -> ThreadDto {
        let jst = FixedOffset::east_opt(9 * 3600).unwrap();
        // One time with a fraction of a second, as stored times have.
        let t = jst.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        ThreadDto {
            number: 42,
            organization_id: Uuid::nil(),
            title: "予約システムにログインできない \"至急\"\n".into(),
            category: full.then_some("電子カルテ".to_owned()),
            priority,
            status,
            channel: "board".into(),
            assignee_id: full.then_some(Uuid::from_u128(7)),
            tags: if full {
                vec!["レセプト".into(), "FAX".into()]
            } else {
                vec![]
            },
            created_by: full.then_some(Uuid::from_u128(9)),
            follow_up_of: full.then_some(41),
            post_count: 3,
            last_public_post_at: full.then_some(t),
            breached: full,
            sla: SlaDto {
                first_response: clock(full.then_some(t), None),
                next_reply: if full {
                    Some(clock(None, Some(t)))
                } else {
                    None
                },
                resolution: clock(Some(t), full.then_some(t)),
            },
            version: 5,
            created_at: jst.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            updated_at: t,
        }
    }

    /// The queue and the thread lists are written with serde ([`crate::payload`]);
    /// what they write must be what the schema (poem-openapi's `ToJSON`) says, for
    /// every field set and unset and every enum value.
    #[test]
    fn a_thread_page_written_with_serde_is_what_poem_openapi_would_write() {
        let priorities = [
            PriorityDto::Low,
            PriorityDto::Normal,
            PriorityDto::High,
            PriorityDto::Urgent,
        ];
        let statuses = [
            StatusDto::New,
            StatusDto::Open,
            StatusDto::Pending,
            StatusDto::Resolved,
            StatusDto::Closed,
        ];
        let mut items = Vec::new();
        for (i, s) in statuses.into_iter().enumerate() {
            items.push(thread(i % 2 == 0, priorities[i % priorities.len()], s));
            items.push(thread(
                i % 2 == 1,
                priorities[(i + 1) % priorities.len()],
                s,
            ));
        }
        for next_cursor in [None, Some("abc".to_owned())] {
            let page = ThreadList {
                items: items
                    .iter()
                    .map(|t| thread(t.breached, t.priority, t.status))
                    .collect(),
                next_cursor,
            };
            let by_serde = serde_json::to_value(&page).unwrap();
            let by_schema = page.to_json().unwrap();
            assert_eq!(by_serde, by_schema);
            // Not only equal as values: the times are the same text.
            assert!(serde_json::to_string(&page)
                .unwrap()
                .contains("2026-12-07T09:00:00.123456+09:00"));
        }
    }

    /// The names a client sees in the document are the domain's, and every
    /// event a subscription may name has a value.
    #[test]
    fn webhook_event_values_carry_the_domain_names() {
        use poem_openapi::types::ToJSON;
        for dto in WebhookEventDto::ALL {
            assert_eq!(dto.to_json(), Some(serde_json::json!(dto.as_str())));
        }
        for e in EventType::SUBSCRIBABLE {
            assert!(
                WebhookEventDto::ALL.iter().any(|d| d.event() == Some(e)),
                "{e}"
            );
        }
    }
}
