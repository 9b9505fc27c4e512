use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

#[tokio::test]
async fn request_ids_are_echoed_or_generated_and_name_the_problem() {
    let app = TestApp::spawn().await;
    let r = app
        .req(Method::GET, "/healthz", None)
        .header("X-Request-Id", "clinic-screenshot-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("x-request-id").unwrap(),
        "clinic-screenshot-42"
    );
    let r = app.get("/healthz", None).await;
    let generated = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36);
    // A hostile id (too long) is replaced, not echoed.
    let r = app
        .req(Method::GET, "/healthz", None)
        .header("X-Request-Id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.headers().get("x-request-id").unwrap().to_str().unwrap(),
        "x".repeat(500)
    );
    let r = app
        .req(Method::GET, "/v1/nothing-here", None)
        .header("X-Request-Id", "req-404")
        .send()
        .await
        .unwrap();
    let p = problem(r, 404, "not-found").await;
    assert_eq!(p["instance"], "req-404");
}

#[tokio::test]
async fn cursor_pagination_walks_every_item_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut names = HashSet::new();
    for i in 0..5 {
        let n = format!("クリニック{i}");
        app.create_org(&admin, &n).await;
        names.insert(n);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/organizations?limit=2&cursor={c}"),
            None => "/v1/organizations?limit=2".to_owned(),
        };
        let v: Value = app.get(&path, Some(&admin)).await.json().await.unwrap();
        pages += 1;
        for o in v["items"].as_array().unwrap() {
            seen.push(o["name"].as_str().unwrap().to_owned());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), names);
    // In creation order.
    assert_eq!(
        seen,
        (0..5).map(|i| format!("クリニック{i}")).collect::<Vec<_>>()
    );

    // A cursor from another list, or a tampered one, is refused.
    let users: Value = app
        .get("/v1/users?limit=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let _ = users;
    app.create_user(&admin, "a1@madoguchi.test", "agent", None)
        .await;
    let users: Value = app
        .get("/v1/users?limit=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let foreign = users["next_cursor"]
        .as_str()
        .expect("users has a second page");
    problem(
        app.get(&format!("/v1/organizations?cursor={foreign}"), Some(&admin))
            .await,
        400,
        "invalid-cursor",
    )
    .await;
    let first: Value = app
        .get("/v1/organizations?limit=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let mut tampered = first["next_cursor"].as_str().unwrap().to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    problem(
        app.get(
            &format!("/v1/organizations?cursor={tampered}"),
            Some(&admin),
        )
        .await,
        400,
        "invalid-cursor",
    )
    .await;
}

#[tokio::test]
async fn etag_and_if_match_prevent_lost_updates() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let org = app.create_org(&admin, "ひまわり小児科").await;
    let id = org["id"].as_str().unwrap();
    let path = format!("/v1/organizations/{id}");
    let r = app.get(&path, Some(&admin)).await;
    let etag = r
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(etag, "\"1\"");

    let patch = |if_match: Option<&str>, name: &str| {
        let mut r = app
            .req(Method::PATCH, &path, Some(&admin))
            .json(&json!({"name": name}));
        if let Some(m) = if_match {
            r = r.header("If-Match", m.to_owned());
        }
        r.send()
    };
    problem(
        patch(None, "A").await.unwrap(),
        428,
        "precondition-required",
    )
    .await;
    let ok = patch(Some(&etag), "ひまわり小児科クリニック")
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers().get("etag").unwrap(), "\"2\"");
    // A second writer who read version 1 is stopped, and nothing changes.
    problem(
        patch(Some(&etag), "上書き").await.unwrap(),
        412,
        "precondition-failed",
    )
    .await;
    let v: Value = app.get(&path, Some(&admin)).await.json().await.unwrap();
    assert_eq!(v["name"], "ひまわり小児科クリニック");
    assert_eq!(v["version"], 2);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = json!({"name": "つばさ眼科"});
    let send = |key: &str, body: &Value| {
        app.req(Method::POST, "/v1/organizations", Some(&admin))
            .header("Idempotency-Key", key.to_owned())
            .json(body)
            .send()
    };
    let before = app.count("organizations").await;
    let first = send("key-1", &body).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_loc = first.headers().get("location").unwrap().clone();
    let first: Value = first.json().await.unwrap();
    let again = send("key-1", &body).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers().get("location").unwrap(), &first_loc);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(app.count("organizations").await, before + 1);

    problem(
        send("key-1", &json!({"name": "別の眼科"})).await.unwrap(),
        422,
        "idempotency-key-reused",
    )
    .await;
    assert_eq!(app.count("organizations").await, before + 1);

    // Keys belong to their caller: another user's same key is a new request.
    app.create_user(&admin, "admin2@madoguchi.test", "admin", None)
        .await;
    let admin2 = app
        .login("admin2@madoguchi.test", crate::helpers::PASSWORD)
        .await;
    let r = app
        .req(Method::POST, "/v1/organizations", Some(&admin2))
        .header("Idempotency-Key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.count("organizations").await, before + 2);

    // An error answer is replayed too: the same invalid request gives the same 422.
    let bad = json!({"name": "  "});
    problem(send("key-2", &bad).await.unwrap(), 422, "validation-failed").await;
    let r = send("key-2", &bad).await.unwrap();
    assert_eq!(r.headers().get("idempotent-replayed").unwrap(), "true");
}

#[tokio::test]
async fn timestamps_are_written_in_jst_and_any_offset_is_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let org = app.create_org(&admin, "はなみずき内科").await;
    let created = org["created_at"].as_str().unwrap();
    assert!(created.ends_with("+09:00"), "{created}");
    let t = chrono::DateTime::parse_from_rfc3339(created).unwrap();
    // The same instant written in New York time (−05:00) selects the same entries.
    let ny = t.with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).unwrap());
    let q = ny.to_rfc3339().replace('+', "%2B");
    let v: Value = app
        .get(
            &format!("/v1/audit-events?action=organization.create&from={q}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let later = (t + chrono::Duration::seconds(1))
        .with_timezone(&chrono::Utc)
        .to_rfc3339()
        .replace('+', "%2B");
    let v: Value = app
        .get(
            &format!("/v1/audit-events?action=organization.create&from={later}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn japanese_text_round_trips_and_lengths_count_characters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let org = app
        .create_org(&admin, "医療法人社団 さくら会 さくら内科・循環器クリニック")
        .await;
    assert_eq!(
        org["name"],
        "医療法人社団 さくら会 さくら内科・循環器クリニック"
    );
    let hundred = "診".repeat(100);
    let r = app
        .post("/v1/users", Some(&admin), &json!({"email": "long@madoguchi.test", "display_name": hundred, "role": "agent", "password": "correct horse battery"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["display_name"].as_str().unwrap().chars().count(), 100);
    let r = app
        .post("/v1/users", Some(&admin), &json!({"email": "longer@madoguchi.test", "display_name": "診".repeat(101), "role": "agent", "password": "correct horse battery"}))
        .await;
    let p = problem(r, 422, "validation-failed").await;
    assert_eq!(p["errors"][0]["field"], "display_name");
}

#[tokio::test]
async fn idempotency_keys_are_forgotten_after_their_lifetime() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .req(Method::POST, "/v1/organizations", Some(&admin))
        .header("Idempotency-Key", "purge-me")
        .json(&json!({"name": "みなと内科"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ttl = chrono::Duration::hours(24);
    let now = app.clock.now();
    let kept = madoguchi_persistence::idempotency::purge_expired(&app.db, now, ttl)
        .await
        .unwrap();
    assert_eq!(kept, 0, "a fresh key stays");
    let gone = madoguchi_persistence::idempotency::purge_expired(
        &app.db,
        now + chrono::Duration::hours(25),
        ttl,
    )
    .await
    .unwrap();
    assert_eq!(gone, 1);
    assert_eq!(app.count("idempotency_keys").await, 0);
}

#[tokio::test]
async fn every_answer_carries_security_headers_and_hsts_only_over_https() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (path, token) in [
        ("/v1/me", Some(admin.as_str())),
        ("/v1/nope", None),
        ("/healthz", None),
    ] {
        let r = app.get(path, token).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
            "{path}"
        );
        assert!(
            h.get("strict-transport-security").is_none(),
            "plain HTTP: no HSTS"
        );
    }
    let me = app.get("/v1/me", Some(&admin)).await;
    assert_eq!(
        me.headers()["cache-control"],
        "no-store",
        "personal data is not cached"
    );
    // The board's pages keep their own, stricter policy (their stylesheet).
    let login = app.get("/login", None).await;
    assert!(login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("style-src 'self'"));
    assert_eq!(login.headers()["referrer-policy"], "same-origin");

    let https = TestApp::spawn_with(&[("MADOGUCHI_SECURE_COOKIES", "true")]).await;
    let r = https.get("/healthz", None).await;
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn cross_site_browsers_are_let_in_only_from_configured_origins() {
    let preflight = |app: &TestApp, origin: &str| {
        app.req(reqwest::Method::OPTIONS, "/v1/threads", None)
            .header("origin", origin.to_owned())
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    // None by default: no origin is allowed, not even to read.
    let closed = TestApp::spawn().await;
    let r = closed
        .req(
            reqwest::Method::GET,
            "/v1/calendar/holidays?year=2026",
            None,
        )
        .header("origin", "https://portal.example.jp")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let app = TestApp::spawn_with(&[(
        "MADOGUCHI_CORS_ORIGINS",
        "https://portal.example.jp, https://records.clinic.example",
    )])
    .await;
    let ok = preflight(&app, "https://portal.example.jp").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://portal.example.jp"
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let other = preflight(&app, "https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    assert!(other.status().is_client_error(), "{}", other.status());
    assert_eq!(
        other.headers()["content-type"],
        "application/problem+json",
        "refused like every other error"
    );
    let read = app
        .req(
            reqwest::Method::GET,
            "/v1/calendar/holidays?year=2026",
            None,
        )
        .header("origin", "https://records.clinic.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "https://records.clinic.example"
    );
}
