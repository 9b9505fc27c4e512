//! Saying which field is wrong when the framework could not parse a request.
//!
//! poem-openapi refuses a body without `title`, a `priority` of `"至急"` or a path
//! `/v1/threads/abc` with its own words ("Expected input type \"string\", found
//! null", "`param0`"), which name neither the field nor what it accepts. The
//! OpenAPI document it serves knows both. So when parsing fails, the request is
//! checked again against that document (a JSON-Schema subset: the shapes this
//! API uses) and the answer names every field by its name, what was expected,
//! and the allowed values of an enum: the same 422 `validation-failed` the
//! services give, or 400 `invalid-parameter` naming the parameter.
//!
//! The document is also where route templates get their parameter names back,
//! for the `/metrics` labels (`/v1/threads/:param0` → `/v1/threads/{number}`).

use std::{collections::HashMap, sync::OnceLock};

use madoguchi_domain::ValidationError;
use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
use serde_json::{Map, Value};

use crate::http::problem::{ApiError, FieldProblem};

/// A bound written as `200` or `200.0` (poem writes floats).
fn whole(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// One operation of the document.
struct Operation {
    /// Path parameters in the order of the path.
    path_params: Vec<String>,
    /// Every parameter's schema, by name.
    params: HashMap<String, Value>,
    body: Option<Value>,
}

/// The document, indexed by poem's route template and method.
pub struct SpecIndex {
    /// poem template (`/v1/threads/:param0`) → document path (`/v1/threads/{number}`).
    templates: HashMap<String, String>,
    /// (poem template, lower-case method) → operation.
    operations: HashMap<(String, String), Operation>,
    schemas: Map<String, Value>,
}

/// Built once from the served document.
pub fn index() -> &'static SpecIndex {
    static INDEX: OnceLock<SpecIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let doc: Value = serde_json::from_str(&crate::openapi_json()).unwrap_or(Value::Null);
        SpecIndex::build(&doc)
    })
}

/// `/v1/threads/{number}` as poem matches it: `/v1/threads/:param0`.
fn poem_template(path: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&format!(":param{}", names.len()));
        names.push(rest[open + 1..open + close].to_owned());
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    (out, names)
}

impl SpecIndex {
    fn build(doc: &Value) -> SpecIndex {
        let mut templates = HashMap::new();
        let mut operations = HashMap::new();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in &paths {
            let (template, path_params) = poem_template(path);
            templates.insert(template.clone(), path.clone());
            let Some(methods) = item.as_object() else {
                continue;
            };
            for (method, op) in methods {
                let params = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| {
                                Some((p["name"].as_str()?.to_owned(), p["schema"].clone()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = op["requestBody"]["content"]
                    .as_object()
                    .and_then(|c| c.iter().find(|(t, _)| t.starts_with("application/json")))
                    .map(|(_, m)| m["schema"].clone());
                operations.insert(
                    (template.clone(), method.to_ascii_lowercase()),
                    Operation {
                        path_params: path_params.clone(),
                        params,
                        body,
                    },
                );
            }
        }
        SpecIndex {
            templates,
            operations,
            schemas: doc["components"]["schemas"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The document's path for a poem route template, e.g. `/v1/users/{id}`.
    pub fn route(&self, template: &str) -> Option<&str> {
        self.templates.get(template).map(String::as_str)
    }

    fn operation(&self, method: &str, template: &str) -> Option<&Operation> {
        self.operations
            .get(&(template.to_owned(), method.to_ascii_lowercase()))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..8 {
            match s["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                Some(name) => match self.schemas.get(name) {
                    Some(t) => s = t,
                    None => return s,
                },
                None => return s,
            }
        }
        s
    }

    /// The parts of `allOf` that say something (poem wraps a `$ref` with a
    /// description in `allOf`).
    fn parts<'a>(&'a self, schema: &'a Value) -> Vec<&'a Value> {
        let s = self.resolve(schema);
        match s["allOf"].as_array() {
            Some(all) => all.iter().flat_map(|p| self.parts(p)).collect(),
            None => vec![s],
        }
    }

    /// What a value of `schema` looks like, for a person.
    fn describe(&self, schema: &Value) -> String {
        let parts = self.parts(schema);
        let Some(s) = parts
            .iter()
            .find(|p| p.get("type").is_some() || p.get("enum").is_some())
        else {
            return "a value of the documented form".to_owned();
        };
        if let Some(values) = s["enum"].as_array() {
            let names: Vec<String> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => format!("`{s}`"),
                    other => other.to_string(),
                })
                .collect();
            return format!("one of {}", names.join(", "));
        }
        match (s["type"].as_str(), s["format"].as_str()) {
            (Some("string"), Some("uuid")) => "a UUID".to_owned(),
            (Some("string"), Some("date-time")) => {
                "an RFC 3339 timestamp such as 2026-12-01T09:00:00+09:00".to_owned()
            }
            (Some("string"), Some("date" | "naive-date")) => "a date such as 2026-12-01".to_owned(),
            (Some("string"), _) => "a string".to_owned(),
            (Some("integer"), _) => match (whole(&s["minimum"]), whole(&s["maximum"])) {
                (Some(lo), Some(hi)) => format!("an integer from {lo} to {hi}"),
                (Some(lo), None) => format!("an integer of at least {lo}"),
                (None, Some(hi)) => format!("an integer of at most {hi}"),
                _ => "an integer".to_owned(),
            },
            (Some("number"), _) => "a number".to_owned(),
            (Some("boolean"), _) => "true or false".to_owned(),
            (Some("array"), _) => format!("an array of {}", self.plural(&s["items"])),
            (Some("object"), _) => "an object".to_owned(),
            _ => "a value of the documented form".to_owned(),
        }
    }

    fn plural(&self, items: &Value) -> String {
        let one = self.describe(items);
        match one.as_str() {
            "a string" => "strings".to_owned(),
            "an integer" => "integers".to_owned(),
            "an object" => "objects".to_owned(),
            _ => format!("items that are each {one}"),
        }
    }

    /// Whether `v` fits `schema` (one level of the checks [`Self::check`] makes).
    fn fits(&self, v: &Value, schema: &Value) -> bool {
        let mut errs = Vec::new();
        self.check(v, schema, "", &mut errs);
        errs.is_empty()
    }

    /// Every place where `v` does not fit `schema`, named from `at`.
    fn check(&self, v: &Value, schema: &Value, at: &str, errs: &mut Vec<ValidationError>) {
        let field = if at.is_empty() { "request body" } else { at };
        for s in self.parts(schema) {
            if let Some(any) = s["oneOf"].as_array().or(s["anyOf"].as_array()) {
                if !any.iter().any(|alt| self.fits(v, alt)) {
                    errs.push(ValidationError::new(
                        field.to_owned(),
                        format!("must be {}", self.describe(s)),
                    ));
                }
                continue;
            }
            let before = errs.len();
            let expected = || format!("must be {}", self.describe(s));
            if let Some(values) = s["enum"].as_array() {
                if !values.contains(v) {
                    errs.push(ValidationError::new(field.to_owned(), expected()));
                }
                continue;
            }
            match s["type"].as_str() {
                Some("string") => match v.as_str() {
                    None => errs.push(ValidationError::new(field.to_owned(), expected())),
                    Some(text) => {
                        let ok = match s["format"].as_str() {
                            Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
                            Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
                            Some("date" | "naive-date") => {
                                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
                            }
                            _ => true,
                        };
                        let chars = text.chars().count() as u64;
                        if !ok {
                            errs.push(ValidationError::new(field.to_owned(), expected()));
                        } else if let Some(max) = s["maxLength"].as_u64().filter(|m| chars > *m) {
                            errs.push(ValidationError::too_long(field.to_owned(), max as usize));
                        } else if let Some(min) = s["minLength"].as_u64().filter(|m| chars < *m) {
                            errs.push(ValidationError::too_short(field.to_owned(), min as usize));
                        }
                    }
                },
                Some("integer") => {
                    let n = v.as_i64();
                    let in_range = n.is_some_and(|n| {
                        whole(&s["minimum"]).is_none_or(|lo| n >= lo)
                            && whole(&s["maximum"]).is_none_or(|hi| n <= hi)
                            && match s["format"].as_str() {
                                Some("int32") => i32::try_from(n).is_ok(),
                                Some("uint32") => u32::try_from(n).is_ok(),
                                Some("uint64") => n >= 0,
                                _ => true,
                            }
                    });
                    if !in_range {
                        errs.push(ValidationError::new(field.to_owned(), expected()));
                    }
                }
                Some("number") if !v.is_number() => {
                    errs.push(ValidationError::new(field.to_owned(), expected()))
                }
                Some("boolean") if !v.is_boolean() => {
                    errs.push(ValidationError::new(field.to_owned(), expected()))
                }
                Some("array") => match v.as_array() {
                    None => errs.push(ValidationError::new(field.to_owned(), expected())),
                    Some(items) => {
                        if let Some(max) =
                            s["maxItems"].as_u64().filter(|m| items.len() as u64 > *m)
                        {
                            errs.push({
                                let mut e = ValidationError::new(
                                    field.to_owned(),
                                    format!("must have at most {max} items"),
                                )
                                .because(madoguchi_domain::Reason::TooLong);
                                e.limit = Some(max);
                                e
                            });
                        }
                        for (i, item) in items.iter().enumerate() {
                            self.check(item, &s["items"], &format!("{field}[{i}]"), errs);
                        }
                    }
                },
                Some("object") => match v.as_object() {
                    None => errs.push(ValidationError::new(field.to_owned(), expected())),
                    Some(members) => self.check_members(members, s, at, errs),
                },
                _ => {}
            }
            if errs.len() > before {
                return;
            }
        }
    }

    fn check_members(
        &self,
        members: &Map<String, Value>,
        s: &Value,
        at: &str,
        errs: &mut Vec<ValidationError>,
    ) {
        let name = |m: &str| {
            if at.is_empty() {
                m.to_owned()
            } else {
                format!("{at}.{m}")
            }
        };
        let required: Vec<&str> = s["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let props = s["properties"].as_object();
        for r in &required {
            if members.get(*r).is_none_or(Value::is_null) {
                let what = props
                    .and_then(|p| p.get(*r))
                    .map(|p| self.describe(p))
                    .unwrap_or_else(|| "a value".to_owned());
                errs.push(ValidationError::new(
                    name(r),
                    format!("is required: {what}"),
                ));
            }
        }
        let Some(props) = props else {
            return;
        };
        for (m, value) in members {
            // An optional member may be null: it reads as absent.
            if value.is_null() {
                continue;
            }
            if let Some(p) = props.get(m) {
                self.check(value, p, &name(m), errs);
            }
        }
    }
}

/// A better answer than the framework's for a request it could not parse, when
/// the document says what was expected; `None` keeps the framework's.
pub fn explain(
    err: &poem::Error,
    method: &str,
    template: Option<&str>,
    body: &[u8],
) -> Option<ApiError> {
    let spec = index();
    let op = template.and_then(|t| spec.operation(method, t));
    if err.downcast_ref::<ParseRequestPayloadError>().is_some() {
        let schema = op?.body.as_ref()?;
        let value: Value = serde_json::from_slice(body).ok()?;
        let mut errs = Vec::new();
        spec.check(&value, schema, "", &mut errs);
        if errs.is_empty() {
            return None;
        }
        return Some(ApiError::validation(errs));
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        let op = op?;
        let index: usize = e.name.strip_prefix("param")?.parse().ok()?;
        let name = op.path_params.get(index)?;
        return Some(parameter_problem(spec, op, name, "path parameter"));
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return Some(parameter_problem(spec, op?, e.name, "parameter"));
    }
    None
}

fn parameter_problem(spec: &SpecIndex, op: &Operation, name: &str, kind: &str) -> ApiError {
    let expected = op
        .params
        .get(name)
        .map(|s| spec.describe(s))
        .unwrap_or_else(|| "a value of the documented form".to_owned());
    let message = format!("must be {expected}");
    let mut e = ApiError::invalid_parameter(format!("{kind} `{name}` {message}"));
    e.errors = vec![FieldProblem {
        field: name.to_owned(),
        message,
        reason: crate::http::problem::FieldReason::Invalid,
        limit: None,
    }];
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> SpecIndex {
        SpecIndex::build(&json!({
            "paths": {
                "/v1/things/{number}": {"post": {
                    "parameters": [{"name": "number", "in": "path", "schema": {"type": "integer", "format": "int64"}}],
                    "requestBody": {"content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                }}
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "required": ["title", "body"], "properties": {
                    "title": {"type": "string", "maxLength": 5},
                    "body": {"type": "string"},
                    "priority": {"allOf": [{"$ref": "#/components/schemas/Priority"}, {"description": "d"}]},
                    "org": {"type": "string", "format": "uuid"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "hours": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}}
                }},
                "Priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
                "Span": {"type": "object", "required": ["from"], "properties": {"from": {"type": "integer", "minimum": 0, "maximum": 1440}}}
            }}
        }))
    }

    fn errors(v: Value) -> Vec<(String, String)> {
        let s = spec();
        let op = s.operation("POST", "/v1/things/:param0").unwrap();
        let mut errs = Vec::new();
        s.check(&v, op.body.as_ref().unwrap(), "", &mut errs);
        errs.into_iter()
            .map(|e| (e.field.into_owned(), e.message))
            .collect()
    }

    #[test]
    fn templates_get_their_names_back() {
        let s = spec();
        assert_eq!(s.route("/v1/things/:param0"), Some("/v1/things/{number}"));
        assert_eq!(
            s.operation("post", "/v1/things/:param0")
                .unwrap()
                .path_params,
            vec!["number"]
        );
        assert_eq!(s.route("/v1/other"), None);
    }

    #[test]
    fn a_missing_field_is_named_with_what_it_takes() {
        assert_eq!(
            errors(json!({"title": "件名"})),
            vec![("body".to_owned(), "is required: a string".to_owned())]
        );
        // null for a required member is as good as missing; for an optional one, absent.
        assert_eq!(
            errors(json!({"title": "件名", "body": null, "priority": null})),
            vec![("body".to_owned(), "is required: a string".to_owned())]
        );
    }

    #[test]
    fn a_wrong_enum_value_lists_the_allowed_ones() {
        assert_eq!(
            errors(json!({"title": "件名", "body": "本文", "priority": "至急"})),
            vec![(
                "priority".to_owned(),
                "must be one of `low`, `normal`, `high`, `urgent`".to_owned()
            )]
        );
    }

    #[test]
    fn every_bad_field_is_named_down_to_array_items() {
        let mut got = errors(json!({
            "title": "六文字の件名",
            "body": 5,
            "org": "nope",
            "tags": "a",
            "hours": [{"from": 10}, {"from": 2000}, {}]
        }));
        got.sort();
        assert_eq!(
            got,
            vec![
                ("body".into(), "must be a string".into()),
                (
                    "hours[1].from".into(),
                    "must be an integer from 0 to 1440".into()
                ),
                (
                    "hours[2].from".into(),
                    "is required: an integer from 0 to 1440".into()
                ),
                ("org".into(), "must be a UUID".into()),
                ("tags".into(), "must be an array of strings".into()),
                ("title".into(), "must be at most 5 characters".into()),
            ]
        );
        assert_eq!(
            errors(json!([1])),
            vec![("request body".to_owned(), "must be an object".to_owned())]
        );
        assert!(errors(
            json!({"title": "件名", "body": "本文", "priority": "high", "hours": [{"from": 0}]})
        )
        .is_empty());
    }
}
