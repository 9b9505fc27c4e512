//! Validated values of the board.

use crate::error::{Reason, ValidationError};

/// An enum of a few named values with `as_str`/`parse`; shared by the domain.
macro_rules! simple_enum {
    ($(#[$m:meta])* $name:ident, $field:literal, { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                match s {
                    $($s => Ok($name::$v),)+
                    _ => Err(ValidationError::new($field, format!(
                        "must be one of {}",
                        [$($s),+].join(", ")
                    ))),
                }
            }
        }
    };
}

pub(crate) use simple_enum;

simple_enum!(
    /// How urgent a thread is; picks the SLA targets.
    Priority, "priority", { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

simple_enum!(
    /// Who may see a post. Internal notes are for staff only, everywhere.
    Visibility, "visibility", { Public = "public", Internal = "internal" }
);

simple_enum!(
    /// Who wrote a post, as a reader sees it: a clinic's user, the vendor's
    /// staff, or the window itself (a notice's update posted to the threads it
    /// affects).
    AuthorRole, "author_role", { Customer = "customer", Agent = "agent", Admin = "admin", System = "system" }
);

impl AuthorRole {
    /// The role a person writes with.
    pub fn of(role: crate::Role) -> AuthorRole {
        match role {
            crate::Role::Customer => AuthorRole::Customer,
            crate::Role::Agent => AuthorRole::Agent,
            crate::Role::Admin => AuthorRole::Admin,
        }
    }

    /// The vendor's side of the conversation (staff or the window itself).
    pub fn is_staff(self) -> bool {
        self != AuthorRole::Customer
    }
}

simple_enum!(
    /// Where a thread came from.
    Channel, "channel", { Board = "board", Phone = "phone", Api = "api" }
);

fn text(field: &'static str, raw: &str, max: usize) -> Result<String, ValidationError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ValidationError::empty(field));
    }
    if s.chars().count() > max {
        return Err(ValidationError::too_long(field, max));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::control_characters(field));
    }
    Ok(s.to_owned())
}

/// A thread's title: 1 to 200 characters after trimming, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadTitle(String);

impl ThreadTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = text("title", raw, Self::MAX_CHARS)?;
        if s.contains(['\n', '\r', '\t']) {
            return Err(
                ValidationError::new("title", "must be one line").because(Reason::MultipleLines)
            );
        }
        Ok(ThreadTitle(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post's body: 1 to 10 000 characters, line breaks allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostBody(String);

impl PostBody {
    pub const MAX_CHARS: usize = 10_000;

    /// Line ends are stored as `\n` whatever sent them: browsers send a
    /// textarea's lines as CRLF, API clients usually LF, and a body must read
    /// (and search, and export) the same either way.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let lf = raw.replace("\r\n", "\n").replace('\r', "\n");
        text("body", &lf, Self::MAX_CHARS).map(PostBody)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free category label (e.g. 電子カルテ, 請求), up to 50 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = text("category", raw, 50)?;
        if s.contains(['\n', '\r', '\t']) {
            return Err(
                ValidationError::new("category", "must be one line").because(Reason::MultipleLines)
            );
        }
        Ok(Category(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to 10 tags of up to 30 characters, without commas; duplicates dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse(raw: &[String]) -> Result<Self, ValidationError> {
        if raw.len() > 10 {
            return Err(ValidationError::new("tags", "at most 10 tags"));
        }
        let mut out: Vec<String> = Vec::new();
        for t in raw {
            let t = text("tags", t, 30)?;
            if t.contains([',', '\n', '\r', '\t']) {
                return Err(ValidationError::new(
                    "tags",
                    "a tag must not contain commas or line breaks",
                ));
            }
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(Tags(out))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_check_their_rules() {
        assert_eq!(Priority::parse("urgent").unwrap(), Priority::Urgent);
        assert!(Priority::parse("critical").is_err());
        assert!(ThreadTitle::parse("予約画面が開かない").is_ok());
        assert!(ThreadTitle::parse(&"予".repeat(201)).is_err());
        assert!(ThreadTitle::parse("一行目\n二行目").is_err());
        assert!(PostBody::parse("一行目\n二行目").is_ok());
        assert!(PostBody::parse("  ").is_err());
        assert!(
            Tags::parse(&["障害".into(), "障害".into()])
                .unwrap()
                .as_slice()
                .len()
                == 1
        );
        assert!(Tags::parse(&["a,b".into()]).is_err());
    }

    #[test]
    fn a_body_typed_in_a_browser_reads_like_one_sent_by_an_api_client() {
        let browser = PostBody::parse("一行目\r\n二行目\r三行目").unwrap();
        assert_eq!(browser.as_str(), "一行目\n二行目\n三行目");
    }
}
