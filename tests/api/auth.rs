use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{problem, route, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD};

#[tokio::test]
async fn admin_logs_in_and_sees_itself() {
    let app = TestApp::spawn().await;
    let r = app.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_i64().unwrap() > 0);
    let token = v["access_token"].as_str().unwrap();
    let r = app.get("/v1/me", Some(token)).await;
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        tag,
        format!("\"{}\"", me["version"]),
        "ETag is the account's version"
    );
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert!(me.get("password_hash").is_none() && me.get("password").is_none());
    // Email is matched case-insensitively.
    assert_eq!(
        app.login_raw("Admin@Madoguchi.TEST", ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let a = problem(
        app.login_raw(ADMIN_EMAIL, "not the password!").await,
        401,
        "invalid-credentials",
    )
    .await;
    let b = problem(
        app.login_raw("nobody@madoguchi.test", "not the password!")
            .await,
        401,
        "invalid-credentials",
    )
    .await;
    assert_eq!(a["detail"], b["detail"]);
    assert_eq!(a["title"], b["title"]);
    // Both failures are in the audit trail.
    let admin = app.admin().await;
    let v: Value = app
        .get(
            "/v1/audit-events?action=auth.login&outcome=failure",
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn logout_revokes_the_token_at_once() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let other = app.admin().await;
    let r = app
        .req(Method::POST, "/v1/auth/logout", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(app.get("/v1/me", Some(&token)).await, 401, "unauthorized").await;
    // Another session of the same user lives on.
    assert_eq!(
        app.get("/v1/me", Some(&other)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deactivation_revokes_every_token_and_blocks_login() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let agent = app
        .create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let t1 = app.login("agent@madoguchi.test", PASSWORD).await;
    let t2 = app.login("agent@madoguchi.test", PASSWORD).await;
    let id = agent["id"].as_str().unwrap();
    let r = app
        .req(Method::PATCH, &route::user(id), Some(&admin))
        .header("If-Match", "\"1\"")
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for t in [&t1, &t2] {
        problem(app.get("/v1/me", Some(t)).await, 401, "unauthorized").await;
    }
    problem(
        app.login_raw("agent@madoguchi.test", PASSWORD).await,
        401,
        "invalid-credentials",
    )
    .await;
}

#[tokio::test]
async fn password_change_revokes_tokens_and_the_new_password_works() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let u = app
        .create_user(&admin, "kato@madoguchi.test", "agent", None)
        .await;
    let old = app.login("kato@madoguchi.test", PASSWORD).await;
    let id = u["id"].as_str().unwrap();
    let r = app
        .req(Method::PATCH, &route::user(id), Some(&admin))
        .header("If-Match", "\"1\"")
        .json(&json!({"password": "新しいパスワードは十二文字以上"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    problem(app.get("/v1/me", Some(&old)).await, 401, "unauthorized").await;
    app.login("kato@madoguchi.test", "新しいパスワードは十二文字以上")
        .await;
}

fn forge(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn foreign_expired_malformed_and_unsigned_tokens_get_401() {
    let secret = "s".repeat(40);
    let app = TestApp::spawn_with(&[("MADOGUCHI_JWT_SECRET", &secret)]).await;
    let token = app.admin().await;
    // Take the real claims and re-sign or tamper with them.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();

    let other_secret = forge(&claims, b"another-secret-another-secret-another");
    let mut expired_claims = claims.clone();
    expired_claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 3600);
    let expired = forge(&expired_claims, secret.as_bytes());
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{header_none}.{payload}.");
    let mut wrong_session = claims.clone();
    wrong_session["sid"] = json!(uuid::Uuid::new_v4().to_string());
    let unknown_session = forge(&wrong_session, secret.as_bytes());

    for (what, t) in [
        ("other secret", other_secret.as_str()),
        ("expired", expired.as_str()),
        ("alg none", alg_none.as_str()),
        ("garbage", "not.a.token"),
        ("empty", ""),
        ("unknown session", unknown_session.as_str()),
    ] {
        let r = app.get("/v1/me", Some(t)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
        problem(r, 401, "unauthorized").await;
    }
    // The properly signed one still works.
    let resigned = forge(&claims, secret.as_bytes());
    assert_eq!(
        app.get("/v1/me", Some(&resigned)).await.status(),
        StatusCode::OK
    );
    problem(app.get("/v1/me", None).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account() {
    let app = TestApp::spawn().await;
    for _ in 0..4 {
        problem(
            app.login_raw(ADMIN_EMAIL, "wrong wrong wrong").await,
            401,
            "invalid-credentials",
        )
        .await;
    }
    // The fifth failure locks the account.
    problem(
        app.login_raw(ADMIN_EMAIL, "wrong wrong wrong").await,
        401,
        "invalid-credentials",
    )
    .await;
    let r = app.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "retry after {retry}");
    let p = problem(r, 429, "too-many-requests").await;
    assert_eq!(p["retry_after"], json!(retry));

    // An unknown account is throttled exactly the same way: no hint it does not exist.
    for _ in 0..5 {
        app.login_raw("ghost@madoguchi.test", "wrong wrong wrong")
            .await;
    }
    problem(
        app.login_raw("ghost@madoguchi.test", "wrong wrong wrong")
            .await,
        429,
        "too-many-requests",
    )
    .await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_address() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        let r = app
            .login_raw(&format!("guess{i}@madoguchi.test"), "wrong wrong wrong")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // A fresh account from the same address is refused now, even with the right password.
    let r = app.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(r.headers().get("retry-after").is_some());
    problem(r, 429, "too-many-requests").await;
}

#[tokio::test]
async fn common_or_personal_passwords_are_refused_and_a_japanese_phrase_is_not() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let users = app.count("users").await;
    let attempt = |email: &'static str, password: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.post(
                "/v1/users",
                Some(&admin),
                &json!({"email": email, "display_name": "田中 一郎", "role": "agent", "password": password}),
            )
            .await
        }
    };
    // Twelve characters or more, and still among the first guesses.
    for weak in [
        "password1234",
        "qwertyuiop123",
        "111111111111",
        "tanakatanaka",
    ] {
        let r = attempt("tanaka@madoguchi.test", weak).await;
        let p = problem(r, 422, "validation-failed").await;
        assert_eq!(p["errors"][0]["field"], "password", "{weak}");
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("too easy to guess"),
            "{weak}: {p}"
        );
    }
    assert_eq!(app.count("users").await, users, "nothing written");
    // A Japanese passphrase counts by its characters and is accepted.
    let r = attempt("tanaka@madoguchi.test", "さくら内科の受付は九時から").await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let here = app.login("agent@madoguchi.test", PASSWORD).await;
    let elsewhere = app.login("agent@madoguchi.test", PASSWORD).await;
    let change = |token: &str, current: &str, new: &str| {
        let (app, token) = (&app, token.to_owned());
        let body = json!({"current_password": current, "new_password": new});
        async move { app.post("/v1/me/password", Some(&token), &body).await }
    };

    let wrong = change(
        &here,
        "not the password at all",
        "月曜の朝は九時から受付開始",
    )
    .await;
    let p = problem(wrong, 422, "validation-failed").await;
    assert_eq!(p["errors"][0]["field"], "current_password");
    let weak = change(&here, PASSWORD, "password1234").await;
    let p = problem(weak, 422, "validation-failed").await;
    assert_eq!(p["errors"][0]["field"], "new_password");

    let ok = change(&here, PASSWORD, "月曜の朝は九時から受付開始").await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["sessions_revoked"], 1);
    assert_eq!(
        app.get("/v1/me", Some(&here)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/me", Some(&elsewhere)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        app.login_raw("agent@madoguchi.test", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("agent@madoguchi.test", "月曜の朝は九時から受付開始")
        .await;

    // Guessing the current password with a stolen token is throttled like
    // logins: five free failures, then 429 with Retry-After.
    for _ in 0..5 {
        let r = change(&here, "guess guess guess", "月曜の朝は九時から受付です").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = change(&here, "guess guess guess", "月曜の朝は九時から受付です").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn sessions_are_listed_and_ended_by_their_owner_and_by_admins_on_every_instance() {
    let app = TestApp::spawn().await;
    let other = app.sibling().await;
    let admin = app.admin().await;
    let agent = app
        .create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let here = app.login("agent@madoguchi.test", PASSWORD).await;
    let phone = app.login("agent@madoguchi.test", PASSWORD).await;

    let list: Value = app
        .get("/v1/me/sessions", Some(&here))
        .await
        .json()
        .await
        .unwrap();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(items.iter().all(|s| s["kind"] == "token"));
    assert!(items.iter().all(|s| s["client_address"] == "127.0.0.1"));
    assert!(items[0]["created_at"].as_str().unwrap().ends_with("+09:00"));
    let phone_id = items
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .unwrap()
        .to_owned();

    // Ending the other device's session: refused at once on another instance too.
    let r = app
        .req(
            Method::DELETE,
            &format!("/v1/me/sessions/{phone_id}"),
            Some(&here),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let elsewhere = app
        .client
        .get(other.url("/v1/me"))
        .bearer_auth(&phone)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/v1/me", Some(&here)).await.status(),
        StatusCode::OK
    );

    // Someone else's session is not mine to end: 404, and it keeps working.
    let admin_sessions: Value = app
        .get("/v1/me/sessions", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let admin_sid = admin_sessions[0]["id"].as_str().unwrap();
    let r = app
        .req(
            Method::DELETE,
            &format!("/v1/me/sessions/{admin_sid}"),
            Some(&here),
        )
        .send()
        .await
        .unwrap();
    problem(r, 404, "not-found").await;
    assert_eq!(
        app.get("/v1/me", Some(&admin)).await.status(),
        StatusCode::OK
    );

    // An admin sees the agent's sessions and ends the last one; an agent may not.
    let r = app
        .get(&format!("/v1/users/{agent_id}/sessions"), Some(&here))
        .await;
    problem(r, 403, "forbidden").await;
    let theirs: Value = app
        .get(&format!("/v1/users/{agent_id}/sessions"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    let sid = theirs[0]["id"].as_str().unwrap();
    let r = app
        .req(
            Method::DELETE,
            &format!("/v1/users/{agent_id}/sessions/{sid}"),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/me", Some(&here)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let audited = app
        .scalar("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'session.revoke' AND outcome = 'success'")
        .await;
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn an_idle_session_ends_and_a_live_one_refreshes_without_the_password() {
    // Long tokens, so only the session's own rules end it.
    let app = TestApp::spawn_with(&[("MADOGUCHI_TOKEN_TTL_SECONDS", "86400")]).await;
    let admin = app.admin().await;
    app.create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let r = app.login_raw("agent@madoguchi.test", PASSWORD).await;
    let body: Value = r.json().await.unwrap();
    // The servers' clock runs on while the test works: allow a few seconds.
    let near = |v: &Value, want: i64| (want - 5..=want).contains(&v.as_i64().unwrap());
    assert!(
        near(&body["expires_in"], 43200),
        "a token never outlives its session's 12 hours: {body}"
    );
    let token = body["access_token"].as_str().unwrap().to_owned();

    // Used every 29 minutes, it stays alive; a refresh needs no password.
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::minutes(29));
        assert_eq!(
            app.get("/v1/me", Some(&token)).await.status(),
            StatusCode::OK
        );
    }
    let refreshed = app.post("/v1/auth/refresh", Some(&token), &json!({})).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let fresh: Value = refreshed.json().await.unwrap();
    let fresh_token = fresh["access_token"].as_str().unwrap().to_owned();
    assert_eq!(fresh["token_type"], "Bearer");
    assert!(
        near(&fresh["expires_in"], 43200 - 3 * 29 * 60),
        "the same session, so the same end: {fresh}"
    );
    assert_eq!(
        app.get("/v1/me", Some(&fresh_token)).await.status(),
        StatusCode::OK
    );

    // Left alone for 31 minutes (a screen left unattended), it ends: neither
    // token works and it cannot be refreshed.
    app.clock.advance(chrono::Duration::minutes(31));
    for t in [&token, &fresh_token] {
        let r = app.get("/v1/me", Some(t)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app
        .post("/v1/auth/refresh", Some(&fresh_token), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// How many of `n` login attempts sent at once were evaluated (answered 401)
/// and how many refused unevaluated (429). Anything else fails the test.
async fn concurrent_logins(app: &TestApp, bodies: Vec<Value>) -> (usize, usize) {
    let sent = bodies.into_iter().map(|body| {
        let req = app.client.post(app.url("/v1/auth/login")).json(&body);
        async move { req.send().await.expect("login request").status() }
    });
    let statuses = futures_join_all(sent).await;
    let evaluated = statuses.iter().filter(|s| s.as_u16() == 401).count();
    let refused = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert_eq!(evaluated + refused, statuses.len(), "{statuses:?}");
    (evaluated, refused)
}

/// Every future at once, on this task (no extra dependency for `join_all`).
pub(crate) async fn futures_join_all<F>(fs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn a_hundred_concurrent_guesses_at_one_account_evaluate_at_most_its_budget() {
    let app = TestApp::spawn().await;
    let bodies = (0..100)
        .map(|i| json!({"email": ADMIN_EMAIL, "password": format!("wrong guess number {i}")}))
        .collect();
    let (evaluated, refused) = concurrent_logins(&app, bodies).await;
    // The budget is five failures per 15 minutes; the fifth locks the account.
    assert!(evaluated <= 5, "{evaluated} guesses were evaluated");
    assert_eq!(evaluated + refused, 100);
    // Every evaluated guess was counted, none lost to a concurrent write.
    assert_eq!(
        app.scalar("SELECT CAST(MAX(failures) AS BIGINT) AS n FROM login_throttle WHERE key LIKE 'account:%'")
            .await,
        evaluated as i64
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure'"
        )
        .await,
        evaluated as i64
    );
    // The right password is refused too while the lock lasts.
    problem(
        app.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        429,
        "too-many-requests",
    )
    .await;
}

#[tokio::test]
async fn a_hundred_concurrent_guesses_from_one_address_evaluate_at_most_its_budget() {
    let app = TestApp::spawn().await;
    let bodies = (0..100)
        .map(|i| json!({"email": format!("guess{i}@madoguchi.test"), "password": "wrong wrong wrong"}))
        .collect();
    let (evaluated, _) = concurrent_logins(&app, bodies).await;
    assert!(evaluated <= 20, "{evaluated} guesses were evaluated");
    assert_eq!(
        app.scalar("SELECT CAST(MAX(failures) AS BIGINT) AS n FROM login_throttle WHERE key LIKE 'address:%'")
            .await,
        evaluated as i64
    );
}

#[tokio::test]
async fn a_right_password_gives_its_attempt_back_to_a_shared_address() {
    let app = TestApp::spawn().await;
    // A clinic's office shares one address: 19 mistakes, then people who know
    // their passwords keep signing in.
    for i in 0..19 {
        app.login_raw(&format!("typo{i}@madoguchi.test"), "wrong wrong wrong")
            .await;
    }
    for _ in 0..5 {
        assert_eq!(
            app.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
            StatusCode::OK
        );
    }
    // One more mistake is still within the address's budget of twenty.
    assert_eq!(
        app.login_raw("typo@madoguchi.test", "wrong wrong wrong")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_throttle_stores_no_address_and_forgets_expired_keys() {
    let app = TestApp::spawn().await;
    app.login_raw("watanabe@watanabe-clinic.test", "wrong wrong wrong")
        .await;
    app.login_raw(ADMIN_EMAIL, "wrong wrong wrong").await;
    assert!(app.count("login_throttle").await >= 2);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM login_throttle WHERE key LIKE '%madoguchi%' OR key LIKE '%127.0.0.1%' OR key LIKE '%watanabe%'"
        )
        .await,
        0,
        "keys are hashes, not the address typed or the client's address"
    );
    // Past its window, a key is forgotten.
    let window = madoguchi_domain::throttle::ThrottlePolicy::longest_window();
    let purged = madoguchi_persistence::throttle::purge_expired(
        &app.db,
        app.clock.now() + window + chrono::Duration::seconds(1),
        window,
    )
    .await
    .expect("purge");
    assert!(purged >= 2, "purged {purged}");
    assert_eq!(app.count("login_throttle").await, 0);
}
