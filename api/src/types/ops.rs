//! Operations endpoints.

use poem_openapi::Object;

#[derive(Debug, Object)]
pub struct Health {
    /// `ok`
    pub status: String,
}
