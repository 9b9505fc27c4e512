//! Who is acting: what every service function takes, whichever front end (the
//! REST API, the web board) authenticated the caller, and whether a person or
//! another system (an API key) is behind it.

use madoguchi_domain::Action;
use madoguchi_domain::{
    integrations::{key_role, Scope},
    Actor, ActorKind, Role,
};
use madoguchi_persistence::{api_keys::ApiKey, users::User};
use uuid::Uuid;

use crate::http::problem::ApiError;

/// An authenticated caller of a protected route.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person signed in with a password (and a session). `enrol_only`: a
    /// staff member without a second factor while one is required for staff;
    /// such a session may only enrol one (and see itself, sign out).
    User {
        user: User,
        session_id: Uuid,
        enrol_only: bool,
    },
    /// Another system holding an API key: it acts with [`key_role`] and only
    /// within its scopes.
    Key(ApiKey),
}

impl Principal {
    pub fn user(user: User, session_id: Uuid) -> Self {
        Principal::User {
            user,
            session_id,
            enrol_only: false,
        }
    }

    /// Whether this session may only enrol a second factor.
    pub fn enrol_only(&self) -> bool {
        matches!(
            self,
            Principal::User {
                enrol_only: true,
                ..
            }
        )
    }

    pub fn actor(&self) -> Actor {
        Actor {
            kind: self.kind(),
            id: self.id().as_u128(),
            role: self.role(),
            organization: self.organization_id().map(|o| o.as_u128()),
        }
    }

    pub fn kind(&self) -> ActorKind {
        match self {
            Principal::User { .. } => ActorKind::User,
            Principal::Key(_) => ActorKind::ApiKey,
        }
    }

    /// The user's or the key's id (what the audit trail names as the actor).
    pub fn id(&self) -> Uuid {
        match self {
            Principal::User { user, .. } => user.id,
            Principal::Key(k) => k.id,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Principal::User { user, .. } => user.role,
            Principal::Key(k) => key_role(k.organization_id.is_some()),
        }
    }

    /// The organization the caller acts for (a customer, or a key bound to one).
    pub fn organization_id(&self) -> Option<Uuid> {
        match self {
            Principal::User { user, .. } => user.organization_id,
            Principal::Key(k) => k.organization_id,
        }
    }

    /// The person, when a person is acting: what authorship columns point to.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Principal::User { user, .. } => Some(user.id),
            Principal::Key(_) => None,
        }
    }

    /// The name written beside what the caller writes (a post's author).
    pub fn display_name(&self) -> &str {
        match self {
            Principal::User { user, .. } => &user.display_name,
            Principal::Key(k) => &k.name,
        }
    }

    /// Whether the caller may do `action`, which `allowed` roles may do: a
    /// person by role; a key by the action's scope and by the role it acts with
    /// (an admin-only scope such as `audit:read` standing for the admin role).
    pub fn permits(&self, allowed: &[Role], action: Action) -> Result<(), ApiError> {
        let by_role = self.actor().has_role(allowed);
        if self.enrol_only() {
            return Err(ApiError::second_factor_enrolment_required());
        }
        match self {
            Principal::User { .. } if by_role => Ok(()),
            Principal::User { .. } => Err(ApiError::forbidden_for(allowed)),
            Principal::Key(k) => match Scope::for_action(action) {
                Some(s) if !k.scopes.contains(&s) => Err(ApiError::missing_scope(Some(s))),
                None => Err(ApiError::missing_scope(None)),
                Some(_) if by_role => Ok(()),
                Some(s) if s.stands_for_admin() && k.organization_id.is_none() => Ok(()),
                Some(_) => Err(ApiError::forbidden_for(allowed)),
            },
        }
    }
}
