//! Incident notices and their updates, addressed to all or some organizations.

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQL: &str = r#"
CREATE TABLE announcements (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  title VARCHAR(800) NOT NULL,
  body TEXT NOT NULL,
  severity VARCHAR(10) NOT NULL,
  status VARCHAR(20) NOT NULL,
  all_organizations BOOLEAN NOT NULL,
  created_by UUID_TYPE,
  version INTEGER NOT NULL,
  created_at TIMESTAMP_TYPE NOT NULL,
  updated_at TIMESTAMP_TYPE NOT NULL
);
CREATE TABLE announcement_organizations (
  announcement_id UUID_TYPE NOT NULL REFERENCES announcements (id),
  organization_id UUID_TYPE NOT NULL REFERENCES organizations (id),
  PRIMARY KEY (announcement_id, organization_id)
);
CREATE INDEX idx_ann_orgs_org ON announcement_organizations (organization_id);
CREATE TABLE announcement_threads (
  announcement_id UUID_TYPE NOT NULL REFERENCES announcements (id),
  thread_id UUID_TYPE NOT NULL REFERENCES threads (id),
  PRIMARY KEY (announcement_id, thread_id)
);
CREATE TABLE announcement_updates (
  id UUID_TYPE NOT NULL PRIMARY KEY,
  announcement_id UUID_TYPE NOT NULL REFERENCES announcements (id),
  body TEXT NOT NULL,
  status VARCHAR(20),
  created_by UUID_TYPE,
  created_at TIMESTAMP_TYPE NOT NULL
);
CREATE INDEX idx_ann_updates ON announcement_updates (announcement_id, id);
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
            "announcements are not removed by rollback".into(),
        ))
    }
}
