//! Prometheus metrics: requests by route template and status, and latency.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Threads written per transaction by the thread writer: how much group
    /// commit is saving, and a sign of write pressure when it nears its cap.
    thread_batch: Histogram,
    /// Batches the database refused, whose threads were retried one by one.
    thread_batch_failures: IntCounter,
    /// New threads waiting for the writer: the queue a create stands in before
    /// its transaction starts. Growing without bound means the database cannot
    /// keep up.
    thread_queue: IntGauge,
    /// SLA sweeps this instance finished, and the warning and breach events
    /// they recorded: a stalled counter means the sweeper is stuck.
    sla_sweeps: IntCounter,
    sla_events: IntCounter,
    webhook_attempts: IntCounterVec,
    /// Outbox events each consumer handled on this instance: a consumer whose
    /// counter stops while others move is stuck.
    outbox_consumed: IntCounterVec,
    /// Occurrences of each scheduled job this instance ran, by result.
    job_runs: IntCounterVec,
    /// When this instance last finished an occurrence of each job (the
    /// occurrence's instant, Unix seconds).
    job_last: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("madoguchi_http_requests_total", "HTTP requests served"),
            &["method", "route", "status"],
        )
        .expect("static metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "madoguchi_http_request_duration_seconds",
                "Time from request to response head",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )
        .expect("static metric definition");
        let thread_batch = Histogram::with_opts(
            HistogramOpts::new(
                "madoguchi_thread_batch_size",
                "New threads written per transaction by the thread writer",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )
        .expect("static metric definition");
        let thread_batch_failures = IntCounter::new(
            "madoguchi_thread_batch_failures_total",
            "Batches of new threads the database refused, retried one by one",
        )
        .expect("static metric definition");
        let thread_queue = IntGauge::new(
            "madoguchi_thread_queue_depth",
            "New threads waiting for the thread writer",
        )
        .expect("static metric definition");
        let sla_sweeps = IntCounter::new(
            "madoguchi_sla_sweeps_total",
            "SLA sweeps finished by this instance",
        )
        .expect("static metric definition");
        let sla_events = IntCounter::new(
            "madoguchi_sla_events_total",
            "SLA warning and breach events recorded by this instance's sweeps",
        )
        .expect("static metric definition");
        // Registration only fails on duplicate names, which these are not.
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(latency.clone()));
        let _ = registry.register(Box::new(thread_batch.clone()));
        let _ = registry.register(Box::new(thread_batch_failures.clone()));
        let _ = registry.register(Box::new(thread_queue.clone()));
        let webhook_attempts = IntCounterVec::new(
            Opts::new(
                "madoguchi_webhook_attempts_total",
                "Webhook delivery attempts made by this instance, by result (delivered, failed)",
            ),
            &["result"],
        )
        .expect("static metric definition");
        let _ = registry.register(Box::new(webhook_attempts.clone()));
        let outbox_consumed = IntCounterVec::new(
            Opts::new(
                "madoguchi_outbox_events_consumed_total",
                "Outbox events handled by this instance, by consumer",
            ),
            &["consumer"],
        )
        .expect("static metric definition");
        let job_runs = IntCounterVec::new(
            Opts::new(
                "madoguchi_job_runs_total",
                "Occurrences of scheduled jobs run by this instance, by job and result (ok, failed)",
            ),
            &["job", "result"],
        )
        .expect("static metric definition");
        let job_last = IntGaugeVec::new(
            Opts::new(
                "madoguchi_job_last_occurrence_seconds",
                "The instant (Unix seconds) of the last occurrence of each job this instance ran",
            ),
            &["job"],
        )
        .expect("static metric definition");
        let _ = registry.register(Box::new(outbox_consumed.clone()));
        let _ = registry.register(Box::new(job_runs.clone()));
        let _ = registry.register(Box::new(job_last.clone()));
        let _ = registry.register(Box::new(sla_sweeps.clone()));
        let _ = registry.register(Box::new(sla_events.clone()));
        Metrics {
            registry,
            requests,
            latency,
            thread_batch,
            thread_batch_failures,
            thread_queue,
            sla_sweeps,
            sla_events,
            webhook_attempts,
            outbox_consumed,
            job_runs,
            job_last,
        }
    }

    pub fn thread_batch(&self, size: usize) {
        self.thread_batch.observe(size as f64);
    }

    pub fn thread_batch_failed(&self) {
        self.thread_batch_failures.inc();
    }

    /// `n` new threads joined (positive) or left (negative) the writer's queue.
    pub fn thread_queue(&self, n: i64) {
        self.thread_queue.add(n);
    }

    /// A sweep finished, having recorded `events` warnings and breaches.
    /// One webhook attempt: answered 2xx, or not.
    pub fn webhook_attempt(&self, delivered: bool) {
        self.webhook_attempts
            .with_label_values(&[if delivered { "delivered" } else { "failed" }])
            .inc();
    }

    /// `consumer` handled `n` outbox events.
    pub fn outbox_consumed(&self, consumer: &str, n: usize) {
        self.outbox_consumed
            .with_label_values(&[consumer])
            .inc_by(n as u64);
    }

    /// This instance ran the occurrence of `job` due at `occurrence` (Unix seconds).
    pub fn job_ran(&self, job: &str, occurrence: i64, ok: bool) {
        self.job_runs
            .with_label_values(&[job, if ok { "ok" } else { "failed" }])
            .inc();
        if ok {
            self.job_last.with_label_values(&[job]).set(occurrence);
        }
    }

    pub fn sla_swept(&self, events: usize) {
        self.sla_sweeps.inc();
        self.sla_events.inc_by(events as u64);
    }

    /// `route` is the matched template (`/v1/users/:id`), never the raw path, so the
    /// number of series stays bounded whatever clients send.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
