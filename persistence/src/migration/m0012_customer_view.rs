//! What a customer sees of a thread changes only with what they can see: an
//! internal note moves `version` and `updated_at` (staff's view) but not
//! `public_version` and `public_updated_at` (the clinic's view, its ETag).

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
ALTER TABLE threads ADD COLUMN public_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE threads ADD COLUMN public_updated_at TIMESTAMP_TYPE;
UPDATE threads SET public_version = version, public_updated_at = updated_at;
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
            "the customer view is not removed by rollback".into(),
        ))
    }
}
