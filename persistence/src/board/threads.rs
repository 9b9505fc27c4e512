//! Threads, their tags, their numbers, and the queue's order over them.

use chrono::{DateTime, Utc};
use madoguchi_domain::board::{
    Channel, ClockEvent, Priority, SlaPolicySet, ThreadSla, ThreadStatus, Visibility,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{
    append_clock_events_many, corrupt, far_future, index_documents, insert_all, insert_posts,
    is_pg,
    policies::{policy_from_json, policy_json},
    save_sla_many, stmt, IndexDoc, PostRecord,
};
use crate::{
    entities::{thread, thread_tag},
    error::StoreError,
    outbox::{self, NewEvent},
    page::Page,
};

#[derive(Debug, Clone)]
pub struct ThreadRecord {
    pub id: Uuid,
    pub number: i64,
    pub organization_id: Uuid,
    pub title: String,
    pub category: Option<String>,
    pub priority: Priority,
    pub status: ThreadStatus,
    pub channel: Channel,
    pub assignee_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub follow_up_of: Option<i64>,
    pub policy: SlaPolicySet,
    pub tags: Vec<String>,
    pub post_count: i32,
    pub public_post_count: i32,
    pub last_public_post_at: Option<DateTime<Utc>>,
    pub last_public_by_staff: bool,
    pub next_due_at: Option<DateTime<Utc>>,
    pub breached: bool,
    /// Moves with every change, internal notes included (staff's `ETag`).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Moves only with what a customer can see (their `ETag`): not with
    /// internal notes.
    pub public_version: i32,
    pub public_updated_at: DateTime<Utc>,
}

fn thread_from(m: thread::Model) -> Result<ThreadRecord, StoreError> {
    let tags = match m.tags_json.as_deref() {
        Some(t) => serde_json::from_str(t).map_err(|_| corrupt("tags of a thread"))?,
        None => Vec::new(),
    };
    Ok(ThreadRecord {
        id: m.id,
        number: m.number,
        organization_id: m.organization_id,
        title: m.title,
        category: m.category,
        priority: Priority::parse(&m.priority).map_err(|_| corrupt("priority"))?,
        status: ThreadStatus::parse(&m.status).map_err(|_| corrupt("status"))?,
        channel: Channel::parse(&m.channel).map_err(|_| corrupt("channel"))?,
        assignee_id: m.assignee_id,
        created_by: m.created_by,
        follow_up_of: m.follow_up_of,
        policy: policy_from_json(&m.policy)?,
        tags,
        post_count: m.post_count,
        public_post_count: m.public_post_count,
        last_public_post_at: m.last_public_post_at,
        last_public_by_staff: m.last_public_by_staff,
        next_due_at: Some(m.next_due_at).filter(|d| *d < far_future()),
        breached: m.breached,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        public_version: m.public_version,
        public_updated_at: m.public_updated_at.unwrap_or(m.updated_at),
    })
}

fn thread_active(t: &ThreadRecord) -> thread::ActiveModel {
    thread::ActiveModel {
        id: Set(t.id),
        number: Set(t.number),
        organization_id: Set(t.organization_id),
        title: Set(t.title.clone()),
        category: Set(t.category.clone()),
        priority: Set(t.priority.as_str().to_owned()),
        status: Set(t.status.as_str().to_owned()),
        channel: Set(t.channel.as_str().to_owned()),
        assignee_id: Set(t.assignee_id),
        created_by: Set(t.created_by),
        follow_up_of: Set(t.follow_up_of),
        policy: Set(policy_json(&t.policy)),
        post_count: Set(t.post_count),
        public_post_count: Set(t.public_post_count),
        last_public_post_at: Set(t.last_public_post_at),
        last_public_by_staff: Set(t.last_public_by_staff),
        next_due_at: Set(t.next_due_at.unwrap_or_else(far_future)),
        breached: Set(t.breached),
        queue_rank: Set(if t.breached { 0 } else { 1 }),
        version: Set(t.version),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
        public_version: Set(t.public_version),
        public_updated_at: Set(Some(t.public_updated_at)),
        // The copies of clocks and tags are the triggers' (m0018).
        clocks_json: NotSet,
        tags_json: NotSet,
    }
}

/// The next human-friendly thread number; unique across instances (the counter
/// row is locked until the transaction ends).
pub async fn next_number(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    next_numbers(db, 1).await
}

/// Reserve `n` consecutive thread numbers (n ≥ 1); returns the first.
pub async fn next_numbers(db: &impl ConnectionTrait, n: usize) -> Result<i64, StoreError> {
    let n = i64::try_from(n.max(1)).map_err(|_| corrupt("counter step"))?;
    let row = db
        .query_one(stmt(
            db,
            "UPDATE counters SET value = value + $1 WHERE name = 'thread_number' RETURNING value",
            vec![n.into()],
        ))
        .await?
        .ok_or_else(|| corrupt("counter"))?;
    Ok(row.try_get::<i64>("", "value")? - n + 1)
}

/// Take the thread-number counter's lock without moving it: the first statement
/// of a transaction that allocates numbers later. On SQLite it makes the
/// transaction a writer from the start; on PostgreSQL it orders concurrent
/// creators before they read anything.
pub async fn lock_numbers(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    db.execute(stmt(
        db,
        "UPDATE counters SET value = value WHERE name = 'thread_number'",
        vec![],
    ))
    .await?;
    Ok(())
}

/// Everything the creation of one thread writes but its audit entry: the thread,
/// its first post, both search documents, its clocks and their log, and the
/// outbox event. Built in memory, then written for many threads at once.
#[derive(Debug, Clone)]
pub struct NewThreadRows {
    pub thread: ThreadRecord,
    pub first_post: PostRecord,
    pub title_tokens: Vec<String>,
    pub body_tokens: Vec<String>,
    pub sla: ThreadSla,
    pub clock_events: Vec<ClockEvent>,
    pub event: NewEvent,
}

/// Write new threads with multi-row statements: a handful of round trips for
/// the whole set instead of a dozen per thread, which is what bounds creation
/// on one SQLite connection.
pub async fn insert_new_threads(
    db: &impl ConnectionTrait,
    rows: &[NewThreadRows],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let threads: Vec<&ThreadRecord> = rows.iter().map(|r| &r.thread).collect();
    insert_threads(db, &threads).await?;
    insert_posts(db, rows.iter().map(|r| &r.first_post)).await?;
    let docs: Vec<IndexDoc<'_>> = rows
        .iter()
        .flat_map(|r| {
            let t = &r.thread;
            [
                IndexDoc {
                    thread_id: t.id,
                    post_id: None,
                    organization_id: t.organization_id,
                    internal: false,
                    tokens: &r.title_tokens,
                },
                IndexDoc {
                    thread_id: t.id,
                    post_id: Some(r.first_post.id),
                    organization_id: t.organization_id,
                    internal: r.first_post.visibility == Visibility::Internal,
                    tokens: &r.body_tokens,
                },
            ]
        })
        .collect();
    index_documents(db, &docs).await?;
    save_sla_many(db, rows.iter().map(|r| (r.thread.id, &r.sla))).await?;
    append_clock_events_many(
        db,
        rows.iter()
            .map(|r| (r.thread.id, r.clock_events.as_slice())),
    )
    .await?;
    outbox::append_many(db, rows.iter().map(|r| r.event.clone())).await?;
    Ok(())
}

pub async fn insert_thread(db: &impl ConnectionTrait, t: &ThreadRecord) -> Result<(), StoreError> {
    insert_threads(db, &[t]).await
}

/// Threads and their tags, one statement each.
async fn insert_threads(
    db: &impl ConnectionTrait,
    threads: &[&ThreadRecord],
) -> Result<(), StoreError> {
    insert_all(db, threads.iter().map(|t| thread_active(t)).collect()).await?;
    let tags = threads
        .iter()
        .flat_map(|t| tag_models(t.id, &t.tags))
        .collect();
    insert_all(db, tags).await
}

fn tag_models(id: Uuid, tags: &[String]) -> Vec<thread_tag::ActiveModel> {
    tags.iter()
        .map(|t| thread_tag::ActiveModel {
            thread_id: Set(id),
            tag: Set(t.clone()),
        })
        .collect()
}

async fn replace_tags(
    db: &impl ConnectionTrait,
    id: Uuid,
    tags: &[String],
) -> Result<(), StoreError> {
    thread_tag::Entity::delete_many()
        .filter(thread_tag::Column::ThreadId.eq(id))
        .exec(db)
        .await?;
    insert_all(db, tag_models(id, tags)).await
}

pub async fn get_by_number(
    db: &impl ConnectionTrait,
    number: i64,
) -> Result<ThreadRecord, StoreError> {
    let m = thread::Entity::find()
        .filter(thread::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    thread_from(m)
}

pub async fn get_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<ThreadRecord, StoreError> {
    let m = thread::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    thread_from(m)
}

/// Take the thread's row lock for the rest of the transaction (PostgreSQL; SQLite
/// serializes writers anyway). Every change of a thread's clocks holds it, the
/// SLA sweeper included, so no two writers interleave on one thread.
pub async fn lock(db: &impl ConnectionTrait, number: i64) -> Result<(), StoreError> {
    if is_pg(db) {
        let row = db
            .query_one(stmt(
                db,
                "SELECT id FROM threads WHERE number = $1 FOR UPDATE",
                vec![number.into()],
            ))
            .await?;
        if row.is_none() {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

/// Save a changed thread if it is still at `expected_version`; bumps the version.
pub async fn update_thread(
    db: &impl ConnectionTrait,
    t: &mut ThreadRecord,
    expected_version: i32,
) -> Result<(), StoreError> {
    t.version = expected_version + 1;
    let res = thread::Entity::update_many()
        .set(thread_active(t))
        .filter(thread::Column::Id.eq(t.id))
        .filter(thread::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        t.version = expected_version;
        thread::Entity::find_by_id(t.id)
            .one(db)
            .await?
            .ok_or(StoreError::NotFound)?;
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Replace a thread's tags (only when they changed: it rewrites the rows).
pub async fn set_tags(
    db: &impl ConnectionTrait,
    id: Uuid,
    tags: &[String],
) -> Result<(), StoreError> {
    replace_tags(db, id, tags).await
}

#[derive(Debug, Clone, Default)]
pub struct ThreadFilter {
    pub organization_id: Option<Uuid>,
    pub statuses: Vec<ThreadStatus>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Uuid>,
    pub tag: Option<String>,
}

fn apply_filter<Q: QueryFilter>(mut q: Q, f: &ThreadFilter) -> Q {
    if let Some(o) = f.organization_id {
        q = q.filter(thread::Column::OrganizationId.eq(o));
    }
    if !f.statuses.is_empty() {
        q = q.filter(thread::Column::Status.is_in(f.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(p) = f.priority {
        q = q.filter(thread::Column::Priority.eq(p.as_str()));
    }
    if let Some(a) = f.assignee_id {
        q = q.filter(thread::Column::AssigneeId.eq(a));
    }
    if let Some(tag) = &f.tag {
        q = q.filter(
            thread::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(thread_tag::Column::ThreadId)
                    .from(thread_tag::Entity)
                    .and_where(thread_tag::Column::Tag.eq(tag.clone()))
                    .to_owned(),
            ),
        );
    }
    q
}

/// Read a page of threads with their tags and clocks: one row per thread, the
/// clocks and tags from the row's own copies (m0018), so no sub-select runs
/// per row.
async fn with_clocks(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<thread::Entity>,
    limit: u64,
) -> Result<Vec<(ThreadRecord, ThreadSla)>, StoreError> {
    use sea_orm::{FromQueryResult, QueryTrait};
    let mut page = q.build(db.get_database_backend());
    // The limit is written into the text, not bound: with it bound, PostgreSQL
    // cannot plan the statement once for every page (a generic plan would not
    // know how few rows are wanted), so it planned each page anew (0.13 ms of
    // a page's 0.6 ms in the database, issue 16.8). It is our own number.
    page.sql.push_str(&format!(" LIMIT {limit}"));
    let rows = thread::Model::find_by_statement(page).all(db).await?;
    rows.into_iter()
        .map(|m| {
            let sla = super::clocks::sla_from_json(m.clocks_json.as_deref())?
                .ok_or_else(|| corrupt("a thread without its clocks"))?;
            Ok((thread_from(m)?, sla))
        })
        .collect()
}

/// Newest first, with each thread's clocks.
pub async fn list_threads(
    db: &impl ConnectionTrait,
    f: &ThreadFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<(ThreadRecord, ThreadSla)>, StoreError> {
    let mut q = apply_filter(thread::Entity::find(), f).order_by_desc(thread::Column::Number);
    if let Some(b) = before {
        q = q.filter(thread::Column::Number.lt(b));
    }
    let rows = with_clocks(db, q, limit + 1).await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// The queue's position of a thread: (rank, due, number).
pub type QueueKey = (i32, DateTime<Utc>, i64);

pub fn queue_key(t: &ThreadRecord) -> QueueKey {
    (
        if t.breached { 0 } else { 1 },
        t.next_due_at.unwrap_or_else(far_future),
        t.number,
    )
}

/// Work ordered breached first, then by the nearest due time, then by number. The
/// order uses stored due times, which move only when a clock event happens, so a
/// walk through the pages stays consistent while time passes.
pub async fn queue(
    db: &impl ConnectionTrait,
    f: &ThreadFilter,
    after: Option<QueueKey>,
    limit: u64,
) -> Result<Page<(ThreadRecord, ThreadSla)>, StoreError> {
    use sea_orm::sea_query::{Expr, IntoCondition};
    let mut q = apply_filter(thread::Entity::find(), f)
        .order_by_asc(thread::Column::QueueRank)
        .order_by_asc(thread::Column::NextDueAt)
        .order_by_asc(thread::Column::Number);
    if let Some((rank, due, number)) = after {
        let c = Expr::col(thread::Column::QueueRank)
            .gt(rank)
            .or(Expr::col(thread::Column::QueueRank)
                .eq(rank)
                .and(Expr::col(thread::Column::NextDueAt).gt(due)))
            .or(Expr::col(thread::Column::QueueRank)
                .eq(rank)
                .and(Expr::col(thread::Column::NextDueAt).eq(due))
                .and(Expr::col(thread::Column::Number).gt(number)));
        q = q.filter(c.into_condition());
    }
    let rows = with_clocks(db, q, limit + 1).await?;
    Ok(Page::from_overfetch(rows, limit))
}

pub async fn threads_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<ThreadRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = thread::Entity::find()
        .filter(thread::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    rows.into_iter().map(thread_from).collect()
}

/// Update only the queue position of a thread (due time, breach), without touching
/// its version: background work must not make a client's `If-Match` stale.
pub async fn set_urgency(
    db: &impl ConnectionTrait,
    id: Uuid,
    next_due_at: Option<DateTime<Utc>>,
    breached: bool,
) -> Result<(), StoreError> {
    thread::Entity::update_many()
        .col_expr(
            thread::Column::NextDueAt,
            next_due_at.unwrap_or_else(far_future).into(),
        )
        .col_expr(thread::Column::Breached, breached.into())
        .col_expr(
            thread::Column::QueueRank,
            (if breached { 0 } else { 1 }).into(),
        )
        .filter(thread::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
