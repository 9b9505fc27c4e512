//! Login-throttle rows are named by a keyed hash from now on, never by the
//! email address or client address itself. The rows written before named them
//! in the clear (and a failed login after an erasure wrote the erased person's
//! address back): they are dropped. A throttle that starts from zero at an
//! upgrade costs an attacker's budget one window at most.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DELETE FROM login_throttle")
            .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
