//! The board's staff and admin pages over HTTP, as a browser sends them:
//! the business calendar, clinics and users, SLA targets, phone calls and
//! incident notices. Each change must land exactly as the REST route's would.

use reqwest::StatusCode;

use crate::helpers::{
    ok_json, Desk, ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_EMAIL, CUSTOMER_EMAIL, PASSWORD,
};
use crate::web::Browser;

/// The `id` of the item of a REST list whose `key` is `value`.
async fn id_of(d: &Desk, path: &str, key: &str, value: &str) -> String {
    let list = ok_json(d.app.get(path, Some(&d.admin)).await).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == value)
        .and_then(|x| x["id"].as_str())
        .expect("listed")
        .to_owned()
}

fn jst(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().into()
}

#[tokio::test]
async fn the_calendar_page_shows_the_years_holidays_and_closures_move_due_times() {
    // Thursday 2026-12-03 17:00 JST. A high-priority thread (60 business
    // minutes to a first answer) uses 17:00–17:30 today; the other 30 minutes
    // fall on the next open day.
    let d = Desk::at(jst("2026-12-03T17:00:00+09:00")).await;
    let admin = Browser::new(&d.app);
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let page = admin.get("/admin/calendar?year=2026").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    // Worked by hand from the law: 2026-05-03 (憲法記念日) is a Sunday, May 4
    // and 5 are holidays too, so the substitute holiday is Wednesday May 6.
    // 敬老の日 is the third Monday of September (21st) and 秋分の日 the 23rd,
    // so Tuesday the 22nd, between two holidays, is 国民の休日.
    assert!(page.html.contains("5月6日(水) 振替休日"), "{}", page.html);
    assert!(page.html.contains("9月22日(火) 国民の休日"));
    assert!(page.html.contains("9月21日(月) 敬老の日"));
    assert!(page.html.contains("2月23日(月) 天皇誕生日"));

    let (_, number) = {
        let t = d
            .app
            .create_thread(
                &d.customer,
                &serde_json::json!({"title": "FAX送信ができません", "body": "本日午後から送れません。", "priority": "high"}),
            )
            .await;
        (t.clone(), t["number"].as_i64().unwrap())
    };
    let clinic = Browser::new(&d.app);
    clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    let before = clinic.get(&format!("/threads/{number}")).await;
    assert!(
        before.html.contains("12月4日(金) 9:30 までに回答予定"),
        "{}",
        before.html
    );

    // Friday closed for maintenance: the rest moves to Monday 09:30.
    let added = admin
        .post(
            "/admin/calendar/closures",
            &[
                ("csrf", &page.csrf()),
                ("date", "2026-12-04"),
                ("kind", "closed"),
                ("note", "システムメンテナンス"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.html);
    assert!(added
        .html
        .contains("12月4日(金) 休業（システムメンテナンス）"));
    let moved = clinic.get(&format!("/threads/{number}")).await;
    assert!(
        moved.html.contains("12月7日(月) 9:30 までに回答予定"),
        "{}",
        moved.html
    );
    let days = ok_json(
        d.app
            .get("/v1/calendar/days?from=2026-12-04&to=2026-12-04", None)
            .await,
    )
    .await;
    assert_eq!(
        (&days[0]["closed_reason"], &days[0]["note"]),
        (
            &serde_json::json!("closure"),
            &serde_json::json!("システムメンテナンス")
        ),
        "the REST calendar agrees"
    );

    // A mistake in the hours: a Japanese message beside the field, the note
    // kept, nothing written.
    let overrides = d.app.count("calendar_overrides").await;
    let wrong = admin
        .post(
            "/admin/calendar/closures",
            &[
                ("csrf", &page.csrf()),
                ("date", "2026-12-28"),
                ("kind", "hours"),
                ("hours", "9時から12時"),
                ("note", "仕事納め"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong
        .html
        .contains("営業時間は 09:00-12:00 の形で入力してください"));
    assert!(wrong.html.contains("value=\"仕事納め\""));
    assert_eq!(d.app.count("calendar_overrides").await, overrides);
    let special = admin
        .post(
            "/admin/calendar/closures",
            &[
                ("csrf", &page.csrf()),
                ("date", "2026-12-28"),
                ("kind", "hours"),
                ("hours", "09:00-12:00"),
                ("note", "仕事納め"),
            ],
        )
        .await;
    assert!(special
        .html
        .contains("12月28日(月) 特別営業 9:00–12:00（仕事納め）"));

    // Removing the closure gives Friday back.
    let removed = admin
        .post(
            "/admin/calendar/closures/2026-12-04/delete",
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(!removed.html.contains("休業（システムメンテナンス）"));
    let back = clinic.get(&format!("/threads/{number}")).await;
    assert!(back.html.contains("12月4日(金) 9:30 までに回答予定"));

    // The calendar's admin pages are an admin's: an agent gets the refusal page.
    let agent = Browser::new(&d.app);
    agent.login(AGENT_EMAIL, PASSWORD).await;
    assert_eq!(
        agent.get("/admin/calendar").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_admin_registers_a_clinic_and_its_manager_deactivates_and_resets_a_password() {
    let d = Desk::new().await;
    let admin = Browser::new(&d.app);
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let orgs = admin.get("/admin/organizations").await;
    let created = admin
        .post(
            "/admin/organizations",
            &[
                ("csrf", &orgs.csrf()),
                ("name", "みどり小児科"),
                ("contract_status", "active"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.html.contains("医療機関を登録しました"));
    let org_id = id_of(&d, "/v1/organizations", "name", "みどり小児科").await;

    // A short password: the message in Japanese, what was typed kept
    // (except the password), no user written.
    let users = d.app.count("users").await;
    let short = admin
        .post(
            "/admin/users",
            &[
                ("csrf", &orgs.csrf()),
                ("display_name", "山田 花子"),
                ("email", "yamada@midori.test"),
                ("role", "customer"),
                ("organization_id", &org_id),
                ("password", "みじかい"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short
        .html
        .contains("パスワードは12文字以上で入力してください。"));
    assert!(short.html.contains("value=\"山田 花子\""));
    assert!(short.html.contains("value=\"yamada@midori.test\""));
    assert_eq!(d.app.count("users").await, users);

    let first_password = "みどり小児科の受付用パスワード";
    let ok = admin
        .post(
            "/admin/users",
            &[
                ("csrf", &orgs.csrf()),
                ("display_name", "山田 花子"),
                ("email", "yamada@midori.test"),
                ("role", "customer"),
                ("organization_id", &org_id),
                ("password", first_password),
            ],
        )
        .await;
    assert!(ok.html.contains("利用者を登録しました"), "{}", ok.html);
    let manager = Browser::new(&d.app);
    assert_eq!(
        manager
            .login("yamada@midori.test", first_password)
            .await
            .url,
        "/threads"
    );

    // Deactivation ends the manager's session at once and refuses logins.
    let listed = admin
        .get(&format!("/admin/users?organization_id={org_id}"))
        .await;
    assert!(listed.html.contains("yamada@midori.test"));
    assert!(
        !listed.html.contains(CUSTOMER_EMAIL),
        "filtered to the clinic"
    );
    let user_id = id_of(&d, "/v1/users", "email", "yamada@midori.test").await;
    let version = |html: &str| {
        let form = html
            .find(&format!("/admin/users/{user_id}"))
            .expect("the user's row");
        let marker = "name=\"version\" value=\"";
        let at = html[form..].find(marker).unwrap() + form + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let off = admin
        .post(
            &format!("/admin/users/{user_id}"),
            &[
                ("csrf", &listed.csrf()),
                ("version", &version(&listed.html)),
                ("action", "deactivate"),
            ],
        )
        .await;
    assert!(off.html.contains("利用者を無効にしました"), "{}", off.html);
    let ended = manager.get("/threads").await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "the login page");
    assert!(ended.html.contains("name=\"password\""));
    assert_eq!(
        manager
            .login("yamada@midori.test", first_password)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Reactivate and reset the password: the new one works, the old does not.
    let listed = admin
        .get(&format!("/admin/users?organization_id={org_id}"))
        .await;
    admin
        .post(
            &format!("/admin/users/{user_id}"),
            &[
                ("csrf", &listed.csrf()),
                ("version", &version(&listed.html)),
                ("action", "activate"),
            ],
        )
        .await;
    let listed = admin
        .get(&format!("/admin/users?organization_id={org_id}"))
        .await;
    let stale = version(&listed.html);
    let reset = admin
        .post(
            &format!("/admin/users/{user_id}"),
            &[
                ("csrf", &listed.csrf()),
                ("version", &stale),
                ("action", "password"),
                ("password", "あたらしいパスワードです１２"),
            ],
        )
        .await;
    assert!(
        reset.html.contains("パスワードを再設定しました"),
        "{}",
        reset.html
    );
    assert_eq!(
        manager
            .login("yamada@midori.test", first_password)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        manager
            .login("yamada@midori.test", "あたらしいパスワードです１２")
            .await
            .url,
        "/threads"
    );
    // A form from before that change is refused as stale, and says so.
    let conflict = admin
        .post(
            &format!("/admin/users/{user_id}"),
            &[
                ("csrf", &listed.csrf()),
                ("version", &stale),
                ("action", "deactivate"),
            ],
        )
        .await;
    assert_eq!(conflict.status, StatusCode::PRECONDITION_FAILED);
    assert!(conflict
        .html
        .contains("ほかの管理者が先にこの利用者を変更しました"));

    // The same audit actions as the REST routes, with the admin as actor.
    let audited = d
        .app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'user.update' AND object_id = '{user_id}' AND outcome = 'success'"
        ))
        .await;
    assert_eq!(audited, 3, "deactivate, activate, password");

    // A clinic's user never reaches the admin pages.
    assert_eq!(
        manager.get("/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn sla_targets_are_edited_with_their_limits_and_apply_to_new_threads() {
    let d = Desk::new().await;
    let admin = Browser::new(&d.app);
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = admin.get("/admin/sla").await;
    assert_eq!(page.status, StatusCode::OK);
    // The defaults, in words: urgent 30 minutes / 4 hours.
    assert!(
        page.html.contains("初回回答 30分・解決 4時間"),
        "{}",
        page.html
    );

    let zero = admin
        .post(
            "/admin/sla/urgent",
            &[
                ("csrf", &page.csrf()),
                ("first_response_minutes", "0"),
                ("next_reply_minutes", ""),
                ("resolution_minutes", "240"),
            ],
        )
        .await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(zero
        .html
        .contains("初回回答の目標は1〜100000分の範囲で入力してください。"));
    let policies = ok_json(d.app.get("/v1/sla-policies", Some(&d.admin)).await).await;
    let urgent = |p: &serde_json::Value| {
        p.as_array()
            .unwrap()
            .iter()
            .find(|x| x["priority"] == "urgent")
            .cloned()
            .unwrap()
    };
    assert_eq!(urgent(&policies)["first_response_minutes"], 30);

    let saved = admin
        .post(
            "/admin/sla/urgent",
            &[
                ("csrf", &page.csrf()),
                ("first_response_minutes", "15"),
                ("next_reply_minutes", ""),
                ("resolution_minutes", "120"),
            ],
        )
        .await;
    assert!(saved.html.contains("SLA目標を保存しました"));
    let policies = ok_json(d.app.get("/v1/sla-policies", Some(&d.admin)).await).await;
    let u = urgent(&policies);
    assert_eq!(
        (
            u["first_response_minutes"].as_i64(),
            u["next_reply_minutes"].as_i64(),
            u["resolution_minutes"].as_i64()
        ),
        (Some(15), Some(15), Some(120)),
        "an empty next reply is the first-response target"
    );
}

#[tokio::test]
async fn an_agent_logs_a_call_as_a_thread_and_the_clinic_hears_of_the_incident() {
    let d = Desk::at(jst("2026-12-02T10:00:00+09:00")).await;
    let agent = Browser::new(&d.app);
    agent.login(AGENT_EMAIL, PASSWORD).await;
    let form = agent.get("/calls/new").await;
    assert_eq!(form.status, StatusCode::OK);
    // The start defaults to now, in Tokyo.
    assert!(
        form.html.contains("value=\"2026-12-02T10:00\""),
        "{}",
        form.html
    );

    let calls = d.app.count("calls").await;
    let bad = agent
        .post(
            "/calls",
            &[
                ("csrf", &form.csrf()),
                ("organization_id", &d.org),
                ("caller_name", "田中 一郎"),
                ("caller_number", "でんわ"),
                ("direction", "inbound"),
                ("answered", "yes"),
                ("started_at", "2026-12-02T09:50"),
                ("summary", "FAXが届かないとのお電話"),
                ("link", "new"),
                ("title", "電話：FAXが届かない"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("電話番号の形式で入力してください"));
    assert!(bad.html.contains("value=\"田中 一郎\""));
    assert!(bad.html.contains("FAXが届かないとのお電話"));
    assert_eq!(d.app.count("calls").await, calls);

    let logged = agent
        .post(
            "/calls",
            &[
                ("csrf", &form.csrf()),
                ("organization_id", &d.org),
                ("caller_name", "田中 一郎"),
                ("caller_number", "03-6413-0612"),
                ("direction", "inbound"),
                ("answered", "yes"),
                ("started_at", "2026-12-02T09:50"),
                ("ended_at", "2026-12-02T09:58"),
                ("summary", "FAXが届かないとのお電話"),
                ("link", "new"),
                ("title", "電話：FAXが届かない"),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(logged.status, StatusCode::OK, "{}", logged.html);
    let number: i64 = logged
        .url
        .strip_prefix("/threads/")
        .and_then(|n| n.parse().ok())
        .expect("redirected to the new thread");
    let thread = ok_json(
        d.app
            .get(&format!("/v1/threads/{number}"), Some(&d.agent))
            .await,
    )
    .await;
    assert_eq!(thread["channel"], "phone");
    assert_eq!(thread["title"], "電話：FAXが届かない");
    // The started time was read in Tokyo: 09:50 JST.
    let call = ok_json(d.app.get("/v1/calls", Some(&d.agent)).await).await;
    assert_eq!(call["items"][0]["started_at"], "2026-12-02T09:50:00+09:00");

    // A notice for this clinic, linked to the thread.
    let notices = agent.get("/notices").await;
    let published = agent
        .post(
            "/notices",
            &[
                ("csrf", &notices.csrf()),
                ("title", "FAX送信サービスの障害"),
                (
                    "body",
                    "一部の医療機関でFAXが送信できない障害が発生しています。",
                ),
                ("severity", "major"),
                ("status", "investigating"),
                ("audience", "some"),
                ("organization_ids", &d.org),
                ("threads", &number.to_string()),
            ],
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.html);
    assert!(published.html.contains("お知らせを掲載しました"));

    let clinic = Browser::new(&d.app);
    let home = clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    assert!(home.html.contains("【重大】障害のお知らせ"), "the banner");
    assert!(home.html.contains("FAX送信サービスの障害"));
    let (_, other) = d.other_clinic().await;
    let elsewhere = ok_json(d.app.get("/v1/announcements", Some(&other)).await).await;
    assert_eq!(
        elsewhere["items"],
        serde_json::json!([]),
        "addressed to one clinic"
    );

    // Its update, marked resolved: the clinic reads it, and the banner goes.
    let id = id_of(&d, "/v1/announcements", "title", "FAX送信サービスの障害").await;
    let notices = agent.get("/notices").await;
    agent
        .post(
            &format!("/notices/{id}/updates"),
            &[
                ("csrf", &notices.csrf()),
                ("body", "FAX送信は復旧しました。ご不便をおかけしました。"),
                ("status", "resolved"),
            ],
        )
        .await;
    let read = clinic.get("/notices").await;
    assert!(read.html.contains("FAX送信は復旧しました。"));
    assert!(read.html.contains("復旧"));
    assert!(
        !read.html.contains("障害のお知らせ："),
        "no banner once resolved"
    );
    // The update was posted to the linked thread, where the clinic asked.
    let t = clinic.get(&format!("/threads/{number}")).await;
    assert!(t.html.contains("FAX送信は復旧しました。"), "{}", t.html);
}

#[tokio::test]
async fn an_admin_hands_back_and_erases_an_ended_clinic_from_the_board() {
    let d = Desk::new().await;
    let t = d
        .app
        .create_thread(
            &d.customer,
            &serde_json::json!({"title": "紹介状の書式", "body": "田中より"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let admin = Browser::new(&d.app);
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    // An active clinic offers neither.
    let orgs = admin.get("/admin/organizations").await;
    assert!(!orgs
        .html
        .contains(&format!("/admin/organizations/{}/erase", d.org)));
    let version = ok_json(
        d.app
            .get(&format!("/v1/organizations/{}", d.org), Some(&d.admin))
            .await,
    )
    .await["version"]
        .to_string();
    admin
        .post(
            &format!("/admin/organizations/{}", d.org),
            &[
                ("csrf", &orgs.csrf()),
                ("contract_status", "ended"),
                ("version", &version),
            ],
        )
        .await;
    let orgs = admin.get("/admin/organizations").await;
    assert!(orgs.html.contains("データを書き出す（ZIP）"));
    assert!(orgs.html.contains("個人データを削除する"));

    let zip = admin
        .post_raw(
            &format!("/admin/organizations/{}/export", d.org),
            &[("csrf", &orgs.csrf())],
        )
        .await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");

    // A name that is not the clinic's: told so, nothing erased.
    let wrong = admin
        .post(
            &format!("/admin/organizations/{}/erase", d.org),
            &[("csrf", &orgs.csrf()), ("confirm", "さくら")],
        )
        .await;
    assert!(wrong
        .html
        .contains("医療機関名が一致しないため、削除しませんでした"));
    let seen = ok_json(d.app.get(&format!("/v1/threads/{n}"), Some(&d.agent)).await).await;
    assert_eq!(seen["title"], "紹介状の書式");

    let done = admin
        .post(
            &format!("/admin/organizations/{}/erase", d.org),
            &[("csrf", &orgs.csrf()), ("confirm", crate::helpers::CLINIC)],
        )
        .await;
    assert!(
        done.html.contains("個人データを削除しました"),
        "{}",
        done.html
    );
    let seen = ok_json(d.app.get(&format!("/v1/threads/{n}"), Some(&d.agent)).await).await;
    assert_eq!(seen["title"], "（削除済み）");
    // The clinic's manager can no longer sign in to the board.
    let manager = Browser::new(&d.app);
    let page = manager.login(CUSTOMER_EMAIL, PASSWORD).await;
    assert!(
        page.html
            .contains("メールアドレスまたはパスワード（確認コード）が正しくありません"),
        "{}",
        page.html
    );
}
