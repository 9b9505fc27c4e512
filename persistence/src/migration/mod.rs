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

pub struct Migrator;

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
        ]
    }
}
