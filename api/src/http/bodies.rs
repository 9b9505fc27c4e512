//! How each route takes its request body (issue 28, item 5).
//!
//! Most routes take JSON or a form: the manners read the body whole, under
//! `MADOGUCHI_MAX_BODY_BYTES` (1 MiB), before routing, so the idempotency
//! layer can hash it and the schema check can explain a refusal. A route that
//! carries a file states its own limit in [`STREAMED`]: its body is handed to
//! the handler as a stream that refuses past the limit ([`Limited`]), so a
//! 50 MB upload goes to the object store (`crate::app::storage`) chunk by chunk
//! and never sits in memory whole. Such a route answers repeated requests
//! itself (an upload is identified by its content's SHA-256), so the
//! `Idempotency-Key` layer leaves it alone.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use poem::http::Method;
use tokio::io::{AsyncRead, ReadBuf};

/// A route whose body is streamed, with its own limit.
#[derive(Debug, Clone)]
pub struct StreamedRoute {
    pub method: Method,
    /// The exact path.
    pub path: &'static str,
    /// The most bytes it takes.
    pub limit: u64,
}

/// The routes that stream their bodies. Every other route is read whole
/// under the configured limit.
pub const STREAMED: &[StreamedRoute] = &[StreamedRoute {
    method: Method::POST,
    path: "/v1/uploads",
    limit: 50 * 1024 * 1024,
}];

/// How a request's body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPolicy {
    /// Read whole before routing, up to `limit` bytes.
    Buffered { limit: usize },
    /// Handed to the handler as a stream of at most `limit` bytes.
    Streamed { limit: u64 },
}

/// The policy of `method path`: a streamed route's own, else `buffered`.
pub fn policy(method: &Method, path: &str, buffered: usize) -> BodyPolicy {
    STREAMED
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map_or(BodyPolicy::Buffered { limit: buffered }, |r| {
            BodyPolicy::Streamed { limit: r.limit }
        })
}

/// A body stream that fails with [`TooLarge`] once more than `limit` bytes
/// have come, whatever `Content-Length` said (a chunked body has none).
pub struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R> Limited<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Limited { inner, left: limit }
    }
}

/// The error a [`Limited`] stream fails with past its limit.
#[derive(Debug, thiserror::Error)]
#[error("the body is larger than this route takes")]
pub struct TooLarge;

/// Whether a read failed because the body passed its route's limit (answer
/// 413 `payload-too-large`), rather than because the client went away.
pub fn is_too_large(e: &io::Error) -> bool {
    // The framework may wrap the stream's error on its way to the handler.
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.is::<TooLarge>() {
            return true;
        }
        next = match err.downcast_ref::<io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    false
}

impl<R: AsyncRead + Unpin> AsyncRead for Limited<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let got = (buf.filled().len() - before) as u64;
            if got > self.left {
                buf.set_filled(before);
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, TooLarge)));
            }
            self.left -= got;
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn only_the_named_routes_stream() {
        assert_eq!(
            policy(&Method::POST, "/v1/uploads", 1024),
            BodyPolicy::Streamed {
                limit: 50 * 1024 * 1024
            }
        );
        assert_eq!(
            policy(&Method::GET, "/v1/uploads", 1024),
            BodyPolicy::Buffered { limit: 1024 }
        );
        assert_eq!(
            policy(&Method::POST, "/v1/threads", 1024),
            BodyPolicy::Buffered { limit: 1024 }
        );
    }

    #[tokio::test]
    async fn a_stream_past_its_limit_fails_as_too_large() {
        let mut out = Vec::new();
        let ok = Limited::new(&[7u8; 10][..], 10).read_to_end(&mut out).await;
        assert_eq!(ok.ok(), Some(10));
        let err = Limited::new(&[7u8; 11][..], 10)
            .read_to_end(&mut out)
            .await
            .expect_err("over the limit");
        assert!(is_too_large(&err));
    }
}
