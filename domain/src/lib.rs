//! The rules of madoguchi, free of I/O.
//!
//! Everything that came from outside is parsed here once into a type that cannot
//! hold a bad value; the rest of the system passes those types around. Nothing in
//! this crate touches a database, a socket or the machine's local time zone.

pub mod access;
pub mod actions;
pub mod announcements;
pub mod board;
pub mod calendar;
pub mod calls;
pub mod erasure;
pub mod error;
pub mod events;
pub mod identity;
pub mod integrations;
pub mod schedule;
pub mod throttle;
pub mod time;

pub use access::{Actor, ActorKind};
pub use actions::Action;
pub use error::{Reason, ValidationError};
pub use identity::{ContractStatus, DisplayName, Email, OrganizationName, Password, Role};
