//! Who is acting, and what they may see. One home for the visibility rule so that
//! every resource answers "another organization's object" the same way: not found.

use crate::identity::Role;

/// The kind of caller, as recorded in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    ApiKey,
    Anonymous,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::Anonymous => "anonymous",
            ActorKind::System => "system",
        }
    }
}

/// An authenticated caller. Organization ids are passed as raw 128-bit values so
/// the domain stays independent of any id crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: u128,
    pub role: Role,
    pub organization: Option<u128>,
}

impl Actor {
    /// Whether the caller may know that an object of `organization` exists.
    /// Staff see every organization; a customer only their own.
    pub fn may_see_organization(&self, organization: Option<u128>) -> bool {
        if self.role.is_staff() {
            return true;
        }
        matches!((self.organization, organization), (Some(mine), Some(theirs)) if mine == theirs)
    }

    pub fn has_role(&self, allowed: &[Role]) -> bool {
        allowed.contains(&self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, org: Option<u128>) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: 1,
            role,
            organization: org,
        }
    }

    #[test]
    fn customers_see_only_their_own_organization() {
        let c = actor(Role::Customer, Some(7));
        assert!(c.may_see_organization(Some(7)));
        assert!(!c.may_see_organization(Some(8)));
        assert!(!c.may_see_organization(None));
        let a = actor(Role::Agent, None);
        assert!(a.may_see_organization(Some(8)));
        assert!(a.may_see_organization(None));
    }
}
