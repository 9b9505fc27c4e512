use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{problem, route, TestApp, PASSWORD};

#[tokio::test]
async fn notices_reach_their_audience_and_the_threads_that_asked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (sakura, sakura_user) = app
        .clinic(&admin, "さくら内科クリニック", "tanaka@sakura.test")
        .await;
    let (_aoba, aoba_user) = app
        .clinic(&admin, "あおば整形外科", "suzuki@aoba.test")
        .await;
    app.create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let agent = app.login("agent@madoguchi.test", PASSWORD).await;
    let asked = app
        .create_thread(
            &sakura_user,
            &json!({"title": "予約システムが使えません", "body": "障害でしょうか"}),
        )
        .await;
    let n = asked["number"].as_i64().unwrap();
    let also = app
        .create_thread(
            &sakura_user,
            &json!({"title": "予約画面が真っ白です", "body": "受付で使えません"}),
        )
        .await;
    let n2 = also["number"].as_i64().unwrap();

    // A notice only for さくら, linked to the thread that asked.
    let r = app
        .post(
            "/v1/announcements",
            Some(&agent),
            &json!({"title": "予約システム障害", "body": "現在調査中です。", "severity": "major", "status": "investigating", "organization_ids": [sakura], "thread_numbers": [n, n2]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let notice: Value = r.json().await.unwrap();
    let id = notice["id"].as_str().unwrap().to_owned();
    assert_eq!(notice["thread_numbers"], json!([n, n2]));

    // The clinic that asked hears it where it asked, and that is the agent's answer.
    let t: Value = app
        .get(&route::thread(n), Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["sla"]["first_response"]["state"], "met");
    let posts: Value = app
        .get(&route::posts(n), Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert!(posts["items"][1]["body"]
        .as_str()
        .unwrap()
        .contains("予約システム障害"));

    // Audience: さくら sees it, あおば does not even learn it exists.
    let mine: Value = app
        .get("/v1/announcements", Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["thread_numbers"], json!([n, n2]));
    assert!(
        mine["items"][0]["organization_ids"].is_null(),
        "customers do not see who else was told"
    );
    let theirs: Value = app
        .get("/v1/announcements", Some(&aoba_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    problem(
        app.get(&route::announcement(&id), Some(&aoba_user)).await,
        404,
        "not-found",
    )
    .await;

    // The update that ends it reaches the thread too; it is no longer active.
    let r = app
        .post(
            &format!("/v1/announcements/{id}/updates"),
            Some(&agent),
            &json!({"body": "復旧しました。", "status": "resolved"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Every linked thread heard the notice and its end.
    for thread in [n, n2] {
        let posts: Value = app
            .get(&route::posts(thread), Some(&sakura_user))
            .await
            .json()
            .await
            .unwrap();
        let bodies: Vec<&str> = posts["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["body"].as_str().unwrap())
            .collect();
        assert_eq!(
            bodies.len(),
            3,
            "question, notice, update on thread {thread}"
        );
        assert!(
            bodies[1].contains("予約システム障害") && bodies[2].contains("復旧しました"),
            "{bodies:?}"
        );
        // Written for the clinic: the statuses in Japanese, not the API's words.
        assert!(bodies[1].contains("（調査中）"), "{bodies:?}");
        assert!(bodies[2].contains("（復旧）"), "{bodies:?}");
        assert!(
            !bodies[1].contains("investigating") && !bodies[2].contains("resolved"),
            "{bodies:?}"
        );
    }
    let active: Value = app
        .get("/v1/announcements?active=true", Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["items"].as_array().unwrap().len(), 0);
    // The list carries the updates too, not only the single read.
    let all: Value = app
        .get("/v1/announcements", Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"][0]["updates"][0]["body"], "復旧しました。");
    assert_eq!(all["items"][0]["updates"][0]["status"], "resolved");
    let one: Value = app
        .get(&route::announcement(&id), Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "resolved");
    assert_eq!(one["updates"][0]["status"], "resolved");

    assert_eq!(
        app.count("outbox WHERE event_type = 'announcement.published'")
            .await,
        1
    );
    assert_eq!(
        app.count("outbox WHERE event_type = 'announcement.updated'")
            .await,
        1
    );

    // A notice to everyone reaches both; each clinic sees only its own
    // linked thread, never the other clinic's thread number.
    let aoba_thread = app
        .create_thread(
            &aoba_user,
            &json!({"title": "メンテナンス時間の確認", "body": "何時からですか"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    let r = app
        .post("/v1/announcements", Some(&agent), &json!({"title": "定期メンテナンスのお知らせ", "body": "12月5日に実施します。", "severity": "info", "status": "monitoring", "thread_numbers": [n, aoba_thread]}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let staff_view: Value = r.json().await.unwrap();
    assert_eq!(staff_view["thread_numbers"], json!([n, aoba_thread]));
    let theirs: Value = app
        .get("/v1/announcements", Some(&aoba_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["items"][0]["thread_numbers"], json!([aoba_thread]));
    let mine: Value = app
        .get("/v1/announcements", Some(&sakura_user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["thread_numbers"], json!([n]));
}

#[tokio::test]
async fn notices_refuse_threads_outside_their_audience_and_customers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (sakura, _) = app
        .clinic(&admin, "さくら内科クリニック", "tanaka@sakura.test")
        .await;
    let (_aoba, aoba_user) = app
        .clinic(&admin, "あおば整形外科", "suzuki@aoba.test")
        .await;
    let other = app
        .create_thread(&aoba_user, &json!({"title": "別件", "body": "本文"}))
        .await;
    let before = app.snapshot().await;
    let p = problem(
        app.post(
            "/v1/announcements",
            Some(&admin),
            &json!({"title": "障害", "body": "調査中", "severity": "minor", "status": "investigating", "organization_ids": [sakura], "thread_numbers": [other["number"]]}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "thread_numbers");
    problem(
        app.post("/v1/announcements", Some(&admin), &json!({"title": "障害", "body": "x", "severity": "minor", "status": "investigating", "organization_ids": []})).await,
        422,
        "validation-failed",
    )
    .await;
    problem(
        app.post(
            "/v1/announcements",
            Some(&admin),
            &json!({"title": "障害", "body": "x", "severity": "fatal", "status": "investigating"}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(app.snapshot().await, before);
    problem(
        app.post(
            "/v1/announcements",
            Some(&aoba_user),
            &json!({"title": "障害", "body": "x", "severity": "minor", "status": "investigating"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}
