//! The staff second factor (TOTP, RFC 6238). The codes are computed here from
//! the secret the enrolment hands out, by this file's own generator (checked
//! against RFC 6238's test vectors), never by the server's code.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ok_json, problem, route, Desk, TestApp, AGENT_EMAIL, PASSWORD};

/// HOTP (RFC 4226) at counter `step`, `digits` long.
fn hotp(secret: &[u8], step: u64, digits: u32) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// The six-digit TOTP code at `t` (30-second steps from the Unix epoch).
fn code_at(secret: &[u8], t: DateTime<Utc>) -> String {
    hotp(secret, t.timestamp() as u64 / 30, 6)
}

/// RFC 4648 base32, as otpauth URIs write secrets.
fn base32(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32 letter") as u64;
        bits = bits << 5 | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn the_tests_own_generator_gives_rfc_6238s_sha1_vectors() {
    // RFC 6238 appendix B: the ASCII secret "12345678901234567890", 8 digits.
    let secret = b"12345678901234567890";
    for (t, expected) in [
        (59u64, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ] {
        assert_eq!(hotp(secret, t / 30, 8), expected, "T = {t}");
    }
    assert_eq!(base32("GEZDGNBVGY3TQOJQ"), b"1234567890");
}

/// A step boundary, so "now" and its neighbours are known exactly.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap()
}

struct Enrolled {
    secret: Vec<u8>,
    recovery: Vec<String>,
}

/// Enrol the token's owner at the clock's current time; the confirming code
/// is the current step's.
async fn enrol(app: &TestApp, token: &str) -> Enrolled {
    let e = ok_json(app.post("/v1/me/totp", Some(token), &json!({})).await).await;
    let uri = e["otpauth_uri"].as_str().unwrap();
    let b32 = e["secret"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/madoguchi:"), "{uri}");
    assert!(uri.contains(&format!("secret={b32}")), "{uri}");
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = base32(b32);
    assert_eq!(secret.len(), 20, "160-bit secret");
    let code = code_at(&secret, app.clock.now());
    let r = ok_json(
        app.post("/v1/me/totp/confirm", Some(token), &json!({"code": code}))
            .await,
    )
    .await;
    let recovery: Vec<String> = r["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled { secret, recovery }
}

async fn login_with(
    app: &TestApp,
    email: &str,
    password: &str,
    totp: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({"email": email, "password": password});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    app.post("/v1/auth/login", None, &body).await
}

#[tokio::test]
async fn enrolment_confirmed_with_a_code_then_login_needs_a_fresh_code_each_time() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let me = ok_json(app.get("/v1/me/totp", Some(&desk.agent)).await).await;
    assert_eq!(
        me,
        json!({"enrolled": false, "recovery_codes_left": 0, "required": false})
    );

    // Started but not confirmed: the password alone still signs in.
    let e = ok_json(app.post("/v1/me/totp", Some(&desk.agent), &json!({})).await).await;
    let pending = base32(e["secret"].as_str().unwrap());
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, None).await.status(),
        200
    );
    // A wrong code does not confirm (the right one is known here, so pick another).
    let right = code_at(&pending, app.clock.now());
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let r = app
        .post(
            "/v1/me/totp/confirm",
            Some(&desk.agent),
            &json!({"code": wrong}),
        )
        .await;
    let p = problem(r, 422, "validation-failed").await;
    assert_eq!(p["errors"][0]["field"], "code");

    // Confirming a fresh enrolment at t0.
    let f = enrol(app, &desk.agent).await;
    assert_ne!(
        f.secret, pending,
        "starting again replaced the pending secret"
    );
    assert_eq!(f.recovery.len(), 10);
    let distinct: std::collections::HashSet<_> = f.recovery.iter().collect();
    assert_eq!(distinct.len(), 10);
    let me = ok_json(app.get("/v1/me", Some(&desk.agent)).await).await;
    assert_eq!(me["totp_enrolled"], true);

    // The secret is not stored in the clear.
    let b32: String = e["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM users WHERE totp_secret LIKE '%{b32}%' OR totp_secret NOT LIKE 'v1:%'"
        ))
        .await,
        0
    );

    // No code, or a wrong password: the same 401, which says a second factor is needed.
    let no_code = problem(
        login_with(app, AGENT_EMAIL, PASSWORD, None).await,
        401,
        "second-factor-required",
    )
    .await;
    let bad_pw = problem(
        login_with(app, AGENT_EMAIL, "not the password at all", None).await,
        401,
        "second-factor-required",
    )
    .await;
    assert_eq!(no_code["detail"], bad_pw["detail"]);

    // The code used to confirm is spent: the same step is refused.
    let c0 = code_at(&f.secret, t0());
    problem(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&c0)).await,
        401,
        "second-factor-required",
    )
    .await;

    // Next step: a wrong password with the right code neither signs in nor spends it.
    app.clock.set(t0() + Duration::seconds(30));
    let c1 = code_at(&f.secret, app.clock.now());
    problem(
        login_with(app, AGENT_EMAIL, "not the password at all", Some(&c1)).await,
        401,
        "second-factor-required",
    )
    .await;
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&c1))
            .await
            .status(),
        200
    );
    // ... and once accepted it is never accepted again (replay in its window).
    problem(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&c1)).await,
        401,
        "second-factor-required",
    )
    .await;

    // Skew: at t0+90 s, the previous step's code and the next step's are good;
    // two steps away is not, and neither is an older step once a later one was used.
    app.clock.set(t0() + Duration::seconds(90));
    let prev = code_at(&f.secret, t0() + Duration::seconds(60));
    let next = code_at(&f.secret, t0() + Duration::seconds(120));
    let two_ahead = code_at(&f.secret, t0() + Duration::seconds(150));
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&prev))
            .await
            .status(),
        200
    );
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&next))
            .await
            .status(),
        200
    );
    problem(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&two_ahead)).await,
        401,
        "second-factor-required",
    )
    .await;
    let now_code = code_at(&f.secret, app.clock.now());
    problem(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&now_code)).await,
        401,
        "second-factor-required",
    )
    .await;

    // Recovery codes: each once, however it is typed.
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&f.recovery[0]))
            .await
            .status(),
        200
    );
    problem(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&f.recovery[0])).await,
        401,
        "second-factor-required",
    )
    .await;
    let typed = f.recovery[1].to_uppercase().replace('-', " ");
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, Some(&typed))
            .await
            .status(),
        200
    );
    let token = {
        app.clock.set(t0() + Duration::seconds(300));
        let c = code_at(&f.secret, app.clock.now());
        let v = ok_json(login_with(app, AGENT_EMAIL, PASSWORD, Some(&c)).await).await;
        v["access_token"].as_str().unwrap().to_owned()
    };
    let me = ok_json(app.get("/v1/me/totp", Some(&token)).await).await;
    assert_eq!(me["recovery_codes_left"], 8);

    // A second enrolment while one is live: 409.
    problem(
        app.post("/v1/me/totp", Some(&token), &json!({})).await,
        409,
        "second-factor-exists",
    )
    .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'second_factor.enrol' AND outcome = 'success'").await,
        1
    );
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let f = enrol(app, &desk.agent).await;
    app.clock.set(t0() + Duration::seconds(60));
    let right = code_at(&f.secret, app.clock.now());
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..5 {
        problem(
            login_with(app, AGENT_EMAIL, PASSWORD, Some(wrong)).await,
            401,
            "second-factor-required",
        )
        .await;
    }
    // The account's budget is spent: even the right code waits.
    let r = login_with(app, AGENT_EMAIL, PASSWORD, Some(&right)).await;
    assert!(r.headers().get("retry-after").is_some());
    problem(r, 429, "too-many-requests").await;
}

#[tokio::test]
async fn a_hundred_concurrent_wrong_codes_with_the_right_password_evaluate_at_most_the_budget() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let f = enrol(app, &desk.agent).await;
    app.clock.set(t0() + Duration::seconds(60));
    let right = code_at(&f.secret, app.clock.now());
    let sent = (0..100u32).map(|i| {
        // A hundred different wrong codes, none of them the current one.
        let mut code = format!("{:06}", (i * 7919) % 1_000_000);
        if code == right {
            code = format!("{:06}", (i * 7919 + 1) % 1_000_000);
        }
        let req = app
            .client
            .post(app.url("/v1/auth/login"))
            .json(&json!({"email": AGENT_EMAIL, "password": PASSWORD, "totp": code}));
        async move { req.send().await.expect("login").status().as_u16() }
    });
    let statuses = crate::auth::futures_join_all(sent).await;
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(evaluated + refused, 100, "{statuses:?}");
    assert!(evaluated <= 5, "{evaluated} codes were checked");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure'"
        )
        .await,
        evaluated as i64
    );
    // Enrolment confirmation and removal spend the same budget.
    let r = app
        .req(Method::DELETE, "/v1/me/totp", Some(&desk.agent))
        .json(&json!({"code": right}))
        .send()
        .await
        .unwrap();
    problem(r, 429, "too-many-requests").await;
}

/// What a clinic writes can name patients: its users enrol like staff, and an
/// admin can require it of one organization's users, who may then only enrol
/// until they have, while another clinic is not affected.
#[tokio::test]
async fn a_clinic_can_be_required_to_use_a_second_factor() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let (_, other) = desk.other_clinic().await;
    let org = app
        .get(&route::organization(&desk.org), Some(&desk.admin))
        .await;
    let etag = org.headers()["etag"].to_str().unwrap().to_owned();
    let r = app
        .req(
            Method::PATCH,
            &route::organization(&desk.org),
            Some(&desk.admin),
        )
        .header("If-Match", etag)
        .json(&json!({"totp_required": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(r).await["totp_required"], true);

    // The clinic's user, signed in with the password alone, may only enrol.
    let p = problem(
        app.get("/v1/threads", Some(&desk.customer)).await,
        403,
        "second-factor-enrolment-required",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("/v1/me/totp"), "{p}");
    let status = ok_json(app.get("/v1/me/totp", Some(&desk.customer)).await).await;
    assert_eq!(status["required"], true);
    let f = enrol(app, &desk.customer).await;
    // The session that enrolled may work now; a new one needs the code.
    ok_json(app.get("/v1/threads", Some(&desk.customer)).await).await;
    problem(
        login_with(app, crate::helpers::CUSTOMER_EMAIL, PASSWORD, None).await,
        401,
        "second-factor-required",
    )
    .await;
    app.clock.set(t0() + Duration::seconds(60));
    let code = code_at(&f.secret, app.clock.now());
    let r = login_with(app, crate::helpers::CUSTOMER_EMAIL, PASSWORD, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Another clinic is not asked.
    ok_json(app.get("/v1/threads", Some(&other)).await).await;
    assert_eq!(
        ok_json(app.get("/v1/me/totp", Some(&other)).await).await["required"],
        false
    );
}

#[tokio::test]
async fn when_staff_must_use_a_second_factor_one_without_it_can_only_enrol() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let sibling = app.sibling().await;
    // An admin without one cannot require it (and lock everyone out with them).
    let r = app
        .req(Method::PUT, "/v1/security-settings", Some(&desk.admin))
        .json(&json!({"staff_totp_required": true}))
        .send()
        .await
        .unwrap();
    problem(r, 422, "validation-failed").await;
    enrol(app, &desk.admin).await;
    let r = app
        .req(Method::PUT, "/v1/security-settings", Some(&desk.admin))
        .json(&json!({"staff_totp_required": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(r).await, json!({"staff_totp_required": true}));
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'settings.update' AND outcome = 'success'").await,
        1
    );

    // The agent's session, here and on the other instance, may only enrol.
    for path in ["/v1/queue", "/v1/threads", "/v1/calls", "/v1/announcements"] {
        problem(
            app.get(path, Some(&desk.agent)).await,
            403,
            "second-factor-enrolment-required",
        )
        .await;
    }
    let r = app
        .client
        .get(sibling.url("/v1/queue"))
        .bearer_auth(&desk.agent)
        .send()
        .await
        .unwrap();
    problem(r, 403, "second-factor-enrolment-required").await;
    let r = app
        .post(
            "/v1/threads",
            Some(&desk.agent),
            &json!({"title": "電話での問い合わせ", "body": "予約システムが開きません", "organization_id": desk.org}),
        )
        .await;
    problem(r, 403, "second-factor-enrolment-required").await;
    assert_eq!(app.count("threads").await, 0, "nothing was written");
    // What it may do: see itself, its second factor, enrol.
    ok_json(app.get("/v1/me", Some(&desk.agent)).await).await;
    let status = ok_json(app.get("/v1/me/totp", Some(&desk.agent)).await).await;
    assert_eq!(status["required"], true);
    // Customers are not staff: untouched.
    ok_json(app.get("/v1/threads", Some(&desk.customer)).await).await;

    app.clock.set(t0() + Duration::seconds(30));
    enrol(app, &desk.agent).await;
    ok_json(app.get("/v1/queue", Some(&desk.agent)).await).await;
    let r = app
        .client
        .get(sibling.url("/v1/queue"))
        .bearer_auth(&desk.agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A newly signed-in agent without a factor is restricted from the start.
    app.create_user(&desk.admin, "new-agent@madoguchi.test", "agent", None)
        .await;
    let newcomer = app.login("new-agent@madoguchi.test", PASSWORD).await;
    problem(
        app.get("/v1/queue", Some(&newcomer)).await,
        403,
        "second-factor-enrolment-required",
    )
    .await;
}

#[tokio::test]
async fn an_admin_resets_a_lost_factor_and_the_person_enrols_again() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let agent_id = ok_json(app.get("/v1/me", Some(&desk.agent)).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    enrol(app, &desk.agent).await;
    let path = format!("{}/totp", route::user(&agent_id));
    // Not for a customer or the agent themselves.
    for token in [&desk.customer, &desk.agent] {
        let r = app
            .req(Method::DELETE, &path, Some(token))
            .send()
            .await
            .unwrap();
        problem(r, 403, "forbidden").await;
    }
    let r = app
        .req(Method::DELETE, &path, Some(&desk.admin))
        .send()
        .await
        .unwrap();
    let v = ok_json(r).await;
    assert!(v["sessions_revoked"].as_u64().unwrap() >= 1);
    // The person's sessions ended; the password alone signs in now.
    assert_eq!(app.get("/v1/me", Some(&desk.agent)).await.status(), 401);
    let token = app.login(AGENT_EMAIL, PASSWORD).await;
    let status = ok_json(app.get("/v1/me/totp", Some(&token)).await).await;
    assert_eq!(status["enrolled"], false);
    assert_eq!(status["recovery_codes_left"], 0);
    // Nothing left to reset.
    let r = app
        .req(Method::DELETE, &path, Some(&desk.admin))
        .send()
        .await
        .unwrap();
    problem(r, 404, "not-found").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'second_factor.reset' AND outcome = 'success' AND object_id = '{agent_id}'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn removing_ones_own_factor_takes_a_current_code() {
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    let f = enrol(app, &desk.agent).await;
    app.clock.set(t0() + Duration::seconds(30));
    let right = code_at(&f.secret, app.clock.now());
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    let r = app
        .req(Method::DELETE, "/v1/me/totp", Some(&desk.agent))
        .json(&json!({"code": wrong}))
        .send()
        .await
        .unwrap();
    problem(r, 422, "validation-failed").await;
    let me = ok_json(app.get("/v1/me", Some(&desk.agent)).await).await;
    assert_eq!(me["totp_enrolled"], true, "a wrong code removed nothing");
    let r = app
        .req(Method::DELETE, "/v1/me/totp", Some(&desk.agent))
        .json(&json!({"code": right}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        login_with(app, AGENT_EMAIL, PASSWORD, None).await.status(),
        200
    );
    assert_eq!(app.count("recovery_codes").await, 0);
}

/// The secret as the enrolment page writes it (groups of four).
fn secret_on_page(html: &str) -> Vec<u8> {
    let at = html.find("<code class=\"secret\">").expect("the secret") + 21;
    let end = html[at..].find("</code>").unwrap() + at;
    base32(&html[at..end].replace(' ', ""))
}

#[tokio::test]
async fn the_board_walks_staff_through_enrolment_and_asks_for_the_code_at_login() {
    use crate::web::Browser;
    let desk = Desk::at(t0()).await;
    let app = &desk.app;
    enrol(app, &desk.admin).await;
    let r = app
        .req(Method::PUT, "/v1/security-settings", Some(&desk.admin))
        .json(&json!({"staff_totp_required": true}))
        .send()
        .await
        .unwrap();
    ok_json(r).await;

    // Signed in with the password, the agent is sent to enrol and nowhere else.
    let b = Browser::new(app);
    let page = b.login(AGENT_EMAIL, PASSWORD).await;
    assert_eq!(page.url, "/account");
    assert!(
        page.html.contains("2段階認証の設定が必要です"),
        "{}",
        page.html
    );
    assert_eq!(b.get("/queue").await.url, "/account");
    assert_eq!(b.get("/threads").await.url, "/account");

    let account = b.get("/account").await;
    let page = b.post("/account/totp", &[("csrf", &account.csrf())]).await;
    assert_eq!(page.url, "/account/totp");
    assert!(page.html.contains("<svg"), "the QR code is on the page");
    assert!(!page.html.contains("<?xml"));
    let secret = secret_on_page(&page.html);
    let right = code_at(&secret, app.clock.now());
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    let again = b
        .post(
            "/account/totp/confirm",
            &[("csrf", &page.csrf()), ("code", wrong)],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.html.contains("確認コードが正しくありません"));
    assert_eq!(
        secret_on_page(&again.html),
        secret,
        "the same QR code again"
    );
    let done = b
        .post(
            "/account/totp/confirm",
            &[("csrf", &again.csrf()), ("code", &right)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains("回復コード"));
    assert_eq!(done.html.matches("<li><code>").count(), 10);
    assert_eq!(b.get("/queue").await.url, "/queue");

    // Another browser: the password alone is not enough, the next code is.
    app.clock.set(t0() + Duration::seconds(30));
    let other = Browser::new(app);
    let refused = other.login(AGENT_EMAIL, PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused
        .html
        .contains("確認コード（または回復コード）を入力してください"));
    let login = other.get("/login").await;
    let code = code_at(&secret, app.clock.now());
    let page = other
        .post(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("email", AGENT_EMAIL),
                ("password", PASSWORD),
                ("totp", &code),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_ne!(page.url, "/login");
    // Its account page lists both browsers and the API token, and marks this one.
    let account = other.get("/account").await;
    assert!(account.html.contains("ログイン中の端末"));
    assert_eq!(account.html.matches("/end\"").count(), 3, "three sessions");
    assert_eq!(account.html.matches("\"種類\">ブラウザ").count(), 2);
    assert!(account.html.contains("（この端末）"));
}
