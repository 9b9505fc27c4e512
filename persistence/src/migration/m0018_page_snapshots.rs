//! Each thread row carries its clocks and its tags as JSON text
//! (`clocks_json`, `tags_json`), kept by triggers on `sla_clocks` and
//! `thread_tags`.
//!
//! A queue page of 50 read them with two correlated sub-selects per row: on
//! PostgreSQL the clocks' sub-select alone was about 15 µs a row, most of the
//! page's time in the database (issue 16.8). The page now reads thread rows
//! only. `sla_clocks` and `thread_tags` stay what is written and what the
//! sweeper's and the tag filter's indexes search; the columns are copies for
//! reading.
//!
//! The copies are made by the database, not by the application, so every
//! writer keeps them: an instance still on the previous version during a
//! rolling deploy, the erasure's `DELETE FROM thread_tags`, an operator's hand
//! fix. The expressions are the ones the page's sub-selects used, so what a
//! page shows is what it showed before. Existing rows are filled once; on
//! PostgreSQL `threads` is vacuumed and reindexed after the migrations commit
//! (`REWRITES`), since every row was rewritten.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG: &str = r#"
ALTER TABLE threads ADD COLUMN clocks_json TEXT;
ALTER TABLE threads ADD COLUMN tags_json TEXT;

CREATE FUNCTION thread_clocks_json(tid UUID) RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT json_agg(json_build_array(c.kind, c.cycle, c.target_seconds, c.used_seconds,
    c.running_since, c.phase, c.met_at, c.due_at, c.warn_at, c.warned, c.breached))::text
  FROM sla_clocks c WHERE c.thread_id = tid
$$;
CREATE FUNCTION thread_tags_json(tid UUID) RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT json_agg(g.tag ORDER BY g.tag)::text FROM thread_tags g WHERE g.thread_id = tid
$$;

-- Statement triggers: a thread whose clocks one statement writes (its three
-- clocks in one upsert) is updated once, not once a clock row.
CREATE FUNCTION sla_clocks_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE threads SET clocks_json = thread_clocks_json(id)
    WHERE id IN (SELECT thread_id FROM changed);
  RETURN NULL;
END
$$;
CREATE FUNCTION thread_tags_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE threads SET tags_json = thread_tags_json(id)
    WHERE id IN (SELECT thread_id FROM changed);
  RETURN NULL;
END
$$;
CREATE TRIGGER sla_clocks_copy_insert AFTER INSERT ON sla_clocks
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sla_clocks_copy();
CREATE TRIGGER sla_clocks_copy_update AFTER UPDATE ON sla_clocks
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sla_clocks_copy();
CREATE TRIGGER sla_clocks_copy_delete AFTER DELETE ON sla_clocks
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION sla_clocks_copy();
CREATE TRIGGER thread_tags_copy_insert AFTER INSERT ON thread_tags
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION thread_tags_copy();
CREATE TRIGGER thread_tags_copy_update AFTER UPDATE ON thread_tags
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION thread_tags_copy();
CREATE TRIGGER thread_tags_copy_delete AFTER DELETE ON thread_tags
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION thread_tags_copy();

UPDATE threads SET clocks_json = thread_clocks_json(id), tags_json = thread_tags_json(id);
"#;

/// SQLite: a trigger serves one event, so each copy has three. `NULLIF`: no
/// tags is NULL, as PostgreSQL's `json_agg` of no rows is.
const SQLITE_CLOCKS: &str = "UPDATE threads SET clocks_json = (SELECT json_group_array(json_array(\
     c.kind, c.cycle, c.target_seconds, c.used_seconds, c.running_since, c.phase, c.met_at, \
     c.due_at, c.warn_at, c.warned, c.breached)) FROM sla_clocks c WHERE c.thread_id = TID) \
     WHERE id = TID;";
const SQLITE_TAGS: &str =
    "UPDATE threads SET tags_json = (SELECT NULLIF(json_group_array(tag), '[]') \
     FROM (SELECT g.tag FROM thread_tags g WHERE g.thread_id = TID ORDER BY g.tag)) \
     WHERE id = TID;";

fn sqlite() -> String {
    let mut sql = String::from(
        "ALTER TABLE threads ADD COLUMN clocks_json TEXT;\n\
         ALTER TABLE threads ADD COLUMN tags_json TEXT;\n",
    );
    for (table, copy) in [("sla_clocks", SQLITE_CLOCKS), ("thread_tags", SQLITE_TAGS)] {
        for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
            sql.push_str(&format!(
                "CREATE TRIGGER {table}_copy_{} AFTER {event} ON {table} BEGIN {} END;\n",
                event.to_lowercase(),
                copy.replace("TID", &format!("{row}.thread_id")),
            ));
        }
    }
    sql.push_str(&SQLITE_CLOCKS.replace("TID", "threads.id"));
    sql.push('\n');
    sql.push_str(&SQLITE_TAGS.replace("TID", "threads.id"));
    sql
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let sql = if m.get_database_backend() == DatabaseBackend::Postgres {
            PG.to_owned()
        } else {
            sqlite()
        };
        m.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the threads' copies of clocks and tags are not removed by rollback".into(),
        ))
    }
}
