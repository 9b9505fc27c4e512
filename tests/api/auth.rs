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
