//! Who uses madoguchi: roles, organizations' contracts, and the validated values
//! that describe a user.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};

/// What a signed-in person may do. Integrations (API keys) are not a role: they
/// act with scopes of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A user of a contract organization (e.g. a clinic's office manager).
    Customer,
    /// Vendor support staff.
    Agent,
    /// Product division head: manages organizations, users, policies, the audit trail.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Customer, Role::Agent, Role::Admin];
    /// Who may call an operation, named once: every signed-in person.
    pub const ANYONE: &'static [Role] = &[Role::Customer, Role::Agent, Role::Admin];
    /// The vendor's people: agents and admins.
    pub const STAFF: &'static [Role] = &[Role::Agent, Role::Admin];
    /// Admins only.
    pub const ADMINS: &'static [Role] = &[Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::new("role", "must be one of customer, agent, admin"))
    }

    /// Staff work across organizations; customers are confined to their own.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }

    /// A customer belongs to exactly one organization; staff belong to none.
    pub fn check_organization(self, has_organization: bool) -> Result<(), ValidationError> {
        match (self, has_organization) {
            (Role::Customer, false) => Err(ValidationError::new(
                "organization_id",
                "a customer must belong to an organization",
            )
            .because(crate::Reason::OrganizationRequired)),
            (Role::Agent | Role::Admin, true) => Err(ValidationError::new(
                "organization_id",
                "agents and admins belong to no organization",
            )
            .because(crate::Reason::OrganizationNotAllowed)),
            _ => Ok(()),
        }
    }
}

/// The state of an organization's support contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    Active,
    Suspended,
    Ended,
}

impl ContractStatus {
    pub const ALL: [ContractStatus; 3] = [
        ContractStatus::Active,
        ContractStatus::Suspended,
        ContractStatus::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Active => "active",
            ContractStatus::Suspended => "suspended",
            ContractStatus::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        ContractStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new("contract_status", "must be one of active, suspended, ended")
            })
    }

    /// An organization whose contract is not active may read its history but not
    /// open new threads or post.
    pub fn may_post(self) -> bool {
        self == ContractStatus::Active
    }
}

fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Trim, then require `min..=max` characters (Unicode scalar values, so a
/// Japanese name of 100 characters is 100, not 300 bytes) and no control characters.
pub(crate) fn bounded_text(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, ValidationError> {
    let s = raw.trim();
    let n = s.chars().count();
    if n < min {
        return Err(ValidationError::empty(field));
    }
    if n > max {
        return Err(ValidationError::too_long(field, max));
    }
    if has_control_chars(s) {
        return Err(ValidationError::control_characters(field));
    }
    Ok(s.to_owned())
}

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let s = raw.trim().to_lowercase();
        let bad = || {
            ValidationError::new("email", "must be an email address such as name@example.jp")
                .because(crate::Reason::NotAnEmail)
        };
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let ok_local = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let ok_domain = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if ok_local && ok_domain {
            Ok(Email(s))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A person's name as shown to others, usually in Japanese (e.g. 山田 花子).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("display_name", raw, 1, Self::MAX_CHARS).map(DisplayName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A contract organization's name (e.g. 医療法人社団 さくら内科クリニック).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

impl OrganizationName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("name", raw, 1, Self::MAX_CHARS).map(OrganizationName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A new password, before hashing. Length is what protects it (NIST SP 800-63B):
/// at least 12 characters, at most 128 so hashing cost stays bounded.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(ValidationError::too_short("password", Self::MIN_CHARS));
        }
        if n > Self::MAX_CHARS {
            return Err(ValidationError::too_long("password", Self::MAX_CHARS));
        }
        if has_control_chars(raw) {
            return Err(ValidationError::control_characters("password"));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("  Hanako@Clinic.example.JP ")
                .unwrap()
                .as_str(),
            "hanako@clinic.example.jp"
        );
        assert!(Email::parse("admin@localhost").is_ok());
        for bad in [
            "",
            "no-at-sign",
            "@example.jp",
            "a@",
            "a@b..jp",
            "a b@example.jp",
            "山田@example.jp",
            "a@-x.jp",
            ".a@x.jp",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.jp", "a".repeat(65));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn japanese_names_count_characters_not_bytes() {
        let name = "山".repeat(100);
        assert!(DisplayName::parse(&name).is_ok());
        assert!(DisplayName::parse(&"山".repeat(101)).is_err());
        assert_eq!(
            DisplayName::parse(" 山田 花子 ").unwrap().as_str(),
            "山田 花子"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("山田\u{0007}").is_err());
        assert!(OrganizationName::parse("医療法人社団 さくら内科クリニック").is_ok());
    }

    #[test]
    fn passwords_need_length() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("correct horse battery").is_ok());
        assert!(Password::parse("パスワードは十二文字以上です").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn roles_and_organizations() {
        assert_eq!(Role::parse("agent").unwrap(), Role::Agent);
        assert!(Role::parse("root").is_err());
        assert!(Role::Customer.check_organization(false).is_err());
        assert!(Role::Customer.check_organization(true).is_ok());
        assert!(Role::Admin.check_organization(true).is_err());
        assert!(Role::Agent.check_organization(false).is_ok());
    }

    #[test]
    fn only_active_contracts_post() {
        assert!(ContractStatus::Active.may_post());
        assert!(!ContractStatus::Suspended.may_post());
        assert!(!ContractStatus::Ended.may_post());
        assert_eq!(
            ContractStatus::parse("ended").unwrap(),
            ContractStatus::Ended
        );
        assert!(ContractStatus::parse("Active").is_err());
    }
}
