//! Instances say they are alive (a heartbeat row each), and an idempotency
//! claim names the instance and request that hold it: a claim left by a process
//! that died mid-request can then be recognised and resolved instead of
//! answering "still running" until it expires a day later.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE instances (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  started_at TIMESTAMP_TYPE NOT NULL,
  last_seen_at TIMESTAMP_TYPE NOT NULL
);
ALTER TABLE idempotency_keys ADD COLUMN instance_id UUID_TYPE;
ALTER TABLE idempotency_keys ADD COLUMN request_id VARCHAR(128);
CREATE INDEX idx_audit_request ON audit_events (request_id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let sql = super::dialect(SQL, m.get_database_backend());
        m.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "instances are not removed by rollback".into(),
        ))
    }
}
