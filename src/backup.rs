//! `madoguchi backup` and `madoguchi restore`: the operator's side of an SQLite
//! deployment. Both check what they wrote (SQLite's integrity check, the audit
//! chain end to end) before they say it worked. PostgreSQL has `pg_dump` and
//! `pg_restore`; these commands say so instead of pretending.

use std::{path::Path, time::Instant};

use madoguchi_persistence::{
    backup::{check_sqlite, sqlite_copy, sqlite_path, CopyReport},
    DbOptions,
};

use crate::Config;

const ON_POSTGRES: &str = "this database is PostgreSQL: back it up with \
`pg_dump --format=custom --file=FILE \"$DATABASE_URL\"` and restore with \
`pg_restore --dbname=NEW_DATABASE_URL FILE` (README, \"Backups\")";

fn summary(r: &CopyReport) -> String {
    format!(
        "{} bytes, {} threads, an audit chain of {} entries that verifies",
        r.bytes, r.threads, r.audit.entries
    )
}

/// Copy the database while servers run on it, then check the copy. A copy that
/// fails its check is removed, so nobody keeps it as a backup.
pub async fn backup(config: &Config, to: &Path) -> Result<String, String> {
    let from = sqlite_path(&config.database_url).ok_or(ON_POSTGRES)?;
    let started = Instant::now();
    sqlite_copy(&from, to).await?;
    match check_sqlite(to).await {
        Ok(r) => Ok(format!(
            "backed up {} to {}: {}, in {:.1} s",
            from.display(),
            to.display(),
            summary(&r),
            started.elapsed().as_secs_f64()
        )),
        Err(e) => {
            let _ = std::fs::remove_file(to);
            Err(format!("the copy failed its check and was removed: {e}"))
        }
    }
}

/// Check a backup, then write it as `DATABASE_URL`'s file, which must not exist
/// yet (restoring never overwrites a database), and bring its schema up to date
/// as a start would.
pub async fn restore(config: &Config, from: &Path) -> Result<String, String> {
    let to = sqlite_path(&config.database_url).ok_or(ON_POSTGRES)?;
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", to.display());
        if Path::new(&p).exists() {
            return Err(format!(
                "{p} exists: restore writes a new database file and never overwrites one. \
                 Stop the servers, move the database (with its -wal and -shm files) aside, then restore"
            ));
        }
    }
    let source = check_sqlite(from)
        .await
        .map_err(|e| format!("{} cannot be restored: {e}", from.display()))?;
    sqlite_copy(from, &to).await?;
    madoguchi_persistence::connect(&DbOptions {
        url: config.database_url.clone(),
        max_connections: 1,
        connect_timeout: std::time::Duration::from_secs(10),
    })
    .await
    .map_err(|e| format!("bringing the restored schema up to date: {e}"))?;
    let restored = check_sqlite(&to).await?;
    if restored.threads != source.threads || restored.audit.entries != source.audit.entries {
        return Err(format!(
            "the restored database differs from the backup ({} against {})",
            summary(&restored),
            summary(&source)
        ));
    }
    Ok(format!(
        "restored {} into {}: {}. Start the server with this DATABASE_URL.",
        from.display(),
        to.display(),
        summary(&restored)
    ))
}
