//! Facts about the request being served, reachable from anywhere that runs on its
//! behalf: the request id (in every log line and problem `instance`) and the
//! client address (in every audit entry).

use std::net::IpAddr;

tokio::task_local! {
    static CURRENT: RequestCtx;
}

#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub request_id: String,
    pub ip: Option<IpAddr>,
}

impl RequestCtx {
    /// The context of the request this task serves; empty outside a request
    /// (start-up, background work).
    pub fn current() -> RequestCtx {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }

    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}
