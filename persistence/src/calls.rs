//! Stored phone-call logs.

use chrono::{DateTime, Utc};
use madoguchi_domain::calls::Direction;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::{entities::call, error::StoreError, page::Page};

#[derive(Debug, Clone)]
pub struct CallRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub caller_name: String,
    /// E.164.
    pub caller_number: String,
    pub direction: Direction,
    pub answered: bool,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outside_hours: bool,
    pub agent_id: Option<Uuid>,
    pub summary: Option<String>,
    pub thread_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_model(m: call::Model) -> Result<CallRecord, StoreError> {
    Ok(CallRecord {
        id: m.id,
        organization_id: m.organization_id,
        caller_name: m.caller_name,
        caller_number: m.caller_number,
        direction: Direction::parse(&m.direction)
            .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?,
        answered: m.answered,
        started_at: m.started_at,
        ended_at: m.ended_at,
        outside_hours: m.outside_hours,
        agent_id: m.agent_id,
        summary: m.summary,
        thread_id: m.thread_id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn active(c: &CallRecord) -> call::ActiveModel {
    call::ActiveModel {
        id: Set(c.id),
        organization_id: Set(c.organization_id),
        caller_name: Set(c.caller_name.clone()),
        caller_number: Set(c.caller_number.clone()),
        direction: Set(c.direction.as_str().to_owned()),
        answered: Set(c.answered),
        started_at: Set(c.started_at),
        ended_at: Set(c.ended_at),
        outside_hours: Set(c.outside_hours),
        agent_id: Set(c.agent_id),
        summary: Set(c.summary.clone()),
        thread_id: Set(c.thread_id),
        version: Set(c.version),
        created_at: Set(c.created_at),
        updated_at: Set(c.updated_at),
    }
}

pub async fn insert(db: &impl ConnectionTrait, c: &CallRecord) -> Result<(), StoreError> {
    call::Entity::insert(active(c))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<CallRecord, StoreError> {
    crate::page::by_id::<call::Entity, _>(db, id, from_model).await
}

/// Save a changed call if it is still at `expected_version`.
pub async fn update(
    db: &impl ConnectionTrait,
    c: &mut CallRecord,
    expected_version: i32,
) -> Result<(), StoreError> {
    c.version = expected_version + 1;
    let res = call::Entity::update_many()
        .set(active(c))
        .filter(call::Column::Id.eq(c.id))
        .filter(call::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        c.version = expected_version;
        get(db, c.id).await?;
        return Err(StoreError::Stale);
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub organization_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub direction: Option<Direction>,
    pub outside_hours: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first (ids are UUIDv7, in creation order).
pub async fn list(
    db: &impl ConnectionTrait,
    f: &CallFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<CallRecord>, StoreError> {
    use call::Column as C;
    let mut q = call::Entity::find().order_by_desc(C::Id);
    if let Some(b) = before {
        q = q.filter(C::Id.lt(b));
    }
    if let Some(v) = f.organization_id {
        q = q.filter(C::OrganizationId.eq(v));
    }
    if let Some(v) = f.agent_id {
        q = q.filter(C::AgentId.eq(v));
    }
    if let Some(v) = f.direction {
        q = q.filter(C::Direction.eq(v.as_str()));
    }
    if let Some(v) = f.outside_hours {
        q = q.filter(C::OutsideHours.eq(v));
    }
    if let Some(v) = f.from {
        q = q.filter(C::StartedAt.gte(v));
    }
    if let Some(v) = f.to {
        q = q.filter(C::StartedAt.lt(v));
    }
    Page::fetch(db, q, limit, from_model).await
}
