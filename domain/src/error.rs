use std::borrow::Cow;

use thiserror::Error;

/// A value from outside that broke one of the domain's rules.
///
/// `field` names the input the caller sent (the JSON member or parameter), so the
/// API can point at it in the problem body without guessing. `reason` says
/// which rule it broke, as a code a front end maps to its own words (the board
/// to Japanese) and an integrator can branch on; `message` is for people
/// reading English.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: Cow<'static, str>,
    pub message: String,
    pub reason: Reason,
    /// The bound of a `too_long`, `too_short` or `out_of_range` reason
    /// (characters, items, or the upper bound of a range).
    pub limit: Option<u64>,
}

/// Which rule a value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Anything without a code of its own: the message says what.
    Invalid,
    Empty,
    TooLong,
    TooShort,
    OutOfRange,
    MultipleLines,
    ControlCharacters,
    /// A password that a guesser would try early.
    Guessable,
    NotAnEmail,
    NotAPhoneNumber,
    /// A customer without a clinic.
    OrganizationRequired,
    /// Staff given a clinic.
    OrganizationNotAllowed,
    UnknownOrganization,
    UnknownThread,
    InTheFuture,
    EndsBeforeStart,
    /// Opening hours not written as `HH:MM-HH:MM`.
    NotHours,
    /// A search without two letters or digits in a row.
    TooFewLetters,
    /// A step confirmed before it was begun (a second factor's code before
    /// its enrolment started).
    NotStarted,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 19] = [
        Reason::Invalid,
        Reason::Empty,
        Reason::TooLong,
        Reason::TooShort,
        Reason::OutOfRange,
        Reason::MultipleLines,
        Reason::ControlCharacters,
        Reason::Guessable,
        Reason::NotAnEmail,
        Reason::NotAPhoneNumber,
        Reason::OrganizationRequired,
        Reason::OrganizationNotAllowed,
        Reason::UnknownOrganization,
        Reason::UnknownThread,
        Reason::InTheFuture,
        Reason::EndsBeforeStart,
        Reason::NotHours,
        Reason::TooFewLetters,
        Reason::NotStarted,
    ];

    /// The code on the wire.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::Invalid => "invalid",
            Reason::Empty => "empty",
            Reason::TooLong => "too_long",
            Reason::TooShort => "too_short",
            Reason::OutOfRange => "out_of_range",
            Reason::MultipleLines => "multiple_lines",
            Reason::ControlCharacters => "control_characters",
            Reason::Guessable => "guessable",
            Reason::NotAnEmail => "not_an_email",
            Reason::NotAPhoneNumber => "not_a_phone_number",
            Reason::OrganizationRequired => "organization_required",
            Reason::OrganizationNotAllowed => "organization_not_allowed",
            Reason::UnknownOrganization => "unknown_organization",
            Reason::UnknownThread => "unknown_thread",
            Reason::InTheFuture => "in_the_future",
            Reason::EndsBeforeStart => "ends_before_start",
            Reason::NotHours => "not_hours",
            Reason::TooFewLetters => "too_few_letters",
            Reason::NotStarted => "not_started",
        }
    }
}

impl ValidationError {
    /// A broken rule without a code of its own ([`Reason::Invalid`]); add one
    /// with [`ValidationError::because`].
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            reason: Reason::Invalid,
            limit: None,
        }
    }

    /// The same error, with the rule it broke.
    pub fn because(mut self, reason: Reason) -> Self {
        self.reason = reason;
        self
    }

    /// Nothing was given where something must be.
    pub fn empty(field: impl Into<Cow<'static, str>>) -> Self {
        Self::new(field, "must not be empty").because(Reason::Empty)
    }

    /// Longer than `max` characters.
    pub fn too_long(field: impl Into<Cow<'static, str>>, max: usize) -> Self {
        let mut e =
            Self::new(field, format!("must be at most {max} characters")).because(Reason::TooLong);
        e.limit = Some(max as u64);
        e
    }

    /// Shorter than `min` characters.
    pub fn too_short(field: impl Into<Cow<'static, str>>, min: usize) -> Self {
        let mut e = Self::new(field, format!("must be at least {min} characters"))
            .because(Reason::TooShort);
        e.limit = Some(min as u64);
        e
    }

    /// Holds characters that cannot be shown (other than line breaks and tabs).
    pub fn control_characters(field: impl Into<Cow<'static, str>>) -> Self {
        Self::new(field, "must not contain control characters").because(Reason::ControlCharacters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_unique() {
        let mut codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
    }
}
