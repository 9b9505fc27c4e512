//! sea-orm entities. They stay inside this crate: repositories hand out plain records.

pub mod audit_event;
pub mod calendar_override;
pub mod idempotency_key;
pub mod login_throttle;
pub mod organization;
pub mod session;
pub mod setting;
pub mod user;
