//! Who is acting: what every service function takes, whichever front end (the
//! REST API, the web board) authenticated the caller.

use madoguchi_domain::{Actor, ActorKind, Role};
use madoguchi_persistence::users::User;
use uuid::Uuid;

/// An authenticated caller of a protected route.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub session_id: Uuid,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: self.user.id.as_u128(),
            role: self.user.role,
            organization: self.user.organization_id.map(|o| o.as_u128()),
        }
    }

    pub fn role(&self) -> Role {
        self.user.role
    }
}
