//! PostgreSQL: the search index takes each document into its posting lists at
//! once, with no pending list (`fastupdate = off`).
//!
//! By default GIN appends new entries to a pending list that every search
//! reads in full, linearly, until a vacuum (or a list past 4 MB) moves them
//! into the index. Each of a search's range reads paid for it: after a
//! 30-minute soak (125,000 new documents, 438 pending pages) the one-word
//! searches took 13–42 ms, and 6–30 ms once the list was cleaned
//! (`gin_clean_pending_list`); FAX 送信 20.7 against 7.4 ms. How soon
//! autovacuum cleans it depends on the database's settings, and a search
//! should not. Writing straight into the index costs a new thread little:
//! 1,711–1,773 creates a second at 16 clients against 1,750–1,932 with the
//! list, and the list's flushes no longer land on one unlucky request (p99
//! 14–17 against 26–37 ms; `bench/create_thread.lua` on the 100,000-thread
//! seed, 12-04). The entries already pending are moved into the index here.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG: &str = r#"
ALTER INDEX idx_search_docs_tokens SET (fastupdate = off);
SELECT gin_clean_pending_list('idx_search_docs_tokens'::regclass);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection().execute_unprepared(PG).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("ALTER INDEX idx_search_docs_tokens RESET (fastupdate)")
                .await?;
        }
        Ok(())
    }
}
