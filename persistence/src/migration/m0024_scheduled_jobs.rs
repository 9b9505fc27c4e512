//! A home for scheduled work (issue 28, item 6): each occurrence of a named
//! job is one row, created by whichever instance sees it due first and claimed
//! by one at a time under a lease on the database's clock, so exactly one
//! instance runs it and a crashed one's occurrence is taken up again when its
//! lease runs out.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE job_occurrences (
  job VARCHAR(60) NOT NULL,
  occurrence VARCHAR(120) NOT NULL,
  due_at TIMESTAMP_TYPE NOT NULL,
  leased_until TIMESTAMP_TYPE,
  attempts INTEGER NOT NULL DEFAULT 0,
  finished_at TIMESTAMP_TYPE,
  last_error VARCHAR(1000),
  PRIMARY KEY (job, occurrence)
);
CREATE INDEX idx_job_occurrences_due ON job_occurrences (due_at) WHERE finished_at IS NULL;
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
            .execute_unprepared("DROP TABLE job_occurrences")
            .await?;
        Ok(())
    }
}
