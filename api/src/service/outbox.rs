//! The outbox's readers. Each outbound channel (the webhook fan-out now; mail
//! and notice receipts next) is a [`Consumer`]: a name and what it does with a
//! batch of events inside the transaction that takes them. [`drain`] runs one
//! consumer until nothing waits for it; the storage layer
//! (`persistence::outbox`) sees to it that every event reaches every consumer
//! registered when it was written, once, whichever instance takes it.
//!
//! Adding a channel: implement [`Consumer`], register it at start-up
//! ([`register`]) and call [`drain`] from its worker when the outbox wakes it.

use std::future::Future;

use chrono::{DateTime, Utc};
use madoguchi_persistence::{
    begin_writer, commit,
    outbox::{self, Event},
    StoreError, Tx,
};

use crate::app::state::AppState;

/// A reader of the outbox.
pub trait Consumer: Send + Sync {
    /// Its name in the database: its claim on each event. Never rename one
    /// (the events waiting for it would wait for a name nobody reads).
    const NAME: &'static str;

    /// Do this consumer's work for `events` (oldest first) in `tx`, the
    /// transaction that takes them: if it fails, they are given back and taken
    /// again later. Work that leaves the building (a request, a mail) should
    /// be recorded here and sent afterwards, as the webhook fan-out records
    /// deliveries and the dispatcher sends them.
    fn handle(
        &self,
        tx: &Tx,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Make `C` a reader of every event written from now on (idempotent; every
/// instance calls it at start-up).
pub async fn register<C: Consumer>(state: &AppState) -> Result<(), StoreError> {
    outbox::register(&state.db, C::NAME, state.now()).await
}

/// Hand `consumer` what waits for it, `batch` events per transaction, until
/// nothing does; returns how many events it handled.
pub async fn drain<C: Consumer>(
    state: &AppState,
    consumer: &C,
    batch: u64,
) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let tx = begin_writer(&state.db).await?;
        let events = outbox::take(&tx, C::NAME, batch).await?;
        if events.is_empty() {
            commit(tx).await?;
            return Ok(total);
        }
        consumer.handle(&tx, &events, state.now()).await?;
        commit(tx).await?;
        state.metrics.outbox_consumed(C::NAME, events.len());
        total += events.len();
        if (events.len() as u64) < batch {
            return Ok(total);
        }
    }
}

/// How many events wait for `C`.
pub async fn backlog<C: Consumer>(state: &AppState) -> Result<u64, StoreError> {
    outbox::backlog(&state.db, C::NAME).await
}
