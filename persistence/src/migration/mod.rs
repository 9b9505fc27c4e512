//! Schema migrations, run at start-up by every instance (sea-orm-migration takes
//! care that each runs once).

use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_calendar;
mod m0003_board;
mod m0004_queue_indexes;
mod m0005_audit_chain;
mod m0006_calls;
mod m0007_announcements;
mod m0008_search_scope;
mod m0009_integrations;
mod m0010_web_sessions;
mod m0011_second_factor;
mod m0012_customer_view;
mod m0013_instances;
mod m0014_idempotency_purge;
mod m0015_delivery_leases;
mod m0016_search_buckets;
mod m0017_search_org_buckets;
mod m0018_page_snapshots;
mod m0019_search_no_pending_list;
mod m0020_throttle_keys;
mod m0021_search_exact_delete;
mod m0022_org_second_factor;
mod m0023_outbox_readers;
mod m0024_scheduled_jobs;

/// Schema SQL written once for both engines: `UUID_TYPE`, `TIMESTAMP_TYPE` and
/// `SERIAL_TYPE` become each engine's types (sqlx stores UUIDs as 16-byte blobs
/// and timestamps as text on SQLite).
fn dialect(sql: &str, backend: sea_orm::DatabaseBackend) -> String {
    if backend == sea_orm::DatabaseBackend::Postgres {
        sql.replace("UUID_TYPE", "UUID")
            .replace("TIMESTAMP_TYPE", "TIMESTAMPTZ")
            .replace("SERIAL_TYPE", "BIGSERIAL PRIMARY KEY")
    } else {
        sql.replace("UUID_TYPE", "BLOB")
            .replace("TIMESTAMP_TYPE", "TEXT")
            .replace("SERIAL_TYPE", "INTEGER PRIMARY KEY AUTOINCREMENT")
    }
}

pub struct Migrator;

/// Migrations that rewrite every row of a table on PostgreSQL, and the table:
/// once they have run, the table is vacuumed and its indexes rebuilt outside
/// their transaction (`db::rebuild_rewritten`).
pub(crate) const REWRITES: &[(&str, &str)] = &[
    ("m0017_search_org_buckets", "search_docs"),
    ("m0018_page_snapshots", "threads"),
];

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_calendar::Migration),
            Box::new(m0003_board::Migration),
            Box::new(m0004_queue_indexes::Migration),
            Box::new(m0005_audit_chain::Migration),
            Box::new(m0006_calls::Migration),
            Box::new(m0007_announcements::Migration),
            Box::new(m0008_search_scope::Migration),
            Box::new(m0009_integrations::Migration),
            Box::new(m0010_web_sessions::Migration),
            Box::new(m0011_second_factor::Migration),
            Box::new(m0012_customer_view::Migration),
            Box::new(m0013_instances::Migration),
            Box::new(m0014_idempotency_purge::Migration),
            Box::new(m0015_delivery_leases::Migration),
            Box::new(m0016_search_buckets::Migration),
            Box::new(m0017_search_org_buckets::Migration),
            Box::new(m0018_page_snapshots::Migration),
            Box::new(m0019_search_no_pending_list::Migration),
            Box::new(m0020_throttle_keys::Migration),
            Box::new(m0021_search_exact_delete::Migration),
            Box::new(m0022_org_second_factor::Migration),
            Box::new(m0023_outbox_readers::Migration),
            Box::new(m0024_scheduled_jobs::Migration),
        ]
    }
}
