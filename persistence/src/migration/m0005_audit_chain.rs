//! Tamper evidence for the audit trail: each entry carries the SHA-256 of its
//! predecessor and of itself. Existing entries are chained here, once, with the
//! append-only triggers lifted for the duration of this migration only.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

use crate::audit::{chain_hash, ChainFields, GENESIS};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let pg = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        db.execute_unprepared(
            "ALTER TABLE audit_events ADD COLUMN prev_hash VARCHAR(64);
             ALTER TABLE audit_events ADD COLUMN hash VARCHAR(64);
             CREATE TABLE audit_chain_head (id INTEGER NOT NULL PRIMARY KEY, last_id BIGINT NOT NULL, last_hash VARCHAR(64) NOT NULL);",
        )
        .await?;
        if pg {
            db.execute_unprepared(
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;",
            )
            .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER audit_events_no_update;")
                .await?;
        }
        let backend = m.get_database_backend();
        let rows = db
            .query_all(Statement::from_string(
                backend,
                "SELECT id, occurred_at, actor_type, actor_id, action, object_type, object_id, ip, outcome, request_id, detail FROM audit_events ORDER BY id",
            ))
            .await?;
        let mut prev = GENESIS.to_owned();
        let mut last_id: i64 = 0;
        for r in rows {
            let id: i64 = r.try_get("", "id")?;
            let at: chrono::DateTime<chrono::Utc> = r.try_get("", "occurred_at")?;
            let f = ChainFields::<String> {
                id,
                occurred_at: at,
                actor_type: r.try_get("", "actor_type")?,
                actor_id: r.try_get("", "actor_id")?,
                action: r.try_get("", "action")?,
                object_type: r.try_get("", "object_type")?,
                object_id: r.try_get("", "object_id")?,
                ip: r.try_get("", "ip")?,
                outcome: r.try_get("", "outcome")?,
                request_id: r.try_get("", "request_id")?,
                detail: r.try_get("", "detail")?,
            };
            let hash = chain_hash(&f, &prev);
            let sql = if pg {
                "UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE id = $3"
            } else {
                "UPDATE audit_events SET prev_hash = ?1, hash = ?2 WHERE id = ?3"
            };
            db.execute(Statement::from_sql_and_values(
                backend,
                sql,
                [prev.clone().into(), hash.clone().into(), id.into()],
            ))
            .await?;
            prev = hash;
            last_id = id;
        }
        let sql = if pg {
            "INSERT INTO audit_chain_head (id, last_id, last_hash) VALUES (1, $1, $2)"
        } else {
            "INSERT INTO audit_chain_head (id, last_id, last_hash) VALUES (1, ?1, ?2)"
        };
        db.execute(Statement::from_sql_and_values(
            backend,
            sql,
            [last_id.into(), prev.into()],
        ))
        .await?;
        if pg {
            db.execute_unprepared(
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
                 BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("the audit chain cannot be removed".into()))
    }
}
