//! Storage of the board: threads, posts, SLA clocks and their log, policies,
//! the queue and the search index.
//!
//! One module per seam; everything public is re-exported here, so callers write
//! `board::get_by_number` whichever file holds it.

mod clocks;
mod policies;
mod posts;
mod search;
mod threads;

pub use clocks::*;
pub use policies::*;
pub use posts::*;
pub use search::*;
pub use threads::*;

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, Statement, Value};

use crate::error::StoreError;

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!("corrupt board row: {what}")))
}

/// Write `$1`-style SQL once; SQLite gets `?`.
pub(crate) fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
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

pub(crate) fn is_pg(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DatabaseBackend::Postgres
}

/// The `next_due_at` of a thread with no running clock.
pub fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
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
