//! Storage of the board: threads, posts, SLA clocks and their log, policies, the
//! outbox, the queue and the search index.

use chrono::{DateTime, TimeZone, Utc};
use madoguchi_domain::board::{
    Channel, Clock, ClockEvent, ClockEventKind, ClockKind, ClockPhase, Priority, SlaPolicy,
    SlaPolicySet, ThreadSla, ThreadStatus, Visibility,
};
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement, Value,
};
use uuid::Uuid;

use crate::{
    entities::{outbox, post, sla_clock, sla_clock_event, sla_policy, thread, thread_tag},
    error::StoreError,
    page::Page,
};

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!("corrupt board row: {what}")))
}

/// Write `$1`-style SQL once; SQLite gets `?`.
fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DatabaseBackend::Sqlite {
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                // Numbered (`?1`), so a parameter may be used twice.
                out.push('?');
                while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
                    out.push(d);
                    chars.next();
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn is_pg(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DatabaseBackend::Postgres
}

/// The `next_due_at` of a thread with no running clock.
pub fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

// ---- policies -----------------------------------------------------------------

fn policy_json(set: &SlaPolicySet) -> String {
    let one = |p: SlaPolicy| {
        serde_json::json!([
            p.first_response_minutes,
            p.next_reply_minutes,
            p.resolution_minutes
        ])
    };
    serde_json::json!({"low": one(set.low), "normal": one(set.normal), "high": one(set.high), "urgent": one(set.urgent)}).to_string()
}

fn policy_from_json(s: &str) -> Result<SlaPolicySet, StoreError> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| corrupt("policy"))?;
    let one = |k: &str| -> Result<SlaPolicy, StoreError> {
        let a = v
            .get(k)
            .and_then(|x| x.as_array())
            .ok_or_else(|| corrupt("policy"))?;
        let n = |i: usize| {
            a.get(i)
                .and_then(|x| x.as_u64())
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| corrupt("policy"))
        };
        Ok(SlaPolicy {
            first_response_minutes: n(0)?,
            next_reply_minutes: n(1)?,
            resolution_minutes: n(2)?,
        })
    };
    Ok(SlaPolicySet {
        low: one("low")?,
        normal: one("normal")?,
        high: one("high")?,
        urgent: one("urgent")?,
    })
}

/// The current policies (defaults for priorities never edited), with versions.
pub async fn policies(
    db: &impl ConnectionTrait,
) -> Result<(SlaPolicySet, Vec<(Priority, i32, DateTime<Utc>)>), StoreError> {
    let mut set = SlaPolicySet::default();
    let mut meta = Vec::new();
    for m in sla_policy::Entity::find().all(db).await? {
        let p = Priority::parse(&m.priority).map_err(|_| corrupt("priority"))?;
        let to = |x: i32| u32::try_from(x).map_err(|_| corrupt("minutes"));
        set.set(
            p,
            SlaPolicy {
                first_response_minutes: to(m.first_response_minutes)?,
                next_reply_minutes: to(m.next_reply_minutes)?,
                resolution_minutes: to(m.resolution_minutes)?,
            },
        );
        meta.push((p, m.version, m.updated_at));
    }
    Ok((set, meta))
}

pub async fn put_policy(
    db: &impl ConnectionTrait,
    p: Priority,
    policy: SlaPolicy,
    now: DateTime<Utc>,
) -> Result<i32, StoreError> {
    let existing = sla_policy::Entity::find_by_id(p.as_str().to_owned())
        .one(db)
        .await?;
    let version = existing.as_ref().map(|m| m.version + 1).unwrap_or(1);
    let am = sla_policy::ActiveModel {
        priority: Set(p.as_str().to_owned()),
        first_response_minutes: Set(policy.first_response_minutes as i32),
        next_reply_minutes: Set(policy.next_reply_minutes as i32),
        resolution_minutes: Set(policy.resolution_minutes as i32),
        version: Set(version),
        updated_at: Set(now),
    };
    if existing.is_some() {
        am.update(db).await?;
    } else {
        am.insert(db).await?;
    }
    Ok(version)
}

// ---- threads ------------------------------------------------------------------

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
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn thread_from(m: thread::Model, tags: Vec<String>) -> Result<ThreadRecord, StoreError> {
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
    outbox_append_many(db, rows.iter().map(|r| r.event.clone())).await?;
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

/// Insert rows in one statement; nothing to do for none.
async fn insert_all<A>(db: &impl ConnectionTrait, models: Vec<A>) -> Result<(), StoreError>
where
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    if !models.is_empty() {
        <A::Entity as EntityTrait>::insert_many(models)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
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

async fn tags_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Vec<String>, StoreError> {
    Ok(thread_tag::Entity::find()
        .filter(thread_tag::Column::ThreadId.eq(id))
        .order_by_asc(thread_tag::Column::Tag)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.tag)
        .collect())
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
    let tags = tags_of(db, m.id).await?;
    thread_from(m, tags)
}

pub async fn get_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<ThreadRecord, StoreError> {
    let m = thread::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    let tags = tags_of(db, m.id).await?;
    thread_from(m, tags)
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

async fn with_tags(
    db: &impl ConnectionTrait,
    rows: Vec<thread::Model>,
) -> Result<Vec<ThreadRecord>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut tags: std::collections::HashMap<Uuid, Vec<String>> = std::collections::HashMap::new();
    if !ids.is_empty() {
        for t in thread_tag::Entity::find()
            .filter(thread_tag::Column::ThreadId.is_in(ids))
            .order_by_asc(thread_tag::Column::Tag)
            .all(db)
            .await?
        {
            tags.entry(t.thread_id).or_default().push(t.tag);
        }
    }
    rows.into_iter()
        .map(|m| {
            let t = tags.remove(&m.id).unwrap_or_default();
            thread_from(m, t)
        })
        .collect()
}

/// Newest first.
pub async fn list_threads(
    db: &impl ConnectionTrait,
    f: &ThreadFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<ThreadRecord>, StoreError> {
    let mut q = apply_filter(thread::Entity::find(), f).order_by_desc(thread::Column::Number);
    if let Some(b) = before {
        q = q.filter(thread::Column::Number.lt(b));
    }
    let rows = q.limit(limit + 1).all(db).await?;
    let rows = with_tags(db, rows).await?;
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
) -> Result<Page<ThreadRecord>, StoreError> {
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
    let rows = q.limit(limit + 1).all(db).await?;
    let rows = with_tags(db, rows).await?;
    Ok(Page::from_overfetch(rows, limit))
}

// ---- posts --------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct PostRecord {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub author_id: Option<Uuid>,
    pub author_name: String,
    /// `customer`, `agent`, `admin` or `system`.
    pub author_role: String,
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
        author_role: m.author_role,
        visibility: Visibility::parse(&m.visibility).map_err(|_| corrupt("visibility"))?,
        body: m.body,
        created_at: m.created_at,
    })
}

pub async fn insert_post(db: &impl ConnectionTrait, p: &PostRecord) -> Result<(), StoreError> {
    insert_posts(db, std::iter::once(p)).await
}

async fn insert_posts<'a>(
    db: &impl ConnectionTrait,
    posts: impl Iterator<Item = &'a PostRecord>,
) -> Result<(), StoreError> {
    let models: Vec<_> = posts
        .map(|p| post::ActiveModel {
            id: Set(p.id),
            thread_id: Set(p.thread_id),
            author_id: Set(p.author_id),
            author_name: Set(p.author_name.clone()),
            author_role: Set(p.author_role.clone()),
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
    let rows = q.limit(limit + 1).all(db).await?;
    let rows = rows
        .into_iter()
        .map(post_from)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::from_overfetch(rows, limit))
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

// ---- clocks -------------------------------------------------------------------

/// First response, next reply, resolution, as found.
type ClockParts = (Option<Clock>, Option<Clock>, Option<Clock>);

fn clock_from(m: sla_clock::Model) -> Result<Clock, StoreError> {
    Ok(Clock {
        kind: ClockKind::parse(&m.kind).ok_or_else(|| corrupt("clock kind"))?,
        cycle: u32::try_from(m.cycle).map_err(|_| corrupt("cycle"))?,
        target_seconds: u64::try_from(m.target_seconds).map_err(|_| corrupt("target"))?,
        used_seconds: u64::try_from(m.used_seconds).map_err(|_| corrupt("used"))?,
        running_since: m.running_since,
        phase: ClockPhase::parse(&m.phase).ok_or_else(|| corrupt("phase"))?,
        met_at: m.met_at,
        due_at: m.due_at,
        warn_at: m.warn_at,
        warned: m.warned,
        breached: m.breached,
    })
}

fn clock_active(thread_id: Uuid, c: &Clock) -> sla_clock::ActiveModel {
    sla_clock::ActiveModel {
        thread_id: Set(thread_id),
        kind: Set(c.kind.as_str().to_owned()),
        cycle: Set(c.cycle as i32),
        target_seconds: Set(c.target_seconds as i64),
        used_seconds: Set(c.used_seconds as i64),
        running_since: Set(c.running_since),
        phase: Set(c.phase.as_str().to_owned()),
        met_at: Set(c.met_at),
        due_at: Set(c.due_at),
        warn_at: Set(c.warn_at),
        warned: Set(c.warned),
        breached: Set(c.breached),
    }
}

pub async fn load_sla(db: &impl ConnectionTrait, thread_id: Uuid) -> Result<ThreadSla, StoreError> {
    let mut fr = None;
    let mut nr = None;
    let mut res = None;
    for m in sla_clock::Entity::find()
        .filter(sla_clock::Column::ThreadId.eq(thread_id))
        .all(db)
        .await?
    {
        let c = clock_from(m)?;
        match c.kind {
            ClockKind::FirstResponse => fr = Some(c),
            ClockKind::NextReply => nr = Some(c),
            ClockKind::Resolution => res = Some(c),
        }
    }
    Ok(ThreadSla {
        first_response: fr.ok_or_else(|| corrupt("missing first-response clock"))?,
        next_reply: nr,
        resolution: res.ok_or_else(|| corrupt("missing resolution clock"))?,
    })
}

pub async fn load_sla_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, ThreadSla>, StoreError> {
    let mut parts: std::collections::HashMap<Uuid, ClockParts> = std::collections::HashMap::new();
    if !ids.is_empty() {
        for m in sla_clock::Entity::find()
            .filter(sla_clock::Column::ThreadId.is_in(ids.to_vec()))
            .all(db)
            .await?
        {
            let id = m.thread_id;
            let c = clock_from(m)?;
            let e = parts.entry(id).or_default();
            match c.kind {
                ClockKind::FirstResponse => e.0 = Some(c),
                ClockKind::NextReply => e.1 = Some(c),
                ClockKind::Resolution => e.2 = Some(c),
            }
        }
    }
    Ok(parts
        .into_iter()
        .filter_map(|(id, (fr, nr, res))| {
            Some((
                id,
                ThreadSla {
                    first_response: fr?,
                    next_reply: nr,
                    resolution: res?,
                },
            ))
        })
        .collect())
}

/// Write every clock of the thread (upsert).
pub async fn save_sla(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
    sla: &ThreadSla,
) -> Result<(), StoreError> {
    save_sla_many(db, std::iter::once((thread_id, sla))).await
}

/// Write every clock of several threads in one statement (upsert).
pub async fn save_sla_many<'a>(
    db: &impl ConnectionTrait,
    slas: impl Iterator<Item = (Uuid, &'a ThreadSla)>,
) -> Result<(), StoreError> {
    let models: Vec<_> = slas
        .flat_map(|(id, sla)| sla.clocks().map(move |c| clock_active(id, c)))
        .collect();
    if models.is_empty() {
        return Ok(());
    }
    sla_clock::Entity::insert_many(models)
        .on_conflict(
            OnConflict::columns([sla_clock::Column::ThreadId, sla_clock::Column::Kind])
                .update_columns([
                    sla_clock::Column::Cycle,
                    sla_clock::Column::TargetSeconds,
                    sla_clock::Column::UsedSeconds,
                    sla_clock::Column::RunningSince,
                    sla_clock::Column::Phase,
                    sla_clock::Column::MetAt,
                    sla_clock::Column::DueAt,
                    sla_clock::Column::WarnAt,
                    sla_clock::Column::Warned,
                    sla_clock::Column::Breached,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn append_clock_events(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
    events: &[ClockEvent],
) -> Result<(), StoreError> {
    append_clock_events_many(db, std::iter::once((thread_id, events))).await
}

/// Log clock events of several threads in one statement.
pub async fn append_clock_events_many<'a>(
    db: &impl ConnectionTrait,
    events: impl Iterator<Item = (Uuid, &'a [ClockEvent])>,
) -> Result<(), StoreError> {
    let models: Vec<_> = events
        .flat_map(|(thread_id, evs)| {
            evs.iter().map(move |e| sla_clock_event::ActiveModel {
                thread_id: Set(thread_id),
                kind: Set(e.kind.as_str().to_owned()),
                cycle: Set(e.cycle as i32),
                event: Set(e.event.as_str().to_owned()),
                at: Set(e.at),
                cause: Set(e.cause.chars().take(200).collect()),
                used_seconds: Set(e.used_seconds as i64),
                ..Default::default()
            })
        })
        .collect();
    insert_all(db, models).await
}

pub async fn clock_events(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
) -> Result<Vec<ClockEvent>, StoreError> {
    sla_clock_event::Entity::find()
        .filter(sla_clock_event::Column::ThreadId.eq(thread_id))
        .order_by_asc(sla_clock_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            Ok(ClockEvent {
                kind: ClockKind::parse(&m.kind).ok_or_else(|| corrupt("kind"))?,
                cycle: m.cycle.max(0) as u32,
                event: ClockEventKind::parse(&m.event).ok_or_else(|| corrupt("event"))?,
                at: m.at,
                cause: m.cause,
                used_seconds: m.used_seconds.max(0) as u64,
            })
        })
        .collect()
}

/// Clocks whose warning or breach instant has come, on threads nobody else holds.
/// On PostgreSQL the thread rows are locked (`FOR UPDATE … SKIP LOCKED`) so several
/// sweepers share the work and never take the same thread.
pub async fn claim_due_threads(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    let lock = if is_pg(db) {
        " FOR UPDATE OF t SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "SELECT DISTINCT t.id AS id, t.number AS number FROM sla_clocks c JOIN threads t ON t.id = c.thread_id \
         WHERE c.phase = 'running' AND ((c.warned = $1 AND c.warn_at <= $2) OR (c.breached = $1 AND c.due_at <= $2)) \
         ORDER BY t.number LIMIT $3{lock}"
    );
    // DISTINCT and FOR UPDATE do not mix in PostgreSQL: select plain rows there.
    let sql = if is_pg(db) {
        sql.replace("SELECT DISTINCT", "SELECT")
    } else {
        sql
    };
    let rows = db
        .query_all(stmt(
            db,
            &sql,
            vec![false.into(), now.into(), (limit as i64).into()],
        ))
        .await?;
    let mut ids = Vec::new();
    for r in rows {
        let id: Uuid = r.try_get("", "id")?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Threads with a running clock (for re-projection after a calendar change).
pub async fn threads_with_running_clocks(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>, StoreError> {
    let mut q = sla_clock::Entity::find()
        .select_only()
        .column(sla_clock::Column::ThreadId)
        .distinct()
        .filter(sla_clock::Column::Phase.eq("running"))
        .order_by_asc(sla_clock::Column::ThreadId);
    if let Some(a) = after {
        q = q.filter(sla_clock::Column::ThreadId.gt(a));
    }
    Ok(q.limit(limit).into_tuple::<Uuid>().all(db).await?)
}

// ---- outbox -------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    /// Unique per logical event (e.g. one warning per clock cycle); a second
    /// attempt to record it is ignored.
    pub dedupe_key: Option<String>,
    pub thread_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// Carries internal content: never delivered to customer-scoped consumers.
    pub internal: bool,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

fn outbox_model(e: NewEvent) -> outbox::ActiveModel {
    let event_id = Uuid::now_v7();
    let mut payload = e.payload;
    if let Some(obj) = payload.as_object_mut() {
        obj.insert(
            "event_id".into(),
            serde_json::Value::String(event_id.to_string()),
        );
        obj.insert(
            "type".into(),
            serde_json::Value::String(e.event_type.to_owned()),
        );
    }
    outbox::ActiveModel {
        event_id: Set(event_id),
        event_type: Set(e.event_type.to_owned()),
        dedupe_key: Set(e.dedupe_key),
        thread_id: Set(e.thread_id),
        organization_id: Set(e.organization_id),
        internal: Set(e.internal),
        payload: Set(payload.to_string()),
        occurred_at: Set(e.occurred_at),
        ..Default::default()
    }
}

/// Record an event in the outbox; `false` when its dedupe key was already there.
pub async fn outbox_append(db: &impl ConnectionTrait, e: NewEvent) -> Result<bool, StoreError> {
    Ok(outbox_append_many(db, std::iter::once(e)).await? == 1)
}

/// Record events in one statement; returns how many were new (dedupe keys
/// already present are skipped).
pub async fn outbox_append_many(
    db: &impl ConnectionTrait,
    events: impl Iterator<Item = NewEvent>,
) -> Result<u64, StoreError> {
    let models: Vec<_> = events.map(outbox_model).collect();
    if models.is_empty() {
        return Ok(0);
    }
    let n = outbox::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(outbox::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(n)
}

// ---- search -------------------------------------------------------------------

/// The scope lexemes: on PostgreSQL the database writes them into the index
/// (`search_doc_scope` in migration m0008 spells them the same way).
fn org_token(org: Uuid) -> String {
    format!("zzorg{}", org.simple())
}

const PUBLIC_TOKEN: &str = "zzpublic";

/// A document (a title or a post body) to add to the search index.
#[derive(Debug, Clone, Copy)]
pub struct IndexDoc<'a> {
    pub thread_id: Uuid,
    pub post_id: Option<Uuid>,
    pub organization_id: Uuid,
    pub internal: bool,
    pub tokens: &'a [String],
}

/// Add a document (a title or a post body) to the search index.
pub async fn index_document(
    db: &impl ConnectionTrait,
    thread_id: Uuid,
    post_id: Option<Uuid>,
    organization_id: Uuid,
    internal: bool,
    tokens: &[String],
) -> Result<(), StoreError> {
    index_documents(
        db,
        &[IndexDoc {
            thread_id,
            post_id,
            organization_id,
            internal,
            tokens,
        }],
    )
    .await
}

/// A tsvector literal with explicit positions: phrase search (<->) over our own
/// tokens, independent of any text-search configuration or locale. The database
/// adds the scope lexemes (as in [`fts_text`]) on insert: migration m0008.
fn tsvector_literal(tokens: &[String]) -> String {
    use std::fmt::Write as _;
    let mut lit = String::new();
    for (i, t) in tokens.iter().enumerate().take(16_000) {
        if !lit.is_empty() {
            lit.push(' ');
        }
        lit.push('\'');
        lit.push_str(&t.replace('\\', "\\\\").replace('\'', "''"));
        let _ = write!(lit, "':{}", i + 1);
    }
    lit
}

/// The FTS5 row of a document: its tokens plus the scope tokens a query filters on.
fn fts_text(d: &IndexDoc<'_>) -> String {
    let mut text = d.tokens.join(" ");
    text.push(' ');
    text.push_str(&org_token(d.organization_id));
    if !d.internal {
        text.push(' ');
        text.push_str(PUBLIC_TOKEN);
    }
    text
}

/// Add documents to the search index: two statements for any number of them.
pub async fn index_documents(
    db: &impl ConnectionTrait,
    docs: &[IndexDoc<'_>],
) -> Result<(), StoreError> {
    use std::fmt::Write as _;
    if docs.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = Vec::with_capacity(docs.len() * 5);
    if is_pg(db) {
        let mut sql = String::from(
            "INSERT INTO search_docs (thread_id, post_id, organization_id, internal, tokens) VALUES ",
        );
        for (i, d) in docs.iter().enumerate() {
            let b = i * 5;
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(
                sql,
                "{sep}(${}, ${}, ${}, ${}, ${}::tsvector)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            );
            values.extend([
                d.thread_id.into(),
                d.post_id.into(),
                d.organization_id.into(),
                d.internal.into(),
                tsvector_literal(d.tokens).into(),
            ]);
        }
        db.execute(stmt(db, &sql, values)).await?;
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO search_docs (thread_id, post_id, organization_id, internal) VALUES ",
    );
    for (i, d) in docs.iter().enumerate() {
        let b = i * 4;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4);
        values.extend([
            d.thread_id.into(),
            d.post_id.into(),
            d.organization_id.into(),
            d.internal.into(),
        ]);
    }
    // RETURNING's order is unspecified: match ids back by (thread, post), which is
    // unique among the documents of one call.
    sql.push_str(" RETURNING id, thread_id, post_id");
    let rows = db.query_all(stmt(db, &sql, values)).await?;
    let mut ids = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("", "id")?;
        let thread_id: Uuid = r.try_get("", "thread_id")?;
        let post_id: Option<Uuid> = r.try_get("", "post_id")?;
        ids.insert((thread_id, post_id), id);
    }
    let mut sql = String::from("INSERT INTO search_fts (rowid, tokens) VALUES ");
    let mut values: Vec<Value> = Vec::with_capacity(docs.len() * 2);
    for (i, d) in docs.iter().enumerate() {
        let id = ids
            .get(&(d.thread_id, d.post_id))
            .copied()
            .ok_or_else(|| corrupt("search document id"))?;
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}(${}, ${})", i * 2 + 1, i * 2 + 2);
        values.extend([id.into(), fts_text(d).into()]);
    }
    db.execute(stmt(db, &sql, values)).await?;
    Ok(())
}

/// Who is searching: a customer sees their organization's public documents only.
#[derive(Debug, Clone, Copy)]
pub struct SearchScope {
    pub organization_id: Option<Uuid>,
    pub include_internal: bool,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub doc_id: i64,
    pub thread_id: Uuid,
    pub post_id: Option<Uuid>,
}

/// How many of the newest documents PostgreSQL search reads first, and at most
/// next, testing each, before it turns to the GIN index.
const FIRST_WINDOW: u64 = 5_000;
const SCAN_WINDOW: u64 = 50_000;
/// What fetching and re-checking one match through the GIN index costs, in
/// documents tested while reading newest first (measured: ~13 µs against
/// ~0.7 µs on 600,000 documents).
const GIN_MATCH_COST_IN_SCANNED_DOCS: u64 = 20;

/// Whether reading on newest first should find the `missing` matches sooner than
/// the GIN index, given `found` matches among the `scanned` newest documents and
/// about `below` documents left (ids are sequential).
fn scan_on(found: u64, scanned: u64, missing: u64, below: i64) -> bool {
    // Scanning reads about missing / rate documents; the index fetches about
    // rate × below matches. With rate = found / scanned:
    //   missing × scanned / found ≤ COST × found × below / scanned
    let below = u128::try_from(below.max(0)).unwrap_or(0);
    let (found, scanned, missing) = (u128::from(found), u128::from(scanned), u128::from(missing));
    found > 0
        && missing * scanned * scanned
            <= u128::from(GIN_MATCH_COST_IN_SCANNED_DOCS) * found * found * below
}

/// FROM-clause for the `window` newest documents below parameter `$below`: a
/// customer's (organization in parameter `$org`) through the index on
/// (organization, id), so that a clinic's documents are not looked for among
/// every clinic's. The row comparison is what makes PostgreSQL take that index
/// for the order.
fn newest_docs(scope: SearchScope, window: u64, below: usize, org: usize) -> String {
    match scope.organization_id {
        Some(_) => format!(
            "search_docs WHERE organization_id = ${org} AND (organization_id, id) < (${org}, ${below}) \
             ORDER BY organization_id DESC, id DESC LIMIT {window}"
        ),
        None => format!("search_docs WHERE id < ${below} ORDER BY id DESC LIMIT {window}"),
    }
}

/// Documents containing every phrase (each a list of consecutive tokens), newest
/// first, before `before`.
pub async fn search(
    db: &impl ConnectionTrait,
    phrases: &[Vec<String>],
    scope: SearchScope,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SearchHit>, StoreError> {
    let before = before.unwrap_or(i64::MAX);
    if is_pg(db) {
        let mut terms: Vec<String> = phrases
            .iter()
            .map(|p| {
                let inner = p
                    .iter()
                    .map(|t| format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(" <-> ");
                format!("({inner})")
            })
            .collect();
        // The scope is asked twice: as lexemes, so the GIN index returns only what
        // the caller may see, and as columns, which do not depend on the index.
        let mut scope_sql = String::new();
        let mut org_value = None;
        if let Some(org) = scope.organization_id {
            terms.push(format!("'{}'", org_token(org)));
            scope_sql.push_str(" AND organization_id = $3");
            org_value = Some(Value::from(org));
        }
        if !scope.include_internal {
            terms.push(format!("'{PUBLIC_TOKEN}'"));
            scope_sql.push_str(" AND internal = FALSE");
        }
        let mut values: Vec<Value> = vec![terms.join(" & ").into(), before.into()];
        values.extend(org_value);
        let to_hits = |rows: Vec<sea_orm::QueryResult>| -> Result<Vec<SearchHit>, StoreError> {
            rows.into_iter()
                .map(|r| {
                    Ok(SearchHit {
                        doc_id: r.try_get("", "id")?,
                        thread_id: r.try_get("", "thread_id")?,
                        post_id: r.try_get("", "post_id")?,
                    })
                })
                .collect()
        };
        // PostgreSQL cannot estimate phrase matches: left to itself it would fetch
        // and sort every match of a common phrase. Two ways to find the newest
        // matches, each cheap where the other is dear: reading documents newest
        // first and testing each (common words are met at once), or the GIN index,
        // which reads each match once however old (rare words). The newest
        // documents are read first; the share of matches among them tells which
        // way finds the rest sooner.
        let mut hits = Vec::new();
        let mut below = before;
        for window in [FIRST_WINDOW, SCAN_WINDOW] {
            let want = limit - hits.len() as u64;
            let recent = format!(
                "SELECT id, thread_id, post_id FROM (SELECT id, thread_id, post_id, tokens, organization_id, internal \
                 FROM {}) r WHERE tokens @@ $1::tsquery{scope_sql} ORDER BY id DESC LIMIT {want}",
                newest_docs(scope, window, 2, 3)
            );
            values[1] = below.into();
            let found = to_hits(db.query_all(stmt(db, &recent, values.clone())).await?)?;
            let found_here = found.len() as u64;
            hits.extend(found);
            if hits.len() as u64 >= limit {
                return Ok(hits);
            }
            let floor_sql = format!(
                "SELECT MIN(id) AS floor, COUNT(*) AS n FROM (SELECT id FROM {}) w",
                newest_docs(scope, window, 1, 2)
            );
            let mut floor_values = vec![Value::from(below)];
            floor_values.extend(values.get(2).cloned());
            let (floor, n): (Option<i64>, i64) =
                match db.query_one(stmt(db, &floor_sql, floor_values)).await? {
                    Some(r) => (r.try_get("", "floor")?, r.try_get("", "n")?),
                    None => (None, 0),
                };
            match floor {
                Some(f) if n as u64 >= window => below = f,
                // Every document has been looked at.
                _ => return Ok(hits),
            }
            // For a customer `below` overstates what is left (other clinics' ids
            // count too), which leans towards reading on: cheap on their index.
            if !scan_on(found_here, window, limit - hits.len() as u64, below) {
                break;
            }
        }
        let floor = below;
        values[1] = floor.into();
        let rest = format!(
            "SELECT id, thread_id, post_id FROM search_docs WHERE tokens @@ $1::tsquery AND id < $2{scope_sql} ORDER BY id DESC LIMIT {}",
            limit - hits.len() as u64
        );
        hits.extend(to_hits(db.query_all(stmt(db, &rest, values)).await?)?);
        Ok(hits)
    } else {
        let mut parts: Vec<String> = phrases
            .iter()
            .map(|p| format!("\"{}\"", p.join(" ").replace('"', "")))
            .collect();
        if let Some(org) = scope.organization_id {
            parts.push(org_token(org));
        }
        if !scope.include_internal {
            parts.push(PUBLIC_TOKEN.to_owned());
        }
        let q = parts.join(" AND ");
        let sql = "SELECT d.id AS id, d.thread_id AS thread_id, d.post_id AS post_id FROM \
                   (SELECT rowid AS rid FROM search_fts WHERE search_fts MATCH $1 AND rowid < $2 ORDER BY rowid DESC LIMIT $3) f \
                   JOIN search_docs d ON d.id = f.rid ORDER BY d.id DESC";
        let rows = db
            .query_all(stmt(
                db,
                sql,
                vec![q.into(), before.into(), (limit as i64).into()],
            ))
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(SearchHit {
                    doc_id: r.try_get("", "id")?,
                    thread_id: r.try_get("", "thread_id")?,
                    post_id: r.try_get("", "post_id")?,
                })
            })
            .collect()
    }
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
    with_tags(db, rows).await
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

#[cfg(test)]
mod tests {
    use super::scan_on;

    // Figures from 600,000 seeded documents, 5,000 newest read, 208 wanted.
    #[test]
    fn a_common_word_is_read_on_newest_first() {
        // 障害 in 1.6 % of documents: 80 seen, ~8,000 more to read.
        assert!(scan_on(80, 5_000, 128, 595_000));
    }

    #[test]
    fn a_rare_combination_goes_to_the_index() {
        // 予約 and 障害 together in 0.1 %: ~200,000 more to read, ~600 matches.
        assert!(!scan_on(5, 5_000, 203, 595_000));
        // A common word one clinic in ten may see: as rare for that caller.
        assert!(!scan_on(8, 5_000, 200, 595_000));
    }

    #[test]
    fn nothing_seen_goes_to_the_index() {
        assert!(!scan_on(0, 5_000, 208, 595_000));
        assert!(!scan_on(0, 5_000, 208, 0));
    }

    #[test]
    fn few_documents_left_are_cheaper_through_the_index() {
        // Half the newest matched, but only a thousand documents remain below.
        assert!(!scan_on(2_500, 5_000, 10_000, 1_000));
        assert!(scan_on(2_500, 5_000, 100, 1_000_000));
    }
}
