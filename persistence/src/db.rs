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

/// Open the pool and bring the schema up to date.
///
/// SQLite gets WAL, a busy timeout and foreign keys, and a single pooled
/// connection: SQLite allows one writer at a time, and one connection turns
/// would-be `SQLITE_BUSY` upgrades into an orderly queue.
pub async fn connect(opts: &DbOptions) -> Result<Db, StoreError> {
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
        }
        _ => {
            co.max_connections(opts.max_connections);
        }
    }
    let db = Database::connect(co).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
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
