//! Which server processes are alive: each writes a heartbeat row. Work a
//! process claimed (an idempotency key mid-request) is known to be orphaned
//! once its process has not been seen for a grace period.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::{board::stmt, error::StoreError};

/// Say this instance is alive (inserting its row the first time).
pub async fn heartbeat(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let updated = db
        .execute(stmt(
            db,
            "UPDATE instances SET last_seen_at = $1 WHERE id = $2",
            vec![now.into(), id.into()],
        ))
        .await?
        .rows_affected();
    if updated == 0 {
        db.execute(stmt(
            db,
            "INSERT INTO instances (id, started_at, last_seen_at) VALUES ($1, $2, $2)",
            vec![id.into(), now.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Leave on a clean shutdown; and forget instances gone for a day.
pub async fn leave(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let values: Vec<Value> = vec![id.into(), (now - Duration::days(1)).into()];
    db.execute(stmt(
        db,
        "DELETE FROM instances WHERE id = $1 OR last_seen_at < $2",
        values,
    ))
    .await?;
    Ok(())
}

/// Whether `id` was seen within `grace` of `now`.
pub async fn alive(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<bool, StoreError> {
    let row = db
        .query_one(stmt(
            db,
            "SELECT COUNT(*) AS n FROM instances WHERE id = $1 AND last_seen_at >= $2",
            vec![id.into(), (now - grace).into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0)
        > 0)
}
