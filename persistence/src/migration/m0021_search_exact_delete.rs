//! The search index forgets exactly what it was given (security review,
//! issue 27).
//!
//! A renamed title used to be indexed again beside the old one: the old title
//! (a patient's name an agent removed on purpose) stayed searchable, and on
//! SQLite the contentless FTS5 table could not even be told to forget it,
//! since a row is deleted only with the text it was inserted with, and the
//! erasure passed the current title's. From now on:
//! - each title has one document (the stale ones of earlier renames go here);
//! - SQLite keeps each FTS5 row's text in `search_docs.fts_text`, so a rename
//!   or an erasure deletes it exactly (an erasure then merges the index, so
//!   the terms leave its pages too). FTS5's `secure-delete` option would take
//!   them out at once, but with the bundled SQLite (3.46.0) a table using it
//!   fails its own `integrity-check` after deleting rows that share terms with
//!   others, so it is not used;
//! - SQLite's index is rebuilt from the current texts, so the terms of titles
//!   renamed before this version leave it too.

use madoguchi_domain::board::search::{document_tokens, MAX_DOCUMENT_TOKENS};
use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The stale title documents: all but the newest of each thread.
const STALE_TITLES: &str = "DELETE FROM search_docs WHERE post_id IS NULL AND id NOT IN \
    (SELECT MAX(id) FROM search_docs WHERE post_id IS NULL GROUP BY thread_id)";

/// Documents per batch: two statements of up to 2 × 500 parameters each,
/// well under SQLite's limit of 32,766.
const BATCH: i64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(STALE_TITLES).await?;
        if m.get_database_backend() == DatabaseBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared(
            "ALTER TABLE search_docs ADD COLUMN fts_text TEXT;\
             INSERT INTO search_fts (search_fts) VALUES ('delete-all');",
        )
        .await?;
        let mut after = 0i64;
        loop {
            let rows = db
                .query_all(Statement::from_sql_and_values(
                    DatabaseBackend::Sqlite,
                    "SELECT d.id, d.organization_id, d.internal, COALESCE(p.body, t.title) AS text \
                     FROM search_docs d JOIN threads t ON t.id = d.thread_id \
                     LEFT JOIN posts p ON p.id = d.post_id \
                     WHERE d.id > ? ORDER BY d.id LIMIT ?",
                    [after.into(), BATCH.into()],
                ))
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("", "id")?;
            // One statement each for the index and the kept texts, per batch.
            let mut fts = String::from("INSERT INTO search_fts (rowid, tokens) VALUES ");
            let mut kept =
                String::from("UPDATE search_docs SET fts_text = v.column2 FROM (VALUES ");
            let mut fts_values: Vec<Value> = Vec::with_capacity(rows.len() * 2);
            let mut kept_values: Vec<Value> = Vec::with_capacity(rows.len() * 2);
            for (i, r) in rows.iter().enumerate() {
                let id: i64 = r.try_get("", "id")?;
                let org: uuid::Uuid = r.try_get("", "organization_id")?;
                let internal: bool = r.try_get("", "internal")?;
                let text: String = r.try_get("", "text")?;
                let tokens = document_tokens(&text, MAX_DOCUMENT_TOKENS);
                let row = crate::board::fts_row_text(&tokens, org, internal);
                fts.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
                kept.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
                fts_values.extend([Value::from(id), row.clone().into()]);
                kept_values.extend([Value::from(id), row.into()]);
            }
            kept.push_str(") AS v WHERE search_docs.id = v.column1");
            for (sql, values) in [(fts, fts_values), (kept, kept_values)] {
                db.execute(Statement::from_sql_and_values(
                    DatabaseBackend::Sqlite,
                    sql,
                    values,
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
