//! Webhook subscriptions, deliveries and attempts.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::{events::EventType, time::to_wire};
use madoguchi_persistence::webhooks::{Attempt, Delivery, DeliveryStatus, Webhook};
use poem_openapi::{types::MaybeUndefined, Enum, Object};
use uuid::Uuid;

use crate::http::text::Text;

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
    use super::*;

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
