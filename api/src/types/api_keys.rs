//! API keys and their scopes.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::{integrations::Scope, time::to_wire};
use madoguchi_persistence::api_keys::ApiKey;
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use crate::http::text::Text;

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
