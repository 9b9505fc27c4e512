use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp, PASSWORD};

use crate::helpers::ok_json as json_of;

#[tokio::test]
async fn holidays_of_a_year_with_japanese_names() {
    let app = TestApp::spawn().await;
    let v = json_of(app.get("/v1/calendar/holidays?year=2026", None).await).await;
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 18);
    assert!(list.contains(&json!({"date": "2026-05-06", "name": "振替休日"})));
    assert!(list.contains(&json!({"date": "2026-09-22", "name": "国民の休日"})));
    problem(
        app.get("/v1/calendar/holidays?year=1954", None).await,
        422,
        "out-of-range",
    )
    .await;
    problem(
        app.get("/v1/calendar/holidays?year=2100", None).await,
        422,
        "out-of-range",
    )
    .await;
    problem(
        app.get("/v1/calendar/holidays?year=twenty", None).await,
        400,
        "invalid-parameter",
    )
    .await;
    problem(
        app.get("/v1/calendar/holidays", None).await,
        400,
        "invalid-parameter",
    )
    .await;
}

#[tokio::test]
async fn days_say_when_the_window_opens_or_why_not() {
    let app = TestApp::spawn().await;
    let v = json_of(
        app.get("/v1/calendar/days?from=2026-05-01&to=2026-05-07", None)
            .await,
    )
    .await;
    let days = v.as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[0]["date"], "2026-05-01");
    assert_eq!(days[0]["weekday"], "fri");
    assert_eq!(days[0]["open"], true);
    assert_eq!(
        days[0]["intervals"],
        json!([{"start": "2026-05-01T09:00:00+09:00", "end": "2026-05-01T17:30:00+09:00"}])
    );
    assert_eq!(days[1]["closed_reason"], "weekend");
    assert_eq!(days[2]["closed_reason"], "holiday");
    assert_eq!(days[2]["holiday_name"], "憲法記念日");
    assert_eq!(days[5]["holiday_name"], "振替休日");
    assert_eq!(days[6]["open"], true);
    let v = json_of(
        app.get("/v1/calendar/days?from=2026-12-30&to=2026-12-30", None)
            .await,
    )
    .await;
    assert_eq!(v[0]["closed_reason"], "closure");
    assert_eq!(v[0]["note"], "年末年始休業");
    // 366 days is the limit; reversed ranges are refused.
    assert_eq!(
        app.get("/v1/calendar/days?from=2028-01-01&to=2028-12-31", None)
            .await
            .status(),
        StatusCode::OK
    );
    problem(
        app.get("/v1/calendar/days?from=2026-01-01&to=2027-01-02", None)
            .await,
        422,
        "invalid-range",
    )
    .await;
    problem(
        app.get("/v1/calendar/days?from=2026-05-07&to=2026-05-01", None)
            .await,
        422,
        "invalid-range",
    )
    .await;
    problem(
        app.get("/v1/calendar/days?from=2026-02-30&to=2026-03-01", None)
            .await,
        400,
        "invalid-parameter",
    )
    .await;
    problem(
        app.get("/v1/calendar/days?from=1954-12-31&to=1955-01-01", None)
            .await,
        422,
        "out-of-range",
    )
    .await;
}

#[tokio::test]
async fn due_and_elapsed_over_http() {
    let app = TestApp::spawn().await;
    // Friday 17:00 JST + 1 business hour = Monday 09:30 JST.
    let v = json_of(
        app.get(
            "/v1/calendar/due?from=2026-11-27T17:00:00%2B09:00&seconds=3600",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        v,
        json!({"from": "2026-11-27T17:00:00+09:00", "seconds": 3600, "due": "2026-11-30T09:30:00+09:00"})
    );
    // The same instant given in UTC and in New York time.
    let v = json_of(
        app.get(
            "/v1/calendar/due?from=2026-11-27T08:00:00Z&seconds=3600",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(v["due"], "2026-11-30T09:30:00+09:00");
    let v = json_of(
        app.get(
            "/v1/calendar/due?from=2026-11-27T03:00:00-05:00&seconds=3600",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(v["due"], "2026-11-30T09:30:00+09:00");
    assert_eq!(v["from"], "2026-11-27T17:00:00+09:00");

    let v = json_of(
        app.get(
            "/v1/calendar/elapsed?from=2026-11-27T17:00:00%2B09:00&to=2026-11-30T10:00:00%2B09:00",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(v["seconds"], 5400);
    // elapsed(a, b) is 0 when b is not after a (the SPEC's definition).
    for path in [
        "/v1/calendar/elapsed?from=2026-11-30T10:00:00%2B09:00&to=2026-11-27T17:00:00%2B09:00",
        "/v1/calendar/elapsed?from=2026-11-30T10:00:00%2B09:00&to=2026-11-30T10:00:00%2B09:00",
    ] {
        let v = json_of(app.get(path, None).await).await;
        assert_eq!(v["seconds"], 0, "{path}");
    }

    for (path, status, code) in [
        (
            "/v1/calendar/due?from=2026-11-27T17:00:00%2B09:00&seconds=-1",
            400,
            "invalid-parameter",
        ),
        (
            "/v1/calendar/due?from=2026-11-27T17:00:00%2B09:00&seconds=10000000001",
            400,
            "invalid-parameter",
        ),
        (
            "/v1/calendar/due?from=2026-11-27T17:00:00%2B09:00&seconds=9999999999",
            422,
            "out-of-range",
        ),
        (
            "/v1/calendar/due?from=2026-11-27T17:00:00%2B25:00&seconds=1",
            400,
            "invalid-parameter",
        ),
        (
            "/v1/calendar/due?from=2026-11-27T17:00:00&seconds=1",
            400,
            "invalid-parameter",
        ),
        (
            "/v1/calendar/due?from=yesterday&seconds=1",
            400,
            "invalid-parameter",
        ),
        (
            "/v1/calendar/due?from=1950-01-01T00:00:00Z&seconds=1",
            422,
            "out-of-range",
        ),
        (
            "/v1/calendar/elapsed?from=2026-11-30T10:00:00Z&to=2100-01-01T00:00:00Z",
            422,
            "out-of-range",
        ),
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        problem(r, status, code).await;
    }
}

#[tokio::test]
async fn admins_close_days_and_every_instance_follows() {
    let app = TestApp::spawn().await;
    let other = app.sibling().await;
    let admin = app.admin().await;
    let due_path = "/v1/calendar/due?from=2026-12-01T17:00:00%2B09:00&seconds=3600";
    let before = json_of(app.get(due_path, None).await).await;
    assert_eq!(before["due"], "2026-12-02T09:30:00+09:00");

    let r = app
        .post(
            "/v1/calendar/closures",
            Some(&admin),
            &json!({"date": "2026-12-02", "note": "システムメンテナンス"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["kind"], "closed");
    // This instance at once.
    let after = json_of(app.get(due_path, None).await).await;
    assert_eq!(after["due"], "2026-12-03T09:30:00+09:00");
    // The other instance within a few seconds.
    let started = Instant::now();
    loop {
        let v: Value = app
            .client
            .get(other.url(due_path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["due"] == "2026-12-03T09:30:00+09:00" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "other instance never saw the closure"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let day = json_of(
        app.get("/v1/calendar/days?from=2026-12-02&to=2026-12-02", None)
            .await,
    )
    .await;
    assert_eq!(day[0]["closed_reason"], "closure");
    assert_eq!(day[0]["note"], "システムメンテナンス");

    problem(
        app.post(
            "/v1/calendar/closures",
            Some(&admin),
            &json!({"date": "2026-12-02", "note": "again"}),
        )
        .await,
        409,
        "closure-exists",
    )
    .await;

    let r = app
        .req(
            Method::DELETE,
            "/v1/calendar/closures/2026-12-02",
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        json_of(app.get(due_path, None).await).await["due"],
        "2026-12-02T09:30:00+09:00"
    );
    problem(
        app.req(
            Method::DELETE,
            "/v1/calendar/closures/2026-12-02",
            Some(&admin),
        )
        .send()
        .await
        .unwrap(),
        404,
        "not-found",
    )
    .await;

    let v: Value = app
        .get(
            "/v1/audit-events?object_type=calendar_override",
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["calendar.delete", "calendar.create"]);
}

#[tokio::test]
async fn special_hours_shorten_a_day() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/v1/calendar/closures",
            Some(&admin),
            &json!({"date": "2026-12-28", "note": "仕事納め", "hours": ["09:00-12:00"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = json_of(
        app.get(
            "/v1/calendar/due?from=2026-12-28T11:00:00%2B09:00&seconds=5400",
            None,
        )
        .await,
    )
    .await;
    // One hour on 12/28, then 30 minutes after the year-end closure.
    assert_eq!(v["due"], "2027-01-04T09:30:00+09:00");
    let list: Value = app
        .get("/v1/calendar/closures", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["kind"], "special_hours");
    assert_eq!(list["items"][0]["hours"], json!(["09:00-12:00"]));
}

#[tokio::test]
async fn closures_refuse_bad_input_and_non_admins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_user(&admin, "agent@madoguchi.test", "agent", None)
        .await;
    let agent = app.login("agent@madoguchi.test", PASSWORD).await;
    let before = app.snapshot().await;
    for (body, status, code) in [
        (
            json!({"date": "2026-12-02", "note": "x", "hours": ["12:00-09:00"]}),
            422,
            "validation-failed",
        ),
        (
            json!({"date": "2026-12-02", "note": "x", "hours": ["9-12"]}),
            422,
            "validation-failed",
        ),
        (
            json!({"date": "2026-12-02", "note": "x", "hours": ["09:00-12:00", "11:00-13:00"]}),
            422,
            "validation-failed",
        ),
        (
            json!({"date": "2026-12-02", "note": "x", "hours": []}),
            422,
            "validation-failed",
        ),
        (
            json!({"date": "2100-01-01", "note": "x"}),
            422,
            "validation-failed",
        ),
        (
            json!({"date": "2026-13-01", "note": "x"}),
            422,
            "validation-failed",
        ),
        (
            json!({"date": "2026-12-02", "note": "x".repeat(201)}),
            422,
            "validation-failed",
        ),
        (json!({"note": "x"}), 422, "validation-failed"),
    ] {
        problem(
            app.post("/v1/calendar/closures", Some(&admin), &body).await,
            status,
            code,
        )
        .await;
    }
    problem(
        app.req(
            Method::DELETE,
            "/v1/calendar/closures/someday",
            Some(&admin),
        )
        .send()
        .await
        .unwrap(),
        400,
        "invalid-parameter",
    )
    .await;
    assert_eq!(app.snapshot().await, before);
    problem(
        app.post(
            "/v1/calendar/closures",
            Some(&agent),
            &json!({"date": "2026-12-02", "note": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/calendar/closures", Some(&agent)).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        app.get("/v1/calendar/closures", None).await,
        401,
        "unauthorized",
    )
    .await;
}
