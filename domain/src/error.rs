use std::borrow::Cow;

use thiserror::Error;

/// A value from outside that broke one of the domain's rules.
///
/// `field` names the input the caller sent (the JSON member or parameter), so the
/// API can point at it in the problem body without guessing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: Cow<'static, str>,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
