//! API keys: what a key may reach (its scopes, its organization), that the
//! secret is shown once, and that revocation, expiry and the rate limit hold.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{ok_json, problem, route, without_audit, Desk, TestApp};

/// Create a key as the admin; returns (key object, secret).
async fn issue(app: &TestApp, admin: &str, body: Value) -> (Value, String) {
    let r = app.post("/v1/api-keys", Some(admin), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED, "create key");
    let v: Value = r.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_owned();
    (v, secret)
}

#[tokio::test]
async fn a_clinic_key_acts_as_that_clinic_and_no_further() {
    let d = Desk::new().await;
    let app = &d.app;
    let (other_org, other_customer) = d.other_clinic().await;
    let theirs = app
        .create_thread(
            &other_customer,
            &json!({"title": "他院の問い合わせ", "body": "見えてはいけません"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();

    let (key, secret) = issue(
        app,
        &d.admin,
        json!({"name": "電子カルテ連携", "scopes": ["threads:read", "threads:write"], "organization_id": d.org}),
    )
    .await;
    // The scanner-recognisable shape, shown once; the list has only the prefix.
    assert!(secret.starts_with("mdg_") && secret.len() == 40, "{secret}");
    assert_eq!(key["prefix"].as_str().unwrap(), &secret[..12]);
    assert_eq!(key["organization_id"], json!(d.org));
    let list = ok_json(app.get("/v1/api-keys", Some(&d.admin)).await).await;
    assert!(!list.to_string().contains(&secret));
    let one = ok_json(
        app.get(
            &format!("/v1/api-keys/{}", key["id"].as_str().unwrap()),
            Some(&d.admin),
        )
        .await,
    )
    .await;
    assert!(one.get("secret").is_none());

    // It opens a thread for its clinic without naming it.
    let t = app
        .create_thread(
            &secret,
            &json!({"title": "予約連携のエラー", "body": "電子カルテから予約が送れません"}),
        )
        .await;
    assert_eq!(t["organization_id"], json!(d.org));
    let n = t["number"].as_i64().unwrap();
    assert_eq!(t["channel"], "api");
    // An agent's internal note never reaches it, by any route.
    app.reply(
        &d.agent,
        n,
        "内部メモ：連携先ベンダーに確認中",
        Some("internal"),
    )
    .await;
    app.reply(&d.agent, n, "確認しております。", None).await;
    let posts = ok_json(app.get(&route::posts(n), Some(&secret)).await).await;
    assert_eq!(posts["items"].as_array().unwrap().len(), 2);
    assert!(!posts.to_string().contains("内部メモ"));
    let thread = ok_json(app.get(&route::thread(n), Some(&secret)).await).await;
    assert_eq!(thread["post_count"], 2);
    let found = ok_json(
        app.get("/v1/search?q=%E9%80%A3%E6%90%BA%E5%85%88", Some(&secret))
            .await,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");
    let refused = app
        .reply(&secret, n, "内部にしたい", Some("internal"))
        .await;
    // As for the clinic's own people: a customer writes no internal notes.
    problem(refused, 422, "validation-failed").await;

    // Another clinic does not exist for it.
    problem(
        app.get(&route::thread(theirs), Some(&secret)).await,
        404,
        "not-found",
    )
    .await;
    problem(
        app.get(&route::organization(&other_org), Some(&secret))
            .await,
        403,
        "missing-scope",
    )
    .await;
    let listed = ok_json(app.get("/v1/threads", Some(&secret)).await).await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["organization_id"] == json!(d.org)));
    // Staff work stays closed: the queue by role, calls and users by scope.
    problem(app.get("/v1/queue", Some(&secret)).await, 403, "forbidden").await;
    let p = problem(
        app.get("/v1/calls", Some(&secret)).await,
        403,
        "missing-scope",
    )
    .await;
    assert_eq!(p["required_scope"], "calls:read");
    let p = problem(
        app.get("/v1/users", Some(&secret)).await,
        403,
        "missing-scope",
    )
    .await;
    assert!(p.get("required_scope").is_none(), "{p}");
    problem(app.get("/v1/me", Some(&secret)).await, 403, "missing-scope").await;

    // Every request with it is audited as the key.
    let key_id = key["id"].as_str().unwrap();
    let trail = ok_json(
        app.get(
            &format!("/v1/audit-events?actor_id={key_id}&limit=200"),
            Some(&d.admin),
        )
        .await,
    )
    .await;
    let items = trail["items"].as_array().unwrap();
    assert!(items.iter().all(|e| e["actor_type"] == "api_key"));
    for action in [
        "thread.create",
        "post.list",
        "thread.read",
        "search",
        "thread.list",
    ] {
        assert!(
            items
                .iter()
                .any(|e| e["action"] == action && e["outcome"] == "success"),
            "{action} not audited: {trail}"
        );
    }
    assert!(items
        .iter()
        .any(|e| e["action"] == "call.list" && e["outcome"] == "denied"));
}

#[tokio::test]
async fn a_staff_key_is_held_to_its_scopes() {
    let d = Desk::new().await;
    let app = &d.app;
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "印刷できません", "body": "処方箋が印刷できません"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let (_, reader) = issue(
        app,
        &d.admin,
        json!({"name": "監視ダッシュボード", "scopes": ["threads:read"]}),
    )
    .await;
    // Reads like staff: the queue, every clinic's thread.
    let q = ok_json(app.get("/v1/queue", Some(&reader)).await).await;
    assert_eq!(q["items"][0]["number"], n);
    ok_json(app.get(&route::thread(n), Some(&reader)).await).await;
    // Writes are refused, naming the scope that would allow them.
    let p = problem(
        app.reply(&reader, n, "自動返信", None).await,
        403,
        "missing-scope",
    )
    .await;
    assert_eq!(p["required_scope"], "threads:write");
    let p = problem(
        app.get("/v1/audit-events", Some(&reader)).await,
        403,
        "missing-scope",
    )
    .await;
    assert_eq!(p["required_scope"], "audit:read");
    problem(
        app.post(
            "/v1/api-keys",
            Some(&reader),
            &json!({"name": "x", "scopes": ["threads:read"]}),
        )
        .await,
        403,
        "missing-scope",
    )
    .await;

    // An auditor's key reads the trail and nothing else.
    let (_, auditor) = issue(
        app,
        &d.admin,
        json!({"name": "監査", "scopes": ["audit:read"]}),
    )
    .await;
    ok_json(app.get("/v1/audit-events/verify", Some(&auditor)).await).await;
    problem(
        app.get("/v1/threads", Some(&auditor)).await,
        403,
        "missing-scope",
    )
    .await;
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused_at_once() {
    let d = Desk::new().await;
    let app = &d.app;
    let sibling = app.sibling().await;
    let (key, secret) = issue(
        app,
        &d.admin,
        json!({"name": "旧システム", "scopes": ["threads:read"]}),
    )
    .await;
    let id = key["id"].as_str().unwrap();
    ok_json(app.get("/v1/threads", Some(&secret)).await).await;
    let r = app
        .req(
            reqwest::Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Some(&d.admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(
        app.get("/v1/threads", Some(&secret)).await,
        401,
        "unauthorized",
    )
    .await;
    // On the other instance too, with no cache to wait out.
    let r = app
        .client
        .get(sibling.url("/v1/threads"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let listed = ok_json(app.get(&format!("/v1/api-keys/{id}"), Some(&d.admin)).await).await;
    assert!(listed["revoked_at"].as_str().unwrap().ends_with("+09:00"));

    let expires = (app.clock.now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, short) = issue(
        app,
        &d.admin,
        json!({"name": "試用", "scopes": ["threads:read"], "expires_at": expires}),
    )
    .await;
    ok_json(app.get("/v1/threads", Some(&short)).await).await;
    app.clock.advance(chrono::Duration::hours(2));
    problem(
        app.get("/v1/threads", Some(&short)).await,
        401,
        "unauthorized",
    )
    .await;
    // A look-alike with a broken checksum is not even looked up.
    let forged = format!("{}A", &secret[..39]);
    problem(
        app.get("/v1/threads", Some(&forged)).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn a_key_records_its_last_use() {
    let d = Desk::new().await;
    let app = &d.app;
    let (key, secret) = issue(
        app,
        &d.admin,
        json!({"name": "夜間バッチ", "scopes": ["threads:read"]}),
    )
    .await;
    assert!(key["last_used_at"].is_null());
    let url = format!("/v1/api-keys/{}", key["id"].as_str().unwrap());
    ok_json(app.get("/v1/threads", Some(&secret)).await).await;
    let started = std::time::Instant::now();
    loop {
        let k = ok_json(app.get(&url, Some(&d.admin)).await).await;
        if k["last_used_at"].is_string() {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "never recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_busy_key_is_told_when_to_come_back() {
    let app = TestApp::spawn_with(&[("MADOGUCHI_API_KEY_RATE_PER_MINUTE", "6")]).await;
    let admin = app.admin().await;
    let (_, secret) = issue(
        &app,
        &admin,
        json!({"name": "暴走スクリプト", "scopes": ["threads:read"]}),
    )
    .await;
    ok_json(app.get("/v1/threads", Some(&secret)).await).await;
    let r = app.get("/v1/threads", Some(&secret)).await;
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=10).contains(&retry), "{retry}");
    problem(r, 429, "too-many-requests").await;
    // A person's token is not held to the key's budget.
    ok_json(app.get("/v1/threads", Some(&admin)).await).await;
}

#[tokio::test]
async fn bad_key_requests_change_nothing() {
    let d = Desk::new().await;
    let app = &d.app;
    let before = app.snapshot().await;
    let past = (app.clock.now() - chrono::Duration::minutes(1)).to_rfc3339();
    for (body, field) in [
        (json!({"name": "x", "scopes": ["threads:admin"]}), "scopes"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "  ", "scopes": ["threads:read"]}), "name"),
        (
            json!({"name": "x", "scopes": ["audit:read"], "organization_id": d.org}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": ["calls:write"], "organization_id": d.org}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": ["threads:read"], "expires_at": past}),
            "expires_at",
        ),
        (
            json!({"name": "x", "scopes": ["threads:read"], "organization_id": uuid::Uuid::now_v7()}),
            "organization_id",
        ),
    ] {
        let p = problem(
            app.post("/v1/api-keys", Some(&d.admin), &body).await,
            422,
            "validation-failed",
        )
        .await;
        assert!(p.to_string().contains(field), "{body} → {p}");
    }
    problem(
        app.post(
            "/v1/api-keys",
            Some(&d.agent),
            &json!({"name": "x", "scopes": ["threads:read"]}),
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
