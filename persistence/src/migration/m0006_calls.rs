//! Phone-call logs.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE calls (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  organization_id UUID_TYPE NOT NULL REFERENCES organizations (id),
  caller_name VARCHAR(400) NOT NULL,
  caller_number VARCHAR(20) NOT NULL,
  direction VARCHAR(10) NOT NULL,
  answered BOOLEAN NOT NULL,
  started_at TIMESTAMP_TYPE NOT NULL,
  ended_at TIMESTAMP_TYPE,
  outside_hours BOOLEAN NOT NULL,
  agent_id UUID_TYPE,
  summary TEXT,
  thread_id UUID_TYPE REFERENCES threads (id),
  version INTEGER NOT NULL,
  created_at TIMESTAMP_TYPE NOT NULL,
  updated_at TIMESTAMP_TYPE NOT NULL
);
CREATE INDEX idx_calls_started ON calls (started_at, id);
CREATE INDEX idx_calls_org ON calls (organization_id, started_at);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let sql = super::dialect(SQL, m.get_database_backend());
        m.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE calls;")
            .await?;
        Ok(())
    }
}
