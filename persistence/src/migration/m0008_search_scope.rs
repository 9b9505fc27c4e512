//! PostgreSQL: the search index learns who may see each document.
//!
//! Each document's `tsvector` gains the same scope lexemes SQLite's FTS rows have
//! carried from the start (`zzorg<organization>`, and `zzpublic` unless the
//! document is an internal note). A customer's query then asks the GIN index for
//! documents of their organization that are public, instead of fetching every
//! organization's matches and throwing most away. The database adds them itself,
//! in a trigger, so that documents written by an instance still running the
//! previous version during a rolling upgrade carry them too; existing documents
//! are updated once. Documents never change organization or visibility. An
//! index on (organization, id) lets a customer's search read their clinic's
//! newest documents without stepping over every other clinic's.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG: &str = r#"
CREATE FUNCTION search_doc_scope(organization_id UUID, internal BOOLEAN) RETURNS tsvector
  LANGUAGE sql IMMUTABLE AS $$
  SELECT array_to_tsvector(
    CASE WHEN internal
      THEN ARRAY['zzorg' || replace(organization_id::text, '-', '')]
      ELSE ARRAY['zzorg' || replace(organization_id::text, '-', ''), 'zzpublic']
    END)
$$;
CREATE FUNCTION search_docs_add_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tokens := NEW.tokens || search_doc_scope(NEW.organization_id, NEW.internal);
  RETURN NEW;
END
$$;
UPDATE search_docs SET tokens = tokens || search_doc_scope(organization_id, internal);
CREATE TRIGGER search_docs_scope BEFORE INSERT ON search_docs
  FOR EACH ROW EXECUTE FUNCTION search_docs_add_scope();
CREATE INDEX idx_search_docs_org ON search_docs (organization_id, id);
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
            "search scope lexemes are not removed by rollback".into(),
        ))
    }
}
