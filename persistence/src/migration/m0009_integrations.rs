//! Integrations: API keys (stored as a hash of the secret), webhook
//! subscriptions, and the deliveries of outbox events to them with each attempt.
//! An outbox event is fanned out to the subscriptions once (`fanned_out_at`); the
//! events written before subscriptions existed count as fanned out.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE api_keys (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  name VARCHAR(400) NOT NULL,
  prefix VARCHAR(20) NOT NULL,
  secret_hash VARCHAR(64) NOT NULL UNIQUE,
  scopes VARCHAR(400) NOT NULL,
  organization_id UUID_TYPE REFERENCES organizations (id),
  expires_at TIMESTAMP_TYPE,
  revoked_at TIMESTAMP_TYPE,
  last_used_at TIMESTAMP_TYPE,
  created_by UUID_TYPE,
  created_at TIMESTAMP_TYPE NOT NULL
);
CREATE TABLE webhooks (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  url VARCHAR(2000) NOT NULL,
  event_types VARCHAR(1000) NOT NULL,
  organization_id UUID_TYPE REFERENCES organizations (id),
  enabled BOOLEAN NOT NULL,
  description VARCHAR(2000),
  secret VARCHAR(200) NOT NULL,
  previous_secret VARCHAR(200),
  previous_secret_until TIMESTAMP_TYPE,
  disabled_reason VARCHAR(200),
  failing_since TIMESTAMP_TYPE,
  version INTEGER NOT NULL,
  created_by UUID_TYPE,
  created_at TIMESTAMP_TYPE NOT NULL,
  updated_at TIMESTAMP_TYPE NOT NULL
);
CREATE TABLE webhook_deliveries (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  webhook_id UUID_TYPE NOT NULL REFERENCES webhooks (id),
  event_id VARCHAR(100) NOT NULL,
  event_type VARCHAR(60) NOT NULL,
  body TEXT NOT NULL,
  status VARCHAR(20) NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at TIMESTAMP_TYPE,
  last_status_code INTEGER,
  last_error VARCHAR(1000),
  created_at TIMESTAMP_TYPE NOT NULL,
  delivered_at TIMESTAMP_TYPE,
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX idx_deliveries_due ON webhook_deliveries (next_attempt_at);
CREATE INDEX idx_deliveries_hook ON webhook_deliveries (webhook_id, id);
CREATE TABLE webhook_attempts (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  delivery_id UUID_TYPE NOT NULL REFERENCES webhook_deliveries (id),
  attempted_at TIMESTAMP_TYPE NOT NULL,
  status_code INTEGER,
  latency_ms INTEGER NOT NULL,
  response_excerpt VARCHAR(4000),
  error VARCHAR(1000)
);
CREATE INDEX idx_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
ALTER TABLE outbox ADD COLUMN fanned_out_at TIMESTAMP_TYPE;
UPDATE outbox SET fanned_out_at = occurred_at;
CREATE INDEX idx_outbox_pending ON outbox (id) WHERE fanned_out_at IS NULL;
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
            "integrations are not removed by rollback".into(),
        ))
    }
}
