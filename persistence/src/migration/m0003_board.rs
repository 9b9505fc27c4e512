//! The board: threads, posts, SLA policies and clocks, the outbox, the search index.
//! Written as SQL per backend where the engines differ (FTS5 vs tsvector).

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COMMON: &str = r#"
CREATE TABLE counters (
  name VARCHAR(50) NOT NULL PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('thread_number', 0);

CREATE TABLE sla_policies (
  priority VARCHAR(10) NOT NULL PRIMARY KEY,
  first_response_minutes INTEGER NOT NULL,
  next_reply_minutes INTEGER NOT NULL,
  resolution_minutes INTEGER NOT NULL,
  version INTEGER NOT NULL,
  updated_at TIMESTAMP_TYPE NOT NULL
);

CREATE TABLE threads (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  number BIGINT NOT NULL UNIQUE,
  organization_id UUID_TYPE NOT NULL REFERENCES organizations (id),
  title VARCHAR(800) NOT NULL,
  category VARCHAR(200),
  priority VARCHAR(10) NOT NULL,
  status VARCHAR(10) NOT NULL,
  channel VARCHAR(10) NOT NULL,
  assignee_id UUID_TYPE REFERENCES users (id),
  created_by UUID_TYPE,
  follow_up_of BIGINT,
  policy TEXT NOT NULL,
  post_count INTEGER NOT NULL,
  public_post_count INTEGER NOT NULL,
  last_public_post_at TIMESTAMP_TYPE,
  last_public_by_staff BOOLEAN NOT NULL,
  next_due_at TIMESTAMP_TYPE NOT NULL,
  breached BOOLEAN NOT NULL,
  queue_rank INTEGER NOT NULL,
  version INTEGER NOT NULL,
  created_at TIMESTAMP_TYPE NOT NULL,
  updated_at TIMESTAMP_TYPE NOT NULL
);
CREATE INDEX idx_threads_queue ON threads (queue_rank, next_due_at, number);
CREATE INDEX idx_threads_org ON threads (organization_id, number);
CREATE INDEX idx_threads_status ON threads (status);

CREATE TABLE thread_tags (
  thread_id UUID_TYPE NOT NULL REFERENCES threads (id),
  tag VARCHAR(120) NOT NULL,
  PRIMARY KEY (thread_id, tag)
);
CREATE INDEX idx_thread_tags_tag ON thread_tags (tag);

CREATE TABLE posts (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  thread_id UUID_TYPE NOT NULL REFERENCES threads (id),
  author_id UUID_TYPE,
  author_name VARCHAR(400) NOT NULL,
  author_role VARCHAR(10) NOT NULL,
  visibility VARCHAR(10) NOT NULL,
  body TEXT NOT NULL,
  created_at TIMESTAMP_TYPE NOT NULL
);
CREATE INDEX idx_posts_thread ON posts (thread_id, id);

CREATE TABLE sla_clocks (
  thread_id UUID_TYPE NOT NULL REFERENCES threads (id),
  kind VARCHAR(20) NOT NULL,
  cycle INTEGER NOT NULL,
  target_seconds BIGINT NOT NULL,
  used_seconds BIGINT NOT NULL,
  running_since TIMESTAMP_TYPE,
  phase VARCHAR(10) NOT NULL,
  met_at TIMESTAMP_TYPE,
  due_at TIMESTAMP_TYPE,
  warn_at TIMESTAMP_TYPE,
  warned BOOLEAN NOT NULL,
  breached BOOLEAN NOT NULL,
  PRIMARY KEY (thread_id, kind)
);
CREATE INDEX idx_clocks_warn ON sla_clocks (phase, warned, warn_at);
CREATE INDEX idx_clocks_due ON sla_clocks (phase, breached, due_at);

CREATE TABLE sla_clock_events (
  id SERIAL_TYPE,
  thread_id UUID_TYPE NOT NULL,
  kind VARCHAR(20) NOT NULL,
  cycle INTEGER NOT NULL,
  event VARCHAR(20) NOT NULL,
  at TIMESTAMP_TYPE NOT NULL,
  cause VARCHAR(200) NOT NULL,
  used_seconds BIGINT NOT NULL
);
CREATE INDEX idx_clock_events_thread ON sla_clock_events (thread_id, id);

CREATE TABLE outbox (
  id SERIAL_TYPE,
  event_id UUID_TYPE NOT NULL UNIQUE,
  event_type VARCHAR(60) NOT NULL,
  dedupe_key VARCHAR(200) UNIQUE,
  thread_id UUID_TYPE,
  organization_id UUID_TYPE,
  internal BOOLEAN NOT NULL,
  payload TEXT NOT NULL,
  occurred_at TIMESTAMP_TYPE NOT NULL
);
CREATE INDEX idx_outbox_type ON outbox (event_type);

CREATE TABLE search_docs (
  id SERIAL_TYPE,
  thread_id UUID_TYPE NOT NULL REFERENCES threads (id),
  post_id UUID_TYPE,
  organization_id UUID_TYPE NOT NULL,
  internal BOOLEAN NOT NULL
);
CREATE INDEX idx_search_docs_thread ON search_docs (thread_id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let pg = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let sql = super::dialect(COMMON, m.get_database_backend());
        let db = m.get_connection();
        db.execute_unprepared(&sql).await?;
        if pg {
            db.execute_unprepared(
                "ALTER TABLE search_docs ADD COLUMN tokens TSVECTOR NOT NULL DEFAULT ''::tsvector;
                 CREATE INDEX idx_search_docs_tokens ON search_docs USING GIN (tokens);",
            )
            .await?;
        } else {
            // Contentless: the index only, keyed by search_docs.id.
            db.execute_unprepared(
                "CREATE VIRTUAL TABLE search_fts USING fts5(tokens, content='', tokenize='unicode61 remove_diacritics 0');",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the board migration is not reversible".into(),
        ))
    }
}
