//! PostgreSQL: each search document is marked with the id range it falls in.
//!
//! A search wants the newest matches, but GIN knows no order: for two words
//! that are each common yet rarely meet (ログイン エラー: 2,244 of 600,000
//! documents), PostgreSQL intersected their long posting lists across the
//! whole index and fetched every match to keep the newest 88 (7 ms in the
//! index, 11 ms in all, per page). Each document now also carries the lexeme
//! `zzb<id / 8192>`, and a search asks the index for one range at a time,
//! newest first (`search::bucket_token`): the short list of the range lets
//! GIN skip through the long ones, and only that range's matches are fetched
//! (0.5–0.8 ms a range).
//! The trigger of m0008 adds it on insert, where the id is already drawn, so
//! that documents written by an instance still on the previous version carry
//! it too; existing documents are updated once, and the index is rebuilt
//! after: updating every row left it 2.6 times its size (81 against 31 MB on
//! 600,000 documents), and a range read cost 5 ms in it instead of 0.8 ms.
//! (The REINDEX below runs inside the migrations' one transaction, which
//! still indexes the old row versions; m0017's upgrade rebuilds the index
//! after the commit, `db::rebuild_rewritten`.)

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG: &str = r#"
CREATE OR REPLACE FUNCTION search_docs_add_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tokens := NEW.tokens || search_doc_scope(NEW.organization_id, NEW.internal)
    || array_to_tsvector(ARRAY['zzb' || (NEW.id / 8192)]);
  RETURN NEW;
END
$$;
UPDATE search_docs SET tokens = tokens || array_to_tsvector(ARRAY['zzb' || (id / 8192)]);
REINDEX INDEX idx_search_docs_tokens;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection().execute_unprepared(PG).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "search range lexemes are not removed by rollback".into(),
        ))
    }
}
