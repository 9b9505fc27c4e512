//! The audit trail: append-only, written in the same transaction as the change it
//! records. There is deliberately no update or delete function here, and the
//! database refuses both with a trigger.
//!
//! Tamper evidence: entries are numbered without gaps and each carries the
//! SHA-256 of a canonical encoding of itself and of its predecessor's hash. The
//! chain head (last id and hash) is one row, locked by every append, so appends
//! from several instances form one linear chain.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement, TransactionTrait,
};
use sha2::{Digest, Sha256};

use crate::{entities::audit_event, error::StoreError, page::Page};

/// The outcome of the audited attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Authenticated but not allowed (includes "not found" answers that hide another
    /// organization's object).
    Denied,
    /// The attempt itself failed, e.g. a wrong password.
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub occurred_at: DateTime<Utc>,
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub action: String,
    pub object_type: Option<&'static str>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// A stored entry, as admins read it.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// The entry's link in the tamper-evident chain.
    pub hash: Option<String>,
}

/// The predecessor of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, as stored: owned (`String`, when an entry
/// is built) or borrowed (`&str`, read in place while verifying).
#[derive(Debug, Clone)]
pub struct ChainFields<S = String> {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: S,
    pub actor_id: Option<S>,
    pub action: S,
    pub object_type: Option<S>,
    pub object_id: Option<S>,
    pub ip: Option<S>,
    pub outcome: S,
    pub request_id: Option<S>,
    pub detail: Option<S>,
}

/// SHA-256 over a canonical encoding: every field length-prefixed (absent fields
/// marked), the instant in microseconds, then the predecessor's hash; lowercase hex.
pub fn chain_hash<S: AsRef<str>>(f: &ChainFields<S>, prev_hash: &str) -> String {
    let hex = chain_digest(f, prev_hash);
    hex.iter().map(|&b| b as char).collect()
}

/// [`chain_hash`] without allocating: the lowercase hex digits as bytes.
pub fn chain_digest<S: AsRef<str>>(f: &ChainFields<S>, prev_hash: &str) -> [u8; 64] {
    let mut h = Sha256::new();
    let mut put = |v: Option<&str>| match v {
        Some(s) => {
            h.update(b"s");
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(b"n"),
    };
    let mut id = itoa::Buffer::new();
    let mut micros = itoa::Buffer::new();
    put(Some("madoguchi-audit-v1"));
    put(Some(id.format(f.id)));
    put(Some(micros.format(f.occurred_at.timestamp_micros())));
    put(Some(f.actor_type.as_ref()));
    put(f.actor_id.as_ref().map(AsRef::as_ref));
    put(Some(f.action.as_ref()));
    put(f.object_type.as_ref().map(AsRef::as_ref));
    put(f.object_id.as_ref().map(AsRef::as_ref));
    put(f.ip.as_ref().map(AsRef::as_ref));
    put(Some(f.outcome.as_ref()));
    put(f.request_id.as_ref().map(AsRef::as_ref));
    put(f.detail.as_ref().map(AsRef::as_ref));
    put(Some(prev_hash));
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in h.finalize().iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// Microsecond precision: what PostgreSQL keeps, so hashes survive a round trip.
fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Where an entry is appended: on its own (the pool), or in the transaction of
/// the change it records.
pub enum Sink<'a> {
    Pool(&'a sea_orm::DatabaseConnection),
    Tx(&'a sea_orm::DatabaseTransaction),
}

impl<'a> From<&'a sea_orm::DatabaseConnection> for Sink<'a> {
    fn from(db: &'a sea_orm::DatabaseConnection) -> Self {
        Sink::Pool(db)
    }
}

impl<'a> From<&'a sea_orm::DatabaseTransaction> for Sink<'a> {
    fn from(tx: &'a sea_orm::DatabaseTransaction) -> Self {
        Sink::Tx(tx)
    }
}

/// Append one entry at the head of the chain. In a transaction, the chain head
/// stays locked until that transaction ends; on the pool, in one of its own.
pub async fn append<'a>(to: impl Into<Sink<'a>>, e: NewAuditEvent) -> Result<i64, StoreError> {
    match to.into() {
        Sink::Tx(tx) => append_in(tx, e).await,
        Sink::Pool(db) => {
            let tx = db.begin().await?;
            if tx.get_database_backend() == DatabaseBackend::Sqlite {
                // SQLite's FOR UPDATE: take the write lock before reading the
                // head, so another process appending meanwhile makes this wait
                // (busy timeout) rather than fail as a reader turned writer
                // (SQLITE_BUSY_SNAPSHOT). A caller's transaction took it at
                // its start (`db::begin`).
                tx.execute(Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "UPDATE audit_chain_head SET last_id = last_id WHERE id = 1",
                ))
                .await?;
            }
            let id = append_in(&tx, e).await?;
            tx.commit().await?;
            Ok(id)
        }
    }
}

async fn append_in(tx: &sea_orm::DatabaseTransaction, e: NewAuditEvent) -> Result<i64, StoreError> {
    append_batch(tx, vec![e]).await
}

/// Append entries chained in order (one, or a bulk import); the caller's
/// transaction holds the head lock until it ends. Returns the last entry's id.
pub async fn append_batch(
    tx: &sea_orm::DatabaseTransaction,
    events: Vec<NewAuditEvent>,
) -> Result<i64, StoreError> {
    let pg = tx.get_database_backend() == DatabaseBackend::Postgres;
    let head_sql = if pg {
        "SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1"
    };
    let head = tx
        .query_one(Statement::from_string(tx.get_database_backend(), head_sql))
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("audit chain head missing".into())))?;
    let mut last_id: i64 = head.try_get("", "last_id")?;
    let mut last_hash: String = head.try_get("", "last_hash")?;
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        let f = ChainFields {
            id: last_id + 1,
            occurred_at: to_micros(e.occurred_at),
            actor_type: e.actor_type.to_owned(),
            actor_id: e.actor_id,
            action: e.action,
            object_type: e.object_type.map(str::to_owned),
            object_id: e.object_id,
            ip: e.ip,
            outcome: e.outcome.as_str().to_owned(),
            request_id: e.request_id,
            detail: e.detail.map(|d| d.to_string()),
        };
        let hash = chain_hash(&f, &last_hash);
        rows.push(audit_event::ActiveModel {
            id: Set(f.id),
            occurred_at: Set(f.occurred_at),
            actor_type: Set(f.actor_type),
            actor_id: Set(f.actor_id),
            action: Set(f.action),
            object_type: Set(f.object_type),
            object_id: Set(f.object_id),
            ip: Set(f.ip),
            outcome: Set(f.outcome),
            request_id: Set(f.request_id),
            detail: Set(f.detail),
            prev_hash: Set(Some(last_hash.clone())),
            hash: Set(Some(hash.clone())),
        });
        last_id = f.id;
        last_hash = hash;
    }
    if rows.is_empty() {
        return Ok(last_id);
    }
    // The entries and the new head in one round trip: a data-modifying CTE on
    // PostgreSQL; on SQLite two statements in one call, whose anonymous `?`
    // parameters sqlx binds in order across both (numbered ones would not do:
    // `?14` makes SQLite count 14 parameters in the second statement).
    let backend = tx.get_database_backend();
    let insert = sea_orm::QueryTrait::build(&audit_event::Entity::insert_many(rows), backend);
    let mut values = insert.values.map(|v| v.0).unwrap_or_default();
    let (a, b) = (values.len() + 1, values.len() + 2);
    values.push(last_id.into());
    values.push(last_hash.into());
    let sql = if pg {
        format!(
            "WITH appended AS ({}) UPDATE audit_chain_head SET last_id = ${a}, last_hash = ${b} WHERE id = 1",
            insert.sql
        )
    } else {
        format!(
            "{}; UPDATE audit_chain_head SET last_id = ?, last_hash = ? WHERE id = 1",
            insert.sql
        )
    };
    tx.execute(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(last_id)
}

/// Where the chain first breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub id: i64,
    /// `edited` (an entry's content no longer matches its hash), `missing` (a gap
    /// in the numbering, or entries cut from the end), `reordered` (an entry whose
    /// predecessor link points elsewhere).
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: u64,
    pub first_broken: Option<Break>,
}

/// Follows the chain entry by entry: each entry's hash must match its content and
/// its stored predecessor link, and that link must be the previous entry's hash.
struct Walk {
    prev_id: i64,
    prev_hash: String,
    entries: u64,
}

impl Walk {
    fn new() -> Self {
        Walk {
            prev_id: 0,
            prev_hash: GENESIS.to_owned(),
            entries: 0,
        }
    }

    fn step(
        &mut self,
        f: &ChainFields<&str>,
        stored_prev: &str,
        stored_hash: &str,
    ) -> Option<Break> {
        self.entries += 1;
        if f.id != self.prev_id + 1 {
            return Some(Break {
                id: self.prev_id + 1,
                reason: "missing",
            });
        }
        if chain_digest(f, stored_prev).as_slice() != stored_hash.as_bytes() {
            return Some(Break {
                id: f.id,
                reason: "edited",
            });
        }
        if stored_prev != self.prev_hash {
            return Some(Break {
                id: f.id,
                reason: "reordered",
            });
        }
        self.prev_id = f.id;
        self.prev_hash.clear();
        self.prev_hash.push_str(stored_hash);
        None
    }

    fn broken(&self, b: Break) -> Verification {
        Verification {
            entries: self.entries,
            first_broken: Some(b),
        }
    }
}

/// The chain up to the head read first (`?1` / `$1`): entries appended while
/// the walk runs are the next walk's, so a verify under load never mistakes
/// them for a break.
const CHAIN_SQL: &str = "SELECT id, occurred_at, actor_type, actor_id, action, object_type, object_id, ip, outcome, request_id, detail, prev_hash, hash FROM audit_events WHERE id <= ?1 ORDER BY id";
const CHAIN_SQL_PG: &str = "SELECT id, occurred_at, actor_type, actor_id, action, object_type, object_id, ip, outcome, request_id, detail, prev_hash, hash FROM audit_events WHERE id <= $1 ORDER BY id";

/// Decode one row of [`CHAIN_SQL`], borrowing its text: no allocation per field.
fn chain_row<'r, R>(
    row: &'r R,
) -> Result<(ChainFields<&'r str>, &'r str, &'r str), sea_orm::sqlx::Error>
where
    R: sea_orm::sqlx::Row,
    usize: sea_orm::sqlx::ColumnIndex<R>,
    &'r str: sea_orm::sqlx::Decode<'r, R::Database> + sea_orm::sqlx::Type<R::Database>,
    i64: sea_orm::sqlx::Decode<'r, R::Database> + sea_orm::sqlx::Type<R::Database>,
    DateTime<Utc>: sea_orm::sqlx::Decode<'r, R::Database> + sea_orm::sqlx::Type<R::Database>,
{
    let f = ChainFields {
        id: row.try_get(0)?,
        occurred_at: row.try_get(1)?,
        actor_type: row.try_get(2)?,
        actor_id: row.try_get(3)?,
        action: row.try_get(4)?,
        object_type: row.try_get(5)?,
        object_id: row.try_get(6)?,
        ip: row.try_get(7)?,
        outcome: row.try_get(8)?,
        request_id: row.try_get(9)?,
        detail: row.try_get(10)?,
    };
    let prev: Option<&str> = row.try_get(11)?;
    let hash: Option<&str> = row.try_get(12)?;
    Ok((f, prev.unwrap_or_default(), hash.unwrap_or_default()))
}

/// SQLite: walk on a blocking thread with a read-only connection of its own,
/// reading each field where SQLite holds it. Through sqlx every value of every
/// row is copied and handed from its worker thread to ours, which costs several
/// times the hashing itself.
fn walk_sqlite(path: &std::path::Path, upto: i64) -> Result<(Walk, Option<Break>), StoreError> {
    use rusqlite::{types::ValueRef, Connection, OpenFlags};
    let db_err =
        |e: rusqlite::Error| StoreError::Db(sea_orm::DbErr::Custom(format!("audit verify: {e}")));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db_err)?;
    let mut stmt = conn.prepare(CHAIN_SQL).map_err(db_err)?;
    let mut rows = stmt.query([upto]).map_err(db_err)?;
    let mut walk = Walk::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        // A field that is not text where text belongs cannot match its hash.
        let text = |i: usize| -> Result<Option<&str>, ()> {
            match row.get_ref(i) {
                Ok(ValueRef::Null) => Ok(None),
                Ok(ValueRef::Text(b)) => std::str::from_utf8(b).map(Some).map_err(|_| ()),
                _ => Err(()),
            }
        };
        let id: i64 = row.get(0).map_err(db_err)?;
        let decoded = (|| -> Result<(ChainFields<&str>, &str, &str), ()> {
            let at = text(1)?.ok_or(())?;
            let occurred_at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| ())?
                .with_timezone(&Utc);
            let f = ChainFields {
                id,
                occurred_at,
                actor_type: text(2)?.ok_or(())?,
                actor_id: text(3)?,
                action: text(4)?.ok_or(())?,
                object_type: text(5)?,
                object_id: text(6)?,
                ip: text(7)?,
                outcome: text(8)?.ok_or(())?,
                request_id: text(9)?,
                detail: text(10)?,
            };
            Ok((
                f,
                text(11)?.unwrap_or_default(),
                text(12)?.unwrap_or_default(),
            ))
        })();
        let step = match decoded {
            Ok((f, prev, hash)) => walk.step(&f, prev, hash),
            Err(()) => {
                walk.entries += 1;
                Some(Break {
                    id: if id == walk.prev_id + 1 {
                        id
                    } else {
                        walk.prev_id + 1
                    },
                    reason: if id == walk.prev_id + 1 {
                        "edited"
                    } else {
                        "missing"
                    },
                })
            }
        };
        if let Some(b) = step {
            return Ok((walk, Some(b)));
        }
    }
    Ok((walk, None))
}

fn sqlx_err(e: sea_orm::sqlx::Error) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!("audit verify: {e}")))
}

/// Walk the whole chain in id order, streaming one query's rows (constant
/// memory). Rows are read with sqlx directly, borrowing each field from the row:
/// sea-orm's models would allocate a string per field per entry, which is most
/// of the cost of a walk over millions of entries.
pub async fn verify(db: &sea_orm::DatabaseConnection) -> Result<Verification, StoreError> {
    use futures_util::TryStreamExt;
    let mut walk = Walk::new();
    // The head first: every entry up to it was committed with it. Read after
    // the walk, it could count entries the walk's snapshot did not have.
    let head = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT last_id, last_hash FROM audit_chain_head WHERE id = 1",
        ))
        .await?;
    let head = match head {
        Some(h) => Some((
            h.try_get::<i64>("", "last_id")?,
            h.try_get::<String>("", "last_hash")?,
        )),
        None => None,
    };
    let upto = head.as_ref().map_or(i64::MAX, |(id, _)| *id);
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let path = db
                .get_sqlite_connection_pool()
                .connect_options()
                .get_filename()
                .to_owned();
            let (w, broken) = tokio::task::spawn_blocking(move || walk_sqlite(&path, upto))
                .await
                .map_err(|e| {
                    StoreError::Db(sea_orm::DbErr::Custom(format!("audit verify: {e}")))
                })??;
            walk = w;
            if let Some(b) = broken {
                return Ok(walk.broken(b));
            }
        }
        DatabaseBackend::Postgres => {
            let mut rows = sea_orm::sqlx::query(CHAIN_SQL_PG)
                .bind(upto)
                .fetch(db.get_postgres_connection_pool());
            while let Some(row) = rows.try_next().await.map_err(sqlx_err)? {
                let (f, prev, hash) = chain_row(&row).map_err(sqlx_err)?;
                if let Some(b) = walk.step(&f, prev, hash) {
                    return Ok(walk.broken(b));
                }
            }
        }
        DatabaseBackend::MySql => {
            return Err(StoreError::Db(sea_orm::DbErr::Custom(
                "audit verify: unsupported database".into(),
            )))
        }
    }
    // Entries cut from the end leave the head pointing past the last one.
    if let Some((last_id, last_hash)) = head {
        if last_id != walk.prev_id {
            return Ok(walk.broken(Break {
                id: walk.prev_id + 1,
                reason: "missing",
            }));
        }
        if last_hash != walk.prev_hash {
            return Ok(walk.broken(Break {
                id: walk.prev_id,
                reason: "edited",
            }));
        }
    }
    Ok(Verification {
        entries: walk.entries,
        first_broken: None,
    })
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Oldest first after `after`: the export's pages.
pub async fn page_ascending(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    after: i64,
    limit: u64,
) -> Result<Vec<AuditEvent>, StoreError> {
    use audit_event::Column as C;
    let q = filtered(audit_event::Entity::find(), f)
        .filter(C::Id.gt(after))
        .order_by_asc(C::Id)
        .limit(limit);
    Ok(q.all(db).await?.into_iter().map(to_event).collect())
}

fn to_event(m: audit_event::Model) -> AuditEvent {
    AuditEvent {
        id: m.id,
        occurred_at: m.occurred_at,
        actor_type: m.actor_type,
        actor_id: m.actor_id,
        action: m.action,
        object_type: m.object_type,
        object_id: m.object_id,
        ip: m.ip,
        outcome: m.outcome,
        request_id: m.request_id,
        detail: m.detail.and_then(|d| serde_json::from_str(&d).ok()),
        hash: m.hash,
    }
}

fn filtered(
    mut q: sea_orm::Select<audit_event::Entity>,
    f: &AuditFilter,
) -> sea_orm::Select<audit_event::Entity> {
    use audit_event::Column as C;
    if let Some(v) = &f.actor_id {
        q = q.filter(C::ActorId.eq(v.as_str()));
    }
    if let Some(v) = &f.object_type {
        q = q.filter(C::ObjectType.eq(v.as_str()));
    }
    if let Some(v) = &f.object_id {
        q = q.filter(C::ObjectId.eq(v.as_str()));
    }
    if let Some(v) = &f.action {
        q = q.filter(C::Action.eq(v.as_str()));
    }
    if let Some(v) = &f.outcome {
        q = q.filter(C::Outcome.eq(v.as_str()));
    }
    if let Some(v) = f.from {
        q = q.filter(C::OccurredAt.gte(v));
    }
    if let Some(v) = f.to {
        q = q.filter(C::OccurredAt.lt(v));
    }
    q
}

/// Newest first; `before` is the id of the last entry of the previous page.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<AuditEvent>, StoreError> {
    use audit_event::Column as C;
    let mut q = filtered(audit_event::Entity::find(), f).order_by_desc(C::Id);
    if let Some(b) = before {
        q = q.filter(C::Id.lt(b));
    }
    let rows = q.limit(limit + 1).all(db).await?;
    Ok(Page::from_overfetch(
        rows.into_iter().map(to_event).collect(),
        limit,
    ))
}
