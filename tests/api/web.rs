//! The web board over HTTP, as a browser uses it (cookies, forms, redirects):
//! sessions, CSRF, authorization like the API's, Japanese pages, nothing typed
//! lost. The same flows in a real Chromium are in `browser.rs`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Desk, TestApp, AGENT_EMAIL, CUSTOMER_EMAIL, OTHER_CUSTOMER_EMAIL, PASSWORD};

/// One person's browser: its own cookie jar.
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: StatusCode,
    pub url: String,
    pub html: String,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self
            .html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + "name=\"csrf\" value=\"".len();
        let end = self.html[at..].find('"').unwrap() + at;
        self.html[at..end].to_owned()
    }

    /// The text of the textarea named `name`.
    pub fn textarea(&self, name: &str) -> String {
        let open = format!("name=\"{name}\"");
        let at = self.html.find(&open).expect("the textarea");
        let start = self.html[at..].find('>').unwrap() + at + 1;
        let end = self.html[start..].find("</textarea>").unwrap() + start;
        self.html[start..end].to_owned()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            base: app.url(""),
        }
    }

    async fn page(r: reqwest::Response) -> Page {
        let status = r.status();
        let url = r.url().path().to_owned();
        let html = r.text().await.unwrap();
        Page { status, url, html }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Send a form as a browser on this site does (`Sec-Fetch-Site: same-origin`).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.http
                .post(format!("{}{path}", self.base))
                .header("sec-fetch-site", "same-origin")
                .header("origin", self.base.trim_end_matches('/'))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Send a form and keep the answer as it came (a download, say).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("sec-fetch-site", "same-origin")
            .header("origin", self.base.trim_end_matches('/'))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        let login = self.get("/login").await;
        self.post(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}

async fn open_thread(b: &Browser, title: &str, body: &str) -> (Page, i64) {
    let form = b.get("/threads/new").await;
    let page = b
        .post(
            "/threads",
            &[
                ("csrf", &form.csrf()),
                ("title", title),
                ("body", body),
                ("priority", "high"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let number = page
        .url
        .strip_prefix("/threads/")
        .and_then(|n| n.parse().ok())
        .expect("redirected to the new thread");
    (page, number)
}

#[tokio::test]
async fn a_clinic_posts_in_japanese_and_sees_when_the_answer_is_due() {
    // Wednesday 2026-12-02 10:00 JST: a high-priority thread's first response
    // (60 business minutes by default) is due at 11:00 the same day.
    let d = Desk::at(
        chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00+09:00")
            .unwrap()
            .into(),
    )
    .await;
    let clinic = Browser::new(&d.app);
    let home = clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    assert_eq!(home.url, "/threads");
    assert!(home.html.contains("<html lang=\"ja\">"));
    let (page, number) = open_thread(
        &clinic,
        "予約システムにログインできません",
        "今朝から受付端末で予約画面が開きません。",
    )
    .await;
    assert!(page.html.contains("予約システムにログインできません"));
    assert!(page
        .html
        .contains("今朝から受付端末で予約画面が開きません。"));
    let policy: serde_json::Value = d
        .app
        .get("/v1/sla-policies", Some(&d.admin))
        .await
        .json()
        .await
        .unwrap();
    let high = policy
        .as_array()
        .and_then(|a| a.iter().find(|p| p["priority"] == "high"))
        .map(|p| p["first_response_minutes"].as_i64().unwrap());
    assert_eq!(
        high,
        Some(60),
        "the hand-worked due time assumes 60 minutes"
    );
    assert!(
        page.html.contains("12月2日(水) 11:00 までに回答予定"),
        "{}",
        page.html
    );
    assert!(page
        .html
        .contains("平日 9:00–17:30、土日祝・年末年始を除く"));
    // The list shows it too, with its state.
    let list = clinic.get("/threads").await;
    assert!(list
        .html
        .contains(&format!("#{number} 予約システムにログインできません")));
    assert!(list.html.contains("新規"));
    // The board's search finds it by a two-character word.
    let found = clinic.get("/threads?q=%E4%BA%88%E7%B4%84").await;
    assert!(found.html.contains(&format!("/threads/{number}")));
}

#[tokio::test]
async fn an_agent_answers_and_the_clinic_sees_the_reply_but_never_the_note() {
    let d = Desk::new().await;
    let clinic = Browser::new(&d.app);
    clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    let (_, number) = open_thread(
        &clinic,
        "FAXが送信できない",
        "昨日から紹介状のFAXがエラーになります。",
    )
    .await;
    let agent = Browser::new(&d.app);
    let queue = agent.login(AGENT_EMAIL, PASSWORD).await;
    assert_eq!(queue.url, "/queue");
    let first = queue.html.find("<tbody>").unwrap();
    assert!(queue.html[first..].contains(&format!("#{number} FAXが送信できない")));
    assert!(queue.html.contains("残り"));
    let path = format!("/threads/{number}");
    let page = agent.get(&path).await;
    let after = agent
        .post(
            &format!("{path}/posts"),
            &[
                ("csrf", &page.csrf()),
                ("version", "1"),
                ("body", "回線業者の障害の可能性あり。確認中。"),
                ("visibility", "internal"),
                ("assign", "me"),
            ],
        )
        .await;
    assert_eq!(after.status, StatusCode::OK);
    assert!(after.html.contains("内部メモ"));
    assert!(after.html.contains("回線業者の障害の可能性あり"));
    let version = {
        let v: serde_json::Value = d
            .app
            .get(&format!("/v1/threads/{number}"), Some(&d.agent))
            .await
            .json()
            .await
            .unwrap();
        v["version"].to_string()
    };
    agent
        .post(
            &format!("{path}/posts"),
            &[
                ("csrf", &page.csrf()),
                ("version", &version),
                (
                    "body",
                    "ご不便をおかけしております。FAX回線を確認しています。",
                ),
                ("visibility", "public"),
            ],
        )
        .await;
    let seen = clinic.get(&path).await;
    assert!(seen.html.contains("ご不便をおかけしております。"));
    assert!(!seen.html.contains("回線業者の障害の可能性あり"));
    assert!(!seen.html.contains("内部メモ"));
    // The reply was written by the same service as the API's: the same audit action.
    let n = d
        .app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'post.create' AND object_id = '{number}' AND outcome = 'success'"
        ))
        .await;
    assert_eq!(n, 2);
}

#[tokio::test]
async fn a_form_without_its_token_or_from_another_site_is_refused_and_writes_nothing() {
    let d = Desk::new().await;
    let clinic = Browser::new(&d.app);
    clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    let before = d.app.count("threads").await;
    let no_token = clinic
        .post("/threads", &[("title", "偽の投稿"), ("body", "本文")])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let form = clinic.get("/threads/new").await;
    let cross = clinic
        .http
        .post(format!("{}/threads", clinic.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf", form.csrf().as_str()),
            ("title", "偽の投稿"),
            ("body", "本文"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    // A token from another session is no good either.
    let other = Browser::new(&d.app);
    other.login(CUSTOMER_EMAIL, PASSWORD).await;
    let theirs = other.get("/threads/new").await.csrf();
    let stolen = clinic
        .post(
            "/threads",
            &[("csrf", &theirs), ("title", "偽の投稿"), ("body", "本文")],
        )
        .await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);
    assert_eq!(d.app.count("threads").await, before);
}

#[tokio::test]
async fn another_clinics_thread_is_the_not_found_page() {
    let d = Desk::new().await;
    let (_, other_token) = d.other_clinic().await;
    let theirs = d
        .app
        .create_thread(
            &other_token,
            &json!({"title": "他院の相談", "body": "見えてはいけない"}),
        )
        .await;
    let clinic = Browser::new(&d.app);
    clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    let page = clinic.get(&format!("/threads/{}", theirs["number"])).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("ページが見つかりません"));
    assert!(!page.html.contains("見えてはいけない"));
    // A customer is not shown the agents' queue.
    let queue = clinic.get("/queue").await;
    assert_eq!(queue.status, StatusCode::FORBIDDEN);
    let _ = OTHER_CUSTOMER_EMAIL;
}

#[tokio::test]
async fn a_mistake_or_an_expired_session_keeps_what_was_typed() {
    let mut d = Desk::new().await;
    let clinic = Browser::new(&d.app);
    clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    let form = clinic.get("/threads/new").await;
    let body = "レセプト送信の手順を教えてください。\n月末に毎回エラーが出ます。";
    let page = clinic
        .post(
            "/threads",
            &[("csrf", &form.csrf()), ("title", ""), ("body", body)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("件名を入力してください。"));
    assert_eq!(page.textarea("body"), body);

    // Idle past the timeout (30 minutes by default): the session has ended, and
    // the text survives the login that follows.
    d.advance(chrono::Duration::minutes(31)).await;
    let page = clinic
        .post(
            "/threads",
            &[
                ("csrf", &form.csrf()),
                ("title", "レセプト送信"),
                ("body", body),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.html.contains("ログインの有効期限が切れました"));
    let again = clinic
        .post(
            "/login",
            &[
                ("csrf", &page.csrf()),
                ("email", CUSTOMER_EMAIL),
                ("password", PASSWORD),
                ("next", "/threads/new"),
                ("title", "レセプト送信"),
                ("body", body),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.html.contains("ログインし直しました"));
    assert!(again.html.contains("value=\"レセプト送信\""));
    assert_eq!(again.textarea("body"), body);
}

#[tokio::test]
async fn logging_out_ends_the_session_at_once() {
    let d = Desk::new().await;
    let clinic = Browser::new(&d.app);
    let home = clinic.login(CUSTOMER_EMAIL, PASSWORD).await;
    let out = clinic.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.url, "/login");
    let page = clinic.get("/threads").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.html.contains("ログイン"));
    // A wrong password says so in Japanese, without telling which part was wrong.
    let wrong = clinic.login(CUSTOMER_EMAIL, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("メールアドレスまたはパスワード"));
}

/// The queue's "まもなく" band starts where the warning does, at the share
/// `MADOGUCHI_SLA_WARNING_PERCENT` sets, not at a fixed quarter remaining.
#[tokio::test]
async fn the_queue_band_follows_the_configured_warning_share() {
    // Monday 2026-12-07 09:00 JST; a normal thread's first response is due in
    // 240 business minutes. 130 minutes in: past a 50 % warning, short of 75 %.
    let start = crate::helpers::jst(2026, 12, 7, 9, 0);
    for (percent, soon) in [("50", true), ("75", false)] {
        let app = TestApp::spawn_with(&[("MADOGUCHI_SLA_WARNING_PERCENT", percent)]).await;
        app.clock.set(start);
        let d = Desk::on(app).await;
        d.app
            .create_thread(
                &d.customer,
                &json!({"title": "予約画面が開かない", "body": "朝から表示されません"}),
            )
            .await;
        d.app.clock.advance(chrono::Duration::minutes(130));
        let agent = Browser::new(&d.app);
        let queue = agent.login(AGENT_EMAIL, PASSWORD).await;
        assert_eq!(queue.url, "/queue");
        assert!(queue.html.contains("予約画面が開かない"), "{}", queue.html);
        assert_eq!(
            queue.html.contains("まもなく"),
            soon,
            "warning at {percent} %: {}",
            queue.html
        );
    }
}

/// A search filtered by status is filtered before the page is cut: the page
/// is full, and its next link carries the filter to the rest.
#[tokio::test]
async fn a_status_filtered_search_page_is_full_and_its_next_link_keeps_the_filter() {
    let d = Desk::on(TestApp::spawn_with(&[("MADOGUCHI_USER_RATE_PER_MINUTE", "0")]).await).await;
    let app = &d.app;
    let mut pending: Vec<i64> = Vec::new();
    for i in 0..120 {
        let t = app
            .create_thread(
                &d.customer,
                &json!({"title": format!("予約の件 その{i}"), "body": "予約が取れません"}),
            )
            .await;
        if i % 2 == 0 {
            let n = t["number"].as_i64().unwrap();
            let r = app
                .patch_thread(&d.agent, n, &json!({"status": "pending"}))
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            pending.push(n);
        }
    }
    let agent = Browser::new(app);
    agent.login(AGENT_EMAIL, PASSWORD).await;
    let rows = |html: &str| html.matches("<li class=\"thread-row\">").count();
    // 予約
    let first = agent
        .get("/threads?q=%E4%BA%88%E7%B4%84&status=pending")
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(rows(&first.html), 50, "a full page");
    assert!(
        !first.html.contains("status st-new"),
        "only pending threads"
    );
    let next = first
        .html
        .split("<p><a href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/threads?q="))
        .expect("a next link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(next.contains("status=pending"), "{next}");
    let second = agent.get(&next).await;
    assert!(
        !second.html.contains("status st-new"),
        "only pending threads"
    );
    let numbers = |html: &str| -> std::collections::BTreeSet<i64> {
        html.split("<a href=\"/threads/")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect()
    };
    let (one, two) = (numbers(&first.html), numbers(&second.html));
    // The rest of the pending threads are on the next page. (The last thread
    // of a page can show again at the top of the next when another of its
    // documents matched too: the cursor is a document, not a thread.)
    assert_eq!(two.difference(&one).count(), 10, "{two:?}");
    let all: std::collections::BTreeSet<i64> = one.union(&two).copied().collect();
    assert_eq!(all, pending.iter().copied().collect());
}

/// A staff reply that also sets a status is one change, checked against the
/// version the agent saw: after someone else changed the thread, nothing is
/// written and the reply's text is still in the form.
#[tokio::test]
async fn a_stale_reply_with_a_status_change_writes_nothing_and_keeps_the_text() {
    let d = Desk::new().await;
    let app = &d.app;
    let t = app
        .create_thread(
            &d.customer,
            &json!({"title": "レセプトが送れない", "body": "エラーが出ます"}),
        )
        .await;
    let n = t["number"].as_i64().unwrap();
    let agent = Browser::new(app);
    agent.login(AGENT_EMAIL, PASSWORD).await;
    // The reply form as the page showed it, sent with a status and a text.
    let reply = |page: Page, body: String| {
        let agent = &agent;
        async move {
            let version = page
                .html
                .split("name=\"version\" value=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap()
                .to_owned();
            agent
                .post(
                    &format!("/threads/{n}/posts"),
                    &[
                        ("csrf", &page.csrf()),
                        ("version", &version),
                        ("status", "pending"),
                        ("body", &body),
                    ],
                )
                .await
        }
    };
    let status_now = || async {
        crate::helpers::ok_json(app.get(&format!("/v1/threads/{n}"), Some(&d.agent)).await).await
            ["status"]
            .clone()
    };
    let page = agent.get(&format!("/threads/{n}")).await;
    // Meanwhile another agent raises the priority.
    let r = app
        .patch_thread(&d.admin, n, &json!({"priority": "high"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let posts_before = app.count("posts").await;
    let text = "お手数ですが、エラー画面の写真をお送りください。";
    let answer = reply(page, text.to_owned()).await;
    assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(answer.textarea("body"), text);
    assert_eq!(app.count("posts").await, posts_before, "no reply written");
    assert_eq!(status_now().await, "new", "no status written");

    // On the version now shown: a reply too long to post leaves the status
    // as it was too (one change, all or nothing).
    let page = agent.get(&format!("/threads/{n}")).await;
    let refused = reply(page, "長".repeat(10_001)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_now().await, "new", "the status waits for its reply");

    // Both land together.
    let page = agent.get(&format!("/threads/{n}")).await;
    let done = reply(page, text.to_owned()).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains(text));
    assert_eq!(status_now().await, "pending");
    assert_eq!(app.count("posts").await, posts_before + 1);
}

/// A vendor with 10,001 clinics: the queue names the last one registered,
/// and a picker that cannot list them all finds it by part of its name.
#[tokio::test]
async fn the_ten_thousand_and_first_clinic_is_named_and_can_be_picked() {
    let d = Desk::on(TestApp::spawn_with(&[("MADOGUCHI_USER_RATE_PER_MINUTE", "0")]).await).await;
    let app = &d.app;
    let admin = d.admin.clone();
    let mut pending = Vec::new();
    for i in 0..10_000 {
        let req = app
            .client
            .post(app.url("/v1/organizations"))
            .bearer_auth(&admin)
            .json(&json!({"name": format!("あおい医院 {i:05}")}));
        pending.push(tokio::spawn(async move {
            req.send().await.expect("create").status()
        }));
        if pending.len() == 64 {
            for h in pending.drain(..) {
                assert_eq!(h.await.unwrap(), StatusCode::CREATED);
            }
        }
    }
    for h in pending {
        assert_eq!(h.await.unwrap(), StatusCode::CREATED);
    }
    let (org, customer) = app
        .clinic(&admin, "わかば内科クリニック", "office@wakaba.test")
        .await;
    app.create_thread(
        &customer,
        &json!({"title": "処方箋が印刷できない", "body": "プリンターが止まります"}),
    )
    .await;
    let agent = Browser::new(app);
    let queue = agent.login(AGENT_EMAIL, PASSWORD).await;
    assert_eq!(queue.url, "/queue");
    assert!(
        queue.html.contains("わかば内科クリニック"),
        "the row names the clinic"
    );
    // The picker lists 200 of 10,002 and offers the name search.
    assert!(queue.html.contains("name=\"org_q\""));
    let org_options = queue
        .html
        .split("id=\"organization_id\"")
        .nth(1)
        .and_then(|r| r.split("</select>").next())
        .map(|select| select.matches("<option value=\"").count())
        .unwrap_or(0);
    // "すべて" and at most 200 clinics.
    assert_eq!(org_options, 201);
    // わかば
    let found = agent.get("/queue?org_q=%E3%82%8F%E3%81%8B%E3%81%B0").await;
    assert!(
        found
            .html
            .contains(&format!("<option value=\"{org}\">わかば内科クリニック")),
        "{}",
        found.html
    );
    // Filtered by it, the clinic stays chosen, and so in the call log's picker.
    let filtered = agent.get(&format!("/queue?organization_id={org}")).await;
    assert!(filtered
        .html
        .contains(&format!("<option value=\"{org}\" selected>")));
    let call = agent
        .get("/calls/new?org_q=%E3%82%8F%E3%81%8B%E3%81%B0")
        .await;
    assert!(call.html.contains("わかば内科クリニック"));
}
