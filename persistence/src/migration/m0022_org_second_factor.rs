//! An organization can require a second factor of its own users
//! (`organizations.totp_required`): what a clinic writes can name patients,
//! and the medical-information guideline asks for more than a password where
//! it is read (security review, issue 27).

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE organizations ADD COLUMN totp_required BOOLEAN NOT NULL DEFAULT FALSE",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("ALTER TABLE organizations DROP COLUMN totp_required")
            .await?;
        Ok(())
    }
}
