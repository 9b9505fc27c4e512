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

/// With cross-origin callers configured, the board's own forms (which
/// browsers send with `Origin`) still work, and a browser front end on an
/// allowed origin can read every answer, including the ones the outermost
/// layer makes itself: a replay, a reused key, a body too large.
#[tokio::test]
async fn cors_is_for_the_api_and_covers_every_answer() {
    let portal = "https://portal.example.jp";
    let app = crate::helpers::TestApp::spawn_with(&[
        ("MADOGUCHI_CORS_ORIGINS", portal),
        ("MADOGUCHI_MAX_BODY_BYTES", "4096"),
    ])
    .await;
    // The board: a same-origin login form, as a browser sends it.
    let board = crate::web::Browser::new(&app);
    let home = board
        .login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.html);
    assert_eq!(home.url, "/queue");

    // A preflight for what the README offers (X-Request-Id) is let through.
    let pre = app
        .req(Method::OPTIONS, "/v1/threads", None)
        .header("origin", portal)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key, x-request-id",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], portal);

    let admin = app.admin().await;
    let org = app.create_org(&admin, "さくら内科クリニック").await;
    let body = json!({"title": "予約画面が開かない", "body": "朝から表示されません", "organization_id": org["id"]});
    let send = |key: &'static str, body: &serde_json::Value| {
        app.req(Method::POST, "/v1/threads", Some(&admin))
            .header("origin", portal)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let first = send("portal-1", &body).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let replay = send("portal-1", &body).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let reused = send(
        "portal-1",
        &json!({"title": "別件", "body": "別の本文", "organization_id": org["id"]}),
    )
    .await
    .unwrap();
    let too_large = send(
        "portal-2",
        &json!({"title": "大きい", "body": "あ".repeat(3000), "organization_id": org["id"]}),
    )
    .await
    .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for (what, r) in [
        ("created", &first),
        ("replayed", &replay),
        ("key reused", &reused),
        ("too large", &too_large),
    ] {
        assert_eq!(
            r.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some(portal),
            "{what}: {}",
            r.status()
        );
        let exposed = r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(exposed.contains("idempotent-replayed"), "{what}: {exposed}");
    }
    problem(reused, 422, "idempotency-key-reused").await;

    // Another origin's preflight is refused for what it is, not for a role.
    let p = app
        .req(Method::OPTIONS, "/v1/threads", None)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    let p = problem(p, 403, "cors-refused").await;
    assert!(!p["detail"].to_string().contains("role"), "{p}");
}

/// The board's forms: over HTTPS an `http://` origin is another site, and a
/// pre-session cookie the server did not make is replaced, not adopted.
#[tokio::test]
async fn a_form_from_another_scheme_or_with_a_planted_cookie_is_refused() {
    let app = crate::helpers::TestApp::spawn_with(&[("MADOGUCHI_SECURE_COOKIES", "true")]).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = client.get(app.url("/login")).send().await.unwrap();
    assert!(page.headers().get("set-cookie").is_some());
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let host = app.addr.to_string();
    let login = |origin: String| {
        client
            .post(app.url("/login"))
            .header("origin", origin)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", crate::helpers::ADMIN_EMAIL),
                ("password", crate::helpers::ADMIN_PASSWORD),
            ])
            .send()
    };
    let r = login(format!("http://{host}")).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "an http origin over https"
    );

    // A cookie planted with a value of the attacker's choosing.
    let planted = "A".repeat(43);
    let r = reqwest::Client::new()
        .get(app.url("/login"))
        .header("cookie", format!("__Host-madoguchi_pre={planted}"))
        .send()
        .await
        .unwrap();
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(
        set.iter()
            .any(|c| c.starts_with("__Host-madoguchi_pre=") && !c.contains(&planted)),
        "the planted value is replaced: {set:?}"
    );
}

/// Smaller findings: the admin pages are an admin's, and Swagger UI runs only
/// its own scripts.
#[tokio::test]
async fn admin_pages_refuse_agents_and_docs_run_only_their_own_scripts() {
    let d = Desk::new().await;
    let app = &d.app;
    let agent = crate::web::Browser::new(app);
    let queue = agent
        .login(crate::helpers::AGENT_EMAIL, crate::helpers::PASSWORD)
        .await;
    assert_eq!(queue.status, StatusCode::OK);
    for page in [
        "/admin/organizations",
        "/admin/users",
        "/admin/sla",
        "/admin/calendar",
    ] {
        assert_eq!(
            agent.get(page).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    let admin = crate::web::Browser::new(app);
    admin
        .login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    assert_eq!(
        admin.get("/admin/organizations").await.status,
        StatusCode::OK
    );

    let docs = app.get("/docs", None).await;
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_default();
    assert!(
        script_src.contains("'sha256-") && !script_src.contains("unsafe"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = docs.text().await.unwrap();
    assert!(html.contains("<script"), "Swagger UI is still served");
}
