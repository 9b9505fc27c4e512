//! The staff second factor (TOTP, RFC 6238). `totp_secret` (reserved since the
//! foundation) holds the confirmed secret and `totp_pending_secret` one being
//! enrolled, both sealed with the server's key (never in the clear);
//! `totp_last_step` is the last time step accepted, so a code is good once.
//! Recovery codes are kept as SHA-256 of 80 random bits each, and spent once.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
ALTER TABLE users ADD COLUMN totp_pending_secret VARCHAR(400);
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
CREATE TABLE recovery_codes (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  user_id UUID_TYPE NOT NULL REFERENCES users (id),
  code_hash VARCHAR(64) NOT NULL,
  created_at TIMESTAMP_TYPE NOT NULL,
  used_at TIMESTAMP_TYPE
);
CREATE INDEX idx_recovery_codes_user ON recovery_codes (user_id, code_hash);
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
            "the second factor is not removed by rollback".into(),
        ))
    }
}
