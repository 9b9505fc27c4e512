//! Findings of the security review (issue 27) that have no better home, each
//! reproduced as the reviewer found it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ok_json, problem, Desk};

/// An idempotent answer is replayed only to a caller who may still ask: after
/// a logout, or once an API key is revoked, the same request is a 401 that
/// carries nothing of the saved answer.
#[tokio::test]
async fn an_idempotent_replay_needs_a_live_session_or_key() {
    let d = Desk::new().await;
    let app = &d.app;
    let call = json!({
        "organization_id": d.org,
        "caller_name": "渡辺 直美",
        "caller_number": "090-1234-5678",
        "direction": "inbound",
        "answered": true,
        "started_at": "2026-12-01T10:05:00+09:00",
    });
    let send = |token: &str| {
        app.req(Method::POST, "/v1/calls", Some(token))
            .header("Idempotency-Key", "call-0001")
            .json(&call)
            .send()
    };
    assert_eq!(send(&d.agent).await.unwrap().status(), StatusCode::CREATED);
    let again = send(&d.agent).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let replays =
        || app.scalar("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'request.replay'");
    assert_eq!(replays().await, 1, "a replay is audited");
    app.post("/v1/auth/logout", Some(&d.agent), &json!({}))
        .await
        .error_for_status()
        .unwrap();
    let r = send(&d.agent).await.unwrap();
    assert!(r.headers().get("idempotent-replayed").is_none());
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("渡辺") && !body.contains("090-1234"),
        "{body}"
    );
    assert!(body.contains("unauthorized"), "{body}");

    // An API key: replayed while live, refused once revoked.
    let key = ok_json(
        app.post(
            "/v1/api-keys",
            Some(&d.admin),
            &json!({"name": "電子カルテ連携", "scopes": ["threads:read", "threads:write"], "organization_id": d.org}),
        )
        .await,
    )
    .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let thread =
        json!({"title": "渡辺様の予約が表示されない", "body": "予約画面を確認してください"});
    let open = || {
        app.req(Method::POST, "/v1/threads", Some(&secret))
            .header("Idempotency-Key", "thread-0001")
            .json(&thread)
            .send()
    };
    assert_eq!(open().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(
        open().await.unwrap().headers()["idempotent-replayed"],
        "true"
    );
    let id = key["id"].as_str().unwrap();
    let r = app
        .req(
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Some(&d.admin),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = open().await.unwrap();
    assert!(r.headers().get("idempotent-replayed").is_none());
    problem(r, 401, "unauthorized").await;
}

/// Behind a proxy that appends to `X-Forwarded-For`, the client writes the
/// left of the header: the address audited and throttled is the rightmost hop
/// that is not a trusted proxy, and a peer that is not a trusted proxy is
/// believed about nothing.
#[tokio::test]
async fn the_client_address_is_the_rightmost_untrusted_hop() {
    let app = crate::helpers::TestApp::spawn_with(&[
        ("MADOGUCHI_TRUST_FORWARDED_FOR", "true"),
        ("MADOGUCHI_TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/24"),
    ])
    .await;
    let login = |xff: &'static str| {
        app.client
            .post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": "nobody@clinic.test", "password": "wrong wrong wrong"}))
            .send()
    };
    login("6.6.6.6, 203.0.113.9, 10.0.0.7").await.unwrap();
    let audited_from = |ip: &str| {
        format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND ip = '{ip}'"
        )
    };
    assert_eq!(
        app.scalar(&audited_from("203.0.113.9")).await,
        1,
        "the hop the trusted proxy saw"
    );
    assert_eq!(
        app.scalar(&audited_from("6.6.6.6")).await,
        0,
        "never what the client wrote"
    );

    // Without a trusted proxy in front, the header is the client's own words.
    let direct = crate::helpers::TestApp::spawn_with(&[
        ("MADOGUCHI_TRUST_FORWARDED_FOR", "true"),
        ("MADOGUCHI_TRUSTED_PROXIES", "10.0.0.0/24"),
    ])
    .await;
    direct
        .client
        .post(direct.url("/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"email": "nobody@clinic.test", "password": "wrong wrong wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        direct
            .scalar(
                "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND ip = '127.0.0.1'"
            )
            .await,
        1
    );
}

/// A title renamed to take a patient's name out of it is no longer found by
/// that name, for staff or the clinic, and SQLite's index holds no row with
/// the old title's terms.
#[tokio::test]
async fn a_renamed_title_is_no_longer_found_by_its_old_words() {
    let d = Desk::new().await;
    let app = &d.app;
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "渡辺様の検査結果が表示されない", "body": "画面が白いままです"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let r = app
        .patch_thread(&d.agent, n, &json!({"title": "検査結果が表示されない"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for token in [&d.agent, &d.customer] {
        // 渡辺
        let s = ok_json(
            app.get("/v1/search?q=%E6%B8%A1%E8%BE%BA", Some(token))
                .await,
        )
        .await;
        assert_eq!(s["items"], json!([]), "{s}");
        // 検査 still finds the thread by its new title.
        let s = ok_json(
            app.get("/v1/search?q=%E6%A4%9C%E6%9F%BB", Some(token))
                .await,
        )
        .await;
        assert_eq!(s["items"].as_array().unwrap().len(), 1, "{s}");
    }
    if app.is_postgres() {
        assert_eq!(
            app.scalar("SELECT COUNT(*) AS n FROM search_docs WHERE tokens @@ '渡辺'::tsquery")
                .await,
            0
        );
    } else {
        assert_eq!(
            app.scalar("SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH '渡辺'")
                .await,
            0
        );
        // Every row was deleted with the text it was indexed with, or this fails.
        app.exec(
            "INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)",
            vec![],
        )
        .await;
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM search_docs WHERE post_id IS NULL")
            .await,
        1,
        "one title document per thread"
    );
}
