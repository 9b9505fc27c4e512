//! Indexes that let the queue read threads in queue order instead of sorting:
//! a status-only index tempted SQLite into sorting every open thread.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "DROP INDEX IF EXISTS idx_threads_status;
                 CREATE INDEX idx_threads_org_queue ON threads (organization_id, queue_rank, next_due_at, number);",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "DROP INDEX IF EXISTS idx_threads_org_queue;
                 CREATE INDEX idx_threads_status ON threads (status);",
            )
            .await?;
        Ok(())
    }
}
