//! Browser sessions on the same session rows as tokens: a cookie names its row
//! by a hash of its secret (the secret itself is never stored), and a session
//! idle for too long ends by itself (`last_seen_at`). The client's address and
//! user agent are kept so a person can recognise their sessions.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
ALTER TABLE sessions ADD COLUMN cookie_hash VARCHAR(64);
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP_TYPE;
ALTER TABLE sessions ADD COLUMN client_address VARCHAR(64);
ALTER TABLE sessions ADD COLUMN user_agent VARCHAR(400);
CREATE UNIQUE INDEX idx_sessions_cookie ON sessions (cookie_hash);
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
            "web sessions are not removed by rollback".into(),
        ))
    }
}
