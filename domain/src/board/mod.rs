//! The support board's rules: threads, posts, the status machine, visibility and
//! the SLA clocks. Pure: storage and HTTP live elsewhere.

pub mod cause;
pub mod search;
pub mod sla;
pub mod status;
pub mod values;

pub use cause::ClockCause;
pub use sla::{
    Clock, ClockEvent, ClockEventKind, ClockKind, ClockPhase, ClockState, ClockView, SlaPolicy,
    SlaPolicySet, ThreadSla, Urgency,
};
pub use status::{IllegalTransition, ThreadStatus};
pub use values::{
    AuthorRole, Category, Channel, PostBody, Priority, Tags, ThreadTitle, Visibility,
};
