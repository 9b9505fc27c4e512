//! The outbox gets several readers (issue 28, item 4). Until now one column on
//! `outbox` (`fanned_out_at`) said whether the webhook fan-out had taken an
//! event, so a second reader (mail, notices) would have needed a column of its
//! own and shared nothing. Now each reader is a row in `outbox_consumers`, and
//! an event waits for each reader registered when it was written as a row in
//! `outbox_pending`: a reader claims and deletes its own rows, never another's,
//! so adding one needs no change to `outbox` and none can hold another up.
//! The events the webhook fan-out had not yet taken are carried over.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE outbox_consumers (
  name VARCHAR(60) NOT NULL PRIMARY KEY,
  registered_at TIMESTAMP_TYPE NOT NULL
);
CREATE TABLE outbox_pending (
  consumer VARCHAR(60) NOT NULL REFERENCES outbox_consumers (name),
  outbox_id BIGINT NOT NULL REFERENCES outbox (id),
  PRIMARY KEY (consumer, outbox_id)
);
INSERT INTO outbox_consumers (name, registered_at)
  SELECT 'webhooks', COALESCE(MAX(occurred_at), CURRENT_TIMESTAMP_VALUE) FROM outbox;
INSERT INTO outbox_pending (consumer, outbox_id)
  SELECT 'webhooks', id FROM outbox WHERE fanned_out_at IS NULL;
DROP INDEX idx_outbox_pending;
ALTER TABLE outbox DROP COLUMN fanned_out_at;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        // Stored the way each engine stores the application's instants.
        let now = if backend == sea_orm::DatabaseBackend::Postgres {
            "CURRENT_TIMESTAMP"
        } else {
            "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
        };
        let sql = super::dialect(SQL, backend).replace("CURRENT_TIMESTAMP_VALUE", now);
        m.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the outbox's readers are not removed by rollback".into(),
        ))
    }
}
