use chrono::{DateTime, Utc};
use madoguchi_domain::{DisplayName, Email, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::{entities::user, error::StoreError, page::Page};

/// A user as the rest of the system sees it. The password hash is kept apart
/// (see [`credentials_by_email`]) so it cannot end up in a response by accident.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Option<Uuid>,
    pub active: bool,
    pub totp_enrolled: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What login needs to check a password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    /// The sealed TOTP secret, when the person has a second factor.
    pub totp_secret: Option<String>,
}

fn corrupt(e: impl ToString) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(e.to_string()))
}

pub(crate) fn from_model(m: user::Model) -> Result<User, StoreError> {
    Ok(User {
        id: m.id,
        email: m.email,
        display_name: m.display_name,
        role: Role::parse(&m.role).map_err(corrupt)?,
        organization_id: m.organization_id,
        active: m.active,
        totp_enrolled: m.totp_secret.is_some(),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: &'a DisplayName,
    pub role: Role,
    pub organization_id: Option<Uuid>,
    pub password_hash: String,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<User, StoreError> {
    let m = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email.as_str().to_owned()),
        display_name: Set(new.display_name.as_str().to_owned()),
        role: Set(new.role.as_str().to_owned()),
        organization_id: Set(new.organization_id),
        password_hash: Set(new.password_hash),
        active: Set(true),
        totp_secret: Set(None),
        totp_pending_secret: Set(None),
        totp_last_step: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    from_model(m)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<User, StoreError> {
    crate::page::by_id::<user::Entity, _>(db, id, from_model).await
}

/// The active user whose id the sub-select yields, if any.
pub(crate) async fn find_active_in(
    db: &impl ConnectionTrait,
    ids: sea_orm::sea_query::SelectStatement,
) -> Result<Option<User>, StoreError> {
    user::Entity::find()
        .filter(user::Column::Id.in_subquery(ids))
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .map(from_model)
        .transpose()
}

pub async fn credentials_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<Credentials>, StoreError> {
    let Some(m) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let password_hash = m.password_hash.clone();
    let totp_secret = m.totp_secret.clone();
    Ok(Some(Credentials {
        user: from_model(m)?,
        password_hash,
        totp_secret,
    }))
}

pub async fn count_with_role(db: &impl ConnectionTrait, role: Role) -> Result<u64, StoreError> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(role.as_str()))
        .count(db)
        .await?)
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub organization_id: Option<Uuid>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    filter: &UserFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<User>, StoreError> {
    let mut q = user::Entity::find().order_by_asc(user::Column::Id);
    if let Some(a) = after {
        q = q.filter(user::Column::Id.gt(a));
    }
    if let Some(o) = filter.organization_id {
        q = q.filter(user::Column::OrganizationId.eq(o));
    }
    if let Some(r) = filter.role {
        q = q.filter(user::Column::Role.eq(r.as_str()));
    }
    if let Some(a) = filter.active {
        q = q.filter(user::Column::Active.eq(a));
    }
    Page::fetch(db, q, limit, from_model).await
}

#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub display_name: Option<DisplayName>,
    pub role: Option<Role>,
    pub organization_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    expected_version: i32,
    changes: UserChanges,
    now: DateTime<Utc>,
) -> Result<User, StoreError> {
    let mut q = user::Entity::update_many()
        .col_expr(user::Column::Version, (expected_version + 1).into())
        .col_expr(user::Column::UpdatedAt, now.into());
    if let Some(n) = &changes.display_name {
        q = q.col_expr(user::Column::DisplayName, n.as_str().into());
    }
    if let Some(r) = changes.role {
        q = q.col_expr(user::Column::Role, r.as_str().into());
    }
    if let Some(o) = changes.organization_id {
        q = q.col_expr(user::Column::OrganizationId, o.into());
    }
    if let Some(a) = changes.active {
        q = q.col_expr(user::Column::Active, a.into());
    }
    if let Some(h) = changes.password_hash {
        q = q.col_expr(user::Column::PasswordHash, h.into());
    }
    let res = q
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        get(db, id).await?;
        return Err(StoreError::Stale);
    }
    get(db, id).await
}
