use std::time::Duration;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::{error::StoreError, migration::Migrator};

pub type Db = DatabaseConnection;
pub type Tx = DatabaseTransaction;

/// Which engine a connection talks to; some features (row locks, triggers) differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl DbOptions {
    pub fn backend(&self) -> Option<Backend> {
        if self.url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The connections of one instance: `write` for transactions and anything that
/// writes, `read` for plain reads. On PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Pools {
    pub write: Db,
    pub read: Db,
}

/// Why [`connect`] failed, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not an SQLite or PostgreSQL URL, or cannot be parsed.
    #[error("not a usable database URL: {0}")]
    BadUrl(String),
    /// The server or file cannot be reached or opened: the driver's own words
    /// (e.g. "Connection refused"), not a pool timeout.
    #[error("cannot connect to the database: {0}")]
    Unreachable(String),
    /// Connected, but bringing the schema up to date failed.
    #[error("database migrations failed: {0}")]
    Migration(String),
}

/// Any one number: the key of the session-level PostgreSQL advisory lock that
/// instances take around migrations ("madoguchi" in ASCII, truncated).
const MIGRATION_LOCK_KEY: i64 = 0x6d61_646f_6775_6368;

/// Run the migrations on PostgreSQL while holding an advisory lock on a
/// connection of its own, so that instances started together (as `docker
/// compose up` starts them) migrate one after the other: the first does the
/// work, the others wait and then find nothing to do. The lock ends with its
/// connection, so a process killed mid-migration does not leave it taken.
async fn migrate_postgres(url: &str, pool: &Db, timeout: Duration) -> Result<(), ConnectError> {
    use sea_orm::sqlx::{Connection, PgConnection};
    let opts = pg_connect_options(url)?;
    // One direct attempt first: its error says what is wrong ("Connection
    // refused", "password authentication failed"), where a pool would only
    // report that it timed out.
    let mut lock = tokio::time::timeout(timeout, PgConnection::connect_with(&opts))
        .await
        .map_err(|_| ConnectError::Unreachable(format!("no answer within {timeout:?}")))?
        .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut lock)
        .await
        .map_err(|e| ConnectError::Migration(format!("taking the migration lock: {e}")))?;
    // The tables that pending migrations rewrite, each once.
    let mut rewritten: Vec<&str> = Migrator::get_pending_migrations(pool)
        .await
        .map(|pending| {
            crate::migration::REWRITES
                .iter()
                .filter(|(name, _)| pending.iter().any(|m| m.name() == *name))
                .map(|(_, table)| *table)
                .collect()
        })
        .unwrap_or_default();
    rewritten.sort_unstable();
    rewritten.dedup();
    let result = Migrator::up(pool, None)
        .await
        .map_err(|e| ConnectError::Migration(e.to_string()));
    if result.is_ok() {
        for table in rewritten {
            rebuild_rewritten(&mut lock, table).await;
        }
    }
    // Closing the connection releases the lock whether or not the unlock runs.
    let _ = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut lock)
        .await;
    let _ = lock.close().await;
    result
}

/// After a migration that rewrote every row of `table`: PostgreSQL runs
/// migrations in one transaction, so a REINDEX there would keep the old row
/// versions in the indexes too, and VACUUM cannot run in it. Left so, the
/// search index was 58 MB instead of 33 on 600,000 documents, and a clinic's
/// two-word search went from p95 32 to 85 ms at 8 clients (issue 16.7). So
/// the dead rows are vacuumed and the indexes rebuilt here, after the commit,
/// under the migration lock (other instances wait for it) and without blocking
/// writers (CONCURRENTLY). A failure is logged, not fatal: the data is
/// correct, only slower to read, until an operator runs the same two
/// statements. `table` is one of our own names (`migration::REWRITES`).
async fn rebuild_rewritten(conn: &mut sea_orm::sqlx::PgConnection, table: &str) {
    use sea_orm::sqlx::Row;
    let started = std::time::Instant::now();
    let has_rows = sea_orm::sqlx::query(&format!("SELECT EXISTS (SELECT 1 FROM {table}) AS any"))
        .fetch_one(&mut *conn)
        .await
        .and_then(|r| r.try_get::<bool, _>("any"));
    if let Ok(false) = has_rows {
        return;
    }
    for sql in [
        format!("VACUUM (ANALYZE) {table}"),
        format!("REINDEX TABLE CONCURRENTLY {table}"),
    ] {
        if let Err(e) = sea_orm::sqlx::raw_sql(&sql).execute(&mut *conn).await {
            tracing::warn!(error = %e, statement = %sql, "rebuilding a table's indexes after the migration failed; run it by hand");
            return;
        }
    }
    tracing::info!(
        table,
        seconds = started.elapsed().as_secs_f64(),
        "indexes rebuilt after the migration"
    );
}

/// Run the migrations on SQLite inside one `BEGIN IMMEDIATE` transaction: it
/// takes the database's write lock before reading anything, so a second process
/// starting on the same file waits (busy timeout) and then finds the schema
/// done, instead of racing to create the same tables. SQLite's DDL is
/// transactional, so a failed migration leaves the file as it was. The pool
/// has exactly one connection, so every statement below runs on it.
async fn migrate_sqlite(write: &Db) -> Result<(), ConnectError> {
    use sea_orm::ConnectionTrait;
    write
        .execute_unprepared("BEGIN IMMEDIATE")
        .await
        .map_err(|e| ConnectError::Migration(format!("taking the write lock: {e}")))?;
    match Migrator::up(write, None).await {
        Ok(()) => write
            .execute_unprepared("COMMIT")
            .await
            .map(|_| ())
            .map_err(|e| ConnectError::Migration(e.to_string())),
        Err(e) => {
            let _ = write.execute_unprepared("ROLLBACK").await;
            Err(ConnectError::Migration(e.to_string()))
        }
    }
}

/// The one writing SQLite connection, as a pool of one that never hands out a
/// connection with a transaction still open.
///
/// When a write fails with `SQLITE_FULL` (disk full) or an I/O error, SQLite may
/// or may not end the transaction by itself; the driver's count of open
/// transactions can then disagree with SQLite's. Seen on a full disk: a failed
/// `COMMIT` left its transaction open, every later transaction was nested inside
/// it as a savepoint, and its "commit" only released the savepoint. Each request
/// was answered 201 while nothing reached the file, and all of it was gone when
/// the process stopped. So when the connection comes back to the pool it is
/// asked whether a transaction is still open (`BEGIN` fails inside one): if so,
/// or if it cannot answer, it is closed, which rolls that transaction back, and
/// the pool opens a fresh one. The failed request has been answered 503 already.
///
/// The migrations run here first, in one transaction spread over several
/// statements on the pool (see [`migrate_sqlite`]); the check is off until
/// they are done.
async fn sqlite_writer(url: &str, timeout: Duration) -> Result<Db, ConnectError> {
    use sea_orm::sqlx::{
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
        ConnectOptions as _, Connection as _, Executor,
    };
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| ConnectError::BadUrl(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(timeout)
        .foreign_keys(true)
        // Deleted and overwritten content is zeroed, not left in free space
        // where a copy of the file would still hold an erased clinic's text.
        .pragma("secure_delete", "on")
        .disable_statement_logging();
    let migrating = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let pool = while_sqlite_busy(timeout, sqlite_busy, || {
        let options = options.clone();
        let migrating_in_hook = migrating.clone();
        SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(timeout)
        // Checked on release instead (below), where a failed write leaves it.
        .test_before_acquire(false)
        .after_release(move |conn, _| {
            let migrating = migrating_in_hook.load(std::sync::atomic::Ordering::Acquire);
            Box::pin(async move {
                if migrating {
                    return Ok(true);
                }
                // The driver's own count first (free), then SQLite's word:
                // one round trip to the connection's thread for both statements.
                if conn.is_in_transaction() || conn.execute("BEGIN; ROLLBACK").await.is_err() {
                    tracing::warn!("the SQLite writer kept a transaction open after an error; replacing the connection");
                    return Ok(false);
                }
                Ok(true)
            })
        })
        .connect_with(options)
    })
    .await
    .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
    let write = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
    migrate_sqlite(&write).await?;
    migrating.store(false, std::sync::atomic::Ordering::Release);
    Ok(write)
}

/// Whether SQLite refused because another connection holds the file
/// (`SQLITE_BUSY` or `SQLITE_LOCKED`, extended codes included).
fn sqlite_busy(e: &sea_orm::sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Try `open` again while SQLite says the file is busy, until `timeout`.
///
/// The busy timeout does not cover every case at start-up: on a new file each
/// process opening it switches it to WAL, which takes the file's exclusive
/// lock, and when two processes ask at the same moment SQLite answers the
/// second `SQLITE_BUSY` at once rather than wait, since waiting with a shared
/// lock held could deadlock. Instances started together on a new database
/// then sometimes lost one to "database is locked" (CI, three instances; eight
/// at once on a new file: 3 of 130 rounds before, 0 of 140 after). Opening
/// again once the first is done finds the file in WAL already, which needs no
/// exclusive lock.
async fn while_sqlite_busy<T, E, F, Fut>(
    timeout: Duration,
    busy: impl Fn(&E) -> bool,
    mut open: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        match open().await {
            Err(e) if busy(&e) && started.elapsed() + pause < timeout => {
                tracing::debug!("the SQLite file is busy at start-up; opening it again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// A connection idle for less than this is handed out untested (PostgreSQL).
const TRUST_IDLE_FOR: Duration = Duration::from_secs(1);

/// The connection options of a PostgreSQL URL. A database on this host
/// (loopback address or `localhost`) is reached without TLS unless the URL or
/// `PGSSLMODE` asks for it: what crosses loopback never leaves the machine, so
/// encrypting it protects nothing and only costs CPU when the server offers
/// TLS and sqlx's default `prefer` takes it (16 % of the server's samples in a
/// profile of the queue page, issue 16.8). A remote database keeps the
/// default.
pub(crate) fn pg_connect_options(
    url: &str,
) -> Result<sea_orm::sqlx::postgres::PgConnectOptions, ConnectError> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
    use std::str::FromStr;
    let options =
        PgConnectOptions::from_str(url).map_err(|e| ConnectError::BadUrl(e.to_string()))?;
    let asked =
        url.to_ascii_lowercase().contains("sslmode=") || std::env::var_os("PGSSLMODE").is_some();
    let host = options.get_host();
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Ok(if local && !asked {
        options.ssl_mode(PgSslMode::Disable)
    } else {
        options
    })
}

/// The PostgreSQL pool. Connected lazily: the first real connection is the
/// migration lock's, whose error is the driver's own.
///
/// sqlx tests a connection with a round trip (`ping`) when it is released,
/// and by default again when it is next acquired. Under load the second test
/// is the same round trip a few milliseconds later: with two statements per
/// request (the session check and the page) it added two of a queue page's
/// six round trips (issue 16.8). Here only a connection idle for
/// [`TRUST_IDLE_FOR`] or more is tested before use (it may have outlived a
/// database restart); one that fails is closed and another one taken, as
/// before. A connection that breaks in between fails its statement (a 503
/// the client retries) and is closed by the release test.
fn postgres_pool(opts: &DbOptions) -> Result<Db, ConnectError> {
    use sea_orm::sqlx::{postgres::PgPoolOptions, ConnectOptions as _, Connection as _};
    let connect = pg_connect_options(&opts.url)?.disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(opts.max_connections.max(1))
        .acquire_timeout(opts.connect_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < TRUST_IDLE_FOR {
                    return Ok(true);
                }
                conn.ping().await.map(|()| true)
            })
        })
        .connect_lazy_with(connect);
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
        pool,
    ))
}

fn unreachable(e: sea_orm::DbErr) -> ConnectError {
    ConnectError::Unreachable(e.to_string())
}

/// Open the pools and bring the schema up to date.
///
/// SQLite gets WAL, a busy timeout and foreign keys, and a single writing
/// connection: SQLite allows one writer at a time, and one connection turns
/// would-be `SQLITE_BUSY` upgrades into an orderly queue. Reads go to a
/// separate pool of read-only connections, which WAL lets run beside the
/// writer, so the session check of every request does not queue behind writes.
pub async fn connect(opts: &DbOptions) -> Result<Pools, ConnectError> {
    let busy = opts.connect_timeout;
    match opts.backend() {
        Some(Backend::Sqlite) => {
            let write = sqlite_writer(&opts.url, opts.connect_timeout).await?;
            let mut ro = ConnectOptions::new(opts.url.clone());
            ro.connect_timeout(opts.connect_timeout)
                .acquire_timeout(opts.connect_timeout)
                .max_connections(opts.max_connections.max(1))
                .min_connections(1)
                // A read-only connection to a local file does not die while
                // idle; testing it is a round trip to its thread (see
                // [`postgres_pool`]).
                .test_before_acquire(false)
                .sqlx_logging(false);
            ro.map_sqlx_sqlite_opts(move |o| {
                o.read_only(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(busy)
            });
            let read = while_sqlite_busy(
                opts.connect_timeout,
                |e: &sea_orm::DbErr| {
                    matches!(e, sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)) if sqlite_busy(e))
                },
                || Database::connect(ro.clone()),
            )
            .await
            .map_err(unreachable)?;
            Ok(Pools { write, read })
        }
        Some(Backend::Postgres) => {
            let write = postgres_pool(opts)?;
            migrate_postgres(&opts.url, &write, opts.connect_timeout).await?;
            Ok(Pools {
                read: write.clone(),
                write,
            })
        }
        None => Err(ConnectError::BadUrl(
            "DATABASE_URL must start with sqlite: or postgres://".into(),
        )),
    }
}

/// A transaction on the write pool. On SQLite it takes the write lock with its
/// first statement, as [`begin_writer`] does: services read before they write,
/// and a transaction that has read cannot become a writer once another process
/// on the same file wrote in between (`SQLITE_BUSY_SNAPSHOT`, a 503). Taking
/// the lock first makes processes queue for it (busy timeout) instead. Within
/// one process the single writing connection serialises transactions anyway;
/// the extra statement costs about a tenth of single-instance write throughput
/// (README, "Tests"), which no desk comes near, and spares a
/// rolling restart or a second instance its failed requests.
pub async fn begin(db: &Db) -> Result<Tx, StoreError> {
    begin_writer(db).await
}

/// A transaction that will write after it reads. On SQLite it takes the write
/// lock with its first statement: a transaction that reads first cannot become
/// a writer once another connection (another instance on the same file) has
/// written in between (`SQLITE_BUSY_SNAPSHOT`). PostgreSQL needs nothing.
pub async fn begin_writer(db: &Db) -> Result<Tx, StoreError> {
    let tx = db.begin().await?;
    if sea_orm::ConnectionTrait::get_database_backend(&tx) == sea_orm::DatabaseBackend::Sqlite {
        crate::board::lock_numbers(&tx).await?;
    }
    Ok(tx)
}

/// A read-only transaction that sees one moment throughout, for a long read
/// made of many queries (an organization's archive). SQLite's read transaction
/// already does in WAL mode; PostgreSQL needs REPEATABLE READ.
pub async fn begin_snapshot(db: &Db) -> Result<Tx, StoreError> {
    if sea_orm::ConnectionTrait::get_database_backend(db) == sea_orm::DatabaseBackend::Postgres {
        return Ok(db
            .begin_with_config(
                Some(sea_orm::IsolationLevel::RepeatableRead),
                Some(sea_orm::AccessMode::ReadOnly),
            )
            .await?);
    }
    Ok(db.begin().await?)
}

pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Refresh the planner's statistics (`ANALYZE`), after a bulk load or a
/// restore: both backends plan from them, and neither has any for rows it has
/// not yet analysed.
pub async fn analyze(db: &Db) -> Result<(), StoreError> {
    sea_orm::ConnectionTrait::execute_unprepared(db, "ANALYZE").await?;
    Ok(())
}

/// Whether the database answers: readiness, not liveness.
pub async fn ping(db: &Db) -> Result<(), StoreError> {
    Ok(db.ping().await?)
}

#[cfg(test)]
mod tests {
    use super::pg_connect_options;
    use sea_orm::sqlx::postgres::PgSslMode;

    fn mode(url: &str) -> PgSslMode {
        match pg_connect_options(url) {
            Ok(o) => o.get_ssl_mode(),
            Err(e) => panic!("{url}: {e}"),
        }
    }

    #[test]
    fn a_database_on_this_host_is_reached_without_tls_unless_asked() {
        for local in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgres://postgres@[::1]:5432/test",
        ] {
            assert!(matches!(mode(local), PgSslMode::Disable), "{local}");
        }
        // Asked for in the URL: kept, on this host too.
        assert!(matches!(
            mode("postgres://postgres@127.0.0.1/test?sslmode=require"),
            PgSslMode::Require
        ));
        // Another host keeps sqlx's default (or PGSSLMODE).
        assert!(!matches!(
            mode("postgres://madoguchi@db.example.jp/madoguchi"),
            PgSslMode::Disable
        ));
    }
}
