//! Organizations (clinics): their records, erasure.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::time::to_wire;
use madoguchi_persistence::organizations::Organization;
use poem_openapi::Object;
use uuid::Uuid;

use super::ContractStatusDto;
use crate::http::text::Text;

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
