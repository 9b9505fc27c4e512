//! Stored login-throttle state, shared by every instance through the database.
//!
//! An attempt is claimed before it is checked, under a lock on the key's row
//! (PostgreSQL: `SELECT … FOR UPDATE` after the row is made to exist; SQLite:
//! the write lock every transaction takes first, see [`crate::begin`]). So
//! concurrent attempts on one key are counted one after the other, on every
//! instance, and none of them is lost.
//!
//! Keys are opaque strings chosen by the caller (a keyed hash of an address,
//! never the address itself): the table holds nothing an erasure would have
//! to reach, and rows are purged once their window and lock have passed.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use madoguchi_domain::throttle::{ThrottlePolicy, ThrottleState};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use crate::{begin, commit, entities::login_throttle, error::StoreError, Db};

fn state(m: &login_throttle::Model) -> ThrottleState {
    ThrottleState {
        failures: m.failures.max(0) as u32,
        window_started_at: m.window_started_at,
        locked_until: m.locked_until,
    }
}

/// The key's row, locked until the transaction ends. The row is created first
/// (a zero count) so that PostgreSQL has something to lock: two first attempts
/// at once would otherwise both read "no row".
async fn lock(
    tx: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<ThrottleState, StoreError> {
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(0),
        window_started_at: Set(now),
        locked_until: Set(None),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Key)
            .do_nothing()
            .to_owned(),
    )
    .do_nothing()
    .exec(tx)
    .await?;
    let mut q = login_throttle::Entity::find_by_id(key.to_owned());
    if tx.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    let m = q.one(tx).await?.ok_or(StoreError::NotFound)?;
    Ok(state(&m))
}

async fn store(tx: &impl ConnectionTrait, key: &str, s: &ThrottleState) -> Result<(), StoreError> {
    login_throttle::Entity::update(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(i32::try_from(s.failures).unwrap_or(i32::MAX)),
        window_started_at: Set(s.window_started_at),
        locked_until: Set(s.locked_until),
    })
    .exec(tx)
    .await?;
    Ok(())
}

/// One attempt, counted on its key before it is checked.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub key: String,
    pub policy: ThrottlePolicy,
    /// The key's state with this attempt counted.
    pub state: ThrottleState,
}

/// Claim one attempt on every key at once, in one transaction: either all
/// keys count it and the caller may check the attempt, or (some key locked)
/// none does and the answer is the seconds to wait.
pub async fn claim(
    db: &Db,
    keys: &[(String, ThrottlePolicy)],
    now: DateTime<Utc>,
) -> Result<Result<Vec<Claimed>, u64>, StoreError> {
    // One order for every caller, so two claims never wait on each other's rows.
    let mut keys: Vec<&(String, ThrottlePolicy)> = keys.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    // What PostgreSQL keeps of an instant, so a refund finds the claim's own
    // window and lock as they were stored.
    let now = now.trunc_subsecs(6);
    let tx = begin(db).await?;
    if tx.get_database_backend() == DatabaseBackend::Postgres {
        // Other attempts see the claim as soon as it commits either way; not
        // waiting for the disk costs, after a crash, at most the claims of
        // its last moment: a few guesses forgiven, against an fsync on every
        // login (about 6 ms of a 20 ms login on this project's machine).
        tx.execute_unprepared("SET LOCAL synchronous_commit TO OFF")
            .await?;
    }
    let mut claimed = Vec::with_capacity(keys.len());
    let mut wait: Option<u64> = None;
    for (key, policy) in keys {
        let current = lock(&tx, key, now).await?;
        match policy.claim(Some(&current), now) {
            Ok(next) => claimed.push(Claimed {
                key: key.clone(),
                policy: *policy,
                state: next,
            }),
            Err(w) => wait = Some(wait.map_or(w, |v| v.max(w))),
        }
    }
    if let Some(w) = wait {
        // Nothing counted: dropping the transaction rolls the new rows back.
        drop(tx);
        return Ok(Err(w));
    }
    for c in &claimed {
        store(&tx, &c.key, &c.state).await?;
    }
    commit(tx).await?;
    Ok(Ok(claimed))
}

/// Give back a claimed attempt that turned out right (see
/// [`ThrottlePolicy::refund`]), in the caller's transaction.
pub async fn refund(
    tx: &impl ConnectionTrait,
    c: &Claimed,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let current = lock(tx, &c.key, now.trunc_subsecs(6)).await?;
    let back = c.policy.refund(&current, &c.state);
    if back != current {
        store(tx, &c.key, &back).await?;
    }
    Ok(())
}

/// A successful login forgives the account's earlier failures.
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), StoreError> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Forget keys whose window started more than `window` ago and whose lock (if
/// any) has ended: they would count from zero anyway. Answers how many.
pub async fn purge_expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<u64, StoreError> {
    let res = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStartedAt.lt(now - window))
        .filter(
            sea_orm::Condition::any()
                .add(login_throttle::Column::LockedUntil.is_null())
                .add(login_throttle::Column::LockedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// How many keys are stored (for tests and operations).
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(login_throttle::Entity::find().count(db).await?)
}
