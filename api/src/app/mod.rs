//! The application core every front end shares: its state, clock,
//! business-calendar handle, metrics and object store.

pub mod calendar_handle;
pub mod clock;
pub mod metrics;
pub mod state;
pub mod storage;
