use chrono::{DateTime, Utc};
use madoguchi_domain::{ContractStatus, OrganizationName};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::{entities::organization, error::StoreError, page::Page};

#[derive(Debug, Clone)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub contract_status: ContractStatus,
    /// Its users must sign in with a second factor.
    pub totp_required: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_model(m: organization::Model) -> Result<Organization, StoreError> {
    let contract_status = ContractStatus::parse(&m.contract_status)
        .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    Ok(Organization {
        id: m.id,
        name: m.name,
        contract_status,
        totp_required: m.totp_required,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub async fn insert(
    db: &impl ConnectionTrait,
    name: &OrganizationName,
    status: ContractStatus,
    now: DateTime<Utc>,
) -> Result<Organization, StoreError> {
    let m = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.as_str().to_owned()),
        contract_status: Set(status.as_str().to_owned()),
        totp_required: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    from_model(m)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Organization, StoreError> {
    crate::page::by_id::<organization::Entity, _>(db, id, from_model).await
}

/// Organizations in creation order (ids are UUIDv7), after `after`.
pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    contract_status: Option<ContractStatus>,
    limit: u64,
) -> Result<Page<Organization>, StoreError> {
    let mut q = organization::Entity::find().order_by_asc(organization::Column::Id);
    if let Some(a) = after {
        q = q.filter(organization::Column::Id.gt(a));
    }
    if let Some(s) = contract_status {
        q = q.filter(organization::Column::ContractStatus.eq(s.as_str()));
    }
    Page::fetch(db, q, limit, from_model).await
}

#[derive(Debug, Default, Clone)]
pub struct OrganizationChanges {
    pub name: Option<OrganizationName>,
    pub contract_status: Option<ContractStatus>,
    pub totp_required: Option<bool>,
}

/// Apply `changes` if the row is still at `expected_version`; bump the version.
pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    expected_version: i32,
    changes: &OrganizationChanges,
    now: DateTime<Utc>,
) -> Result<Organization, StoreError> {
    let mut q = organization::Entity::update_many()
        .col_expr(organization::Column::Version, (expected_version + 1).into())
        .col_expr(organization::Column::UpdatedAt, now.into());
    if let Some(n) = &changes.name {
        q = q.col_expr(organization::Column::Name, n.as_str().into());
    }
    if let Some(s) = changes.contract_status {
        q = q.col_expr(organization::Column::ContractStatus, s.as_str().into());
    }
    if let Some(r) = changes.totp_required {
        q = q.col_expr(organization::Column::TotpRequired, r.into());
    }
    let res = q
        .filter(organization::Column::Id.eq(id))
        .filter(organization::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        // Either it does not exist or it moved on; tell them apart for the caller.
        get(db, id).await?;
        return Err(StoreError::Stale);
    }
    get(db, id).await
}

/// The names of the organizations `ids` names (those that exist), for showing
/// rows of any number of clinics without listing them all.
pub async fn names(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m.name)).collect())
}

/// Up to `limit` organizations whose name contains `name_part` (all when
/// `None`), by name, and whether there are more: what a picker can show of
/// any number of clinics.
pub async fn find(
    db: &impl ConnectionTrait,
    name_part: Option<&str>,
    limit: u64,
) -> Result<(Vec<Organization>, bool), StoreError> {
    let mut q = organization::Entity::find()
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id);
    if let Some(part) = name_part.map(str::trim).filter(|p| !p.is_empty()) {
        q = q.filter(organization::Column::Name.contains(part));
    }
    let mut rows = q.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((
        rows.into_iter()
            .map(from_model)
            .collect::<Result<Vec<_>, _>>()?,
        more,
    ))
}
