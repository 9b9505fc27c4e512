//! sea-orm entities. They stay inside this crate: repositories hand out plain records.

pub mod announcement;
pub mod announcement_organization;
pub mod announcement_thread;
pub mod announcement_update;
pub mod api_key;
pub mod audit_event;
pub mod calendar_override;
pub mod call;
pub mod idempotency_key;
pub mod login_throttle;
pub mod organization;
pub mod outbox;
pub mod outbox_consumer;
pub mod post;
pub mod recovery_code;
pub mod session;
pub mod setting;
pub mod sla_clock;
pub mod sla_clock_event;
pub mod sla_policy;
pub mod thread;
pub mod thread_tag;
pub mod user;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;
