//! A JSON response written straight from the value with serde, for the large
//! pages read most often (the queue and the thread lists).
//!
//! poem-openapi's [`Json`](poem_openapi::payload::Json) turns a response into a
//! `serde_json::Value` tree first (`ToJSON`) and writes that: for a queue page of
//! 50 threads that is about 2,000 map inserts and as many small allocations,
//! which profiling found to be an eighth of the server's time for the page
//! (issue 16.8). [`Serialized`] documents the same schema (it asks the type's
//! `poem_openapi::types::Type`) and writes the same bytes; a type used with it
//! derives `serde::Serialize` to match its `Object` derive, which the tests of
//! [`crate::types`] check field by field against `ToJSON`.

use chrono::{DateTime, FixedOffset};
use poem::{http::header, IntoResponse, Response};
use poem_openapi::{
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::Type,
    ApiResponse,
};
use serde::{Serialize, Serializer};

/// A 200 JSON response written with serde, documented as `T`'s schema.
#[derive(Debug)]
pub struct Serialized<T>(pub T);

/// What poem-openapi's `Json` answers with.
const JSON: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for Serialized<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for Serialized<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .header(header::CONTENT_TYPE, JSON)
                .body(body),
            // Our own types always serialize (no maps with non-string keys, no
            // failing Serialize impls); should that ever change, say so plainly.
            Err(e) => crate::http::problem::ApiError::internal(format_args!(
                "a response could not be serialized: {e}"
            ))
            .into_response(),
        }
    }
}

impl<T: Type + Serialize + Send> ApiResponse for Serialized<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: JSON,
                    schema: T::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// A time as poem-openapi writes it (`to_rfc3339`), for `serialize_with`.
pub(crate) fn rfc3339<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

/// An optional time as poem-openapi writes it: RFC 3339 or null.
pub(crate) fn rfc3339_opt<S: Serializer>(
    t: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
