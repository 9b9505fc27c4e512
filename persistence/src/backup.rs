//! Online backup of an SQLite database and the checks a copy must pass before
//! anyone relies on it. (PostgreSQL has `pg_dump`; the README gives the commands.)

use std::path::{Path, PathBuf};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement, Value};

use crate::audit::{self, Verification};

/// What a checked copy holds.
#[derive(Debug)]
pub struct CopyReport {
    pub bytes: u64,
    pub threads: i64,
    pub audit: Verification,
}

/// The file of an SQLite `DATABASE_URL` (`sqlite://path?mode=rwc`, `sqlite:path`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

async fn open(path: &Path, read_only: bool) -> Result<DatabaseConnection, String> {
    let mode = if read_only { "ro" } else { "rw" };
    let mut co = ConnectOptions::new(format!("sqlite://{}?mode={mode}", path.display()));
    co.max_connections(1).sqlx_logging(false);
    Database::connect(co)
        .await
        .map_err(|e| format!("opening {}: {e}", path.display()))
}

/// Write a consistent copy of the database at `from` into the new file `to`
/// with `VACUUM INTO`: it reads one snapshot, so servers may go on writing
/// (WAL lets them), and the copy is compact and self-contained (no `-wal`).
pub async fn sqlite_copy(from: &Path, to: &Path) -> Result<(), String> {
    if !from.is_file() {
        return Err(format!("{} is not a file", from.display()));
    }
    if to.exists() {
        return Err(format!(
            "{} already exists; name a new file (nothing was written)",
            to.display()
        ));
    }
    let db = open(from, true).await?;
    db.execute(Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        "VACUUM INTO ?",
        [Value::from(to.display().to_string())],
    ))
    .await
    .map_err(|e| format!("copying into {}: {e}", to.display()))?;
    Ok(())
}

/// Check a copy: SQLite's own `integrity_check`, the audit chain from its first
/// entry to its last, and what it holds.
pub async fn check_sqlite(path: &Path) -> Result<CopyReport, String> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let db = open(path, true).await?;
    let backend = sea_orm::DatabaseBackend::Sqlite;
    let row = db
        .query_one(Statement::from_string(backend, "PRAGMA integrity_check"))
        .await
        .map_err(|e| format!("integrity check: {e}"))?
        .ok_or("integrity check answered nothing")?;
    let verdict: String = row
        .try_get_by_index(0)
        .map_err(|e| format!("integrity check: {e}"))?;
    if verdict != "ok" {
        return Err(format!("{} is damaged: {verdict}", path.display()));
    }
    let threads = db
        .query_one(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM threads",
        ))
        .await
        .map_err(|e| format!("{} is not a madoguchi database: {e}", path.display()))?
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0);
    let audit = audit::verify(&db)
        .await
        .map_err(|e| format!("audit chain: {e}"))?;
    if let Some(b) = &audit.first_broken {
        return Err(format!(
            "the audit chain of {} is broken at entry {} ({})",
            path.display(),
            b.id,
            b.reason
        ));
    }
    Ok(CopyReport {
        bytes,
        threads,
        audit,
    })
}
