//! A webhook delivery's lease gets a column of its own. It used to be kept in
//! `next_attempt_at`, on the application's clock: a clock moved forward (or an
//! instance whose clock ran ahead of the others') ended a lease while its
//! request was still out, and a second instance sent the same event again. The
//! lease is now measured on the database's clock (PostgreSQL's
//! `clock_timestamp()`; for SQLite, whose instances share one machine, that
//! machine's), and `next_attempt_at` only says when the delivery is due.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = "ALTER TABLE webhook_deliveries ADD COLUMN leased_until TIMESTAMP_TYPE;";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let sql = super::dialect(SQL, m.get_database_backend());
        m.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE webhook_deliveries DROP COLUMN leased_until")
            .await?;
        Ok(())
    }
}
