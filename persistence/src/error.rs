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
    #[error("database error: {0}")]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict,
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
