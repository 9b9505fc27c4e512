//! Bad input gets a clear problem+json 4xx and changes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp, ADMIN_EMAIL};

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Body,
    status: u16,
    code: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: &str,
    body: Body,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        body,
        status,
        code,
    }
}

fn user(email: &str, name: &str, role: &str, org: Option<&str>, password: &str) -> Value {
    let mut v = json!({"email": email, "display_name": name, "role": role, "password": password});
    if let Some(o) = org {
        v["organization_id"] = json!(o);
    }
    v
}

#[tokio::test]
async fn bad_input_is_refused_with_a_problem_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let org = app.create_org(&admin, "さくら内科クリニック").await;
    let org_id = org["id"].as_str().unwrap().to_owned();
    app.create_user(&admin, "taken@sakura.test", "customer", Some(&org_id))
        .await;
    let org_path = format!("/v1/organizations/{org_id}");
    let good_pw = "correct horse battery";
    use Method as M;

    let mut cases = vec![
        case(
            "malformed JSON",
            M::POST,
            "/v1/organizations",
            Body::Raw("application/json", br#"{"name":"#.to_vec()),
            400,
            "malformed-body",
        ),
        case(
            "wrong field type",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({"name": 5})),
            422,
            "validation-failed",
        ),
        case(
            "missing field",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({})),
            422,
            "validation-failed",
        ),
        case(
            "JSON array instead of object",
            M::POST,
            "/v1/organizations",
            Body::Json(json!([])),
            422,
            "validation-failed",
        ),
        case(
            "blank name",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({"name": "   "})),
            422,
            "validation-failed",
        ),
        case(
            "name over 200 characters",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({"name": "医".repeat(201)})),
            422,
            "validation-failed",
        ),
        case(
            "control character in name",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({"name": "さくら\u{0000}"})),
            422,
            "validation-failed",
        ),
        case(
            "unknown contract status",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({"name": "x", "contract_status": "paused"})),
            422,
            "validation-failed",
        ),
        case(
            "text/plain body",
            M::POST,
            "/v1/organizations",
            Body::Raw("text/plain", b"name=x".to_vec()),
            415,
            "unsupported-media-type",
        ),
        case(
            "no content type",
            M::POST,
            "/v1/organizations",
            Body::Raw("", br#"{"name":"x"}"#.to_vec()),
            415,
            "unsupported-media-type",
        ),
        case(
            "invalid UTF-8",
            M::POST,
            "/v1/organizations",
            Body::Raw("application/json", vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
            400,
            "malformed-body",
        ),
        case(
            "body over the limit",
            M::POST,
            "/v1/organizations",
            Body::Json(json!({"name": "x".repeat(2 * 1024 * 1024)})),
            413,
            "payload-too-large",
        ),
        case(
            "unknown route",
            M::GET,
            "/v1/organisations",
            Body::None,
            404,
            "not-found",
        ),
        case(
            "wrong method",
            M::DELETE,
            "/v1/organizations",
            Body::None,
            405,
            "method-not-allowed",
        ),
        case(
            "path id not a UUID",
            M::GET,
            "/v1/organizations/not-a-uuid",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "limit zero",
            M::GET,
            "/v1/organizations?limit=0",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "limit over 200",
            M::GET,
            "/v1/organizations?limit=201",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "limit not a number",
            M::GET,
            "/v1/organizations?limit=abc",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "forged cursor",
            M::GET,
            "/v1/organizations?cursor=Zm9yZ2Vk",
            Body::None,
            400,
            "invalid-cursor",
        ),
        case(
            "bad enum in query",
            M::GET,
            "/v1/users?role=root",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "bad uuid in query",
            M::GET,
            "/v1/users?organization_id=123",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "audit from not a date",
            M::GET,
            "/v1/audit-events?from=yesterday",
            Body::None,
            400,
            "invalid-parameter",
        ),
        case(
            "audit range reversed",
            M::GET,
            "/v1/audit-events?from=2026-11-25T10:00:00%2B09:00&to=2026-11-25T09:00:00%2B09:00",
            Body::None,
            422,
            "invalid-range",
        ),
        case(
            "invalid email",
            M::POST,
            "/v1/users",
            Body::Json(user("not-an-email", "山田", "agent", None, good_pw)),
            422,
            "validation-failed",
        ),
        case(
            "short password",
            M::POST,
            "/v1/users",
            Body::Json(user("a@sakura.test", "山田", "agent", None, "short")),
            422,
            "validation-failed",
        ),
        case(
            "customer without organization",
            M::POST,
            "/v1/users",
            Body::Json(user("b@sakura.test", "山田", "customer", None, good_pw)),
            422,
            "validation-failed",
        ),
        case(
            "agent with organization",
            M::POST,
            "/v1/users",
            Body::Json(user(
                "c@sakura.test",
                "山田",
                "agent",
                Some(&org_id),
                good_pw,
            )),
            422,
            "validation-failed",
        ),
        case(
            "organization that does not exist",
            M::POST,
            "/v1/users",
            Body::Json(user(
                "d@sakura.test",
                "山田",
                "customer",
                Some(&uuid::Uuid::new_v4().to_string()),
                good_pw,
            )),
            422,
            "validation-failed",
        ),
        case(
            "unknown role",
            M::POST,
            "/v1/users",
            Body::Json(user("e@sakura.test", "山田", "root", None, good_pw)),
            422,
            "validation-failed",
        ),
        case(
            "email already taken",
            M::POST,
            "/v1/users",
            Body::Json(user(
                "Taken@Sakura.test",
                "山田",
                "customer",
                Some(&org_id),
                good_pw,
            )),
            409,
            "email-taken",
        ),
        case(
            "login email too long",
            M::POST,
            "/v1/auth/login",
            Body::Json(json!({"email": format!("{}@x.jp", "a".repeat(300)), "password": "x"})),
            422,
            "validation-failed",
        ),
        case(
            "login without password",
            M::POST,
            "/v1/auth/login",
            Body::Json(json!({"email": ADMIN_EMAIL})),
            422,
            "validation-failed",
        ),
    ];
    let mut c = case(
        "empty PATCH",
        M::PATCH,
        &org_path,
        Body::Json(json!({})),
        422,
        "validation-failed",
    );
    c.headers.push(("If-Match", "\"1\"".into()));
    cases.push(c);
    let mut c = case(
        "garbage If-Match",
        M::PATCH,
        &org_path,
        Body::Json(json!({"name": "x"})),
        400,
        "invalid-if-match",
    );
    c.headers.push(("If-Match", "version-one".into()));
    cases.push(c);
    let mut c = case(
        "Idempotency-Key too long",
        M::POST,
        "/v1/organizations",
        Body::Json(json!({"name": "x"})),
        400,
        "invalid-idempotency-key",
    );
    c.headers.push(("Idempotency-Key", "k".repeat(300)));
    cases.push(c);
    let mut c = case(
        "PATCH without If-Match",
        M::PATCH,
        &org_path,
        Body::Json(json!({"name": "x"})),
        428,
        "precondition-required",
    );
    c.headers.clear();
    cases.push(c);
    let mut c = case(
        "malformed Authorization",
        M::GET,
        "/v1/me",
        Body::None,
        401,
        "unauthorized",
    );
    c.headers
        .push(("Authorization", "Basic Zm9vOmJhcg==".into()));
    cases.push(c);
    assert!(cases.len() >= 25);

    let before = app.snapshot().await;
    for c in cases {
        let mut r = app.req(c.method.clone(), &c.path, None);
        if !c.headers.iter().any(|(h, _)| *h == "Authorization") {
            r = r.bearer_auth(&admin);
        }
        for (h, v) in &c.headers {
            r = r.header(*h, v);
        }
        r = match c.body {
            Body::None => r,
            Body::Json(v) => r.json(&v),
            Body::Raw(ct, bytes) => {
                let r = if ct.is_empty() {
                    r
                } else {
                    r.header("Content-Type", ct)
                };
                r.body(bytes)
            }
        };
        let resp = r.send().await.unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(resp.status().as_u16(), c.status, "case: {}", c.name);
        let p = problem(resp, c.status, c.code).await;
        let text = p.to_string().to_lowercase();
        for leak in [
            "select ",
            "insert ",
            "sqlx",
            "panicked",
            "backtrace",
            "src/",
        ] {
            assert!(!text.contains(leak), "case {} leaks {leak}: {p}", c.name);
        }
        assert_eq!(
            app.snapshot().await,
            before,
            "case {} wrote something",
            c.name
        );
    }
}

#[tokio::test]
async fn validation_problems_name_every_bad_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/v1/users",
            Some(&admin),
            &json!({"email": "nope", "display_name": " ", "role": "agent", "password": "short"}),
        )
        .await;
    let p = problem(r, 422, "validation-failed").await;
    let mut fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["display_name", "email", "password"]);
    // Each names the rule it broke, as a code, and the bound where there is one.
    let by_field = |f: &str| {
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == f)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_field("email")["reason"], "not_an_email");
    assert_eq!(by_field("display_name")["reason"], "empty");
    assert_eq!(by_field("password")["reason"], "too_short");
    assert_eq!(by_field("password")["limit"], 12);
    assert_eq!(by_field("email")["limit"], Value::Null);

    // A title one character too long, in Japanese: the limit is in characters.
    let clinic = app.create_org(&admin, "青葉内科クリニック").await;
    let r = app
        .post(
            "/v1/threads",
            Some(&admin),
            &json!({"title": "予".repeat(201), "body": "本文", "organization_id": clinic["id"]}),
        )
        .await;
    let p = problem(r, 422, "validation-failed").await;
    assert_eq!(p["errors"][0]["field"], "title");
    assert_eq!(p["errors"][0]["reason"], "too_long");
    assert_eq!(p["errors"][0]["limit"], 200);
}

/// What the framework refuses (a missing member, a wrong enum value, a path
/// parameter that is not a number) is answered like the services' 422s: the
/// field by its name, what it takes, an enum's allowed values.
#[tokio::test]
async fn framework_refusals_name_the_field_and_what_it_takes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let org = app.create_org(&admin, "さくら内科クリニック").await;
    let before = app.snapshot().await;
    let field = |p: &Value, name: &str| -> String {
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == name)
            .unwrap_or_else(|| panic!("{name} not named in {p}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let p = problem(
        app.post(
            "/v1/threads",
            Some(&admin),
            &json!({"title": "予約画面が開かない", "organization_id": org["id"]}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(field(&p, "body"), "is required: a string");
    let p = problem(
        app.post(
            "/v1/threads",
            Some(&admin),
            &json!({"title": "予約画面が開かない", "body": "本文", "priority": "至急", "organization_id": org["id"]}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(
        field(&p, "priority"),
        "must be one of `low`, `normal`, `high`, `urgent`"
    );
    assert!(p["detail"].as_str().unwrap().contains("priority"), "{p}");
    // Several at once, each by name.
    let p = problem(
        app.post(
            "/v1/users",
            Some(&admin),
            &json!({"email": "a@b.jp", "display_name": 7, "role": "root"}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(field(&p, "display_name"), "must be a string");
    assert_eq!(
        field(&p, "role"),
        "must be one of `customer`, `agent`, `admin`"
    );
    assert_eq!(field(&p, "password"), "is required: a string");
    let p = problem(
        app.get("/v1/threads/abc", Some(&admin)).await,
        400,
        "invalid-parameter",
    )
    .await;
    assert_eq!(field(&p, "number"), "must be an integer");
    assert!(!p.to_string().contains("param0"), "{p}");
    let p = problem(
        app.get("/v1/threads?status=waiting", Some(&admin)).await,
        400,
        "invalid-parameter",
    )
    .await;
    assert!(
        field(&p, "status").starts_with("must be one of `new`, `open`, `pending`"),
        "{p}"
    );
    let p = problem(
        app.get("/v1/threads?limit=many", Some(&admin)).await,
        400,
        "invalid-parameter",
    )
    .await;
    assert_eq!(field(&p, "limit"), "must be an integer from 1 to 200");
    assert_eq!(app.snapshot().await, before);
}
