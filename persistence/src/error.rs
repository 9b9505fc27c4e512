use sea_orm::{DbErr, SqlErr};
use thiserror::Error;

/// What can go wrong in storage, in words the services can act on.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (e.g. an email already registered).
    #[error("already exists")]
    Conflict,
    /// An optimistic-concurrency check failed: the row changed since it was read.
    #[error("the object was changed by someone else")]
    Stale,
    /// The database cannot serve now (unreachable, restarting, no free
    /// connection within the timeout, SQLite's file busy past its timeout or
    /// its disk full): nothing was written; the same request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(DbErr),
}

/// Whether `e` says the database could not be reached or could not take the
/// work now, as opposed to a statement that is wrong.
fn unavailable(e: &DbErr) -> bool {
    use sea_orm::{sqlx, RuntimeErr};
    let sqlx_err = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => x,
        _ => return false,
    };
    match sqlx_err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => {
            let code = d.code();
            let code = code.as_deref().unwrap_or_default();
            // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_FULL (13),
            // SQLITE_IOERR (10) and their extended codes (low byte).
            // PostgreSQL: class 08 (connection), 57P01-57P03 (shutting down,
            // cannot connect now), 53xxx (insufficient resources).
            let sqlite_primary = code.parse::<i64>().ok().map(|c| c & 0xff);
            matches!(sqlite_primary, Some(5 | 6 | 10 | 13))
                || code.starts_with("08")
                || code.starts_with("57P0")
                || code.starts_with("53")
        }
        _ => false,
    }
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict,
            _ if unavailable(&e) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Db(e),
        }
    }
}

impl From<sea_orm::TransactionError<StoreError>> for StoreError {
    fn from(e: sea_orm::TransactionError<StoreError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(s) => s,
        }
    }
}
