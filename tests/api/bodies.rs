//! Bodies by route (issue 28, item 5): a route that carries a file streams its
//! body to the object store under its own limit, while JSON routes keep the
//! global limit. The upload-shaped route here is `POST /v1/uploads` behind the
//! real manners layer, its handler writing to the directory store; a 50 MB
//! body goes through while the process's resident memory is watched (in a
//! child process, so the other tests running alongside do not count).

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use madoguchi_api::{
    app::storage::{DirectoryStore, ObjectStore},
    http::bodies::is_too_large,
    http::manners::Manners,
};
use poem::{handler, http::StatusCode, web::Data, Body, EndpointExt, Route};
use sha2::{Digest, Sha256};

use crate::helpers::{fresh_database, Backing, TestApp};

const FIFTY_MB: u64 = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// The `i`-th chunk of the test file (no two chunks alike).
fn chunk(i: usize) -> Vec<u8> {
    (0..CHUNK).map(|j| ((i * 7 + j * 31) % 251) as u8).collect()
}

#[handler]
async fn upload(body: Body, Data(store): Data<&DirectoryStore>) -> poem::Result<poem::Response> {
    let key = uuid::Uuid::now_v7().simple().to_string();
    match store.put(&key, Box::pin(body.into_async_read())).await {
        Ok(s) => Ok(poem::Response::builder()
            .status(StatusCode::CREATED)
            .content_type("application/json")
            .body(format!(r#"{{"size":{},"sha256":"{}"}}"#, s.size, s.sha256))),
        Err(e) if is_too_large(&e) => Err(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)),
        Err(_) => Err(poem::Error::from_status(StatusCode::BAD_REQUEST)),
    }
}

/// A server with the upload-shaped route behind the manners, storing into `dir`.
async fn serve_uploads(dir: &std::path::Path) -> (SocketAddr, Backing) {
    let (url, backing) = fresh_database().await;
    let config = madoguchi::Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "MADOGUCHI_DB_MAX_CONNECTIONS" => Some("2".into()),
        _ => None,
    })
    .expect("config");
    let state =
        madoguchi::prepare_with_clock(&config, madoguchi_api::app::clock::Clock::adjustable())
            .await
            .expect("prepare");
    let routes = Route::new()
        .at("/v1/uploads", poem::post(upload))
        .data(DirectoryStore::new(dir))
        .with(Manners::new(state));
    let acceptor = madoguchi::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = *poem::listener::Acceptor::local_addr(&acceptor)[0]
        .as_socket_addr()
        .unwrap();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(routes));
    (addr, backing)
}

/// Send `chunks` chunks (plus `extra` bytes) as one request with a
/// Content-Length, or chunked when `chunked`; return the status line and body.
fn send(addr: SocketAddr, chunks: usize, extra: usize, chunked: bool) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let total = chunks * CHUNK + extra;
    let head = if chunked {
        "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_owned()
    } else {
        format!("POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n")
    };
    s.write_all(head.as_bytes()).unwrap();
    let mut write = |bytes: &[u8]| -> bool {
        if chunked {
            s.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())
                .is_ok()
                && s.write_all(bytes).is_ok()
                && s.write_all(b"\r\n").is_ok()
        } else {
            s.write_all(bytes).is_ok()
        }
    };
    for i in 0..chunks {
        // The server may answer 413 and close before the end.
        if !write(&chunk(i)) {
            break;
        }
    }
    if extra > 0 {
        let _ = write(&vec![1u8; extra]);
    }
    if chunked {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Run in a child process by the test below (`MADOGUCHI_STREAM_PROBE` set):
/// upload 50 MB while sampling resident memory, and print what it saw.
#[tokio::test]
async fn stream_probe_child() {
    if std::env::var_os("MADOGUCHI_STREAM_PROBE").is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("madoguchi-probe-{}", uuid::Uuid::now_v7()));
    let (addr, _app) = serve_uploads(&dir).await;
    // Warm up: a first small upload, then the baseline.
    let _ = tokio::task::spawn_blocking(move || send(addr, 4, 0, false)).await;
    let baseline = rss_kib();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                peak = peak.max(rss_kib());
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let chunks = (FIFTY_MB as usize) / CHUNK;
    let (status, body) = tokio::task::spawn_blocking(move || send(addr, chunks, 0, false))
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    println!("PROBE status={status} baseline_kib={baseline} peak_kib={peak} body={body}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn fifty_megabytes_stream_to_the_store_in_flat_memory() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bodies::stream_probe_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MADOGUCHI_STREAM_PROBE", "1")
        .output()
        .expect("child test");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.find("PROBE ").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no probe line: {text}"));
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {line}"))
            .to_owned()
    };
    assert_eq!(field("status"), "201", "{line}");
    let mut hash = Sha256::new();
    for i in 0..(FIFTY_MB as usize / CHUNK) {
        hash.update(chunk(i));
    }
    let expected: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let body: serde_json::Value = serde_json::from_str(&field("body")).unwrap();
    assert_eq!(body["size"], FIFTY_MB);
    assert_eq!(body["sha256"], expected.as_str());
    let growth_kib =
        field("peak_kib").parse::<i64>().unwrap() - field("baseline_kib").parse::<i64>().unwrap();
    println!("resident memory grew by {growth_kib} KiB while 50 MB streamed through");
    // Holding the body whole would add 51,200 KiB at least.
    assert!(growth_kib < 16 * 1024, "{line}");
}

#[tokio::test]
async fn a_streamed_route_refuses_past_its_own_limit_and_keeps_nothing() {
    let dir = std::env::temp_dir().join(format!("madoguchi-limit-{}", uuid::Uuid::now_v7()));
    let (addr, _app) = serve_uploads(&dir).await;
    let chunks = (FIFTY_MB as usize) / CHUNK;
    // Announced too large: refused before a byte is read.
    let (status, body) = tokio::task::spawn_blocking(move || send(addr, chunks, 1, false))
        .await
        .unwrap();
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload-too-large"), "{body}");
    // Chunked, so nothing is announced: refused once the limit passes.
    let (status, body) = tokio::task::spawn_blocking(move || send(addr, chunks, 1, true))
        .await
        .unwrap();
    assert_eq!(status, 413, "{body}");
    let left = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no object and no partial file is left");
    let _ = std::fs::remove_dir_all(&dir);

    // A JSON route keeps the global limit (1 MiB): 2 MiB is refused.
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let r = app
        .req(reqwest::Method::POST, "/v1/threads", Some(&token))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"title":"大きな本文","body":"{}"}}"#,
            "あ".repeat(700_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}
