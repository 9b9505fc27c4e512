//! Stored login-throttle state, shared by every instance through the database.

use chrono::{DateTime, Utc};
use madoguchi_domain::throttle::{ThrottlePolicy, ThrottleState};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};

use crate::{entities::login_throttle, error::StoreError};

async fn load(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<login_throttle::Model>, StoreError> {
    Ok(login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?)
}

fn state(m: &login_throttle::Model) -> ThrottleState {
    ThrottleState {
        failures: m.failures.max(0) as u32,
        window_started_at: m.window_started_at,
        locked_until: m.locked_until,
    }
}

/// Seconds the key must still wait, if any.
pub async fn retry_after(
    db: &impl ConnectionTrait,
    key: &str,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<Option<u64>, StoreError> {
    let m = load(db, key).await?;
    Ok(policy.retry_after(m.as_ref().map(state).as_ref(), now))
}

pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &str,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let existing = load(db, key).await?;
    let next = policy.after_failure(existing.as_ref().map(state).as_ref(), now);
    let failures = i32::try_from(next.failures).unwrap_or(i32::MAX);
    match existing {
        Some(m) => {
            let mut am = m.into_active_model();
            am.failures = Set(failures);
            am.window_started_at = Set(next.window_started_at);
            am.locked_until = Set(next.locked_until);
            am.update(db).await?;
        }
        None => {
            login_throttle::ActiveModel {
                key: Set(key.to_owned()),
                failures: Set(failures),
                window_started_at: Set(next.window_started_at),
                locked_until: Set(next.locked_until),
            }
            .insert(db)
            .await?;
        }
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
