//! The HTTP edge: problems, manners, bodies, payload and ETag handling,
//! cursors, the schema check, CORS, the request context, and the OpenAPI
//! document's refinement.

pub mod bodies;
pub mod context;
mod cors;
pub mod cursor;
pub mod etag;
pub mod manners;
pub mod openapi_doc;
pub mod payload;
pub mod problem;
pub mod schema_check;
pub mod text;
