//! Delivery of outbox events to webhook subscriptions, at least once.
//!
//! Every instance runs one dispatcher. A round fans new outbox events out into
//! deliveries, then claims deliveries that are due and sends each in a task of
//! its own, up to [`MAX_IN_FLIGHT`] at once and [`MAX_IN_FLIGHT_PER_WEBHOOK`]
//! to one subscription: a slow or dead receiver holds only its own few slots
//! (each bounded by the configured timeout), never the others'.
//! A round starts when a write on this instance wakes it, when another
//! instance commits outbox events (PostgreSQL `LISTEN/NOTIFY`), when an attempt
//! ends, or at the poll interval, the fallback.

use std::{sync::Arc, time::Instant};

use chrono::{DateTime, Utc};
use madoguchi_domain::{
    events::EventType,
    integrations::{disable_after, retry_delay},
};
use madoguchi_persistence::{
    begin_writer, commit,
    outbox::{self, Event, NewEvent},
    webhooks::{self, Attempt, Claimed, Outcome},
    StoreError, Tx,
};
use rand::Rng;
use serde_json::json;
use tokio::sync::Semaphore;

use super::targets::{check_resolved, literal_host_allowed, GuardedResolver};
use crate::{
    app::state::AppState,
    service::outbox::{drain, Consumer},
};

/// Requests out at once from one instance.
pub const MAX_IN_FLIGHT: usize = 64;
/// Requests out at once to one subscription: a receiver that hangs holds at
/// most this many of the slots, and the others keep theirs.
pub const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 16;

/// Requests out per subscription on this instance.
type InFlight = Arc<std::sync::Mutex<std::collections::HashMap<uuid::Uuid, usize>>>;
/// How many outbox events one fan-out transaction takes.
const FAN_OUT_BATCH: u64 = 500;
/// How much of an answer is kept in the attempt log.
const EXCERPT_BYTES: usize = 1024;

/// The HTTP client deliveries use: no redirects followed, a timeout per
/// attempt, and a resolver that refuses private targets unless allowed. No
/// proxy but the one `MADOGUCHI_WEBHOOK_PROXY` names, whatever
/// `HTTP_PROXY`/`HTTPS_PROXY` say: a proxy resolves the target itself, so the
/// resolver's check would not run (with the configured one, [`send`] checks
/// the target's addresses itself first).
pub fn client(state: &AppState) -> reqwest::Client {
    let cfg = &state.config.webhooks;
    let builder = match cfg.proxy.as_deref().map(reqwest::Proxy::all) {
        Some(Ok(proxy)) => reqwest::Client::builder().proxy(proxy),
        // The URL was checked at start-up; a proxy that does not parse sends nothing.
        Some(Err(_)) => reqwest::Client::builder()
            .proxy(reqwest::Proxy::custom(|_| Some("http://invalid.invalid:9"))),
        None => reqwest::Client::builder().no_proxy(),
    };
    builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout)
        .user_agent(concat!("madoguchi-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: cfg.allow_private,
            proxy_host: cfg
                .proxy
                .as_deref()
                .and_then(|p| reqwest::Url::parse(p).ok())
                .and_then(|u| u.host_str().map(str::to_owned)),
        }))
        .build()
        .unwrap_or_default()
}

/// Run until the task is dropped.
pub async fn run(state: AppState) {
    let http = client(&state);
    // Other instances' commits wake this one too (PostgreSQL NOTIFY).
    let listener = {
        let (db, wake) = (state.db.clone(), state.webhook_wake.clone());
        tokio::spawn(async move { outbox::listen(&db, move || wake.notify_one()).await })
    };
    let _stop_listening = AbortOnDrop(listener);
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let in_flight = InFlight::default();
    let (record, recorded) = tokio::sync::mpsc::channel(RECORD_BATCH * 4);
    let _recorder = AbortOnDrop(tokio::spawn(record_attempts(state.clone(), recorded)));
    loop {
        if let Err(e) = round(&state, &http, &slots, &in_flight, &record).await {
            tracing::warn!(error = %e, "webhook dispatch round failed; will retry");
        }
        tokio::select! {
            _ = state.webhook_wake.notified() => {}
            _ = tokio::time::sleep(state.config.webhooks.poll) => {}
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The webhook fan-out as a reader of the outbox: each event becomes a
/// delivery per subscription that wants it, in the transaction that takes it.
pub struct FanOut;

impl Consumer for FanOut {
    const NAME: &'static str = "webhooks";

    async fn handle(
        &self,
        tx: &Tx,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        webhooks::fan_out(tx, events, now).await
    }
}

/// Fan out what is new, then start every due delivery there is room for.
/// Returns how many deliveries were started.
async fn round(
    state: &AppState,
    http: &reqwest::Client,
    slots: &Arc<Semaphore>,
    in_flight: &InFlight,
    record: &Recorder,
) -> Result<usize, StoreError> {
    drain(state, &FanOut, FAN_OUT_BATCH).await?;
    let room = slots.available_permits();
    if room == 0 {
        return Ok(0);
    }
    let now = state.now();
    // Leased past the longest an attempt can take, so nobody else sends it
    // meanwhile (measured on the database's clock: see `claim_due`).
    let lease = chrono::Duration::from_std(state.config.webhooks.timeout * 2)
        .unwrap_or(chrono::Duration::seconds(20))
        + chrono::Duration::seconds(10);
    let busy = in_flight.lock().map(|m| m.clone()).unwrap_or_default();
    let claimed = webhooks::claim_due(
        &state.db,
        now,
        lease,
        room as u64,
        &busy,
        MAX_IN_FLIGHT_PER_WEBHOOK,
    )
    .await?;
    let started = claimed.len();
    for c in claimed {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            break;
        };
        let hook = c.webhook.id;
        if let Ok(mut m) = in_flight.lock() {
            *m.entry(hook).or_default() += 1;
        }
        let (state, http, in_flight, record) = (
            state.clone(),
            http.clone(),
            in_flight.clone(),
            record.clone(),
        );
        tokio::spawn(async move {
            attempt(&state, &http, c, &record).await;
            if let Ok(mut m) = in_flight.lock() {
                if let Some(n) = m.get_mut(&hook) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        m.remove(&hook);
                    }
                }
            }
            // The freed slot is refilled at once: the attempt's lease keeps it
            // from being claimed again while the recorder writes it, so the
            // next claim need not wait for that write. Wakes coalesce, so
            // slots that free together are refilled by one claim.
            drop(permit);
            state.webhook_wake.notify_one();
        });
    }
    Ok(started)
}

/// What an attempt met, before it is recorded.
struct Sent {
    status: Option<u16>,
    excerpt: Option<String>,
    error: Option<String>,
}

async fn send(state: &AppState, http: &reqwest::Client, c: &Claimed, at: DateTime<Utc>) -> Sent {
    let failed = |e: String| Sent {
        status: None,
        excerpt: None,
        error: Some(e),
    };
    if !literal_host_allowed(&state.config.webhooks, &c.webhook.url) {
        return failed(
            "the URL points at a loopback, private, link-local or metadata address".into(),
        );
    }
    if state.config.webhooks.proxy.is_some() {
        // The proxy resolves the host, past the resolver's check: check it here.
        if let Err(e) = check_resolved(&state.config.webhooks, &c.webhook.url).await {
            return failed(e.message);
        }
    }
    let ts = at.timestamp();
    let signature = crate::security::secrets::webhook_signature(
        &c.webhook.signing_secrets(at),
        &c.delivery.event_id,
        ts,
        &c.delivery.body,
    );
    let request = http
        .post(&c.webhook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &c.delivery.event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(c.delivery.body.clone());
    let mut resp = match request.send().await {
        Ok(r) => r,
        Err(e) => return failed(describe(&e)),
    };
    let status = resp.status().as_u16();
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT_BYTES {
        match resp.chunk().await {
            Ok(Some(bytes)) => excerpt.extend_from_slice(&bytes),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt.truncate(EXCERPT_BYTES);
    Sent {
        status: Some(status),
        excerpt: Some(String::from_utf8_lossy(&excerpt).into_owned()),
        error: (!(200..300).contains(&status)).then(|| format!("answered {status}")),
    }
}

/// The error of a request in words an admin can act on, with its cause.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    let mut out = if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    };
    out.truncate(900);
    out
}

/// One attempt made, waiting to be recorded.
struct Done {
    webhook: uuid::Uuid,
    ok: bool,
    attempt: Attempt,
    outcome: Outcome,
}

/// Send one delivery and hand what happened to the recorder: delivered, to be
/// retried later with backoff and jitter, or failed for good.
async fn attempt(state: &AppState, http: &reqwest::Client, c: Claimed, record: &Recorder) {
    let at = state.now();
    let started = Instant::now();
    let sent = send(state, http, &c, at).await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let ok = sent.error.is_none();
    let attempts = u32::try_from(c.delivery.attempts).unwrap_or(0) + 1;
    let outcome = if ok {
        Outcome::Delivered
    } else {
        match retry_delay(attempts, rand::thread_rng().gen::<f64>()) {
            Some(d) => Outcome::RetryAt(state.now() + d),
            None => Outcome::Failed,
        }
    };
    state.metrics.webhook_attempt(ok);
    let done = Done {
        webhook: c.webhook.id,
        ok,
        attempt: Attempt {
            delivery_id: c.delivery.id,
            attempted_at: at,
            status_code: sent.status.map(i32::from),
            latency_ms,
            response_excerpt: sent.excerpt,
            error: sent.error,
        },
        outcome,
    };
    if record.send(done).await.is_err() {
        tracing::warn!(delivery = %c.delivery.id, "the attempt recorder has stopped; the lease will run out and it is sent again");
    }
}

type Recorder = tokio::sync::mpsc::Sender<Done>;

/// The most attempts written in one transaction.
const RECORD_BATCH: usize = 256;

/// Write attempts as they finish, all those waiting at that moment in one
/// transaction: on SQLite's single writer, commits rather than statements bound
/// how many deliveries a second one instance can make.
async fn record_attempts(state: AppState, mut rx: tokio::sync::mpsc::Receiver<Done>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while rx.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        if let Err(e) = record_batch(&state, &batch).await {
            tracing::warn!(error = %e, attempts = batch.len(), "recording webhook attempts failed; their leases will run out and they are sent again");
        }
        batch.clear();
        state.webhook_wake.notify_one();
    }
}

/// Record a batch of attempts and each subscription's health: one that answered
/// is healthy again; one failing for five days in a row is disabled, with an
/// outbox event saying so. Deliveries deleted meanwhile (with their
/// subscription) are passed over.
async fn record_batch(state: &AppState, batch: &[Done]) -> Result<(), StoreError> {
    let tx = begin_writer(&state.db).await?;
    let ids: Vec<uuid::Uuid> = batch.iter().map(|d| d.attempt.delivery_id).collect();
    let existing = webhooks::existing_deliveries(&tx, &ids).await?;
    let mut health: std::collections::HashMap<uuid::Uuid, (bool, DateTime<Utc>)> =
        std::collections::HashMap::new();
    let live: Vec<&Done> = batch
        .iter()
        .filter(|d| existing.contains(&d.attempt.delivery_id))
        .collect();
    let rows: Vec<(Attempt, Outcome)> = live
        .iter()
        .map(|d| (d.attempt.clone(), d.outcome))
        .collect();
    webhooks::record_attempts(&tx, &rows).await?;
    for d in live {
        let h = health
            .entry(d.webhook)
            .or_insert((false, d.attempt.attempted_at));
        h.0 |= d.ok;
        h.1 = h.1.min(d.attempt.attempted_at);
    }
    for (hook, (any_ok, at)) in health {
        let failing_since = webhooks::note_health(&tx, hook, any_ok, at).await?;
        if let Some(since) = failing_since {
            if at - since >= disable_after() {
                disable(&tx, hook, since, at).await?;
            }
        }
    }
    commit(tx).await
}

async fn disable(
    tx: &madoguchi_persistence::Tx,
    id: uuid::Uuid,
    since: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut w = webhooks::get(tx, id).await?;
    if !w.enabled {
        return Ok(());
    }
    w.enabled = false;
    w.disabled_reason = Some(format!(
        "every delivery failed since {}",
        madoguchi_domain::time::to_wire(since).to_rfc3339()
    ));
    let version = w.version;
    webhooks::update(tx, &mut w, version, at).await?;
    outbox::append(
        tx,
        NewEvent {
            event_type: EventType::WebhookDisabled,
            dedupe_key: Some(format!(
                "{}:{id}:{}",
                EventType::WebhookDisabled,
                at.timestamp()
            )),
            thread_id: None,
            organization_id: w.organization_id,
            internal: true,
            payload: json!({"webhook_id": id, "url": w.url, "reason": w.disabled_reason}),
            occurred_at: at,
        },
    )
    .await?;
    tracing::warn!(webhook = %id, "webhook endpoint disabled after failing for five days");
    Ok(())
}
