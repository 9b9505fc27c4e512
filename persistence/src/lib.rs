//! Storage for madoguchi. SQL and sea-orm types live here and nowhere else: the
//! API layer receives plain records and domain types.
//!
//! Repository functions take any connection (`&impl ConnectionTrait`) so a service
//! can run several of them, plus the audit append, in one transaction.

pub mod announcements;
pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod board;
pub mod calendar;
pub mod calls;
pub mod db;
mod entities;
pub mod erasure;
pub mod error;
pub mod idempotency;
pub mod instances;
pub mod jobs;
pub mod migration;
pub mod organizations;
pub mod outbox;
pub mod page;
pub mod second_factor;
pub mod sessions;
pub mod settings;
pub mod throttle;
pub mod users;
pub mod webhooks;

pub use db::{
    analyze, begin, begin_snapshot, begin_writer, commit, connect, Backend, ConnectError, Db,
    DbOptions, Pools, Tx,
};
pub use error::StoreError;
pub use page::Page;
/// A connection or a transaction: what repository functions and services take.
pub trait Conn: sea_orm::ConnectionTrait + sea_orm::TransactionTrait {}
impl<T: sea_orm::ConnectionTrait + sea_orm::TransactionTrait> Conn for T {}
