//! The web board in a real Chromium, driven over WebDriver (fantoccini +
//! chromedriver): what only a browser shows — the stylesheet allowed by the
//! CSP, keyboard use and visible focus, a page that fits a 375 px phone,
//! forms typed into and sent with Enter, and cookies kept between pages.
//!
//! Like the PostgreSQL suite, they run when they are given what they need:
//! `MADOGUCHI_CHROMEDRIVER` naming Debian's `chromedriver` (package
//! `chromium-driver`, with `chromium`, and `fonts-noto-cjk` for screenshots
//! that show Japanese). Without it each test says so and passes, so
//! `cargo test` on a fresh machine stays green; `.ci/run` installs the
//! packages and always sets it.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{Desk, AGENT_EMAIL, CUSTOMER_EMAIL, PASSWORD};

const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";

/// A chromedriver of this test's own, killed with it.
struct Chrome {
    driver: Child,
    url: String,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chrome {
    async fn start() -> Option<Chrome> {
        let Some(path) = std::env::var_os("MADOGUCHI_CHROMEDRIVER").map(PathBuf::from) else {
            eprintln!(
                "MADOGUCHI_CHROMEDRIVER is not set (e.g. /usr/bin/chromedriver): browser test not run"
            );
            return None;
        };
        assert!(
            path.exists(),
            "MADOGUCHI_CHROMEDRIVER={} does not exist",
            path.display()
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not answer"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Chrome { driver, url })
    }

    /// A new browser window of its own (its own cookies), 1280 px wide.
    async fn browser(&self) -> Client {
        let binary =
            std::env::var("MADOGUCHI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--lang=ja-JP", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,900"],
                "prefs": {"intl.accept_languages": "ja-JP,ja"},
            }),
        );
        // Plain HTTP to a local chromedriver: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The page's text; empty while a navigation replaces the page (polling
/// callers try again).
async fn body(c: &Client) -> String {
    c.execute(
        "return document.body ? document.body.innerText : '';",
        vec![],
    )
    .await
    .ok()
    .and_then(|v| v.as_str().map(str::to_owned))
    .unwrap_or_default()
}

/// Wait (without a fixed sleep) until the page's path is `path`.
async fn wait_for_path(c: &Client, path: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if c.current_url().await.unwrap().path() == path {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached {path}: at {}",
            c.current_url().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn type_into(c: &Client, css: &str, s: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(s)
        .await
        .unwrap();
}

async fn login(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(c, "#email", email).await;
    // Sent from the keyboard: Enter in the password field.
    type_into(c, "#password", &format!("{PASSWORD}{ENTER}")).await;
}

/// The page is no wider than the window: nothing to scroll sideways.
async fn fits(c: &Client) -> (i64, i64) {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
}

/// The whole page (the window stretched to its height, then put back), saved
/// under `target/tmp/board-screenshots/` for people to look at; nothing is
/// compared against it.
async fn keep_screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("board-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    let Ok((width, height)) = c.get_window_size().await else {
        return;
    };
    let page = c
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(height);
    let _ = c
        .set_window_size(width as u32, page.clamp(600, 4000) as u32)
        .await;
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
    let _ = c.set_window_size(width as u32, height as u32).await;
}

fn jst(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().into()
}

#[tokio::test]
async fn a_clinic_asks_in_chromium_by_keyboard_and_on_a_phone_wide_screen() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    // Wednesday 2026-12-02 10:00 JST: high priority, 60 business minutes.
    let d = Desk::at(jst("2026-12-02T10:00:00+09:00")).await;
    let base = d.app.url("");
    let c = chrome.browser().await;
    login(&c, &base, CUSTOMER_EMAIL).await;
    wait_for_path(&c, "/threads").await;

    // The CSP lets the board's own stylesheet in: the header has its colour.
    let header = c.find(Locator::Css("header.top")).await.unwrap();
    let bg = header.css_value("background-color").await.unwrap();
    assert!(bg.contains("18, 59, 109"), "stylesheet applied: {bg}");

    // Keyboard: the first Tab reaches the skip link, which shows itself
    // with a visible focus outline.
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await
    .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys(TAB)
        .await
        .unwrap();
    let focused = c
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e); \
             return [e.textContent, s.outlineStyle, e.getBoundingClientRect().left];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused[0], "本文へ移動");
    assert_eq!(focused[1], "solid", "focus is visible");
    assert!(
        focused[2].as_f64().unwrap() >= 0.0,
        "on screen when focused"
    );

    // A new inquiry with the title forgotten: the message beside the field
    // in Japanese, the body still there.
    c.find(Locator::LinkText("新規お問い合わせ"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/threads/new").await;
    let body_text = "今朝から受付端末で予約画面が開きません。\n再起動しても同じです。";
    type_into(&c, "#body", body_text).await;
    c.find(Locator::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, "/threads").await;
    assert_eq!(text(&c, "#title-error").await, "件名を入力してください。");
    let kept = c
        .find(Locator::Css("#body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(body_text));
    let invalid = c
        .find(Locator::Css("#title"))
        .await
        .unwrap()
        .attr("aria-describedby")
        .await
        .unwrap();
    assert_eq!(invalid.as_deref(), Some("title-error"));

    // Enter in the title sends the form.
    c.find(Locator::Css("#priority"))
        .await
        .unwrap()
        .select_by_value("high")
        .await
        .unwrap();
    type_into(
        &c,
        "#title",
        &format!("予約システムにログインできません{ENTER}"),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&c).await.contains("までに回答予定") {
        assert!(tokio::time::Instant::now() < deadline, "{}", body(&c).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let thread_url = c.current_url().await.unwrap().to_string();
    assert_eq!(
        text(&c, ".due-text").await,
        "12月2日(水) 11:00 までに回答予定"
    );
    assert!(body(&c)
        .await
        .contains("平日 9:00–17:30、土日祝・年末年始を除く"));
    keep_screenshot(&c, "clinic-thread-1280").await;
    c.goto(&format!("{base}/threads")).await.unwrap();
    keep_screenshot(&c, "clinic-threads-1280").await;
    c.goto(&thread_url).await.unwrap();

    // A reply form whose CSRF token was taken out is refused, and nothing
    // is posted.
    let posts = d.app.count("posts").await;
    c.execute(
        "document.querySelector('form.card input[name=csrf]').remove();",
        vec![],
    )
    .await
    .unwrap();
    type_into(&c, "#body", "トークンのない送信").await;
    c.find(Locator::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&c).await.contains("送信できませんでした") {
        assert!(tokio::time::Instant::now() < deadline, "{}", body(&c).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(d.app.count("posts").await, posts);

    // Another clinic's office manager, given this thread's address, gets
    // the 404 page (not a refusal that would confirm it exists).
    d.other_clinic().await;
    let other = chrome.browser().await;
    login(&other, &base, crate::helpers::OTHER_CUSTOMER_EMAIL).await;
    wait_for_path(&other, "/threads").await;
    other.goto(&thread_url).await.unwrap();
    assert_eq!(text(&other, "h1").await, "ページが見つかりません");
    other.close().await.unwrap();

    // A 375 px phone: every page the clinic uses fits without sideways scrolling.
    c.set_window_size(375, 812).await.unwrap();
    for path in ["/threads", "/threads/new", "/notices"] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let (scroll, client) = fits(&c).await;
        assert!(client <= 400, "a narrow window: {client}");
        assert!(scroll <= client, "{path}: {scroll} px wide in {client} px");
    }
    c.goto(&format!("{base}/threads")).await.unwrap();
    keep_screenshot(&c, "clinic-threads-375").await;
    c.goto(&thread_url).await.unwrap();
    let (scroll, client) = fits(&c).await;
    assert!(
        scroll <= client,
        "the thread: {scroll} px wide in {client} px"
    );
    keep_screenshot(&c, "clinic-thread-375").await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_agent_answers_from_the_queue_and_the_clinic_never_sees_the_note() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let d = Desk::at(jst("2026-12-02T10:00:00+09:00")).await;
    let base = d.app.url("");
    let t = d
        .app
        .create_thread(
            &d.customer,
            &json!({"title": "レセプト出力が止まります", "body": "月末の出力で止まります。", "priority": "urgent"}),
        )
        .await;
    let number = t["number"].as_i64().unwrap();

    let agent = chrome.browser().await;
    login(&agent, &base, AGENT_EMAIL).await;
    wait_for_path(&agent, "/queue").await;
    // Urgent: 30 business minutes from 10:00, the time left written out
    // (the server's clock runs on from 10:00 while the test works).
    keep_screenshot(&agent, "agent-queue-1280").await;
    let row = text(&agent, "table.queue tbody tr").await;
    assert!(row.contains("レセプト出力が止まります"), "{row}");
    assert!(row.contains("初回回答期限 12月2日(水) 10:30"), "{row}");
    assert!(
        row.contains("残り 30分") || row.contains("残り 29分"),
        "{row}"
    );
    agent
        .find(Locator::LinkText(&format!(
            "#{number} レセプト出力が止まります"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&agent, &format!("/threads/{number}")).await;

    // An internal note: chosen with its label, as a person does.
    agent
        .find(Locator::Css("input[name=visibility][value=internal]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(
        &agent,
        "#body",
        "月末バッチのロック待ちの可能性。ログを確認する。",
    )
    .await;
    agent
        .find(Locator::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&agent)
        .await
        .contains("内部メモ（お客様には表示されません）")
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Then the public answer.
    type_into(
        &agent,
        "#body",
        "ご不便をおかけしております。原因を確認しています。",
    )
    .await;
    agent
        .find(Locator::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&agent).await.contains("原因を確認しています。") {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    keep_screenshot(&agent, "agent-thread-1280").await;

    // An incident notice, published from the notices page to every clinic.
    agent.goto(&format!("{base}/notices")).await.unwrap();
    agent
        .find(Locator::Css("details.publish summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(&agent, "#n-title", "レセプト作成機能の障害").await;
    type_into(
        &agent,
        "#n-body",
        "月末のレセプト出力が停止する障害を調査しています。",
    )
    .await;
    agent
        .find(Locator::Css("details.publish button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&agent).await.contains("お知らせを掲載しました") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            body(&agent).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let clinic = chrome.browser().await;
    login(&clinic, &base, CUSTOMER_EMAIL).await;
    wait_for_path(&clinic, "/threads").await;
    clinic
        .goto(&format!("{base}/threads/{number}"))
        .await
        .unwrap();
    let page = body(&clinic).await;
    assert!(page.contains("原因を確認しています。"));
    assert!(
        !page.contains("ロック待ち"),
        "the note never reaches the clinic"
    );
    assert!(!page.contains("内部メモ"));
    assert_eq!(
        text(&clinic, ".due-text").await,
        "回答済みです。追加のご質問があれば返信してください。"
    );
    // The notice is a banner on every page the clinic opens.
    let banner = text(&clinic, ".banner").await;
    assert!(
        banner.contains("【重大】障害のお知らせ： レセプト作成機能の障害"),
        "{banner}"
    );
    agent.close().await.unwrap();
    clinic.close().await.unwrap();
}

#[tokio::test]
async fn a_reply_typed_when_the_session_ran_out_survives_the_login_in_chromium() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let d = Desk::at(jst("2026-12-02T10:00:00+09:00")).await;
    let base = d.app.url("");
    let t = d
        .app
        .create_thread(
            &d.customer,
            &json!({"title": "紹介状の印刷", "body": "印刷すると文字化けします。"}),
        )
        .await;
    let number = t["number"].as_i64().unwrap();
    let c = chrome.browser().await;
    login(&c, &base, CUSTOMER_EMAIL).await;
    wait_for_path(&c, "/threads").await;
    c.goto(&format!("{base}/threads/{number}")).await.unwrap();
    let reply = "プリンタはEPSONのLP-S180です。\nドライバは最新です。";
    type_into(&c, "#body", reply).await;

    // The office manager answered the phone: 31 idle minutes pass.
    d.app.clock.advance(chrono::Duration::minutes(31));
    c.find(Locator::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, &format!("/threads/{number}/posts")).await;
    assert!(body(&c)
        .await
        .contains("ログインの有効期限が切れました。もう一度ログインしてください。"));
    type_into(&c, "#email", CUSTOMER_EMAIL).await;
    type_into(&c, "#password", &format!("{PASSWORD}{ENTER}")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&c).await.contains("入力内容は残っています") {
        assert!(tokio::time::Instant::now() < deadline, "{}", body(&c).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kept = c
        .find(Locator::Css("#body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.map(|k| k.replace("\r\n", "\n")).as_deref(),
        Some(reply),
        "the typed reply is back"
    );
    c.find(Locator::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&c, &format!("/threads/{number}")).await;
    let agent = d.app.login(AGENT_EMAIL, PASSWORD).await;
    let posts = d
        .app
        .get(&format!("/v1/threads/{number}/posts"), Some(&agent))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let bodies: Vec<&str> = posts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["body"].as_str())
        .collect();
    assert_eq!(
        bodies.iter().filter(|b| **b == reply).count(),
        1,
        "posted once: {bodies:?}"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn the_staff_and_admin_pages_fit_a_phone_and_take_a_closure_from_the_keyboard() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let d = Desk::at(jst("2026-12-02T10:00:00+09:00")).await;
    d.app
        .create_thread(
            &d.customer,
            &json!({"title": "検査結果の取り込みが遅い", "body": "朝から取り込みに時間がかかります。", "priority": "high"}),
        )
        .await;
    let base = d.app.url("");
    let c = chrome.browser().await;
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(&c, "#email", crate::helpers::ADMIN_EMAIL).await;
    type_into(
        &c,
        "#password",
        &format!("{}{ENTER}", crate::helpers::ADMIN_PASSWORD),
    )
    .await;
    wait_for_path(&c, "/queue").await;

    // A closure, typed and sent from the keyboard on the calendar page.
    c.goto(&format!("{base}/admin/calendar?year=2026"))
        .await
        .unwrap();
    type_into(&c, "#date", "12282026").await;
    type_into(&c, "#note", &format!("社内研修{ENTER}")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !body(&c).await.contains("12月28日(月) 休業（社内研修）") {
        assert!(tokio::time::Instant::now() < deadline, "{}", body(&c).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    keep_screenshot(&c, "admin-calendar-1280").await;

    c.set_window_size(375, 812).await.unwrap();
    for path in [
        "/queue",
        "/calls/new",
        "/notices",
        "/admin/organizations",
        "/admin/users",
        "/admin/sla",
        "/admin/calendar?year=2026",
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        let (scroll, client) = fits(&c).await;
        assert!(client <= 400, "a narrow window: {client}");
        assert!(scroll <= client, "{path}: {scroll} px wide in {client} px");
        let name = path.trim_start_matches('/').replace(['/', '?', '='], "-");
        keep_screenshot(&c, &format!("{name}-375")).await;
    }
    c.close().await.unwrap();
}
