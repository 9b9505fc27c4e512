//! The last touches on the generated OpenAPI document, for what poem-openapi's
//! derive cannot say:
//!
//! - `If-Match` is declared optional so that a missing one reaches the handler
//!   and gets its 428 (not the framework's 400); the document marks it
//!   required, as it is.
//! - `Idempotency-Key` is read by the manners middleware on every `POST`, not by
//!   the handlers, so the derive never sees it; it is described here once.
//! - poem writes dates as `format: naive-date`; generators know `date`.

use serde_json::{json, Value};

/// Apply the touches to a parsed document.
pub fn refine(doc: &mut Value) {
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(methods) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in methods.iter_mut() {
                refine_operation(method, op);
            }
        }
    }
    standard_formats(doc);
}

fn refine_operation(method: &str, op: &mut Value) {
    let Some(op) = op.as_object_mut() else {
        return;
    };
    let signed_in = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let params = op
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(params) = params.as_array_mut() else {
        return;
    };
    for p in params.iter_mut() {
        if p["in"] == "header" && p["name"] == "If-Match" {
            p["required"] = json!(true);
            p["description"] = json!(
                "The `ETag` of the object as last read. Without it: 428; when the object \
                 changed since: 412, read it again."
            );
        }
    }
    // Only a signed-in caller's keys are kept (they are scoped per caller).
    if method == "post" && signed_in && !params.iter().any(|p| p["name"] == "Idempotency-Key") {
        params.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "deprecated": false,
            "explode": true,
            "description": "Makes a retry safe: the same key with the same body within 24 hours \
                replays the first answer (with `Idempotent-Replayed: true`) instead of doing the \
                work again; the same key with another body is a 422; while the first attempt \
                is still running, a 409. Keys are per caller. A UUID is a good choice.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
        }));
    }
    if params.is_empty() {
        op.remove("parameters");
    }
}

fn standard_formats(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("naive-date") {
                map.insert("format".into(), json!("date"));
            }
            for child in map.values_mut() {
                standard_formats(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(standard_formats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_becomes_required_and_posts_take_an_idempotency_key() {
        let mut doc = json!({"paths": {
            "/v1/x/{id}": {
                "patch": {"parameters": [{"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}}]},
                "get": {"parameters": [{"name": "d", "in": "query", "schema": {"type": "string", "format": "naive-date"}}]}
            },
            "/v1/x": {"post": {"security": [{"BearerAuth": []}]}},
            "/v1/login": {"post": {}}
        }});
        refine(&mut doc);
        let patch = &doc["paths"]["/v1/x/{id}"]["patch"]["parameters"][0];
        assert_eq!(patch["required"], true);
        assert_eq!(
            doc["paths"]["/v1/x/{id}"]["patch"]["parameters"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let post = &doc["paths"]["/v1/x"]["post"]["parameters"][0];
        assert_eq!(post["name"], "Idempotency-Key");
        assert_eq!(post["required"], false);
        assert!(doc["paths"]["/v1/login"]["post"]
            .get("parameters")
            .is_none());
        assert_eq!(
            doc["paths"]["/v1/x/{id}"]["get"]["parameters"][0]["schema"]["format"],
            "date"
        );
    }
}
