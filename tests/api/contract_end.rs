//! A clinic's data at the end of its contract: the archive handed back, and the
//! erasure after it, which must leave none of the clinic's personal strings
//! anywhere in the database while the audit trail still verifies.

use std::io::Read;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::helpers::{ok_json, problem, route, Desk, TestApp, PASSWORD};

const CLINIC: &str = "かえで小児科クリニック";
const EMAIL: &str = "kaedeno.misaki@kaede.example";
const NAME: &str = "楓野 美咲";
/// The title the clinic first wrote; an agent renamed it to [`TITLE`].
const FIRST_TITLE: &str = "美咲の予約の件";
const TITLE: &str = "楓野さんの予約変更について";
const CATEGORY: &str = "楓野カテゴリ";
const BODY: &str = "090-1111-2222 に折り返しをお願いします";
const NOTE: &str = "楓野様は前回も同じ件で連絡あり";
const CALLER: &str = "楓野 健一";
const NUMBER: &str = "+819011112222";

/// What the erasure must remove, as written by this test: names, the email's
/// local part, the phone number in both spellings, words only the titles and
/// bodies hold.
const PERSONAL: &[&str] = &[
    "楓野",
    "美咲",
    "健一",
    "kaedeno",
    "090-1111-2222",
    "9011112222",
    "予約変更",
    "折り返し",
];

/// A clinic with a person, a thread with a reply and an internal note, a call,
/// and a notice addressed to it; and another clinic beside it.
struct Clinic {
    d: Desk,
    org: String,
    customer: String,
    number: i64,
    other_number: i64,
    /// Each request body sent about the clinic, by its OpenAPI schema.
    written: Vec<(&'static str, Value)>,
}

/// Send `body` as `schema` and keep it in `written`.
async fn send(
    app: &TestApp,
    written: &mut Vec<(&'static str, Value)>,
    schema: &'static str,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> Value {
    let mut req = app.req(method.clone(), path, Some(token));
    if method == Method::PATCH {
        let cur = app.get(path, Some(token)).await;
        let etag = cur.headers()["etag"].to_str().unwrap().to_owned();
        req = req.header("If-Match", etag);
    }
    let r = req.json(&body).send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{schema}: {status} {v}");
    written.push((schema, body));
    v
}

async fn clinic(app: TestApp) -> Clinic {
    let d = Desk::on(app).await;
    let app = &d.app;
    let org = app.create_org(&d.admin, CLINIC).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            "/v1/users",
            Some(&d.admin),
            &json!({"email": EMAIL, "display_name": NAME, "role": "customer", "password": PASSWORD, "organization_id": org}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let customer = app.login(EMAIL, PASSWORD).await;
    let mut written = vec![(
        "CreateUser",
        json!({"email": EMAIL, "display_name": NAME, "password": PASSWORD}),
    )];
    let w = &mut written;
    let thread = send(
        app,
        w,
        "CreateThread",
        Method::POST,
        "/v1/threads",
        &customer,
        json!({"title": FIRST_TITLE, "body": BODY, "category": CATEGORY, "tags": ["美咲さん"]}),
    )
    .await;
    let number = thread["number"].as_i64().unwrap();
    // The agent takes the name out of the title and tags it.
    send(
        app,
        w,
        "UpdateThread",
        Method::PATCH,
        &route::thread(number),
        &d.agent,
        json!({"title": TITLE, "category": CATEGORY, "tags": ["楓野様"]}),
    )
    .await;
    send(
        app,
        w,
        "CreatePost",
        Method::POST,
        &route::posts(number),
        &d.agent,
        json!({"body": "楓野様、承知しました。明日折り返します。"}),
    )
    .await;
    app.reply(&d.agent, number, NOTE, Some("internal")).await;
    let call = send(
        app,
        w,
        "CreateCall",
        Method::POST,
        "/v1/calls",
        &d.agent,
        json!({"organization_id": org, "caller_name": CALLER, "caller_number": NUMBER,
               "direction": "inbound", "answered": true, "started_at": "2026-12-01T10:00:00+09:00",
               "ended_at": "2026-12-01T10:04:30+09:00", "summary": "楓野様から予約変更の相談",
               "thread_number": number}),
    )
    .await;
    send(
        app,
        w,
        "UpdateCall",
        Method::PATCH,
        &route::call(call["id"].as_str().unwrap()),
        &d.agent,
        json!({"summary": "楓野様から予約変更の相談（折り返し済み）"}),
    )
    .await;
    let users = ok_json(app.get("/v1/users?limit=200", Some(&d.admin)).await).await;
    let uid = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == EMAIL)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(
        app,
        w,
        "UpdateUser",
        Method::PATCH,
        &route::user(&uid),
        &d.admin,
        json!({"display_name": NAME}),
    )
    .await;
    for (title, to) in [
        ("予約システム障害", json!([org])),
        ("他院向けのお知らせ", json!([d.org])),
    ] {
        let r = app
            .post(
                "/v1/announcements",
                Some(&d.agent),
                &json!({"title": title, "body": "現在調査中です。", "severity": "major", "status": "investigating", "organization_ids": to}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // さくら内科 (the desk's clinic) beside it.
    let other_number = app
        .create_thread(
            &d.customer,
            &json!({"title": "さくらの請求書", "body": "さくらの本文"}),
        )
        .await["number"]
        .as_i64()
        .unwrap();
    Clinic {
        d,
        org,
        customer,
        number,
        other_number,
        written,
    }
}

async fn export(app: &TestApp, token: &str, org: &str) -> reqwest::Response {
    app.req(
        Method::POST,
        &format!("/v1/organizations/{org}/export"),
        Some(token),
    )
    .send()
    .await
    .unwrap()
}

fn member(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut f = zip
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the archive"));
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

fn lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn the_archive_holds_what_the_clinic_has_and_nothing_else() {
    let c = clinic(TestApp::spawn().await).await;
    let app = &c.d.app;
    let r = export(app, &c.d.admin, &c.org).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"madoguchi-"),
        "{disposition}"
    );
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a readable ZIP");

    let manifest: Value = serde_json::from_str(&member(&mut zip, "manifest.json")).unwrap();
    assert_eq!(manifest["organization_id"], c.org.as_str());
    assert_eq!(manifest["organization_name"], CLINIC);
    assert!(manifest["generated_at"]
        .as_str()
        .unwrap()
        .ends_with("+09:00"));

    let users = lines(&member(&mut zip, "users.jsonl"));
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["email"], EMAIL);
    assert_eq!(users[0]["display_name"], NAME);
    assert!(users[0].get("password_hash").is_none());

    // The clinic's own thread, as it sees it (the internal note not counted).
    let threads = lines(&member(&mut zip, "threads.jsonl"));
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["number"], c.number);
    assert_eq!(threads[0]["title"], TITLE);
    let seen = ok_json(app.get(&route::thread(c.number), Some(&c.customer)).await).await;
    assert_eq!(threads[0]["post_count"], seen["post_count"]);
    assert_eq!(threads[0]["version"], seen["version"]);
    assert_eq!(threads[0]["post_count"], 2);

    let posts = lines(&member(&mut zip, "posts.jsonl"));
    let bodies: Vec<&str> = posts.iter().map(|p| p["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, [BODY, "楓野様、承知しました。明日折り返します。"]);
    assert!(posts.iter().all(|p| p["visibility"] == "public"));

    let events = lines(&member(&mut zip, "sla_events.jsonl"));
    let api_events = ok_json(
        app.get(&route::sla_events(c.number), Some(&c.d.agent))
            .await,
    )
    .await;
    assert_eq!(events.len(), api_events.as_array().unwrap().len());
    assert!(events.iter().all(|e| e["thread_number"] == c.number));
    assert!(events
        .iter()
        .any(|e| e["clock"] == "first_response" && e["event"] == "met"));

    let calls = lines(&member(&mut zip, "calls.jsonl"));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["caller_name"], CALLER);
    assert_eq!(calls[0]["caller_number"], NUMBER);
    assert_eq!(calls[0]["duration_seconds"], 270);
    assert_eq!(calls[0]["thread_number"], c.number);
    let csv = member(&mut zip, "calls.csv");
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert!(rows[0].starts_with("通話ID,開始,終了,通話秒数"));
    assert!(rows[1].contains(CALLER));
    // A spreadsheet would read "+81…" as a formula; the cell keeps it as text.
    assert!(rows[1].contains(&format!("'{NUMBER}")));
    assert!(rows[1].contains(",270,"));

    let notices = lines(&member(&mut zip, "notices.jsonl"));
    let titles: Vec<&str> = notices
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["予約システム障害"]);

    // Nothing of the other clinic, nor the internal note, anywhere in it.
    for i in 0..zip.len() {
        let name = zip.by_index(i).unwrap().name().to_owned();
        let text = member(&mut zip, &name);
        for foreign in ["さくら", NOTE, "他院向け"] {
            assert!(!text.contains(foreign), "{name} holds {foreign}");
        }
    }
    assert_eq!(manifest["files"]["posts.jsonl"], 2);
    assert_eq!(manifest["files"]["calls.csv"], 1);

    // Audited: who took it, and that it completed.
    let trail = ok_json(
        app.get(
            &format!("/v1/audit-events?object_id={}", c.org),
            Some(&c.d.admin),
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"organization.export"), "{actions:?}");
    let finished = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "organization.export_finished")
        .expect("the end of the export is audited");
    assert_eq!(finished["outcome"], "success");
    assert_eq!(finished["detail"]["threads.jsonl"], 1);
}

#[tokio::test]
async fn only_admins_export_and_erase_and_only_ended_contracts_with_their_name() {
    let c = clinic(TestApp::spawn().await).await;
    let app = &c.d.app;
    for token in [&c.d.agent, &c.customer] {
        problem(export(app, token, &c.org).await, 403, "forbidden").await;
    }
    let unknown = uuid_like();
    problem(export(app, &c.d.admin, &unknown).await, 404, "not-found").await;

    let before = crate::helpers::without_audit(&app.snapshot().await);
    problem(
        erase(app, &c.d.agent, &c.org, CLINIC).await,
        403,
        "forbidden",
    )
    .await;
    // Still a customer: refused, whatever is typed.
    problem(
        erase(app, &c.d.admin, &c.org, CLINIC).await,
        409,
        "contract-not-ended",
    )
    .await;
    assert_eq!(before, crate::helpers::without_audit(&app.snapshot().await));
    end_contract(app, &c.d.admin, &c.org).await;
    let before = crate::helpers::without_audit(&app.snapshot().await);
    let p = problem(
        erase(app, &c.d.admin, &c.org, "さくら内科クリニック").await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "confirm_organization_name");
    problem(
        erase(app, &c.d.admin, &unknown, CLINIC).await,
        404,
        "not-found",
    )
    .await;
    // The refusals erased nothing: the rows are all there, the text as written.
    assert_eq!(before, crate::helpers::without_audit(&app.snapshot().await));
    let t = ok_json(app.get(&route::thread(c.number), Some(&c.d.agent)).await).await;
    assert_eq!(t["title"], TITLE);
    assert_eq!(
        app.login_raw(EMAIL, PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn erase(app: &TestApp, token: &str, org: &str, name: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/organizations/{org}/erase"),
        Some(token),
        &json!({"confirm_organization_name": name}),
    )
    .await
}

fn uuid_like() -> String {
    "0190f0c0-0000-7000-8000-000000000000".to_owned()
}

async fn end_contract(app: &TestApp, admin: &str, org: &str) {
    let current = app.get(&route::organization(org), Some(admin)).await;
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let r = app
        .req(Method::PATCH, &route::organization(org), Some(admin))
        .header("If-Match", etag)
        .json(&json!({"contract_status": "ended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Every (table, column) of the database whose text holds `needle`, read as
/// text: blobs and byte columns as UTF-8, search vectors as their lexemes.
async fn holders(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let db = &app.db;
    let backend = db.get_database_backend();
    let mut columns: Vec<(String, String, String)> = Vec::new();
    if app.is_postgres() {
        let rows = db
            .query_all(Statement::from_string(
                backend,
                "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty \
                 FROM information_schema.columns WHERE table_schema = current_schema()",
            ))
            .await
            .unwrap();
        for r in rows {
            columns.push((
                r.try_get("", "t").unwrap(),
                r.try_get("", "c").unwrap(),
                r.try_get("", "ty").unwrap(),
            ));
        }
    } else {
        let tables = db
            .query_all(Statement::from_string(
                backend,
                "SELECT name FROM sqlite_master WHERE type = 'table'",
            ))
            .await
            .unwrap();
        for t in tables {
            let table: String = t.try_get("", "name").unwrap();
            let cols = db
                .query_all(Statement::from_string(
                    backend,
                    format!("SELECT name FROM pragma_table_info('{table}')"),
                ))
                .await
                .unwrap();
            for c in cols {
                columns.push((table.clone(), c.try_get("", "name").unwrap(), String::new()));
            }
        }
    }
    assert!(
        columns.len() > 100,
        "every column of every table: {}",
        columns.len()
    );
    let mut found = Vec::new();
    for (table, column, ty) in &columns {
        let as_text = match (app.is_postgres(), ty.as_str()) {
            (true, "bytea") => format!("convert_from(\"{column}\", 'UTF8')"),
            (true, _) => format!("\"{column}\"::text"),
            (false, _) => format!("CAST(\"{column}\" AS TEXT)"),
        };
        for needle in needles {
            let sql =
                format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE {as_text} LIKE '%{needle}%'");
            if app.scalar(&sql).await > 0 {
                found.push(format!("{table}.{column} ∋ {needle}"));
            }
        }
    }
    found
}

/// Request schemas that carry nothing of a clinic's people: the contract
/// party's own name (kept for the contract record), credentials (stored
/// hashed), the vendor's notices and settings.
const NOT_CLINIC_TEXT: &[&str] = &[
    "LoginRequest",
    "ChangePassword",
    "TotpCode",
    "CreateOrganization",
    "UpdateOrganization",
    "EraseOrganization",
    "SecuritySettings",
    "PutSlaPolicy",
    "CreateClosure",
    "CreateAnnouncement",
    "UpdateAnnouncement",
    "CreateNoticeUpdate",
];

/// Whether a schema property is text a person types (not an id, a time, a
/// choice from a list, or a secret stored hashed).
fn free_text(name: &str, p: &Value) -> bool {
    if name.contains("password") {
        return false;
    }
    let plain = |v: &Value| {
        v["type"] == "string"
            && v.get("format").is_none()
            && v.get("enum").is_none()
            && v.get("$ref").is_none()
            && v.get("allOf").is_none()
    };
    plain(p) || (p["type"] == "array" && plain(&p["items"]))
}

/// Every free-text field of every request schema that can carry a clinic's
/// people was written by this test with a personal string, so the scans below
/// cover it: a field added later fails here until the test writes it, and
/// then the scan fails until erasure reaches it.
async fn every_free_text_field_was_written(app: &TestApp, written: &[(&'static str, Value)]) {
    let spec = ok_json(app.get("/openapi.json", None).await).await;
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut missing = Vec::new();
    for op in spec["paths"].as_object().unwrap().values() {
        for (method, op) in op.as_object().unwrap() {
            if !["post", "put", "patch"].contains(&method.as_str()) {
                continue;
            }
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for media in content.values() {
                let Some(name) = media["schema"]["$ref"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                else {
                    continue;
                };
                if NOT_CLINIC_TEXT.contains(&name) {
                    continue;
                }
                let props = schemas[name]["properties"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                for (field, _) in props.iter().filter(|(f, p)| free_text(f, p)) {
                    let covered = written.iter().any(|(schema, body)| {
                        *schema == name
                            && PERSONAL
                                .iter()
                                .any(|needle| body[field].to_string().contains(needle))
                    });
                    if !covered {
                        missing.push(format!("{name}.{field}"));
                    }
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "free-text fields this test never writes with personal text: {missing:?}"
    );
}

/// PostgreSQL: the personal strings held by any version of any row (live or
/// dead) of any table, read page by page (`pageinspect`; the test's role is a
/// superuser).
async fn row_versions_holding(app: &TestApp, needles: &[&str]) -> Vec<String> {
    app.exec("CREATE EXTENSION IF NOT EXISTS pageinspect", vec![])
        .await;
    let db = &app.db;
    let tables = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT c.relname::text AS name FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
        ))
        .await
        .unwrap();
    let mut found = Vec::new();
    for t in tables {
        let table: String = t.try_get("", "name").unwrap();
        for needle in needles {
            let n = app
                .scalar(&format!(
                    "SELECT COUNT(*) AS n FROM generate_series(0, (pg_relation_size('\"{table}\"') / 8192)::int - 1) b, \
                     heap_page_items(get_raw_page('\"{table}\"', b)) i \
                     WHERE i.t_data IS NOT NULL AND position(convert_to('{needle}', 'UTF8') IN i.t_data) > 0"
                ))
                .await;
            if n > 0 {
                found.push(format!("{table} ∋ {needle}"));
            }
        }
    }
    found
}

/// The personal strings still present in the bytes of the database's files:
/// on SQLite the file and its write-ahead log; on PostgreSQL every table's,
/// index's and TOAST table's file after a checkpoint (the test's role is a
/// superuser, as CI's is).
async fn raw_holders(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    if app.is_postgres() {
        app.exec("CHECKPOINT", vec![]).await;
        let db = &app.db;
        let rels = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT c.oid::bigint AS oid, c.relname::text AS name FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname IN (current_schema(), 'pg_toast') AND c.relkind IN ('r', 'i', 't') \
                 AND c.relfilenode <> 0",
            ))
            .await
            .unwrap();
        for r in rels {
            let oid: i64 = r.try_get("", "oid").unwrap();
            let name: String = r.try_get("", "name").unwrap();
            for needle in needles {
                let n = app
                    .scalar(&format!(
                        "SELECT COUNT(*) AS n FROM (SELECT 1) x WHERE position(convert_to('{needle}', 'UTF8') \
                         IN pg_read_binary_file(pg_relation_filepath({oid}::oid))) > 0"
                    ))
                    .await;
                if n > 0 {
                    found.push(format!("{name} ∋ {needle}"));
                }
            }
        }
        return found;
    }
    let url = app.database_url();
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    for file in [path.clone(), format!("{path}-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in needles {
            let n = needle.as_bytes();
            if bytes.windows(n.len()).any(|w| w == n) {
                found.push(format!("{file} ∋ {needle}"));
            }
        }
    }
    found
}

#[tokio::test]
async fn erasure_leaves_no_personal_string_and_the_trail_verifies() {
    // Loopback webhooks, so a delivery body holds the clinic's thread title.
    let app = TestApp::spawn_with(&[
        ("MADOGUCHI_WEBHOOK_ALLOW_HTTP", "true"),
        ("MADOGUCHI_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("MADOGUCHI_WEBHOOK_POLL_MS", "50"),
    ])
    .await;
    let mut c = clinic(app).await;
    let app = &c.d.app;
    let admin = &c.d.admin;
    let w = &mut c.written;

    // Everything else that touches the clinic's people: a failed login, a
    // search for a name, a key, a subscription, a retried create.
    assert_eq!(
        app.login_raw(EMAIL, "wrong password 楓野").await.status(),
        401
    );
    ok_json(
        app.get("/v1/search?q=%E6%A5%93%E9%87%8E", Some(&c.d.agent))
            .await,
    )
    .await; // 楓野
    let key = send(
        app,
        w,
        "CreateApiKey",
        Method::POST,
        "/v1/api-keys",
        admin,
        json!({"name": "楓野さん用の連携", "scopes": ["threads:read"], "organization_id": c.org}),
    )
    .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/threads", Some(&secret)).await.status(), 200);
    let hook = send(
        app,
        w,
        "CreateWebhook",
        Method::POST,
        "/v1/webhooks",
        admin,
        json!({"url": "http://127.0.0.1:9/hook?clinic=kaedeno", "description": "楓野さんの院内システム",
               "event_types": ["*"], "organization_id": c.org}),
    )
    .await;
    send(
        app,
        w,
        "UpdateWebhook",
        Method::PATCH,
        &format!("/v1/webhooks/{}", hook["id"].as_str().unwrap()),
        admin,
        json!({"url": "http://127.0.0.1:9/hook?clinic=kaedeno&v=2", "description": "楓野さんの院内システム（新）"}),
    )
    .await;
    every_free_text_field_was_written(app, w).await;
    let r = app
        .req(Method::POST, "/v1/threads", Some(&c.customer))
        .header("Idempotency-Key", "kaede-0001")
        .json(&json!({"title": "楓野の二件目", "body": "楓野より"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app
        .scalar("SELECT COUNT(*) AS n FROM outbox_pending WHERE consumer = 'webhooks'")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "events fanned out to deliveries"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(app.count("webhook_deliveries").await > 0);

    // The scan sees them before: it can find what it looks for.
    let before = holders(app, PERSONAL).await;
    for place in [
        "users.display_name ∋ 楓野",
        "users.email ∋ kaedeno",
        "threads.title ∋ 楓野",
        "posts.body ∋ 折り返し",
        "posts.author_name ∋ 美咲",
        "calls.caller_name ∋ 健一",
        "calls.caller_number ∋ 9011112222",
        "outbox.payload ∋ 美咲",
        "webhook_deliveries.body ∋ 楓野",
        "idempotency_keys.body ∋ 楓野",
        "threads.category ∋ 楓野",
        "thread_tags.tag ∋ 楓野",
        "api_keys.name ∋ 楓野",
        "webhooks.description ∋ 楓野",
        "webhooks.url ∋ kaedeno",
    ] {
        assert!(
            before.iter().any(|h| h == place),
            "{place} not in {before:?}"
        );
    }

    // The throttle names the account by a keyed hash only.
    assert!(
        !before.iter().any(|h| h.starts_with("login_throttle")),
        "{before:?}"
    );

    // SQLite's FTS5 index keeps its terms in binary pages the scan cannot read:
    // ask it directly (a bigram of the name).
    let fts = "SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH '楓野'";
    if !app.is_postgres() {
        assert!(app.scalar(fts).await > 0);
        // The renamed title's own bigram (美咲の…) left the index at the rename.
        assert_eq!(
            app.scalar("SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH '咲の'")
                .await,
            0
        );
    }

    end_contract(app, admin, &c.org).await;
    let erased = ok_json(erase(app, admin, &c.org, &format!(" {CLINIC} ")).await).await;
    assert_eq!(erased["organization_id"], c.org.as_str());
    assert_eq!(erased["users"], 1);
    assert_eq!(erased["threads"], 2);
    assert_eq!(erased["posts"], 4, "both bodies, the reply and the note");
    assert_eq!(erased["calls"], 1);
    assert!(erased["sessions"].as_u64().unwrap() >= 1);
    assert!(erased["search_documents"].as_u64().unwrap() >= 6);
    assert_eq!(erased["api_keys_revoked"], 1);
    assert_eq!(erased["webhooks_disabled"], 1);
    // The second thread's `thread.created` (the first came before the subscription).
    assert!(erased["webhook_deliveries"].as_u64().unwrap() >= 1);
    assert!(erased["idempotency_records"].as_u64().unwrap() >= 1);
    assert!(erased["erased_at"].as_str().unwrap().ends_with("+09:00"));

    let after = holders(app, PERSONAL).await;
    assert!(after.is_empty(), "personal strings left: {after:?}");
    // Nor in the database's files, once the scrub that follows an erasure has
    // run: SQLite's file and log hold none of it; PostgreSQL's vacuum leaves
    // no row version that holds it, and a full scrub (`madoguchi scrub`, for
    // a maintenance window) no byte in the tables' and indexes' files.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = if app.is_postgres() {
            row_versions_holding(app, PERSONAL).await
        } else {
            raw_holders(app, PERSONAL).await
        };
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "personal strings left in the files: {left:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    if app.is_postgres() {
        madoguchi_persistence::erasure::scrub_files(
            &app.db,
            std::time::Duration::from_secs(30),
            madoguchi_persistence::erasure::Scrub::Full,
        )
        .await
        .unwrap();
        let raw = raw_holders(app, PERSONAL).await;
        assert!(
            raw.is_empty(),
            "personal strings left in the files: {raw:?}"
        );
    }
    if !app.is_postgres() {
        assert_eq!(
            app.scalar(fts).await,
            0,
            "the index forgot the clinic's terms"
        );
        // Each row was deleted with the terms it was indexed with, or this fails.
        app.exec(
            "INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)",
            vec![],
        )
        .await;
    }
    // The other clinic kept its own.
    let theirs = ok_json(
        app.get(&route::thread(c.other_number), Some(&c.d.customer))
            .await,
    )
    .await;
    assert_eq!(theirs["title"], "さくらの請求書");

    // The trail kept every entry and still verifies.
    let v = ok_json(app.get("/v1/audit-events/verify", Some(admin)).await).await;
    assert_eq!(v["ok"], true, "{v}");
    let trail = ok_json(
        app.get("/v1/audit-events?action=organization.erase", Some(admin))
            .await,
    )
    .await;
    assert_eq!(trail["items"][0]["detail"]["threads"], 2);

    // Nobody signs in as the clinic any more.
    problem(
        app.login_raw(EMAIL, PASSWORD).await,
        401,
        "invalid-credentials",
    )
    .await;
    problem(
        app.get("/v1/threads", Some(&c.customer)).await,
        401,
        "unauthorized",
    )
    .await;
    problem(
        app.get("/v1/threads", Some(&secret)).await,
        401,
        "unauthorized",
    )
    .await;
    // Staff still see that the thread was there, with its number and history.
    let t = ok_json(app.get(&route::thread(c.number), Some(&c.d.agent)).await).await;
    assert_eq!(t["title"], "（削除済み）");
    let posts = ok_json(app.get(&route::posts(c.number), Some(&c.d.agent)).await).await;
    assert!(posts["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["body"] == "（削除済み）"));
    // Search finds nothing of it, even for staff.
    let s = ok_json(
        app.get("/v1/search?q=%E6%A5%93%E9%87%8E", Some(&c.d.agent))
            .await,
    )
    .await;
    assert_eq!(s["items"], json!([]));
    let s = ok_json(
        app.get("/v1/search?q=%E3%81%95%E3%81%8F%E3%82%89", Some(&c.d.agent))
            .await,
    )
    .await; // さくら
    assert!(
        !s["items"].as_array().unwrap().is_empty(),
        "the other clinic's index is whole"
    );

    // A second erasure finds nothing left to erase.
    let again = ok_json(erase(app, admin, &c.org, CLINIC).await).await;
    for k in [
        "users",
        "threads",
        "posts",
        "calls",
        "search_documents",
        "api_keys_revoked",
    ] {
        assert_eq!(again[k], 0, "{k}");
    }
}
