use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp, ADMIN_EMAIL};

#[tokio::test]
async fn writes_and_personal_data_reads_are_audited_with_who_what_where() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let me: Value = app.get("/v1/me", Some(&admin)).await.json().await.unwrap();
    let admin_id = me["id"].as_str().unwrap().to_owned();
    let org = app.create_org(&admin, "さくら内科クリニック").await;
    let org_id = org["id"].as_str().unwrap();
    let user = app
        .create_user(&admin, "tanaka@sakura.test", "customer", Some(org_id))
        .await;
    let user_id = user["id"].as_str().unwrap();
    let r = app
        .req(Method::GET, &format!("/v1/users/{user_id}"), Some(&admin))
        .header("X-Request-Id", "audit-read-1")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let v: Value = app
        .get(
            &format!("/v1/audit-events?object_id={user_id}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let items = v["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.read", "user.create"], "newest first");
    let read = &items[0];
    assert_eq!(read["actor_type"], "user");
    assert_eq!(read["actor_id"], json!(admin_id));
    assert_eq!(read["ip"], "127.0.0.1");
    assert_eq!(read["outcome"], "success");
    assert_eq!(read["request_id"], "audit-read-1");
    assert!(read["occurred_at"].as_str().unwrap().ends_with("+09:00"));

    let v: Value = app
        .get(
            &format!("/v1/audit-events?actor_id={admin_id}&action=organization.create"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["object_id"], json!(org_id));

    // Logins, successful and failed, are there too.
    app.login_raw(ADMIN_EMAIL, "wrong password!!").await;
    let v: Value = app
        .get("/v1/audit-events?action=auth.login", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"failure") && outcomes.contains(&"success"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn the_trail_cannot_be_edited_through_the_api_or_the_database() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for m in [Method::PUT, Method::PATCH, Method::DELETE, Method::POST] {
        let r = app
            .req(m.clone(), "/v1/audit-events", Some(&admin))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        problem(r, 405, "method-not-allowed").await;
    }
    use sea_orm::ConnectionTrait;
    let n = app.count("audit_events").await;
    assert!(n > 0);
    assert!(app
        .db
        .execute_unprepared("UPDATE audit_events SET outcome = 'success'")
        .await
        .is_err());
    assert!(app
        .db
        .execute_unprepared("DELETE FROM audit_events")
        .await
        .is_err());
    assert_eq!(app.count("audit_events").await, n);
}
