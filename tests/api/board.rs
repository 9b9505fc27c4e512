use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{jst, metric_at, problem, route, Desk, TestApp};

async fn desk() -> Desk {
    Desk::new().await
}

/// A desk whose servers' clock reads `at`.
async fn desk_at(at: chrono::DateTime<chrono::Utc>) -> Desk {
    Desk::at(at).await
}

/// Hold the thread-number counter's lock from outside the server, so that
/// creates queue up behind it and are then written as one batch.
async fn hold_thread_numbers(app: &TestApp) -> sea_orm::DatabaseTransaction {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let tx = app.db.begin().await.unwrap();
    tx.execute(Statement::from_string(
        tx.get_database_backend(),
        "UPDATE counters SET value = value WHERE name = 'thread_number'",
    ))
    .await
    .unwrap();
    tx
}

/// A value of the server's /metrics (0 when the series has no sample yet).
async fn metric(app: &TestApp, name: &str) -> f64 {
    metric_at(&app.client, &app.url("/metrics"), name).await
}

/// Wait until `n` creates have reached the thread writer: waiting in its queue,
/// or taken into a batch (which, while the numbers are held, waits on the lock).
async fn until_writer_has(app: &TestApp, n: f64) {
    let started = Instant::now();
    loop {
        let queued = metric(app, "madoguchi_thread_queue_depth").await;
        let taken = metric(app, "madoguchi_thread_batch_size_sum").await;
        if queued + taken >= n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {queued} queued and {taken} taken of {n} creates"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

use crate::helpers::ok_json as body;

#[tokio::test]
async fn a_clinic_thread_from_question_to_follow_up() {
    let d = desk().await;
    let app = &d.app;
    let t = app
        .create_thread(&d.customer, &json!({"title": "予約画面が開きません", "body": "本日朝から予約システムにログインできません。", "category": "予約", "tags": ["障害"]}))
        .await;
    let n = t["number"].as_i64().unwrap();
    assert_eq!(t["status"], "new");
    assert_eq!(t["priority"], "normal");
    assert_eq!(t["channel"], "board");
    assert_eq!(t["sla"]["first_response"]["target_minutes"], 240);
    assert_eq!(t["sla"]["resolution"]["target_minutes"], 1530);
    assert_eq!(t["sla"]["first_response"]["state"], "running");
    assert!(t["sla"]["first_response"]["due_at"]
        .as_str()
        .unwrap()
        .ends_with("+09:00"));
    assert!(t["sla"]["next_reply"].is_null());

    // The customer sees the due time of the answer.
    let seen = body(app.get(&route::thread(n), Some(&d.customer)).await).await;
    assert_eq!(
        seen["sla"]["first_response"]["due_at"],
        t["sla"]["first_response"]["due_at"]
    );

    // An internal note does not answer the clinic.
    let r = app
        .reply(
            &d.agent,
            n,
            "社内メモ：サーバー再起動を検討",
            Some("internal"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = body(app.get(&route::thread(n), Some(&d.agent)).await).await;
    assert_eq!(t["sla"]["first_response"]["state"], "running");
    assert_eq!(t["status"], "new");

    // The agent's public reply meets first response and opens the thread.
    let r = app.reply(&d.agent, n, "確認いたします。", None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = body(app.get(&route::thread(n), Some(&d.customer)).await).await;
    assert_eq!(t["status"], "open");
    assert_eq!(t["sla"]["first_response"]["state"], "met");

    // Waiting on the clinic pauses resolution.
    let t = body(
        app.patch_thread(&d.agent, n, &json!({"status": "pending"}))
            .await,
    )
    .await;
    assert_eq!(t["sla"]["resolution"]["state"], "paused");
    assert!(t["sla"]["resolution"]["due_at"].is_null());

    // The clinic's reply reopens it and starts a next-reply cycle.
    app.reply(&d.customer, n, "再起動後も同じです。", None)
        .await;
    let t = body(app.get(&route::thread(n), Some(&d.agent)).await).await;
    assert_eq!(t["status"], "open");
    assert_eq!(t["sla"]["resolution"]["state"], "running");
    assert_eq!(t["sla"]["next_reply"]["state"], "running");
    assert_eq!(t["sla"]["next_reply"]["target_minutes"], 240);

    app.reply(&d.agent, n, "復旧しました。", None).await;
    let t = body(
        app.patch_thread(&d.agent, n, &json!({"status": "resolved"}))
            .await,
    )
    .await;
    assert_eq!(t["sla"]["next_reply"]["state"], "met");
    assert_eq!(t["sla"]["resolution"]["state"], "met");

    // A customer reply on a resolved thread reopens it; then it is resolved and closed.
    app.reply(&d.customer, n, "ありがとうございました。", None)
        .await;
    assert_eq!(
        body(app.get(&route::thread(n), Some(&d.agent)).await).await["status"],
        "open"
    );
    body(
        app.patch_thread(&d.agent, n, &json!({"status": "resolved"}))
            .await,
    )
    .await;
    body(
        app.patch_thread(&d.agent, n, &json!({"status": "closed"}))
            .await,
    )
    .await;

    // Closed is final.
    problem(
        app.reply(&d.customer, n, "追加の質問です", None).await,
        409,
        "thread-closed",
    )
    .await;
    let p = problem(
        app.patch_thread(&d.agent, n, &json!({"status": "open"}))
            .await,
        409,
        "illegal-transition",
    )
    .await;
    assert!(p.get("allowed").is_none() || p["allowed"] == json!([]));
    let f = app
        .create_thread(
            &d.customer,
            &json!({"title": "予約画面の件（続き）", "body": "再発しました。", "follow_up_of": n}),
        )
        .await;
    assert_eq!(f["follow_up_of"], n);

    // The clock log explains every figure.
    let log = body(app.get(&route::sla_events(n), Some(&d.customer)).await).await;
    let events: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["clock"].as_str().unwrap().to_owned(),
                e["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [
        ("first_response", "start"),
        ("resolution", "start"),
        ("first_response", "met"),
        ("resolution", "pause"),
        ("resolution", "resume"),
        ("next_reply", "start"),
        ("next_reply", "met"),
        ("resolution", "met"),
    ] {
        assert!(
            events.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {events:?}"
        );
    }
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["cause"] == "status:pending"));

    // Every change landed in the outbox.
    for (kind, at_least) in [
        ("thread.created", 2),
        ("post.created", 5),
        ("thread.status_changed", 4),
    ] {
        let n: i64 = app
            .count(&format!("outbox WHERE event_type = '{kind}'"))
            .await;
        assert!(n >= at_least, "{kind}: {n}");
    }
}

#[tokio::test]
async fn status_transitions_follow_the_machine() {
    let d = desk().await;
    let app = &d.app;
    // (path of changes to reach the state, then the change tried, allowed?)
    let cases: &[(&[&str], &str, bool)] = &[
        (&[], "open", true),
        (&[], "pending", true),
        (&[], "resolved", true),
        (&[], "closed", false),
        (&["open"], "pending", true),
        (&["open"], "resolved", true),
        (&["open"], "closed", false),
        (&["open", "pending"], "open", true),
        (&["open", "pending"], "resolved", true),
        (&["open", "pending"], "closed", false),
        (&["open", "resolved"], "open", true),
        (&["open", "resolved"], "closed", true),
        (&["open", "resolved"], "pending", false),
        (&["open", "resolved", "closed"], "open", false),
        (&["open", "resolved", "closed"], "resolved", false),
    ];
    for (path, to, ok) in cases {
        let t = app
            .create_thread(
                &d.agent,
                &json!({"title": "遷移の確認", "body": "本文", "organization_id": d.org}),
            )
            .await;
        let n = t["number"].as_i64().unwrap();
        for step in *path {
            body(
                app.patch_thread(&d.agent, n, &json!({"status": step}))
                    .await,
            )
            .await;
        }
        let r = app.patch_thread(&d.agent, n, &json!({"status": to})).await;
        if *ok {
            assert_eq!(r.status(), StatusCode::OK, "{path:?} -> {to}");
        } else {
            let p = problem(r, 409, "illegal-transition").await;
            assert!(p["detail"].as_str().unwrap().contains("allowed"), "{p}");
            let before = body(app.get(&route::thread(n), Some(&d.agent)).await).await;
            assert_eq!(
                before["status"],
                json!(path.last().copied().unwrap_or("new"))
            );
        }
    }
    // The problem names where the thread may go.
    let t = app
        .create_thread(
            &d.agent,
            &json!({"title": "x", "body": "y", "organization_id": d.org}),
        )
        .await;
    let p = problem(
        app.patch_thread(
            &d.agent,
            t["number"].as_i64().unwrap(),
            &json!({"status": "closed"}),
        )
        .await,
        409,
        "illegal-transition",
    )
    .await;
    assert_eq!(p["allowed"], json!(["open", "pending", "resolved"]));
}

#[tokio::test]
async fn internal_notes_never_reach_a_customer() {
    let d = desk().await;
    let app = &d.app;
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "請求書の再発行", "body": "先月分の請求書をお願いします。"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let before = body(app.get(&route::thread(n), Some(&d.customer)).await).await;
    app.reply(&d.agent, n, "極秘メモ 未払いあり要注意", Some("internal"))
        .await;

    // Counts and "last post" fields do not move for the customer.
    let seen = body(app.get(&route::thread(n), Some(&d.customer)).await).await;
    assert_eq!(seen["post_count"], 1);
    assert_eq!(seen["last_public_post_at"], before["last_public_post_at"]);
    assert_eq!(
        seen["version"], before["version"],
        "an internal note moves nothing a customer sees"
    );
    let staff = body(app.get(&route::thread(n), Some(&d.agent)).await).await;
    assert_eq!(staff["post_count"], 2);
    let list = body(app.get("/v1/threads", Some(&d.customer)).await).await;
    assert_eq!(list["items"][0]["post_count"], 1);
    // Posts.
    let posts = body(app.get(&route::posts(n), Some(&d.customer)).await).await;
    assert_eq!(posts["items"].as_array().unwrap().len(), 1);
    assert!(!posts.to_string().contains("極秘"));
    let posts = body(app.get(&route::posts(n), Some(&d.agent)).await).await;
    assert_eq!(posts["items"].as_array().unwrap().len(), 2);
    // Search.
    let s = body(
        app.get("/v1/search?q=%E6%A5%B5%E7%A7%98", Some(&d.customer))
            .await,
    )
    .await; // 極秘
    assert_eq!(s["items"].as_array().unwrap().len(), 0);
    let s = body(
        app.get("/v1/search?q=%E6%A5%B5%E7%A7%98", Some(&d.agent))
            .await,
    )
    .await;
    assert_eq!(s["items"].as_array().unwrap().len(), 1);
    // Customers may not write internal notes.
    problem(
        app.reply(&d.customer, n, "x", Some("internal")).await,
        422,
        "validation-failed",
    )
    .await;
    // The outbox marks the internal event so customer-scoped deliveries skip it.
    let internal: i64 = app
        .count("outbox WHERE event_type = 'post.created' AND internal = TRUE")
        .await;
    assert_eq!(internal, 1);
}

#[tokio::test]
async fn another_clinic_is_not_found_anywhere() {
    let d = desk().await;
    let app = &d.app;
    let (_, other) = d.other_clinic().await;
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "電子カルテの印刷", "body": "印刷できません"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    problem(
        app.get(&route::thread(n), Some(&other)).await,
        404,
        "not-found",
    )
    .await;
    problem(
        app.get(&route::posts(n), Some(&other)).await,
        404,
        "not-found",
    )
    .await;
    problem(
        app.get(&route::sla_events(n), Some(&other)).await,
        404,
        "not-found",
    )
    .await;
    problem(app.reply(&other, n, "x", None).await, 404, "not-found").await;
    problem(
        app.get("/v1/threads/999999", Some(&other)).await,
        404,
        "not-found",
    )
    .await;
    let list = body(app.get("/v1/threads", Some(&other)).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let s = body(
        app.get(
            "/v1/search?q=%E9%9B%BB%E5%AD%90%E3%82%AB%E3%83%AB%E3%83%86",
            Some(&other),
        )
        .await,
    )
    .await;
    assert_eq!(s["items"].as_array().unwrap().len(), 0);
    // Customers cannot see the queue.
    problem(app.get("/v1/queue", Some(&other)).await, 403, "forbidden").await;
}

#[tokio::test]
async fn an_inactive_contract_reads_but_does_not_post() {
    let d = desk().await;
    let app = &d.app;
    let t = app
        .create_thread(&d.customer, &json!({"title": "質問", "body": "本文"}))
        .await;
    let n = t["number"].as_i64().unwrap();
    let r = app
        .req(
            Method::PATCH,
            &format!("/v1/organizations/{}", d.org),
            Some(&d.admin),
        )
        .header("If-Match", "*")
        .json(&json!({"contract_status": "ended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    problem(
        app.post(
            "/v1/threads",
            Some(&d.customer),
            &json!({"title": "新規", "body": "本文"}),
        )
        .await,
        403,
        "contract-inactive",
    )
    .await;
    problem(
        app.reply(&d.customer, n, "追記", None).await,
        403,
        "contract-inactive",
    )
    .await;
    assert_eq!(
        app.get(&route::thread(n), Some(&d.customer)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn policies_apply_to_new_threads_and_priority_retargets() {
    let d = desk().await;
    let app = &d.app;
    let old = app
        .create_thread(
            &d.customer,
            &json!({"title": "旧", "body": "本文", "priority": "high"}),
        )
        .await;
    let r = app
        .req(Method::PUT, "/v1/sla-policies/high", Some(&d.admin))
        .json(&json!({"first_response_minutes": 45, "resolution_minutes": 400}))
        .send()
        .await
        .unwrap();
    let pol = body(r).await;
    assert_eq!(pol["next_reply_minutes"], 45);
    let new = app
        .create_thread(
            &d.customer,
            &json!({"title": "新", "body": "本文", "priority": "high"}),
        )
        .await;
    assert_eq!(new["sla"]["first_response"]["target_minutes"], 45);
    let again = body(
        app.get(&format!("/v1/threads/{}", old["number"]), Some(&d.agent))
            .await,
    )
    .await;
    assert_eq!(
        again["sla"]["first_response"]["target_minutes"], 60,
        "existing threads keep their policy"
    );

    // Priority change: the thread's own snapshot for urgent (30 / 240).
    let t = body(
        app.patch_thread(
            &d.agent,
            old["number"].as_i64().unwrap(),
            &json!({"priority": "urgent"}),
        )
        .await,
    )
    .await;
    assert_eq!(t["sla"]["first_response"]["target_minutes"], 30);
    assert_eq!(t["sla"]["resolution"]["target_minutes"], 240);
    let list = body(app.get("/v1/sla-policies", Some(&d.admin)).await).await;
    assert_eq!(list.as_array().unwrap().len(), 4);
    problem(
        app.get("/v1/sla-policies", Some(&d.agent)).await,
        403,
        "forbidden",
    )
    .await;
    let r = app
        .req(Method::PUT, "/v1/sla-policies/high", Some(&d.admin))
        .json(&json!({"first_response_minutes": 0, "resolution_minutes": 1}))
        .send()
        .await
        .unwrap();
    let p = problem(r, 422, "validation-failed").await;
    assert_eq!(p["errors"][0]["field"], "first_response_minutes");
    let r = app
        .req(Method::PUT, "/v1/sla-policies/critical", Some(&d.admin))
        .json(&json!({"first_response_minutes": 5, "resolution_minutes": 10}))
        .send()
        .await
        .unwrap();
    problem(r, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn japanese_search_finds_words_in_unspaced_text() {
    let d = desk().await;
    let app = &d.app;
    let docs = [
        (
            "予約システムの障害",
            "本日午前から予約システムで障害が発生しています。",
        ),
        (
            "電子カルテにログインできない",
            "ユーザーIDとパスワードを入れてもログインできません。",
        ),
        (
            "ＦＡＸ送信エラー",
            "ｶﾀｶﾅで入力した宛名のＦＡＸが届きません。",
        ),
        ("請求書について", "先月分の請求書の再発行をお願いします。"),
        // Shares a token with ログイン (ログ) and with カタカナ (カタ) but holds
        // neither: on PostgreSQL the index is asked for one token of a phrase,
        // and every document it returns must still hold the whole phrase.
        ("カタログの送付", "新しいカタログを送ってください。"),
    ];
    let mut numbers = Vec::new();
    for (title, text) in docs {
        numbers.push(
            app.create_thread(&d.customer, &json!({"title": title, "body": text}))
                .await["number"]
                .as_i64()
                .unwrap(),
        );
    }
    let search = |q: &str| {
        let url = format!("/v1/search?q={}", urlencode(q));
        let token = d.customer.clone();
        async move { body(app.get(&url, Some(&token)).await).await }
    };
    let found = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_i64().unwrap())
            .collect()
    };
    for (q, want) in [
        ("予約", vec![numbers[0]]),
        ("障害", vec![numbers[0]]),
        ("ログイン", vec![numbers[1]]),
        ("電子カルテ", vec![numbers[1]]),
        ("ID", vec![numbers[1]]),
        ("id", vec![numbers[1]]),
        ("FAX", vec![numbers[2]]),
        ("ＦＡＸ", vec![numbers[2]]),
        ("カタカナ", vec![numbers[2]]),
        ("再発行", vec![numbers[3]]),
        ("カタログ", vec![numbers[4]]),
        ("ログイン できない", vec![numbers[1]]),
        ("予約 障害", vec![numbers[0]]),
        ("予約 請求", vec![]),
        ("存在しない語", vec![]),
    ] {
        let v = search(q).await;
        assert_eq!(found(&v), want, "query {q}");
    }
    let v = search("ログイン").await;
    assert!(v["items"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("ログイン"));
    assert_eq!(v["items"][0]["title"], "電子カルテにログインできない");
    problem(
        app.get("/v1/search?q=%E4%BA%88", Some(&d.customer)).await,
        422,
        "validation-failed",
    )
    .await;
    problem(
        app.get("/v1/search", Some(&d.customer)).await,
        400,
        "invalid-parameter",
    )
    .await;
}

/// Search keeps each caller's scope however far back the matches lie. On
/// PostgreSQL, documents found in the newest id range and those found through
/// the whole GIN index are both scoped by the rows' own organization and
/// `internal` columns; filler documents push the clinics' threads out of the
/// newest range, and one new thread stays in it.
#[tokio::test]
async fn search_scope_holds_for_old_and_new_documents() {
    let d = desk().await;
    let app = &d.app;
    let (_, other) = d.other_clinic().await;
    let ours = app
        .create_thread(
            &d.customer,
            &json!({"title": "予約画面の障害", "body": "予約画面が開きません。"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    let r = app
        .reply(
            &d.agent,
            ours,
            "社内メモ：サーバーを再起動済み",
            Some("internal"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let theirs = app
        .create_thread(
            &other,
            &json!({"title": "会計画面の障害", "body": "会計画面でエラーが出ます。"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    let legacy = app
        .create_thread(
            &d.customer,
            &json!({"title": "旧版の件", "body": "特になし"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    if app.is_postgres() {
        // A document as an instance of the previous version writes it during a
        // rolling upgrade: words only, no scope lexemes.
        let added = app
            .exec(
                "INSERT INTO search_docs (thread_id, post_id, organization_id, internal, tokens) \
                 SELECT t.id, NULL, t.organization_id, FALSE, '停電:1'::tsvector \
                 FROM threads t WHERE t.number = $1",
                vec![legacy.into()],
            )
            .await;
        assert_eq!(added, 1);
    }
    if app.is_postgres() {
        let filler = app
            .create_thread(
                &d.customer,
                &json!({"title": "無関係の件", "body": "特になし"}),
            )
            .await["number"]
            .as_i64()
            .unwrap();
        let added = app
            .exec(
                "INSERT INTO search_docs (thread_id, post_id, organization_id, internal, tokens) \
                 SELECT t.id, NULL, t.organization_id, FALSE, '特に:1 にな:2 なし:3'::tsvector \
                 FROM threads t, generate_series(1, 6000) WHERE t.number = $1",
                vec![filler.into()],
            )
            .await;
        assert_eq!(added, 6000);
    }
    // A new thread of our clinic, above the filler.
    let newest = app
        .create_thread(
            &d.customer,
            &json!({"title": "障害のお知らせについて", "body": "昨日の障害は復旧しましたか。"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    let found = |token: String, q: &'static str| async move { searched(app, &token, q).await };
    assert_eq!(found(d.customer.clone(), "障害").await, vec![newest, ours]);
    assert_eq!(found(other.clone(), "障害").await, vec![theirs]);
    assert_eq!(
        found(d.agent.clone(), "障害").await,
        vec![newest, theirs, ours]
    );
    // The internal note is found by staff only.
    assert_eq!(found(d.customer.clone(), "再起動").await, Vec::<i64>::new());
    assert_eq!(found(other.clone(), "再起動").await, Vec::<i64>::new());
    assert_eq!(found(d.agent.clone(), "再起動").await, vec![ours]);
    assert_eq!(found(d.customer.clone(), "予約 障害").await, vec![ours]);
    assert_eq!(found(other.clone(), "予約 障害").await, Vec::<i64>::new());
    if app.is_postgres() {
        assert_eq!(found(d.customer.clone(), "停電").await, vec![legacy]);
        assert_eq!(found(other, "停電").await, Vec::<i64>::new());
    }
}

/// On PostgreSQL search reads the documents in id ranges of 8,192, newest
/// first, and turns to the whole index when matches come too rarely (migration
/// m0016). Threads whose documents lie ranges apart (the id sequence moved on
/// between them) are found all the same, newest first, each caller within
/// their scope; and every document carries its range's lexeme.
#[tokio::test]
async fn search_finds_matches_ranges_apart_newest_first() {
    let d = desk().await;
    let app = &d.app;
    let (_, other) = d.other_clinic().await;
    let mut ours = Vec::new();
    for i in 1..=4 {
        if app.is_postgres() {
            // Three empty ranges between each thread's documents. Ids only move
            // on: other documents of the database keep theirs.
            app.exec(
                "SELECT setval('search_docs_id_seq', (SELECT last_value FROM search_docs_id_seq) + 3 * 8192)",
                vec![],
            )
            .await;
        }
        let t = app
            .create_thread(
                &d.customer,
                &json!({
                    "title": format!("電子カルテの印刷不具合 その{i}"),
                    "body": if i == 1 { "プリンターで印刷できません。トナー切れでしょうか。" } else { "プリンターで印刷できません。" },
                }),
            )
            .await;
        ours.push(t["number"].as_i64().unwrap());
    }
    let theirs = app
        .create_thread(
            &other,
            &json!({"title": "処方箋の印刷不具合", "body": "印刷が途中で止まります。"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    ours.reverse();
    if app.is_postgres() {
        // With statistics, search asks the index for the rarest tokens.
        app.exec("ANALYZE search_docs", vec![]).await;
    }
    let found = |token: String, q: &'static str| async move { searched(app, &token, q).await };
    assert_eq!(found(d.customer.clone(), "印刷 不具合").await, ours);
    assert_eq!(found(other.clone(), "印刷 不具合").await, vec![theirs]);
    let mut all = vec![theirs];
    all.extend(&ours);
    assert_eq!(found(d.agent.clone(), "印刷 不具合").await, all);
    // A word met only in the oldest of ours.
    assert_eq!(found(d.agent.clone(), "トナー").await, vec![ours[3]]);
    if app.is_postgres() {
        let without = app
            .count("search_docs WHERE NOT tokens @@ ('zzb' || (id / 8192))::tsquery")
            .await;
        assert_eq!(without, 0, "documents without their range's lexeme");
        let without = app.count(WITHOUT_ORG_RANGE_LEXEME).await;
        assert_eq!(
            without, 0,
            "documents without their organization's range lexeme"
        );
    }
}

/// A word common in older threads but absent from the newest ranges (an
/// incident's word once it is over): on PostgreSQL search reads the empty
/// ranges in growing spans rather than walking every newer document, and finds
/// the same threads, newest first, for staff and for a clinic, on every page.
#[tokio::test]
async fn a_word_only_older_threads_hold_is_found_across_empty_ranges() {
    let d = desk().await;
    let app = &d.app;
    let (_, other) = d.other_clinic().await;
    let jump = |ranges: i64| async move {
        if app.is_postgres() {
            app.exec(
                &format!("SELECT setval('search_docs_id_seq', (SELECT last_value FROM search_docs_id_seq) + {ranges} * 8192)"),
                vec![],
            )
            .await;
        }
    };
    let mut outage = Vec::new();
    for i in 1..=6 {
        let t = app
            .create_thread(
                &d.customer,
                &json!({"title": format!("停電後に電子カルテが起動しない その{i}"), "body": "停電のあと、受付の端末が立ち上がりません。"}),
            )
            .await;
        outage.push(t["number"].as_i64().unwrap());
        jump(1).await;
    }
    let theirs = app
        .create_thread(
            &other,
            &json!({"title": "停電で予約が消えた", "body": "停電の後から予約が見えません。"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    // Then many ranges of newer threads that never mention it.
    for i in 1..=4 {
        jump(7).await;
        app.create_thread(
            &d.customer,
            &json!({"title": format!("予約画面の表示が遅い その{i}"), "body": "午前中から予約画面が重いです。"}),
        )
        .await;
    }
    jump(9).await;
    app.create_thread(
        &d.customer,
        &json!({"title": "紹介状の印刷", "body": "紹介状を印刷するとずれます。"}),
    )
    .await;
    if app.is_postgres() {
        // With statistics the word counts as common, and the walk turns to spans.
        app.exec("ANALYZE search_docs", vec![]).await;
    }
    outage.reverse();
    let mut all = vec![theirs];
    all.extend(&outage);
    assert_eq!(searched(app, &d.agent, "停電").await, all);
    assert_eq!(searched(app, &d.customer, "停電").await, outage);
    assert_eq!(searched(app, &other, "停電").await, vec![theirs]);
    assert_eq!(searched(app, &d.agent, "停電 端末").await, outage);
    // Page by page, nothing is skipped or repeated: every thread comes in
    // order, and no hit twice (a page shows a thread once; a later page may
    // show its other, older match).
    let mut paged: Vec<(i64, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!(
                "/v1/search?q={}&limit=2&cursor={}",
                urlencode("停電"),
                urlencode(c)
            ),
            None => format!("/v1/search?q={}&limit=2", urlencode("停電")),
        };
        let v = body(app.get(&path, Some(&d.agent)).await).await;
        paged.extend(v["items"].as_array().unwrap().iter().map(|i| {
            (
                i["number"].as_i64().unwrap(),
                i["matched"].as_str().unwrap().to_owned(),
            )
        }));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut threads: Vec<i64> = paged.iter().map(|(n, _)| *n).collect();
    threads.dedup();
    assert_eq!(threads, all);
    let distinct: std::collections::HashSet<_> = paged.iter().collect();
    assert_eq!(distinct.len(), paged.len(), "a hit repeated: {paged:?}");
    if app.is_postgres() {
        // New documents go straight into the index (m0019): no pending list
        // that every search would read until a vacuum.
        let direct = app
            .count("pg_class WHERE relname = 'idx_search_docs_tokens' AND 'fastupdate=off' = ANY(reloptions)")
            .await;
        assert_eq!(direct, 1, "the search index keeps a pending list");
    }
}

/// Upgrading a PostgreSQL database whose documents predate their
/// organization's range lexemes (m0017): the instance that migrates marks
/// every document, rebuilds the search index after the migrations' commit,
/// and a clinic finds what it found before.
#[tokio::test]
async fn search_documents_from_before_the_org_ranges_are_marked_on_upgrade() {
    let d = desk().await;
    let app = &d.app;
    if !app.is_postgres() {
        return;
    }
    let (_, other) = d.other_clinic().await;
    let mut ours = Vec::new();
    for i in 1..=3 {
        let t = app
            .create_thread(
                &d.customer,
                &json!({"title": format!("オンライン資格確認のエラー その{i}"), "body": "資格確認端末でエラーが出ます。"}),
            )
            .await;
        ours.push(t["number"].as_i64().unwrap());
    }
    ours.reverse();
    let theirs = app
        .create_thread(
            &other,
            &json!({"title": "オンライン資格確認のエラー", "body": "エラーコードが表示されます。"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    let before = searched(app, &d.customer, "オンライン資格確認 エラー").await;
    assert_eq!(before, ours);
    // The database as the previous version left it: m0017 not applied, no
    // document with its organization's range lexeme.
    let org_range_lexemes =
        "ARRAY(SELECT u.lexeme FROM unnest(tokens) u WHERE u.lexeme LIKE 'zzo%\\_%')";
    app.exec(
        &format!("UPDATE search_docs SET tokens = ts_delete(tokens, {org_range_lexemes})"),
        vec![],
    )
    .await;
    app.exec(
        "DELETE FROM seaql_migrations WHERE version = 'm0017_search_org_buckets'",
        vec![],
    )
    .await;
    let unmarked = format!("search_docs WHERE cardinality({org_range_lexemes}) = 0");
    assert!(
        app.count(&unmarked).await >= 8,
        "the documents were unmarked"
    );
    let filenode = "SELECT pg_relation_filenode('idx_search_docs_tokens')::bigint AS n";
    let index_file = app.scalar(filenode).await;
    // An instance of the new version starts: it migrates.
    let _upgraded = app.sibling().await;
    assert_ne!(
        app.scalar(filenode).await,
        index_file,
        "the search index was not rebuilt"
    );
    assert_eq!(
        app.count(&unmarked).await,
        0,
        "documents without their organization's range lexeme"
    );
    assert_eq!(
        app.count(WITHOUT_ORG_RANGE_LEXEME).await,
        0,
        "a document marked with another organization or range"
    );
    // Rebuilt after the commit: one valid index, no leftover of a concurrent rebuild.
    assert_eq!(
        app.count("pg_index WHERE indrelid = 'search_docs'::regclass AND NOT indisvalid")
            .await,
        0
    );
    assert_eq!(
        app.count("pg_class WHERE relname LIKE 'idx_search_docs_tokens_ccnew%'")
            .await,
        0
    );
    assert_eq!(
        searched(app, &d.customer, "オンライン資格確認 エラー").await,
        ours
    );
    assert_eq!(
        searched(app, &other, "オンライン資格確認 エラー").await,
        vec![theirs]
    );
}

/// Search documents (PostgreSQL) not marked with their own organization's id
/// range (m0017).
const WITHOUT_ORG_RANGE_LEXEME: &str = "search_docs WHERE NOT tokens @@ ('zzo' || replace(organization_id::text, '-', '') || '_' || (id / 8192))::tsquery";

/// The thread numbers a search shows this caller, in order.
async fn searched(app: &TestApp, token: &str, q: &str) -> Vec<i64> {
    let v = body(
        app.get(&format!("/v1/search?q={}", urlencode(q)), Some(token))
            .await,
    )
    .await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_i64().unwrap())
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn the_queue_puts_breached_work_first_then_the_nearest_due() {
    // Monday 2026-12-07 09:00: the low-priority question comes in first.
    let mut d = desk_at(jst(2026, 12, 7, 9, 0)).await;
    let low = d
        .app
        .create_thread(
            &d.customer,
            &json!({"title": "low の質問", "body": "本文", "priority": "low"}),
        )
        .await;
    // Nobody answers it for a business day (510 minutes, due Monday 17:30):
    // on Tuesday at 09:30 it is breached, and the sweeper records it.
    d.advance(chrono::Duration::minutes(24 * 60 + 30)).await;
    let app = &d.app;
    let mut by_priority = vec![("low", low["number"].as_i64().unwrap())];
    for p in ["normal", "urgent", "high"] {
        let t = app
            .create_thread(
                &d.customer,
                &json!({"title": format!("{p} の質問"), "body": "本文", "priority": p}),
            )
            .await;
        by_priority.push((p, t["number"].as_i64().unwrap()));
    }
    let num = |p: &str| by_priority.iter().find(|x| x.0 == p).unwrap().1;
    let started = Instant::now();
    while app.count("outbox WHERE event_type = 'sla.breached'").await < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "breach not recorded within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let q = body(app.get("/v1/queue", Some(&d.agent)).await).await;
    let order: Vec<i64> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_i64().unwrap())
        .collect();
    // Breached first, then by the nearest due: urgent 10:00, high 10:30, normal 13:30.
    assert_eq!(
        order,
        vec![num("low"), num("urgent"), num("high"), num("normal")]
    );
    assert_eq!(q["items"][0]["breached"], true);
    assert_eq!(q["items"][0]["sla"]["first_response"]["state"], "breached");
    assert_eq!(
        q["items"][0]["sla"]["first_response"]["due_at"],
        "2026-12-07T17:30:00+09:00"
    );
    assert_eq!(q["items"][1]["breached"], false);
    assert_eq!(
        app.count("outbox WHERE event_type = 'sla.breached'").await,
        1
    );
    assert_eq!(
        app.count("outbox WHERE event_type = 'sla.warning'").await,
        1
    );

    // Paging one by one walks the same order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/queue?limit=1&cursor={c}"),
            None => "/v1/queue?limit=1".into(),
        };
        let page = body(app.get(&path, Some(&d.agent)).await).await;
        walked.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["number"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, order);
    // Filters.
    let q = body(app.get("/v1/queue?priority=high", Some(&d.agent)).await).await;
    assert_eq!(q["items"].as_array().unwrap().len(), 1);
    let q = body(app.get("/v1/queue?status=pending", Some(&d.agent)).await).await;
    assert_eq!(q["items"].as_array().unwrap().len(), 0);
}

/// The queue reads each thread's clocks and tags from copies on the thread's
/// row (m0018), kept by triggers. What a page shows must be what the thread's
/// own page shows (its clocks read from `sla_clocks`), after each kind of
/// write: the create, the sweeper's breach, a tag change, a reply, and a write
/// from outside this version (an instance of the previous one during a
/// rolling deploy, an operator's fix).
#[tokio::test]
async fn the_queue_shows_the_clocks_and_tags_every_writer_left() {
    // Monday 2026-12-07 09:00.
    let mut d = desk_at(jst(2026, 12, 7, 9, 0)).await;
    let n = d
        .app
        .create_thread(
            &d.customer,
            &json!({"title": "レセコンが起動しない", "body": "朝から起動しません。", "priority": "high"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    let item = queue_matches_thread(&d.app, &d.agent, n).await;
    assert_eq!(item["sla"]["first_response"]["state"], "running");
    assert_eq!(item["tags"], json!([]));

    // A business day later the first response is breached; the sweeper writes it.
    d.advance(chrono::Duration::minutes(24 * 60)).await;
    let app = &d.app;
    let started = Instant::now();
    while app.count("outbox WHERE event_type = 'sla.breached'").await < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "breach not recorded within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let item = queue_matches_thread(app, &d.agent, n).await;
    assert_eq!(item["sla"]["first_response"]["state"], "breached");

    let r = app
        .patch_thread(&d.agent, n, &json!({"tags": ["至急", "レセコン"]}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let item = queue_matches_thread(app, &d.agent, n).await;
    assert_eq!(item["tags"], json!(["レセコン", "至急"]));

    let r = app
        .reply(&d.agent, n, "再起動をお試しください。", None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let answered = queue_matches_thread(app, &d.agent, n).await;
    assert_ne!(answered["sla"], item["sla"], "the reply moved no clock");

    // Writes that do not come through this version's code.
    app.exec(
        "DELETE FROM thread_tags WHERE tag = $1 AND thread_id = (SELECT id FROM threads WHERE number = $2)",
        vec!["至急".into(), n.into()],
    )
    .await;
    app.exec(
        "UPDATE sla_clocks SET target_seconds = target_seconds * 2 \
         WHERE kind = 'resolution' AND thread_id = (SELECT id FROM threads WHERE number = $1)",
        vec![n.into()],
    )
    .await;
    let item = queue_matches_thread(app, &d.agent, n).await;
    assert_eq!(item["tags"], json!(["レセコン"]));
    assert_ne!(
        item["sla"]["resolution"], answered["sla"]["resolution"],
        "the doubled target did not reach the queue"
    );
}

/// Thread `n` as the queue lists it, after checking that its clocks, tags and
/// breach are those of the thread's own page.
async fn queue_matches_thread(app: &TestApp, token: &str, n: i64) -> Value {
    // The clocks run on in business time: read the thread before and after
    // the queue, and compare only once no second ticked in between.
    let (own, queue) = loop {
        let own = body(app.get(&route::thread(n), Some(token)).await).await;
        let queue = body(app.get("/v1/queue", Some(token)).await).await;
        let again = body(app.get(&route::thread(n), Some(token)).await).await;
        if again["sla"] == own["sla"] {
            break (own, queue);
        }
    };
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["number"] == n)
        .unwrap_or_else(|| panic!("#{n} is not in the queue"))
        .clone();
    for field in ["sla", "tags", "breached"] {
        assert_eq!(item[field], own[field], "{field} of #{n}");
    }
    item
}

/// A database from before m0018: the new version fills the threads' copies of
/// their clocks and tags, and the queue shows what it showed.
#[tokio::test]
async fn threads_from_before_the_page_copies_are_filled_on_upgrade() {
    // Sunday 2026-12-06 noon: the window is closed until Monday 09:00, so the
    // clocks' used and remaining seconds stay put while the upgrade runs and
    // the queues before and after can be compared whole.
    let d = desk_at(jst(2026, 12, 6, 12, 0)).await;
    let app = &d.app;
    let mut numbers = Vec::new();
    for title in ["予約システムにログインできない", "電子カルテの印刷が遅い"]
    {
        let t = app
            .create_thread(
                &d.customer,
                &json!({"title": title, "body": "至急お願いします。"}),
            )
            .await;
        numbers.push(t["number"].as_i64().unwrap());
    }
    let r = app
        .patch_thread(&d.agent, numbers[0], &json!({"tags": ["予約", "ログイン"]}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .reply(&d.agent, numbers[1], "確認いたします。", None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let before = body(app.get("/v1/queue", Some(&d.agent)).await).await;
    assert_eq!(before["items"].as_array().unwrap().len(), 2);

    // The database as the previous version left it.
    let mut statements = Vec::new();
    for table in ["sla_clocks", "thread_tags"] {
        for event in ["insert", "update", "delete"] {
            statements.push(if app.is_postgres() {
                format!("DROP TRIGGER {table}_copy_{event} ON {table}")
            } else {
                format!("DROP TRIGGER {table}_copy_{event}")
            });
        }
    }
    if app.is_postgres() {
        for f in [
            "sla_clocks_copy()",
            "thread_tags_copy()",
            "thread_clocks_json(uuid)",
            "thread_tags_json(uuid)",
        ] {
            statements.push(format!("DROP FUNCTION {f}"));
        }
    }
    for sql in statements.iter().map(String::as_str).chain([
        "ALTER TABLE threads DROP COLUMN clocks_json",
        "ALTER TABLE threads DROP COLUMN tags_json",
        "DELETE FROM seaql_migrations WHERE version = 'm0018_page_snapshots'",
    ]) {
        app.exec(sql, vec![]).await;
    }
    let pkey = "SELECT pg_relation_filenode('threads_pkey')::bigint AS n";
    let pkey_file = if app.is_postgres() {
        app.scalar(pkey).await
    } else {
        0
    };
    // An instance of the new version starts: it migrates.
    let _upgraded = app.sibling().await;
    assert_eq!(app.count("threads WHERE clocks_json IS NULL").await, 0);
    let after = body(app.get("/v1/queue", Some(&d.agent)).await).await;
    assert_eq!(after["items"], before["items"]);
    let tagged = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["number"] == numbers[0])
        .unwrap();
    assert_eq!(tagged["tags"], json!(["ログイン", "予約"]));
    if app.is_postgres() {
        // Every row was rewritten: the indexes are rebuilt after the commit.
        assert_ne!(
            app.scalar(pkey).await,
            pkey_file,
            "threads was not reindexed"
        );
        assert_eq!(
            app.count("pg_index WHERE indrelid = 'threads'::regclass AND NOT indisvalid")
                .await,
            0
        );
    }
}

#[tokio::test]
async fn a_closure_reprojects_running_clocks() {
    // Monday 2026-12-07 10:00; the next open day is Tuesday the 8th.
    let d = desk_at(jst(2026, 12, 7, 10, 0)).await;
    let app = &d.app;
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "再計算の確認", "body": "本文", "priority": "low"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let created = t["created_at"].as_str().unwrap().to_owned();
    let before = t["sla"]["resolution"]["due_at"]
        .as_str()
        .unwrap()
        .to_owned();
    // 2550 business minutes = five days of 510 from Monday 10:00.
    assert!(before.starts_with("2026-12-14T10:00:"), "{before}");
    // Close the first open day after today.
    let today = app
        .clock
        .now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .date_naive();
    let from = today.succ_opt().unwrap();
    let days = body(
        app.get(
            &format!(
                "/v1/calendar/days?from={from}&to={}",
                from + chrono::Duration::days(14)
            ),
            None,
        )
        .await,
    )
    .await;
    let next_open = days
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["open"] == true)
        .unwrap()["date"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            "/v1/calendar/closures",
            Some(&d.admin),
            &json!({"date": next_open, "note": "臨時休業"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let after = body(app.get(&route::thread(n), Some(&d.agent)).await).await;
    let after_due = after["sla"]["resolution"]["due_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(after_due, before);
    // Tuesday closed: the fifth day ends on Tuesday the 15th.
    assert!(after_due.starts_with("2026-12-15T10:00:"), "{after_due}");
    // The closure lies ahead, so the whole target now runs on the new calendar.
    let want = body(
        app.get(
            &format!(
                "/v1/calendar/due?from={}&seconds={}",
                created.replace('+', "%2B"),
                2550 * 60
            ),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(after_due, want["due"].as_str().unwrap());
    let log = body(app.get(&route::sla_events(n), Some(&d.agent)).await).await;
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "reproject" && e["cause"] == "calendar.changed"));
}

#[tokio::test]
async fn thread_numbers_stay_unique_under_concurrency() {
    let d = desk().await;
    let other = d.app.sibling().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = d.app.client.clone();
        let url = if i % 2 == 0 {
            d.app.url("/v1/threads")
        } else {
            other.url("/v1/threads")
        };
        let token = d.customer.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"title": format!("同時作成{i}"), "body": "本文"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            let v: Value = r.json().await.unwrap();
            v["number"].as_i64().unwrap()
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=24).collect::<Vec<_>>());
}

/// Creates arriving together are written together (one transaction for all that
/// wait), yet each keeps its own number, priority, clocks, search entries,
/// outbox event and audit entry, attributed to its own request.
#[tokio::test]
async fn threads_opened_together_each_keep_their_own_rows() {
    // One agent sends 40 creates at once and reads each back: a burst past the
    // per-person budget, which this test is not about.
    let d = Desk::on(TestApp::spawn_with(&[("MADOGUCHI_USER_RATE_PER_MINUTE", "0")]).await).await;
    let app = &d.app;
    let priorities = ["low", "normal", "high", "urgent"];
    let first_response = [510, 240, 60, 30];
    let held = hold_thread_numbers(app).await;
    let mut tasks = Vec::new();
    for i in 0..40usize {
        let client = app.client.clone();
        let url = app.url("/v1/threads");
        let token = if i % 2 == 0 {
            d.customer.clone()
        } else {
            d.agent.clone()
        };
        let org = d.org.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("x-request-id", format!("req-batch-{i}"))
                .json(&json!({"title": format!("一括{i}番目の問い合わせ"), "body": format!("検査結果{i}号が表示されません"), "priority": priorities[i % 4], "organization_id": org}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            let v: Value = r.json().await.unwrap();
            (i, v)
        }));
    }
    until_writer_has(app, 40.0).await;
    // A minute passes while they wait, so a clock started when the request
    // arrived rather than when its thread was written would show it.
    app.clock.advance(chrono::Duration::minutes(1));
    held.rollback().await.unwrap();
    let mut numbers = Vec::new();
    for t in tasks {
        let (i, v) = t.await.unwrap();
        assert_eq!(v["title"], format!("一括{i}番目の問い合わせ"));
        assert_eq!(v["priority"], priorities[i % 4]);
        assert_eq!(
            v["sla"]["first_response"]["target_minutes"],
            first_response[i % 4]
        );
        let n = v["number"].as_i64().unwrap();
        numbers.push(n);
        // The first post is this request's body, by this request's author.
        let posts = body(app.get(&route::posts(n), Some(&d.agent)).await).await;
        let items = posts["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["body"], format!("検査結果{i}号が表示されません"));
        assert_eq!(
            items[0]["author_role"],
            if i % 2 == 0 { "customer" } else { "agent" }
        );
        // Its clocks start when it was created, not when the request queued.
        let log = body(app.get(&route::sla_events(n), Some(&d.agent)).await).await;
        let starts: Vec<&Value> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "start")
            .map(|e| &e["at"])
            .collect();
        assert_eq!(starts.len(), 2, "first response and resolution: {log}");
        assert!(
            starts.iter().all(|at| **at == v["created_at"]),
            "{log} vs {v}"
        );
        // Searchable by its own words.
        let q = format!("/v1/search?q=%E4%B8%80%E6%8B%AC{i}%E7%95%AA");
        let hits = body(app.get(&q, Some(&d.agent)).await).await;
        assert!(
            hits["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["number"] == n),
            "thread {n} not found by its title: {hits}"
        );
        // Its audit entry names it and the request that created it.
        let audit = body(
            app.get(
                &format!("/v1/audit-events?action=thread.create&object_id={n}"),
                Some(&d.admin),
            )
            .await,
        )
        .await;
        let entries = audit["items"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{audit}");
        assert_eq!(entries[0]["request_id"], format!("req-batch-{i}"));
    }
    numbers.sort();
    assert_eq!(numbers, (1..=40).collect::<Vec<_>>());
    assert_eq!(app.count("outbox").await, 40);
    // They went to the database in a few transactions, not forty.
    assert_eq!(metric(app, "madoguchi_thread_batch_size_sum").await, 40.0);
    let batches = metric(app, "madoguchi_thread_batch_size_count").await;
    assert!(batches <= 5.0, "{batches} transactions for 40 threads");
    assert_eq!(metric(app, "madoguchi_thread_queue_depth").await, 0.0);
    let v = body(app.get("/v1/audit-events/verify", Some(&d.admin)).await).await;
    assert_eq!(v["ok"], true, "{v}");
}

/// A client that gives up on an idempotent create and retries gets the thread
/// that was made, once: the queued create is written without the client, and
/// the retry replays its answer.
#[tokio::test]
async fn an_abandoned_idempotent_create_is_replayed_on_retry() {
    let d = desk().await;
    let app = &d.app;
    let held = hold_thread_numbers(app).await;
    let body = json!({"title": "再送された問い合わせ", "body": "回線が切れたので再送します"});
    let first = app
        .client
        .post(app.url("/v1/threads"))
        .bearer_auth(&d.customer)
        .header("Idempotency-Key", "clinic-retry-1")
        .timeout(Duration::from_millis(300))
        .json(&body)
        .send()
        .await;
    assert!(
        first.is_err(),
        "the first attempt should time out while numbers are held"
    );
    held.rollback().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let retry = loop {
        let r = app
            .client
            .post(app.url("/v1/threads"))
            .bearer_auth(&d.customer)
            .header("Idempotency-Key", "clinic-retry-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        // While the first attempt is still being written the key is busy.
        if r.status() != StatusCode::CONFLICT || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let t: Value = retry.json().await.unwrap();
    assert_eq!(t["number"], 1);
    assert_eq!(t["title"], "再送された問い合わせ");
    assert_eq!(app.count("threads").await, 1);
}

/// A create that fails in the database fails alone: the requests written in the
/// same batch still get their threads.
#[tokio::test]
async fn a_failing_create_does_not_fail_its_neighbours() {
    let d = desk().await;
    let app = &d.app;
    if app.is_postgres() {
        app.exec(
            "CREATE FUNCTION refuse_test_title() RETURNS trigger AS $f$ BEGIN IF NEW.title = '壊れた件名' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $f$ LANGUAGE plpgsql",
            vec![],
        )
        .await;
        app.exec(
            "CREATE TRIGGER refuse_test_title BEFORE INSERT ON threads FOR EACH ROW EXECUTE FUNCTION refuse_test_title()",
            vec![],
        )
        .await;
    } else {
        app.exec(
            "CREATE TRIGGER refuse_test_title BEFORE INSERT ON threads WHEN NEW.title = '壊れた件名' BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
            vec![],
        )
        .await;
    }
    let held = hold_thread_numbers(app).await;
    let send = |i: usize| {
        let client = app.client.clone();
        let url = app.url("/v1/threads");
        let token = d.customer.clone();
        let title = if i == 7 {
            "壊れた件名".to_owned()
        } else {
            format!("正常な件名{i}")
        };
        tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"title": title, "body": "本文です"}))
                .send()
                .await
                .unwrap();
            (i, r.status(), r.text().await.unwrap())
        })
    };
    // The first create waits on the held lock alone; the rest queue behind it and
    // go to the database together, the bad one among them.
    let mut tasks = vec![send(0)];
    until_writer_has(app, 1.0).await;
    tasks.extend((1..20).map(send));
    until_writer_has(app, 20.0).await;
    assert_eq!(metric(app, "madoguchi_thread_queue_depth").await, 19.0);
    held.rollback().await.unwrap();
    for t in tasks {
        let (i, status, text) = t.await.unwrap();
        if i == 7 {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
            assert!(!text.contains("refused by test"), "{text}");
        } else {
            assert_eq!(status, StatusCode::CREATED, "{text}");
        }
    }
    assert_eq!(app.count("threads").await, 19);
    assert_eq!(
        metric(app, "madoguchi_thread_batch_failures_total").await,
        1.0,
        "the bad request's batch was retried one by one"
    );
    assert_eq!(app.count("posts").await, 19);
    let v = body(app.get("/v1/audit-events/verify", Some(&d.admin)).await).await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn each_warning_and_breach_is_recorded_exactly_once() {
    // Monday 2026-12-07 09:00.
    let mut d = desk_at(jst(2026, 12, 7, 9, 0)).await;
    // On PostgreSQL, three more instances sweep the same database at once.
    let siblings = if d.app.is_postgres() {
        vec![
            d.app.sibling().await,
            d.app.sibling().await,
            d.app.sibling().await,
        ]
    } else {
        Vec::new()
    };
    let threads = 20;
    for i in 0..threads {
        d.app
            .create_thread(
                &d.agent,
                &json!({"title": format!("期限切れ{i}"), "body": "本文", "organization_id": d.org}),
            )
            .await;
    }
    // A month later every clock (first response and resolution) is overdue.
    d.advance(chrono::Duration::days(30)).await;
    let app = &d.app;
    let clocks = 2 * threads;
    let started = Instant::now();
    while app.count("outbox WHERE event_type = 'sla.breached'").await < clocks {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not every breach recorded within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every instance sweeps twice more after the last event: one that would
    // record anything again has had its chance.
    let mut instances = vec![app.url("/metrics")];
    instances.extend(siblings.iter().map(|s| s.url("/metrics")));
    let sweeps = "madoguchi_sla_sweeps_total";
    let mut seen = Vec::new();
    for url in &instances {
        seen.push(metric_at(&app.client, url, sweeps).await);
    }
    for (url, before) in instances.iter().zip(seen) {
        let started = Instant::now();
        while metric_at(&app.client, url, sweeps).await < before + 2.0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{url} stopped sweeping"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut recorded = 0.0;
    for url in &instances {
        recorded += metric_at(&app.client, url, "madoguchi_sla_events_total").await;
    }
    assert_eq!(recorded, 2.0 * clocks as f64, "warnings and breaches");
    for (table, n) in [
        ("outbox WHERE event_type = 'sla.breached'", clocks),
        ("outbox WHERE event_type = 'sla.warning'", clocks),
        ("sla_clock_events WHERE event = 'breach'", clocks),
        ("sla_clock_events WHERE event = 'warning'", clocks),
        ("sla_clocks WHERE breached = TRUE", clocks),
    ] {
        assert_eq!(app.count(table).await, n, "{table}");
    }
}

#[tokio::test]
async fn a_reply_after_the_due_time_records_the_breach_the_sweeper_had_not_yet() {
    // The sweeper runs once a minute, so not while the clock has moved: the
    // reply alone must record what came due.
    let app = TestApp::spawn_with(&[("MADOGUCHI_SWEEP_MS", "60000")]).await;
    app.clock.set(jst(2026, 12, 7, 9, 0));
    let mut d = Desk::on(app).await;
    // Urgent: first response due in 30 business minutes (09:30), warned at 75 % (09:22:30).
    let t = d
        .app
        .create_thread(
            &d.customer,
            &json!({"title": "レセコンが起動しません", "body": "至急", "priority": "urgent"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    d.advance(chrono::Duration::minutes(45)).await;
    let r = d
        .app
        .reply(&d.agent, n, "ただいま確認しております。", Some("public"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let app = &d.app;
    // The log explains the figure: warned and breached at their own instants, then met.
    let log = body(app.get(&route::sla_events(n), Some(&d.admin)).await).await;
    let first: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["clock"] == "first_response")
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["at"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = |e: &str, at: &str| (e.to_owned(), at.to_owned());
    assert_eq!(
        first,
        vec![
            expect("start", "2026-12-07T09:00:00+09:00"),
            expect("warning", "2026-12-07T09:22:30+09:00"),
            expect("breach", "2026-12-07T09:30:00+09:00"),
            expect("met", "2026-12-07T09:45:00+09:00"),
        ]
    );
    // … and integrations hear of it, once.
    assert_eq!(
        app.count("outbox WHERE event_type = 'sla.breached'").await,
        1
    );
    assert_eq!(
        app.count("outbox WHERE event_type = 'sla.warning'").await,
        1
    );
    let v = body(app.get(&route::thread(n), Some(&d.agent)).await).await;
    assert_eq!(v["sla"]["first_response"]["state"], "met", "{v}");
}

/// The hand-traced clinic thread (see the domain's SLA tests), with every state
/// stored to and read back from the database between steps, on either backend.
#[tokio::test]
async fn a_traced_thread_survives_storage_between_every_step() {
    use chrono::TimeZone;
    use madoguchi_domain::{
        board::{
            sla::Author, Channel, Priority, SlaPolicySet, ThreadSla, ThreadStatus, Visibility,
        },
        calendar::{BusinessCalendar, CalendarRules},
    };
    use madoguchi_persistence::board::{self as store, ThreadRecord};

    let d = desk().await;
    // The servers live on the thread's Friday, so their sweeper has nothing due
    // to work on while the test stores its clocks step by step.
    d.app.clock.set(jst(2026, 4, 24, 17, 0));
    let db = &d.app.db;
    let cal = BusinessCalendar::build(CalendarRules::default());
    let jst = |m: u32, day: u32, h: u32, min: u32| {
        chrono::FixedOffset::east_opt(9 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, m, day, h, min, 0)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let set = SlaPolicySet::default();
    let policy = set.get(Priority::Normal);
    let created = jst(4, 24, 17, 0); // Friday 17:00
    let (sla, _) = ThreadSla::open(policy, created, &cal, 750).unwrap();
    let id = uuid::Uuid::now_v7();
    let t = ThreadRecord {
        id,
        number: 9001,
        organization_id: uuid::Uuid::parse_str(&d.org).unwrap(),
        title: "ゴールデンウィーク前の問い合わせ".into(),
        category: None,
        priority: Priority::Normal,
        status: ThreadStatus::New,
        channel: Channel::Board,
        assignee_id: None,
        created_by: None,
        follow_up_of: None,
        policy: set,
        tags: vec![],
        post_count: 1,
        public_post_count: 1,
        last_public_post_at: Some(created),
        last_public_by_staff: false,
        next_due_at: None,
        breached: false,
        version: 1,
        created_at: created,
        updated_at: created,
        public_version: 1,
        public_updated_at: created,
    };
    store::insert_thread(db, &t).await.unwrap();
    store::save_sla(db, id, &sla).await.unwrap();

    let mut sla = store::load_sla(db, id).await.unwrap();
    assert_eq!(sla.first_response.due_at, Some(jst(4, 27, 12, 30)));
    assert_eq!(sla.resolution.due_at, Some(jst(4, 30, 17, 0)));
    sla.on_post(
        ThreadStatus::New,
        Author::Staff,
        Visibility::Public,
        false,
        policy,
        jst(4, 24, 17, 20),
        &cal,
        750,
        &madoguchi_domain::board::ClockCause::Post("1".into()),
    )
    .unwrap();
    sla.on_status(
        ThreadStatus::Open,
        ThreadStatus::Pending,
        jst(4, 24, 17, 25),
        &cal,
        750,
    )
    .unwrap();
    store::save_sla(db, id, &sla).await.unwrap();

    let mut sla = store::load_sla(db, id).await.unwrap();
    assert_eq!(sla.first_response.used_seconds, 20 * 60);
    assert_eq!(sla.resolution.used_seconds, 25 * 60);
    assert_eq!(sla.resolution.due_at, None);
    sla.on_post(
        ThreadStatus::Pending,
        Author::Customer,
        Visibility::Public,
        true,
        policy,
        jst(4, 27, 10, 0),
        &cal,
        750,
        &madoguchi_domain::board::ClockCause::Post("1".into()),
    )
    .unwrap();
    store::save_sla(db, id, &sla).await.unwrap();

    let mut sla = store::load_sla(db, id).await.unwrap();
    assert_eq!(sla.resolution.due_at, Some(jst(5, 1, 9, 35)));
    assert_eq!(
        sla.next_reply.as_ref().unwrap().due_at,
        Some(jst(4, 27, 14, 0))
    );
    sla.on_status(
        ThreadStatus::Open,
        ThreadStatus::Resolved,
        jst(5, 7, 10, 0),
        &cal,
        750,
    )
    .unwrap();
    store::save_sla(db, id, &sla).await.unwrap();

    let sla = store::load_sla(db, id).await.unwrap();
    assert_eq!(sla.resolution.used_seconds, 2065 * 60);
    assert!(sla.resolution.breached);
}
