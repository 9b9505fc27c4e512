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
