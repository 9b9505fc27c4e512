//! What a customer must not learn, found when a customer's token was tried on
//! every route: that staff wrote an internal note (from version, ETag or
//! updated_at), another person's page through their cursor, and no limit on
//! how fast one person may ask. And /metrics for anyone.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{ok_json, problem, route, Desk, TestApp, CUSTOMER_EMAIL, PASSWORD};

async fn as_seen(app: &TestApp, token: &str, n: i64) -> (String, Value) {
    let r = app.get(&route::thread(n), Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    (tag, r.json().await.unwrap())
}

#[tokio::test]
async fn an_internal_note_changes_nothing_a_clinic_can_see() {
    let mut desk = Desk::new().await;
    let t = desk
        .app
        .create_thread(
            &desk.customer,
            &json!({"title": "電子カルテの印刷ができません", "body": "紹介状の印刷でエラーになります。"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let (tag0, seen0) = as_seen(&desk.app, &desk.customer, n).await;
    let list0 = ok_json(desk.app.get("/v1/threads", Some(&desk.customer)).await).await;
    let (staff_tag0, _) = as_seen(&desk.app, &desk.agent, n).await;

    desk.advance(Duration::minutes(5)).await;
    let r = desk
        .app
        .reply(
            &desk.agent,
            n,
            "プリンタードライバの件、開発に確認中。",
            Some("internal"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = desk
        .app
        .reply(&desk.agent, n, "再現手順をメモ。", Some("internal"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The clinic's view, its ETag and its list are as they were.
    let (tag1, seen1) = as_seen(&desk.app, &desk.customer, n).await;
    assert_eq!(tag1, tag0);
    for field in ["version", "updated_at", "post_count"] {
        assert_eq!(seen1[field], seen0[field], "{field}");
    }
    let list1 = ok_json(desk.app.get("/v1/threads", Some(&desk.customer)).await).await;
    for field in ["version", "updated_at", "post_count"] {
        assert_eq!(
            list1["items"][0][field], list0["items"][0][field],
            "list {field}"
        );
    }
    // Staff see the thread move.
    let (staff_tag1, staff1) = as_seen(&desk.app, &desk.agent, n).await;
    assert_ne!(staff_tag1, staff_tag0);
    assert_eq!(staff1["post_count"], 3);

    // A public answer is something the clinic sees: its view moves once.
    desk.advance(Duration::minutes(5)).await;
    let r = desk
        .app
        .reply(
            &desk.agent,
            n,
            "ドライバの更新で解消します。手順をお送りします。",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (tag2, seen2) = as_seen(&desk.app, &desk.customer, n).await;
    assert_ne!(tag2, tag0);
    assert_eq!(seen2["version"], seen0["version"].as_i64().unwrap() + 1);
    assert_ne!(seen2["updated_at"], seen0["updated_at"]);
    assert_eq!(seen2["post_count"], 2);
    // The ETag a customer holds is their view's version.
    assert_eq!(tag2, format!("\"{}\"", seen2["version"]));
}

#[tokio::test]
async fn a_cursor_works_only_for_the_one_it_was_handed_to() {
    let desk = Desk::new().await;
    for i in 0..3 {
        desk.app
            .create_thread(
                &desk.customer,
                &json!({"title": format!("予約の件 {i}"), "body": "本文"}),
            )
            .await;
    }
    let page = ok_json(
        desk.app
            .get("/v1/threads?limit=1", Some(&desk.customer))
            .await,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let path = format!("/v1/threads?limit=1&cursor={cursor}");
    // Its owner pages on.
    ok_json(desk.app.get(&path, Some(&desk.customer)).await).await;
    // A colleague at the same clinic, and an agent, are refused it.
    let org = desk.org.clone();
    desk.app
        .create_user(&desk.admin, "sato@sakura.test", "customer", Some(&org))
        .await;
    let colleague = desk.app.login("sato@sakura.test", PASSWORD).await;
    problem(
        desk.app.get(&path, Some(&colleague)).await,
        400,
        "invalid-cursor",
    )
    .await;
    problem(
        desk.app.get(&path, Some(&desk.agent)).await,
        400,
        "invalid-cursor",
    )
    .await;
    // The same person in a new session keeps paging (it is theirs, not the session's).
    let again = desk.app.login(CUSTOMER_EMAIL, PASSWORD).await;
    ok_json(desk.app.get(&path, Some(&again)).await).await;
}

#[tokio::test]
async fn one_person_is_held_to_a_rate_and_others_are_not() {
    // 60 a minute: bursts of 10.
    let app = TestApp::spawn_with(&[("MADOGUCHI_USER_RATE_PER_MINUTE", "60")]).await;
    let desk = Desk::on(app).await;
    let mut created = 0;
    let mut refused = None;
    for i in 0..30 {
        let r = desk
            .app
            .post(
                "/v1/threads",
                Some(&desk.customer),
                &json!({"title": format!("連続投稿 {i}"), "body": "本文"}),
            )
            .await;
        if r.status() == StatusCode::CREATED {
            created += 1;
        } else {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("a refusal before 30 threads");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    problem(r, 429, "too-many-requests").await;
    assert!(created <= 10, "{created} threads in one burst");
    assert_eq!(desk.app.count("threads").await, created);
    // The agent has a budget of their own.
    ok_json(desk.app.get("/v1/queue", Some(&desk.agent)).await).await;
}

#[tokio::test]
async fn metrics_answer_this_machine_or_the_token_holder_only() {
    let app = TestApp::spawn().await;
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status(), StatusCode::OK, "from loopback, no proxy");
    // Through a proxy on this machine, the world is not local.
    let r = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    problem(r, 403, "forbidden").await;

    let token = "scrape-7c1f0b2e9a4d";
    let app = TestApp::spawn_with(&[("MADOGUCHI_METRICS_TOKEN", token)]).await;
    problem(app.get("/metrics", None).await, 401, "unauthorized").await;
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-7c1f0b2e9a4e")
        .send()
        .await
        .unwrap();
    problem(r, 401, "unauthorized").await;
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("madoguchi_http_requests_total"));
}
