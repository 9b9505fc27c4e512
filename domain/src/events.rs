//! What happened, as the outbox records it and its readers (webhooks now, mail
//! and notices next) hear of it. The wire name of each event lives here and
//! nowhere else: the outbox stores it, webhook subscriptions name it, the
//! OpenAPI document lists it, and a rename is a change to this one file.

use std::fmt;

/// An event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    ThreadCreated,
    ThreadUpdated,
    ThreadStatusChanged,
    PostCreated,
    SlaWarning,
    SlaBreached,
    AnnouncementPublished,
    AnnouncementUpdated,
    /// A test delivery an admin asked for: sent to one endpoint, never written
    /// to the outbox.
    WebhookPing,
    /// An endpoint was switched off after failing for days.
    WebhookDisabled,
}

impl EventType {
    /// Every event type, in the order the API lists them.
    pub const ALL: [EventType; 10] = [
        EventType::ThreadCreated,
        EventType::ThreadUpdated,
        EventType::ThreadStatusChanged,
        EventType::PostCreated,
        EventType::SlaWarning,
        EventType::SlaBreached,
        EventType::AnnouncementPublished,
        EventType::AnnouncementUpdated,
        EventType::WebhookPing,
        EventType::WebhookDisabled,
    ];

    /// The events a webhook subscription may ask for by name: those the
    /// outbox writes about the board and the notices (a ping goes to the
    /// endpoint that asked for it; a disabled endpoint hears nothing).
    pub const SUBSCRIBABLE: [EventType; 8] = [
        EventType::ThreadCreated,
        EventType::ThreadUpdated,
        EventType::ThreadStatusChanged,
        EventType::PostCreated,
        EventType::SlaWarning,
        EventType::SlaBreached,
        EventType::AnnouncementPublished,
        EventType::AnnouncementUpdated,
    ];

    /// The wire name: the `type` of a webhook body, of an outbox row, and of a
    /// subscription's `event_types`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::ThreadCreated => "thread.created",
            EventType::ThreadUpdated => "thread.updated",
            EventType::ThreadStatusChanged => "thread.status_changed",
            EventType::PostCreated => "post.created",
            EventType::SlaWarning => "sla.warning",
            EventType::SlaBreached => "sla.breached",
            EventType::AnnouncementPublished => "announcement.published",
            EventType::AnnouncementUpdated => "announcement.updated",
            EventType::WebhookPing => "webhook.ping",
            EventType::WebhookDisabled => "webhook.disabled",
        }
    }

    /// The event type of a wire name.
    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// Whether a subscription may name it.
    pub fn subscribable(self) -> bool {
        Self::SUBSCRIBABLE.contains(&self)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_event_and_names_are_unique() {
        let mut names: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::parse("thread.deleted"), None);
    }

    #[test]
    fn pings_and_disabling_are_not_subscribed_to() {
        assert!(EventType::PostCreated.subscribable());
        assert!(!EventType::WebhookPing.subscribable());
        assert!(!EventType::WebhookDisabled.subscribable());
    }
}
