//! Webhooks end to end: a receiver on loopback that verifies every delivery with
//! the Standard Webhooks library, retries, rotation, organization scoping, safe
//! targets, and exactly-once delivery from several dispatchers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use poem::{
    handler,
    http::StatusCode as PoemStatus,
    listener::{Acceptor, Listener},
    web::Data,
    EndpointExt,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{ok_json, problem, without_audit, Desk, TestApp};

/// What a test server needs to call a receiver on loopback over plain HTTP.
pub(crate) const LOOPBACK: &[(&str, &str)] = &[
    ("MADOGUCHI_WEBHOOK_ALLOW_HTTP", "true"),
    ("MADOGUCHI_WEBHOOK_ALLOW_PRIVATE", "true"),
    ("MADOGUCHI_WEBHOOK_POLL_MS", "50"),
    // A thousand threads from one clinic in seconds is a load test, not a person.
    ("MADOGUCHI_USER_RATE_PER_MINUTE", "0"),
];

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) id: String,
    signature: String,
    pub(crate) body: Value,
    raw: Vec<u8>,
    headers: poem::http::HeaderMap,
}

#[derive(Default)]
struct Inbox {
    got: Vec<Received>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Vec<u16>,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    inbox: Arc<Mutex<Inbox>>,
}

#[handler]
async fn receive(
    req: &poem::Request,
    body: poem::Body,
    inbox: Data<&Arc<Mutex<Inbox>>>,
) -> PoemStatus {
    let raw = body.into_vec().await.unwrap_or_default();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut ib = inbox.lock().unwrap();
    ib.got.push(Received {
        id: header("webhook-id"),
        signature: header("webhook-signature"),
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
        headers: req.headers().clone(),
    });
    let status = if ib.script.is_empty() {
        200
    } else {
        ib.script.remove(0)
    };
    PoemStatus::from_u16(status).unwrap_or(PoemStatus::OK)
}

impl Receiver {
    pub(crate) async fn start(script: Vec<u16>) -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox {
            got: Vec::new(),
            script,
        }));
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let app = poem::Route::new()
            .at("/hook", poem::post(receive))
            .data(inbox.clone());
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Receiver {
            url: format!("http://{addr}/hook"),
            inbox,
        }
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().got.clone()
    }

    /// Wait until `n` requests have come (and fail after 20 s).
    async fn until(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "only {} of {n} deliveries arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether the Standard Webhooks library accepts `r` signed with `secret`.
fn verifies(secret: &str, r: &Received) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&r.raw, &r.headers)
        .is_ok()
}

pub(crate) async fn subscribe(app: &TestApp, admin: &str, body: Value) -> (Value, String) {
    let r = app.post("/v1/webhooks", Some(admin), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED, "subscribe");
    let v: Value = r.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_owned();
    (v, secret)
}

/// Wait until every outbox event has been turned into deliveries.
pub(crate) async fn until_fanned_out(app: &TestApp) {
    let started = Instant::now();
    while app
        .scalar("SELECT COUNT(*) AS n FROM outbox_pending WHERE consumer = 'webhooks'")
        .await
        > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "outbox not fanned out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_signed_event_until_it_accepts() {
    let d = Desk::on(TestApp::spawn_with(LOOPBACK).await).await;
    let app = &d.app;
    let rx = Receiver::start(vec![500, 500]).await;
    let (hook, secret) = subscribe(
        app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["thread.created"], "description": "院内チャット通知"}),
    )
    .await;
    assert!(secret.starts_with("whsec_"));
    let hook_id = hook["id"].as_str().unwrap();
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "レセコンが起動しません", "body": "朝から起動しません"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();

    let got = rx.until(1).await;
    assert!(verifies(&secret, &got[0]), "{:?}", got[0]);
    assert_eq!(got[0].body["type"], "thread.created");
    assert_eq!(got[0].body["data"]["thread_number"], n);
    assert_eq!(got[0].body["data"]["organization_id"], json!(d.org));
    assert!(got[0].body["timestamp"]
        .as_str()
        .unwrap()
        .ends_with("+09:00"));
    // A tampered body fails the same check.
    let mut tampered = got[0].clone();
    tampered.raw = String::from_utf8(tampered.raw)
        .unwrap()
        .replace(&n.to_string(), &(n + 1).to_string())
        .into_bytes();
    assert!(!verifies(&secret, &tampered));

    // The first failure is retried after about five seconds, not before.
    let deliveries = format!("/v1/webhooks/{hook_id}/deliveries");
    let started = Instant::now();
    let listed = loop {
        let l = ok_json(app.get(&deliveries, Some(&d.admin)).await).await;
        if l["items"][0]["attempts"].as_array().unwrap().len() == 1 {
            break l;
        }
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first = &listed["items"][0];
    assert_eq!(first["status"], "pending");
    assert_eq!(first["attempts"][0]["status_code"], 500);
    let next =
        chrono::DateTime::parse_from_rfc3339(first["next_attempt_at"].as_str().unwrap()).unwrap();
    // Counted from the attempt, not from this listing: a loaded machine may
    // take seconds between the two (CI on 12-04: the listing came about 6 s after).
    let attempted = chrono::DateTime::parse_from_rfc3339(
        first["attempts"][0]["attempted_at"].as_str().unwrap(),
    )
    .unwrap();
    let wait = next - attempted;
    assert!(
        wait > chrono::Duration::seconds(3) && wait <= chrono::Duration::seconds(6),
        "{wait}"
    );
    app.clock.advance(chrono::Duration::seconds(6));
    let got = rx.until(2).await;
    // Second failure: the next try is minutes away; an admin retries it by hand.
    let delivery_id = first["id"].as_str().unwrap();
    let started = Instant::now();
    while ok_json(app.get(&deliveries, Some(&d.admin)).await).await["items"][0]["attempts"]
        .as_array()
        .unwrap()
        .len()
        < 2
    {
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = app
        .post(
            &format!("{deliveries}/{delivery_id}/retry"),
            Some(&d.admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let got3 = rx.until(3).await;
    assert_eq!(got.len(), 2);
    // One event id across the three attempts, each verifiable.
    assert!(got3
        .iter()
        .all(|r| r.id == got3[0].id && verifies(&secret, r)));
    assert!(got3[0].id.starts_with("msg_"));
    let started = Instant::now();
    let done = loop {
        let l = ok_json(app.get(&deliveries, Some(&d.admin)).await).await;
        if l["items"][0]["status"] == "delivered" {
            break l;
        }
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let attempts = done["items"][0]["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["status_code"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![500, 500, 200]
    );
    assert_eq!(done["items"][0]["event_id"], json!(got3[0].id));
    // Filters: nothing failed for good.
    let failed = ok_json(
        app.get(&format!("{deliveries}?status=failed"), Some(&d.admin))
            .await,
    )
    .await;
    assert_eq!(failed["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one() {
    let d = Desk::on(TestApp::spawn_with(LOOPBACK).await).await;
    let app = &d.app;
    let rx = Receiver::start(vec![]).await;
    let (hook, old) = subscribe(app, &d.admin, json!({"url": rx.url, "event_types": ["*"]})).await;
    let id = hook["id"].as_str().unwrap();
    let rotated = ok_json(
        app.post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            Some(&d.admin),
            &json!({}),
        )
        .await,
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let r = app
        .post(
            &format!("/v1/webhooks/{id}/ping"),
            Some(&d.admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let got = rx.until(1).await;
    assert_eq!(got[0].body["type"], "webhook.ping");
    assert_eq!(
        got[0].signature.split(' ').count(),
        2,
        "{}",
        got[0].signature
    );
    assert!(verifies(&old, &got[0]) && verifies(&new, &got[0]));
    // A day later only the new secret signs.
    app.clock.advance(chrono::Duration::hours(25));
    let admin = app.admin().await;
    app.post(&format!("/v1/webhooks/{id}/ping"), Some(&admin), &json!({}))
        .await;
    let got = rx.until(2).await;
    assert_eq!(got[1].signature.split(' ').count(), 1);
    // The library checks the timestamp against the real clock; check the HMAC.
    let expected = standardwebhooks::Webhook::new(&new)
        .unwrap()
        .sign(
            &got[1].id,
            got[1].headers["webhook-timestamp"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap(),
            &got[1].raw,
        )
        .unwrap();
    assert_eq!(got[1].signature, expected);
    // The secret never shows again.
    let read = ok_json(app.get(&format!("/v1/webhooks/{id}"), Some(&admin)).await).await;
    assert!(read.get("secret").is_none());
    assert!(!read.to_string().contains(&new[6..]));
}

#[tokio::test]
async fn a_clinic_subscription_hears_only_that_clinic_and_never_an_internal_note() {
    let d = Desk::on(TestApp::spawn_with(LOOPBACK).await).await;
    let app = &d.app;
    let (_, other) = d.other_clinic().await;
    let rx = Receiver::start(vec![]).await;
    let (_, secret) = subscribe(
        app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["*"], "organization_id": d.org}),
    )
    .await;
    app.create_thread(
        &other,
        &json!({"title": "他院の件", "body": "別の医院です"}),
    )
    .await;
    let ours = app
        .create_thread(
            &d.customer,
            &json!({"title": "予約画面の不具合", "body": "表示されません"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    app.reply(&d.agent, ours, "内部：再現手順を確認", Some("internal"))
        .await;
    app.reply(&d.agent, ours, "確認いたします。", None).await;
    until_fanned_out(app).await;
    let got = rx.until(2).await;
    // Let anything else that was queued arrive before counting.
    let started = Instant::now();
    while app
        .scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'")
        .await
        > 0
    {
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = if rx.got().len() > got.len() {
        rx.got()
    } else {
        got
    };
    let types: Vec<&str> = got
        .iter()
        .map(|r| r.body["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"thread.created") && types.contains(&"post.created"),
        "{types:?}"
    );
    for r in &got {
        assert!(verifies(&secret, r));
        assert_eq!(
            r.body["data"]["organization_id"],
            json!(d.org),
            "{}",
            r.body
        );
        assert!(!r.body.to_string().contains("内部"), "{}", r.body);
    }
    // Exactly one post.created: the public reply; the internal note is not even announced.
    assert_eq!(
        types.iter().filter(|t| **t == "post.created").count(),
        1,
        "{types:?}"
    );
}

#[tokio::test]
async fn unsafe_targets_are_refused_and_nothing_is_written() {
    let d = Desk::new().await;
    let app = &d.app;
    let before = app.snapshot().await;
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://10.0.0.8/hook",
        // Special-purpose addresses (IANA registries) and IPv4 inside IPv6.
        "https://[::127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://[64:ff9b::127.0.0.1]/hook",
        "https://[2002:7f00:1::1]/hook",
        "https://[fec0::1]/hook",
        "https://192.0.0.8/hook",
        "https://198.18.0.1/hook",
        "https://240.0.0.1/hook",
        "https://168.63.129.16/hook",
        "ftp://example.com/hook",
        "https://user:pass@example.com/hook",
        "not a url",
    ] {
        let p = problem(
            app.post(
                "/v1/webhooks",
                Some(&d.admin),
                &json!({"url": url, "event_types": ["*"]}),
            )
            .await,
            422,
            "validation-failed",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "url", "{url}: {p}");
    }
    problem(
        app.post(
            "/v1/webhooks",
            Some(&d.admin),
            &json!({"url": "https://192.0.2.1/hook", "event_types": ["thread.deleted"]}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    problem(
        app.post(
            "/v1/webhooks",
            Some(&d.agent),
            &json!({"url": "https://192.0.2.1/hook", "event_types": ["*"]}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // The refusals are audited; nothing else was written.
    let after = app.snapshot().await;
    assert_eq!(without_audit(&before), without_audit(&after));
}

#[tokio::test]
async fn three_dispatchers_deliver_each_event_exactly_once() {
    let d = Desk::on(TestApp::spawn_with(LOOPBACK).await).await;
    let app = &d.app;
    let _b = app.sibling().await;
    let _c = app.sibling().await;
    let rx = Receiver::start(vec![]).await;
    subscribe(
        app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["thread.created"]}),
    )
    .await;
    const N: usize = 1000;
    let mut creates = Vec::new();
    for i in 0..N {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/v1/threads"),
            d.customer.clone(),
        );
        creates.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"title": format!("一括テスト {i}"), "body": "配信の確認"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }));
        if creates.len() >= 16 {
            for c in creates.drain(..) {
                c.await.unwrap();
            }
        }
    }
    for c in creates {
        c.await.unwrap();
    }
    let got = rx.until(N).await;
    // Everything was fanned out and nothing is left to send: no late duplicates.
    until_fanned_out(app).await;
    let started = Instant::now();
    while app
        .scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'")
        .await
        > 0
    {
        assert!(started.elapsed() < Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = if rx.got().len() > got.len() {
        rx.got()
    } else {
        got
    };
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.id.as_str()).or_default() += 1;
    }
    assert_eq!(per_id.len(), N);
    assert!(
        per_id.values().all(|&c| c == 1),
        "some event was delivered twice"
    );
}

#[tokio::test]
async fn another_instances_commit_wakes_the_dispatcher_without_polling() {
    // Only PostgreSQL has writers outside this process: on SQLite every
    // writer is an instance's own and wakes its dispatcher in-process.
    let probe = TestApp::spawn().await;
    if !probe.is_postgres() {
        return;
    }
    drop(probe);
    // Polling every minute: past the receiver's patience, so only the
    // NOTIFY can bring the event in time.
    let mut vars = LOOPBACK.to_vec();
    vars.retain(|(k, _)| *k != "MADOGUCHI_WEBHOOK_POLL_MS");
    vars.push(("MADOGUCHI_WEBHOOK_POLL_MS", "60000"));
    let d = Desk::on(TestApp::spawn_with(&vars).await).await;
    let app = &d.app;
    let rx = Receiver::start(vec![]).await;
    subscribe(
        app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["announcement.published"]}),
    )
    .await;
    // "Another instance": the test's own connection, writing the outbox the
    // way every instance does, in a transaction of its own.
    let tx = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    madoguchi_persistence::outbox::append(
        &tx,
        madoguchi_persistence::outbox::NewEvent {
            event_type: madoguchi_domain::events::EventType::AnnouncementPublished,
            dedupe_key: None,
            thread_id: None,
            organization_id: None,
            internal: false,
            payload: json!({"title": "電子カルテ連携の障害について"}),
            occurred_at: app.clock.now(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let got = rx.until(1).await;
    assert_eq!(got[0].body["type"], "announcement.published");
    assert_eq!(got[0].body["data"]["title"], "電子カルテ連携の障害について");
}

#[tokio::test]
async fn a_breach_reaches_the_chat_tool_with_its_clock_and_due_time() {
    use chrono::TimeZone;
    // Monday 7 December 2026, 09:00 in Tokyo: an urgent thread's first response
    // is due 30 business minutes later, at 09:30.
    let monday = chrono::FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
        .unwrap()
        .to_utc();
    let app = TestApp::spawn_with(LOOPBACK).await;
    app.clock.set(monday);
    let d = Desk::on(app).await;
    let app = &d.app;
    let rx = Receiver::start(vec![]).await;
    let (_, secret) = subscribe(
        app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["sla.warning", "sla.breached"]}),
    )
    .await;
    let n = app
        .create_thread(
            &d.customer,
            &json!({"title": "電子カルテが全端末で停止", "body": "診療が止まっています", "priority": "urgent"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    app.clock.advance(chrono::Duration::minutes(31));
    let got = rx.until(2).await;
    let breach = got
        .iter()
        .find(|r| r.body["type"] == "sla.breached")
        .expect("a breach delivery");
    assert!(got.iter().any(|r| r.body["type"] == "sla.warning"));
    let data = &breach.body["data"];
    assert_eq!(data["thread_number"], n);
    assert_eq!(data["clock"], "first_response");
    assert_eq!(data["target_minutes"], 30);
    assert_eq!(data["due_at"], "2026-12-07T09:30:00+09:00");
    assert_eq!(data["organization_id"], json!(d.org));
    // Signed like any other; the library's clock check would see the moved clock.
    let expected = standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .sign(
            &breach.id,
            breach.headers["webhook-timestamp"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap(),
            &breach.raw,
        )
        .unwrap();
    assert_eq!(breach.signature, expected);
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_hold_up_the_others() {
    // Attempts may hang for a minute: long past this test's patience, so any
    // delivery stuck behind the dead receiver fails it.
    let mut vars = LOOPBACK.to_vec();
    vars.push(("MADOGUCHI_WEBHOOK_TIMEOUT_MS", "60000"));
    let d = Desk::on(TestApp::spawn_with(&vars).await).await;
    let app = &d.app;
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = dead.accept().await {
            held.push(s);
        }
    });
    let rx = Receiver::start(vec![]).await;
    subscribe(
        app,
        &d.admin,
        json!({"url": dead_url, "event_types": ["thread.created"]}),
    )
    .await;
    subscribe(
        app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["thread.created"]}),
    )
    .await;
    for i in 0..100 {
        app.create_thread(
            &d.customer,
            &json!({"title": format!("通知 {i}"), "body": "本文"}),
        )
        .await;
    }
    // Every event reaches the live receiver while the dead one holds its share.
    rx.until(100).await;
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_says_so() {
    let d = Desk::on(TestApp::spawn_with(LOOPBACK).await).await;
    let mut d = d;
    let rx = Receiver::start(vec![500; 100]).await;
    let (hook, _) = subscribe(
        &d.app,
        &d.admin,
        json!({"url": rx.url, "event_types": ["thread.created"]}),
    )
    .await;
    let id = hook["id"].as_str().unwrap().to_owned();
    d.app
        .create_thread(
            &d.customer,
            &json!({"title": "一件目", "body": "失敗します"}),
        )
        .await;
    rx.until(1).await;
    // Six days on, every attempt still failing: the next one turns it off.
    d.advance(chrono::Duration::days(6)).await;
    d.app
        .create_thread(
            &d.customer,
            &json!({"title": "二件目", "body": "まだ失敗します"}),
        )
        .await;
    let started = Instant::now();
    let w = loop {
        let w = ok_json(
            d.app
                .get(&format!("/v1/webhooks/{id}"), Some(&d.admin))
                .await,
        )
        .await;
        if w["enabled"] == false {
            break w;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never disabled: {w}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(w["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("failed since"));
    assert!(w["failing_since"].is_string());
    assert_eq!(
        d.app
            .scalar("SELECT COUNT(*) AS n FROM outbox WHERE event_type = 'webhook.disabled'")
            .await,
        1
    );
    // Turned on again by an admin, its failure record starts afresh.
    let r = d
        .app
        .req(
            reqwest::Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(&d.admin),
        )
        .header("If-Match", format!("\"{}\"", w["version"]))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    let back = ok_json(r).await;
    assert_eq!(back["enabled"], true);
    assert!(back["disabled_reason"].is_null() && back["failing_since"].is_null());
}

/// A proxy in the environment (common in hospital networks) must not carry
/// deliveries: it would resolve the target itself, past the check of every
/// attempt's address. The real binary with `HTTP_PROXY`/`HTTPS_PROXY` set to a
/// listener on loopback: the delivery reaches its receiver directly and the
/// proxy receives nothing.
#[tokio::test]
async fn deliveries_ignore_the_environments_proxy() {
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let knocks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = knocks.clone();
    tokio::spawn(async move {
        while let Ok((_conn, _)) = proxy.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let rx = Receiver::start(vec![]).await;
    let (url, _db) = crate::helpers::fresh_database().await;
    let password = "test-admin-password-0001";
    let mut c = crate::process::command(&url);
    c.env("MADOGUCHI_ADMIN_PASSWORD", password)
        .env("MADOGUCHI_WEBHOOK_ALLOW_HTTP", "true")
        .env("MADOGUCHI_WEBHOOK_ALLOW_PRIVATE", "true");
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        c.env(var, &proxy_url);
    }
    let mut server = crate::process::start(c);
    let addr = server.address().await.expect("serving");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = crate::process::admin_token(&client, &addr, password).await;
    let hook: Value = client
        .post(format!("http://{addr}/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": rx.url, "event_types": ["*"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = hook["id"].as_str().expect("webhook id");
    let r = client
        .post(format!("http://{addr}/v1/webhooks/{id}/ping"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let got = rx.until(1).await;
    assert_eq!(got[0].body["type"], "webhook.ping");
    assert_eq!(knocks.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// A network that reaches out only through a proxy names it: every delivery
/// goes through that proxy (here the receiver itself, which sees the request
/// in absolute form), and nowhere else.
#[tokio::test]
async fn deliveries_go_through_the_configured_proxy_only() {
    let proxy = Receiver::start(vec![]).await;
    let proxy_url = proxy.url.trim_end_matches("/hook").to_owned();
    let mut vars: Vec<(&str, &str)> = LOOPBACK.to_vec();
    vars.push(("MADOGUCHI_WEBHOOK_PROXY", &proxy_url));
    let d = Desk::on(TestApp::spawn_with(&vars).await).await;
    let app = &d.app;
    // Nothing listens on the discard port: only the proxy can take it.
    let (hook, secret) = subscribe(
        app,
        &d.admin,
        json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}),
    )
    .await;
    let id = hook["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/webhooks/{id}/ping"),
            Some(&d.admin),
            &json!({}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let got = proxy.until(1).await;
    assert_eq!(got[0].body["type"], "webhook.ping");
    assert!(verifies(&secret, &got[0]));
}
