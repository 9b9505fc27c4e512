//! Stored incident notices.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::{
    entities::{
        announcement, announcement_organization as ao, announcement_thread as at,
        announcement_update as au,
    },
    error::StoreError,
    page::Page,
};

#[derive(Debug, Clone)]
pub struct Announcement {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub severity: String,
    pub status: String,
    /// Addressed to every organization (otherwise to `organization_ids`).
    pub all_organizations: bool,
    pub organization_ids: Vec<Uuid>,
    pub thread_ids: Vec<Uuid>,
    /// The linked threads' numbers and organizations (filled when read).
    pub threads: Vec<LinkedThread>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A thread a notice concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkedThread {
    pub number: i64,
    pub organization_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct Update {
    pub id: Uuid,
    pub body: String,
    pub status: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

fn active(a: &Announcement) -> announcement::ActiveModel {
    announcement::ActiveModel {
        id: Set(a.id),
        title: Set(a.title.clone()),
        body: Set(a.body.clone()),
        severity: Set(a.severity.clone()),
        status: Set(a.status.clone()),
        all_organizations: Set(a.all_organizations),
        created_by: Set(a.created_by),
        version: Set(a.version),
        created_at: Set(a.created_at),
        updated_at: Set(a.updated_at),
    }
}

pub async fn insert(db: &impl ConnectionTrait, a: &Announcement) -> Result<(), StoreError> {
    announcement::Entity::insert(active(a))
        .exec_without_returning(db)
        .await?;
    if !a.organization_ids.is_empty() {
        ao::Entity::insert_many(a.organization_ids.iter().map(|o| ao::ActiveModel {
            announcement_id: Set(a.id),
            organization_id: Set(*o),
        }))
        .exec_without_returning(db)
        .await?;
    }
    if !a.thread_ids.is_empty() {
        at::Entity::insert_many(a.thread_ids.iter().map(|t| at::ActiveModel {
            announcement_id: Set(a.id),
            thread_id: Set(*t),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn complete(
    db: &impl ConnectionTrait,
    m: announcement::Model,
) -> Result<Announcement, StoreError> {
    let organization_ids = ao::Entity::find()
        .filter(ao::Column::AnnouncementId.eq(m.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.organization_id)
        .collect();
    let thread_ids = at::Entity::find()
        .filter(at::Column::AnnouncementId.eq(m.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.thread_id)
        .collect::<Vec<_>>();
    let threads = if thread_ids.is_empty() {
        Vec::new()
    } else {
        crate::entities::thread::Entity::find()
            .filter(crate::entities::thread::Column::Id.is_in(thread_ids.clone()))
            .order_by_asc(crate::entities::thread::Column::Number)
            .all(db)
            .await?
            .into_iter()
            .map(|t| LinkedThread {
                number: t.number,
                organization_id: t.organization_id,
            })
            .collect()
    };
    Ok(Announcement {
        id: m.id,
        title: m.title,
        body: m.body,
        severity: m.severity,
        status: m.status,
        all_organizations: m.all_organizations,
        organization_ids,
        thread_ids,
        threads,
        created_by: m.created_by,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Announcement, StoreError> {
    let m = announcement::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    complete(db, m).await
}

/// Save changed fields if still at `expected_version`.
pub async fn update(
    db: &impl ConnectionTrait,
    a: &mut Announcement,
    expected_version: i32,
) -> Result<(), StoreError> {
    a.version = expected_version + 1;
    let res = announcement::Entity::update_many()
        .set(active(a))
        .filter(announcement::Column::Id.eq(a.id))
        .filter(announcement::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        a.version = expected_version;
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Newest first. With `audience`, only notices addressed to that organization.
pub async fn list(
    db: &impl ConnectionTrait,
    audience: Option<Uuid>,
    active_only: bool,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Announcement>, StoreError> {
    use announcement::Column as C;
    let mut q = announcement::Entity::find().order_by_desc(C::Id);
    if let Some(org) = audience {
        q = q.filter(
            sea_orm::Condition::any()
                .add(C::AllOrganizations.eq(true))
                .add(
                    C::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(ao::Column::AnnouncementId)
                            .from(ao::Entity)
                            .and_where(ao::Column::OrganizationId.eq(org))
                            .to_owned(),
                    ),
                ),
        );
    }
    if active_only {
        q = q.filter(C::Status.ne("resolved"));
    }
    if let Some(b) = before {
        q = q.filter(C::Id.lt(b));
    }
    let rows = q.limit(limit + 1).all(db).await?;
    let mut items = Vec::with_capacity(rows.len());
    for m in rows {
        items.push(complete(db, m).await?);
    }
    Ok(Page::from_overfetch(items, limit))
}

pub async fn add_update(
    db: &impl ConnectionTrait,
    announcement_id: Uuid,
    u: &Update,
) -> Result<(), StoreError> {
    au::Entity::insert(au::ActiveModel {
        id: Set(u.id),
        announcement_id: Set(announcement_id),
        body: Set(u.body.clone()),
        status: Set(u.status.clone()),
        created_by: Set(u.created_by),
        created_at: Set(u.created_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn updates(
    db: &impl ConnectionTrait,
    announcement_id: Uuid,
) -> Result<Vec<Update>, StoreError> {
    Ok(au::Entity::find()
        .filter(au::Column::AnnouncementId.eq(announcement_id))
        .order_by_asc(au::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| Update {
            id: m.id,
            body: m.body,
            status: m.status,
            created_by: m.created_by,
            created_at: m.created_at,
        })
        .collect())
}
