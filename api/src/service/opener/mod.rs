//! Group commit for new threads.
//!
//! Opening a thread writes a dozen rows (thread, first post, search documents,
//! clocks and their log, outbox event, audit entry). On SQLite every statement is
//! a round trip to the one writing connection's thread, and those round trips,
//! not SQLite's own work, bound how many threads a second can be opened. So
//! requests hand their thread to one task per instance, which takes every request
//! waiting at that moment and writes them in one transaction with multi-row
//! statements. Under load a batch grows with the queue; alone, a request waits
//! for nobody. Numbers stay sequential and unique (the counter row is locked by
//! the batch's transaction, across instances on PostgreSQL too), and each thread
//! keeps its own audit entry in the chain.

use std::sync::Arc;

use madoguchi_persistence::{begin, commit, Db};
use tokio::sync::{mpsc, oneshot};

mod opening;
pub(crate) mod rows;

pub(crate) use opening::{open_threads_in, OpenRequest, Opened, Opening};

use crate::{
    app::calendar_handle::CalendarHandle, app::clock::Clock, app::metrics::Metrics,
    http::problem::ApiError,
};

/// The most threads one transaction opens: bounds statement size (SQLite allows
/// 32,766 parameters; a thread row has 22) and the wait of the last request in
/// a batch.
const MAX_BATCH: usize = 64;

struct Job {
    request: OpenRequest,
    reply: oneshot::Sender<Opened>,
}

/// The handle requests use; cheap to clone. The writing task ends when the last
/// handle is dropped.
#[derive(Clone)]
pub struct ThreadOpener {
    queue: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
}

impl ThreadOpener {
    /// Start the writing task on the current tokio runtime.
    pub fn start(
        db: Db,
        calendar: Arc<CalendarHandle>,
        metrics: Arc<Metrics>,
        warn_permille: u32,
        clock: Clock,
    ) -> Self {
        let (queue, rx) = mpsc::channel(MAX_BATCH * 16);
        tokio::spawn(run(
            rx,
            Writer {
                db,
                calendar,
                metrics: metrics.clone(),
                warn_permille,
                clock,
            },
        ));
        ThreadOpener { queue, metrics }
    }

    /// Open one thread: answers once the transaction holding it has committed.
    pub(crate) async fn open(&self, request: OpenRequest) -> Opened {
        let (reply, answer) = oneshot::channel();
        // Reserve, then count and send without an await between: a request
        // dropped while waiting for room is never counted as queued.
        let permit = self
            .queue
            .reserve()
            .await
            .map_err(|_| ApiError::internal("thread writer stopped"))?;
        self.metrics.thread_queue(1);
        permit.send(Job { request, reply });
        answer
            .await
            .map_err(|_| ApiError::internal("thread writer dropped a request"))?
    }
}

struct Writer {
    db: Db,
    calendar: Arc<CalendarHandle>,
    metrics: Arc<Metrics>,
    warn_permille: u32,
    clock: Clock,
}

async fn run(mut rx: mpsc::Receiver<Job>, w: Writer) {
    use futures_util::FutureExt;
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = rx.recv_many(&mut jobs, MAX_BATCH).await;
        if taken == 0 {
            break;
        }
        w.metrics.thread_queue(-(taken as i64));
        // A bug that panics fails this batch's requests (their replies are
        // dropped: a 500 each), not every create until the server restarts.
        let batch = std::mem::take(&mut jobs);
        if std::panic::AssertUnwindSafe(w.write(batch))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!("the thread writer panicked on a batch; it goes on with the next");
        }
    }
}

impl Writer {
    async fn write(&self, jobs: Vec<Job>) {
        let (requests, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
        self.metrics.thread_batch(replies.len());
        let retry = (replies.len() > 1).then(|| requests.clone());
        let attempt = match requests.as_slice() {
            // Alone, the request's own context names any error logged.
            [one] => one.ctx.clone().scope(self.attempt(requests)).await,
            _ => self.attempt(requests).await,
        };
        let failure = match attempt {
            Ok(out) => {
                for (reply, answer) in replies.into_iter().zip(out) {
                    // A caller that went away still has its thread: nothing to undo.
                    let _ = reply.send(answer);
                }
                return;
            }
            Err(e) => e,
        };
        let Some(requests) = retry else {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(failure));
            }
            return;
        };
        // One bad request must not fail its neighbours: retry each on its own, so
        // every caller gets the answer its own request deserves.
        self.metrics.thread_batch_failed();
        tracing::warn!(
            error = %failure,
            size = requests.len(),
            "a batch of new threads failed; retrying one by one"
        );
        for (request, reply) in requests.into_iter().zip(replies) {
            let ctx = request.ctx.clone();
            let answer = match ctx.scope(self.attempt(vec![request])).await {
                Ok(mut out) => out
                    .pop()
                    .unwrap_or_else(|| Err(ApiError::internal("no thread opened"))),
                Err(e) => Err(e),
            };
            let _ = reply.send(answer);
        }
    }

    async fn attempt(&self, requests: Vec<OpenRequest>) -> Result<Vec<Opened>, ApiError> {
        let cal = self.calendar.get();
        let tx = begin(&self.db).await?;
        let out = open_threads_in(&tx, &cal, self.warn_permille, &self.clock, requests).await?;
        commit(tx).await?;
        Ok(out)
    }
}
