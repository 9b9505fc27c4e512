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

/// Open the pools and bring the schema up to date.
///
/// SQLite gets WAL, a busy timeout and foreign keys, and a single writing
/// connection: SQLite allows one writer at a time, and one connection turns
/// would-be `SQLITE_BUSY` upgrades into an orderly queue. Reads go to a
/// separate pool of read-only connections, which WAL lets run beside the
/// writer, so the session check of every request does not queue behind writes.
pub async fn connect(opts: &DbOptions) -> Result<Pools, StoreError> {
    let mut co = ConnectOptions::new(opts.url.clone());
    co.connect_timeout(opts.connect_timeout)
        .acquire_timeout(opts.connect_timeout)
        .sqlx_logging(false);
    match opts.backend() {
        Some(Backend::Sqlite) => {
            co.max_connections(1).min_connections(1);
            co.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
            let write = Database::connect(co).await?;
            Migrator::up(&write, None).await?;
            let mut ro = ConnectOptions::new(opts.url.clone());
            ro.connect_timeout(opts.connect_timeout)
                .acquire_timeout(opts.connect_timeout)
                .max_connections(opts.max_connections.max(1))
                .min_connections(1)
                .sqlx_logging(false);
            ro.map_sqlx_sqlite_opts(|o| {
                o.read_only(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10))
            });
            let read = Database::connect(ro).await?;
            Ok(Pools { write, read })
        }
        _ => {
            co.max_connections(opts.max_connections);
            let write = Database::connect(co).await?;
            Migrator::up(&write, None).await?;
            Ok(Pools {
                read: write.clone(),
                write,
            })
        }
    }
}

pub async fn begin(db: &Db) -> Result<Tx, StoreError> {
    Ok(db.begin().await?)
}

pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

/// Whether the database answers: readiness, not liveness.
pub async fn ping(db: &Db) -> Result<(), StoreError> {
    Ok(db.ping().await?)
}
