use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let admin = app.admin().await;
    let org = app.create_org(&admin, "metrics").await;
    app.get(
        &format!("/v1/organizations/{}", org["id"].as_str().unwrap()),
        Some(&admin),
    )
    .await;
    app.get("/v1/does-not-exist/12345", None).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    // Route templates, not raw paths: the id never appears as a label.
    assert!(
        text.contains(r#"route="/v1/organizations/{id}",status="200""#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#));
    assert!(!text.contains(org["id"].as_str().unwrap()));
    assert!(!text.contains("param0"), "{text}");
    assert!(text.contains("madoguchi_http_request_duration_seconds_bucket"));
    assert!(text.contains(r#"route="/healthz",status="200""#));
    assert!(!text.contains("does-not-exist"));
}

#[tokio::test]
async fn the_committed_openapi_document_is_the_served_one() {
    let app = TestApp::spawn().await;
    let served: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, serde_json::to_string_pretty(&served).unwrap() + "\n").unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json"))
            .expect("committed spec is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate with `UPDATE_OPENAPI=1 cargo test --test api openapi`"
    );
    let docs = app.get("/docs", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// What the server requires, the document says: `If-Match` on every PATCH that
/// answers 428 without it, `Idempotency-Key` on every POST, dates as `date`.
#[tokio::test]
async fn the_document_says_which_headers_are_required() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let mut patches = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let header = |name: &str| params.iter().find(|p| p["name"] == name).cloned();
            if method == "patch" {
                patches += 1;
                let m =
                    header("If-Match").unwrap_or_else(|| panic!("PATCH {path} has no If-Match"));
                assert_eq!(m["required"], true, "PATCH {path}");
            }
            let signed_in = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if method == "post" && signed_in {
                let k = header("Idempotency-Key")
                    .unwrap_or_else(|| panic!("POST {path} has no Idempotency-Key"));
                assert_eq!(k["required"], false, "POST {path}");
                assert!(k["description"].as_str().unwrap().contains("replays"));
            }
        }
    }
    assert!(patches >= 4);
    assert!(!doc.to_string().contains("naive-date"));
    // Swagger UI shows the same document.
    let docs = app.get("/docs", None).await.text().await.unwrap();
    assert!(docs.contains("Idempotency-Key") && !docs.contains("naive-date"));
    // A PATCH without If-Match is refused as the document says.
    let admin = app.admin().await;
    let org = app.create_org(&admin, "みなと内科").await;
    let r = app
        .req(
            reqwest::Method::PATCH,
            &format!("/v1/organizations/{}", org["id"].as_str().unwrap()),
            Some(&admin),
        )
        .json(&serde_json::json!({"name": "みなと内科医院"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);
}

/// The README's `cargo test` is CI's, and it reaches every crate of the workspace.
#[test]
fn the_readme_test_command_is_ci_and_covers_the_workspace() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |f: &str| std::fs::read_to_string(format!("{root}/{f}")).unwrap();
    let manifest = read("Cargo.toml");
    let list = |key: &str| -> Vec<String> {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} missing from Cargo.toml"));
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let members = list("members");
    let defaults = list("default-members");
    assert!(defaults.contains(&".".to_owned()), "{defaults:?}");
    for m in &members {
        assert!(defaults.contains(m), "{m} is not run by a plain cargo test");
    }
    let readme = read("README.md");
    assert!(
        readme.contains("\ncargo test            #"),
        "README's command"
    );
    let ci = read(".ci/run");
    let ci_tests: Vec<&str> = ci.lines().filter(|l| l.contains("cargo test")).collect();
    assert_eq!(ci_tests.len(), 2, "{ci_tests:?}");
    assert!(ci_tests
        .iter()
        .all(|l| l.trim_end().ends_with("cargo test")));
}
