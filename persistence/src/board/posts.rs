//! Posts of a thread, public and internal.

use chrono::{DateTime, Utc};
use madoguchi_domain::board::{AuthorRole, Visibility};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{corrupt, insert_all};
use crate::{entities::post, error::StoreError, page::Page};

#[derive(Debug, Clone)]
pub struct PostRecord {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub author_id: Option<Uuid>,
    pub author_name: String,
    pub author_role: AuthorRole,
    pub visibility: Visibility,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

fn post_from(m: post::Model) -> Result<PostRecord, StoreError> {
    Ok(PostRecord {
        id: m.id,
        thread_id: m.thread_id,
        author_id: m.author_id,
        author_name: m.author_name,
        author_role: AuthorRole::parse(&m.author_role).map_err(|_| corrupt("author_role"))?,
        visibility: Visibility::parse(&m.visibility).map_err(|_| corrupt("visibility"))?,
        body: m.body,
        created_at: m.created_at,
    })
}

pub async fn insert_post(db: &impl ConnectionTrait, p: &PostRecord) -> Result<(), StoreError> {
    insert_posts(db, std::iter::once(p)).await
}

pub(super) async fn insert_posts<'a>(
    db: &impl ConnectionTrait,
    posts: impl Iterator<Item = &'a PostRecord>,
) -> Result<(), StoreError> {
    let models: Vec<_> = posts
        .map(|p| post::ActiveModel {
            id: Set(p.id),
            thread_id: Set(p.thread_id),
            author_id: Set(p.author_id),
            author_name: Set(p.author_name.clone()),
            author_role: Set(p.author_role.as_str().to_owned()),
            visibility: Set(p.visibility.as_str().to_owned()),
            body: Set(p.body.clone()),
            created_at: Set(p.created_at),
        })
        .collect();
    insert_all(db, models).await
}

/// Oldest first (ids are UUIDv7). Internal posts only when asked for.
pub async fn list_posts(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
    include_internal: bool,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Page<PostRecord>, StoreError> {
    let mut q = post::Entity::find()
        .filter(post::Column::ThreadId.eq(thread_id))
        .order_by_asc(post::Column::Id);
    if !include_internal {
        q = q.filter(post::Column::Visibility.eq(Visibility::Public.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(post::Column::Id.gt(a));
    }
    Page::fetch(db, q, limit, post_from).await
}

pub async fn get_posts(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<PostRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    post::Entity::find()
        .filter(post::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(post_from)
        .collect()
}
