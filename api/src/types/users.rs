//! Users.

use chrono::{DateTime, FixedOffset};
use madoguchi_domain::time::to_wire;
use madoguchi_persistence::users::User;
use poem_openapi::{types::MaybeUndefined, Object};
use uuid::Uuid;

use super::RoleDto;
use crate::http::text::Text;

/// A person who signs in. Never carries a password or its hash.
#[derive(Debug, Object)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    /// Up to 100 characters, usually Japanese (山田 花子).
    pub display_name: String,
    pub role: RoleDto,
    /// Set for customers (their clinic); null for staff.
    pub organization_id: Option<Uuid>,
    pub active: bool,
    pub totp_enrolled: bool,
    pub version: i32,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role.into(),
            organization_id: u.organization_id,
            active: u.active,
            totp_enrolled: u.totp_enrolled,
            version: u.version,
            created_at: to_wire(u.created_at),
            updated_at: to_wire(u.updated_at),
        }
    }
}

#[derive(Debug, Object)]
pub struct CreateUser {
    /// Up to 254 characters; stored lower-case.
    #[oai(validator(max_length = 254))]
    pub email: Text,
    /// 1 to 100 characters after trimming.
    #[oai(validator(max_length = 100))]
    pub display_name: Text,
    pub role: RoleDto,
    /// Required for customers, absent for staff.
    pub organization_id: Option<Uuid>,
    /// 12 to 128 characters.
    #[oai(validator(max_length = 128))]
    pub password: Text,
}

#[derive(Debug, Object)]
pub struct UpdateUser {
    #[oai(validator(max_length = 100))]
    pub display_name: Option<Text>,
    pub role: Option<RoleDto>,
    /// `null` removes the organization (when the role becomes staff).
    pub organization_id: MaybeUndefined<Uuid>,
    /// `false` deactivates the user and revokes every token at once.
    pub active: Option<bool>,
    /// A new password (12 to 128 characters); revokes every token.
    #[oai(validator(max_length = 128))]
    pub password: Option<Text>,
}

#[derive(Debug, Object)]
pub struct UserList {
    pub items: Vec<UserDto>,
    pub next_cursor: Option<String>,
}
