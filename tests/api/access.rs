use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{problem, route, TestApp, PASSWORD};

#[tokio::test]
async fn roles_are_enforced_and_refusals_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (org, customer) = app
        .clinic(&admin, "さくら内科クリニック", "tanaka@sakura.test")
        .await;
    app.create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let agent = app.login("agent@madoguchi.test", PASSWORD).await;

    let before = app.count("organizations").await;
    let p = problem(
        app.post("/v1/organizations", Some(&customer), &json!({"name": "x"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // The refusal says who may.
    assert_eq!(p["allowed"], json!(["admin"]), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("admin"), "{p}");
    let p = problem(
        app.get("/v1/queue", Some(&customer)).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(p["allowed"], json!(["agent", "admin"]), "{p}");
    problem(
        app.post("/v1/organizations", Some(&agent), &json!({"name": "x"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(app.count("organizations").await, before);
    problem(
        app.get("/v1/users", Some(&customer)).await,
        403,
        "forbidden",
    )
    .await;
    problem(app.get("/v1/users", Some(&agent)).await, 403, "forbidden").await;
    problem(
        app.get("/v1/audit-events", Some(&agent)).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/organizations", Some(&customer)).await,
        403,
        "forbidden",
    )
    .await;
    // Agents may read organizations.
    assert_eq!(
        app.get("/v1/organizations", Some(&agent)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&route::organization(&org), Some(&agent))
            .await
            .status(),
        StatusCode::OK
    );

    let v: Value = app
        .get("/v1/audit-events?outcome=denied", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let denied = v["items"].as_array().unwrap();
    assert!(denied.len() >= 6, "denials audited: {v}");
    assert!(denied.iter().any(|e| e["action"] == "organization.create"));
}

#[tokio::test]
async fn a_customer_sees_only_its_own_organization() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (sakura, sakura_user) = app
        .clinic(&admin, "さくら内科クリニック", "tanaka@sakura.test")
        .await;
    let (aoba, _) = app
        .clinic(&admin, "あおば整形外科", "suzuki@aoba.test")
        .await;

    let own = app
        .get(&route::organization(&sakura), Some(&sakura_user))
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["name"], "さくら内科クリニック");

    // Another clinic, and one that does not exist at all, look the same.
    let other = problem(
        app.get(&route::organization(&aoba), Some(&sakura_user))
            .await,
        404,
        "not-found",
    )
    .await;
    let missing = problem(
        app.get(
            &format!("/v1/organizations/{}", uuid::Uuid::new_v4()),
            Some(&sakura_user),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(other["detail"], missing["detail"]);
    assert!(!other.to_string().contains("あおば"));
}

#[tokio::test]
async fn every_protected_operation_denies_an_anonymous_caller() {
    let app = TestApp::spawn().await;
    let spec: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let public = [
        "login",
        "healthz",
        "readyz",
        "listHolidays",
        "listCalendarDays",
        "calendarDue",
        "calendarElapsed",
    ];
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            if public.contains(&id) {
                assert_eq!(op["security"], serde_json::json!([]), "{id} is public");
                continue;
            }
            assert!(
                op["security"].as_array().is_some_and(|s| !s.is_empty()),
                "{method} {path} declares its security"
            );
            let concrete = path
                .replace("{id}", &uuid::Uuid::new_v4().to_string())
                .replace("{date}", "2026-12-02");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .req(m, &concrete, None)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked {checked} operations");
}

#[tokio::test]
async fn the_last_admin_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let me: Value = app.get("/v1/me", Some(&admin)).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap();
    let r = app
        .req(Method::PATCH, &route::user(id), Some(&admin))
        .header("If-Match", "*")
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    problem(r, 409, "last-admin").await;
    assert_eq!(
        app.get("/v1/me", Some(&admin)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn customers_of_a_suspended_organization_can_still_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (org, _) = app.clinic(&admin, "みどり歯科", "ito@midori.test").await;
    let r = app
        .req(Method::PATCH, &route::organization(&org), Some(&admin))
        .header("If-Match", "\"1\"")
        .json(&json!({"contract_status": "suspended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t = app.login("ito@midori.test", PASSWORD).await;
    let v: Value = app
        .get(&route::organization(&org), Some(&t))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["contract_status"], "suspended");
}
