//! The last touches on the generated OpenAPI document, for what poem-openapi's
//! derive cannot say:
//!
//! - `If-Match` is declared optional so that a missing one reaches the handler
//!   and gets its 428 (not the framework's 400); the document marks it
//!   required, as it is.
//! - `Idempotency-Key` is read by the manners middleware on every `POST`, not by
//!   the handlers, so the derive never sees it; it is described here once.
//! - poem writes dates as `format: naive-date`; generators know `date`.
//! - An `Option` member is written as `null` when empty (and `null` is read as
//!   absent), so every member a schema does not require is `nullable`.
//! - An operation that answers 200 in two media types (the call report, as JSON
//!   or as CSV for Excel) is documented by poem with the last one only; the
//!   other is added back from [`ALSO_ANSWERS`].
//! - poem puts a description beside a `$ref` as `allOf: [{$ref}, {description}]`;
//!   generators cannot take an `allOf` member that is not a schema, so the
//!   description moves up and the `allOf` keeps the reference alone.

use serde_json::{json, Value};

/// (path, method, status, media type, schema) answered besides what poem wrote.
const ALSO_ANSWERS: &[(&str, &str, &str, &str, &str)] = &[(
    "/v1/reports/calls",
    "get",
    "200",
    "application/json; charset=utf-8",
    "#/components/schemas/CallReportDto",
)];

/// Apply the touches to a parsed document.
pub fn refine(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(methods) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in methods.iter_mut() {
                refine_operation(method, op);
            }
        }
    }
    for (path, method, status, media, schema) in ALSO_ANSWERS {
        if let Some(content) = doc
            .get_mut("paths")
            .and_then(|p| p.get_mut(*path))
            .and_then(|p| p.get_mut(*method))
            .and_then(|o| o.get_mut("responses"))
            .and_then(|r| r.get_mut(*status))
            .and_then(|r| r.get_mut("content"))
            .and_then(Value::as_object_mut)
        {
            content.insert((*media).to_owned(), json!({"schema": {"$ref": schema}}));
        }
    }
    standard_formats(doc);
    if let Some(schemas) = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        for schema in schemas.values_mut() {
            nullable_members(schema);
        }
    }
    // Say outright which operations need no credentials (the calendar's
    // reads, signing in, health): a missing `security` reads as "forgotten".
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                if let Some(op) = op.as_object_mut() {
                    op.entry("security").or_insert_with(|| json!([]));
                }
            }
        }
    }
    // The API is served from the same origin as the document.
    if let Some(d) = doc.as_object_mut() {
        d.insert(
            "servers".into(),
            json!([{"url": "/", "description": "this server"}]),
        );
    }
}

/// Only metadata (a description, an example): not a schema of its own.
fn is_annotation(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.keys()
            .all(|k| matches!(k.as_str(), "description" | "example" | "title" | "default"))
    })
}

/// Mark what a schema does not require as nullable, and tidy `allOf` wrappers.
fn nullable_members(schema: &mut Value) {
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // `get_mut`, not `[]`: indexing would insert `properties: null` into enums.
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        let Some(p) = prop.as_object_mut() else {
            continue;
        };
        if let Some(all) = p.get_mut("allOf").and_then(Value::as_array_mut) {
            let notes: Vec<Value> = all.iter().filter(|m| is_annotation(m)).cloned().collect();
            all.retain(|m| !is_annotation(m));
            for note in notes {
                if let Some(n) = note.as_object() {
                    for (k, v) in n {
                        p.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        if required.contains(name) {
            continue;
        }
        if let Some(r) = p.remove("$ref") {
            p.insert("allOf".into(), json!([{ "$ref": r }]));
        }
        p.insert("nullable".into(), json!(true));
    }
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
    fn optional_members_are_nullable_and_allof_keeps_only_schemas() {
        let mut doc = json!({"paths": {}, "components": {"schemas": {"T": {
            "type": "object",
            "required": ["a", "p"],
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "string"},
                "p": {"allOf": [{"$ref": "#/components/schemas/P"}, {"description": "d"}], "description": "d"},
                "q": {"$ref": "#/components/schemas/P"}
            }
        }}}});
        refine(&mut doc);
        let t = &doc["components"]["schemas"]["T"]["properties"];
        assert!(t["a"].get("nullable").is_none());
        assert_eq!(t["b"]["nullable"], true);
        assert_eq!(t["p"]["allOf"], json!([{"$ref": "#/components/schemas/P"}]));
        assert_eq!(t["p"]["description"], "d");
        assert!(t["p"].get("nullable").is_none());
        assert_eq!(t["q"]["allOf"], json!([{"$ref": "#/components/schemas/P"}]));
        assert_eq!(t["q"]["nullable"], true);
    }

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
