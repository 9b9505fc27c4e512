//! The support board's rules: threads, posts, the status machine, visibility and
//! the SLA clocks. Pure: storage and HTTP live elsewhere.

pub mod search;
pub mod sla;
pub mod status;
pub mod values;

pub use sla::{
    Clock, ClockEvent, ClockEventKind, ClockKind, ClockPhase, ClockState, ClockView, SlaPolicy,
    SlaPolicySet, ThreadSla, Urgency,
};
pub use status::{IllegalTransition, ThreadStatus};
pub use values::{Category, Channel, PostBody, Priority, Tags, ThreadTitle, Visibility};
