use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, route, TestApp, ADMIN_EMAIL};

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
        .req(Method::GET, &route::user(user_id), Some(&admin))
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

/// Lift the append-only triggers, as someone with database access would.
async fn lift_triggers(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let sql = if app.is_postgres() {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
    } else {
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
    };
    app.db.execute_unprepared(sql).await.unwrap();
}

async fn verify(app: &TestApp, admin: &str) -> Value {
    let r = app.get("/v1/audit-events/verify", Some(admin)).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    r.json().await.unwrap()
}

async fn busy_trail(app: &TestApp) -> String {
    let admin = app.admin().await;
    for i in 0..5 {
        app.create_org(&admin, &format!("監査テスト{i}")).await;
    }
    admin
}

#[tokio::test]
async fn an_intact_chain_verifies() {
    let app = TestApp::spawn().await;
    let admin = busy_trail(&app).await;
    let n = app.count("audit_events").await;
    let v = verify(&app, &admin).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], n);
    assert!(v["first_broken"].is_null());
    // Every entry carries its link.
    let list: Value = app
        .get("/v1/audit-events?limit=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["hash"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn an_edited_entry_is_found() {
    let app = TestApp::spawn().await;
    let admin = busy_trail(&app).await;
    lift_triggers(&app).await;
    app.exec(
        "UPDATE audit_events SET outcome = 'success' WHERE id = $1",
        vec![3i64.into()],
    )
    .await;
    app.exec(
        "UPDATE audit_events SET object_id = 'someone-else' WHERE id = $1",
        vec![4i64.into()],
    )
    .await;
    let v = verify(&app, &admin).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken"], json!({"id": 4, "reason": "edited"}));
}

#[tokio::test]
async fn a_missing_entry_is_found() {
    let app = TestApp::spawn().await;
    let admin = busy_trail(&app).await;
    lift_triggers(&app).await;
    app.exec("DELETE FROM audit_events WHERE id = $1", vec![5i64.into()])
        .await;
    let v = verify(&app, &admin).await;
    assert_eq!(v["first_broken"], json!({"id": 5, "reason": "missing"}));
}

#[tokio::test]
async fn entries_cut_from_the_end_are_found() {
    let app = TestApp::spawn().await;
    let admin = busy_trail(&app).await;
    lift_triggers(&app).await;
    let last: i64 = app.count("audit_events").await;
    app.exec(
        "DELETE FROM audit_events WHERE id >= $1",
        vec![(last - 1).into()],
    )
    .await;
    // The verify request itself appends an entry after the cut: the gap shows.
    let v = verify(&app, &admin).await;
    assert_eq!(
        v["first_broken"],
        json!({"id": last - 1, "reason": "missing"})
    );
}

#[tokio::test]
async fn a_relinked_entry_is_found() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn().await;
    let admin = busy_trail(&app).await;
    lift_triggers(&app).await;
    // A forger who knows the algorithm re-hashes entry 6 onto the genesis link.
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one(Statement::from_string(
            backend,
            "SELECT * FROM audit_events WHERE id = 6",
        ))
        .await
        .unwrap()
        .unwrap();
    let f = madoguchi_persistence::audit::ChainFields::<String> {
        id: 6,
        occurred_at: row.try_get("", "occurred_at").unwrap(),
        actor_type: row.try_get("", "actor_type").unwrap(),
        actor_id: row.try_get("", "actor_id").unwrap(),
        action: row.try_get("", "action").unwrap(),
        object_type: row.try_get("", "object_type").unwrap(),
        object_id: row.try_get("", "object_id").unwrap(),
        ip: row.try_get("", "ip").unwrap(),
        outcome: row.try_get("", "outcome").unwrap(),
        request_id: row.try_get("", "request_id").unwrap(),
        detail: row.try_get("", "detail").unwrap(),
    };
    let genesis = madoguchi_persistence::audit::GENESIS;
    let forged = madoguchi_persistence::audit::chain_hash(&f, genesis);
    app.exec(
        "UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE id = 6",
        vec![genesis.into(), forged.into()],
    )
    .await;
    let v = verify(&app, &admin).await;
    assert_eq!(v["first_broken"], json!({"id": 6, "reason": "reordered"}));
}

#[tokio::test]
async fn two_instances_append_one_linear_chain() {
    let app = TestApp::spawn().await;
    let other = app.sibling().await;
    let admin = app.admin().await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let client = app.client.clone();
        let url = if i % 2 == 0 {
            app.url("/v1/organizations")
        } else {
            other.url("/v1/organizations")
        };
        let token = admin.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"name": format!("同時監査{i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = app.count("audit_events").await;
    let v = verify(&app, &admin).await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], n);
}

#[tokio::test]
async fn the_export_streams_json_lines_and_is_audited() {
    let app = TestApp::spawn().await;
    let admin = busy_trail(&app).await;
    let r = app
        .get(
            "/v1/audit-events/export?action=organization.create",
            Some(&admin),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/jsonl"));
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|e| e["action"] == "organization.create"));
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()),
        "oldest first"
    );
    let all = app
        .get("/v1/audit-events/export", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    // The export's own entry is recorded before its first byte, so it is in it.
    let last: Value = serde_json::from_str(all.lines().last().unwrap()).unwrap();
    assert_eq!(last["action"], "audit.export");
    assert_eq!(all.lines().count() as i64, app.count("audit_events").await);
    let v: Value = app
        .get("/v1/audit-events?action=audit.export", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    problem(
        app.get("/v1/audit-events/export?from=yesterday", Some(&admin))
            .await,
        400,
        "invalid-parameter",
    )
    .await;
}
