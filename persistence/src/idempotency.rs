//! Saved answers for `Idempotency-Key`: the first request with a key runs, every
//! repeat with the same body gets that first answer back.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{entities::idempotency_key, error::StoreError};

/// A response worth replaying.
#[derive(Debug, Clone)]
pub struct SavedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Begin {
    /// This request owns the key: run it, then `complete` or `abandon`.
    Started,
    /// The same request ran before: send its answer again.
    Replay(SavedResponse),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

pub async fn begin(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Begin, StoreError> {
    for _ in 0..2 {
        let row = idempotency_key::ActiveModel {
            scope: Set(scope.to_owned()),
            key: Set(key.to_owned()),
            request_hash: Set(request_hash.to_owned()),
            status: Set(None),
            content_type: Set(None),
            headers: Set(None),
            body: Set(None),
            created_at: Set(now),
        };
        let inserted = idempotency_key::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([idempotency_key::Column::Scope, idempotency_key::Column::Key])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 1 {
            return Ok(Begin::Started);
        }
        let Some(existing) =
            idempotency_key::Entity::find_by_id((scope.to_owned(), key.to_owned()))
                .one(db)
                .await?
        else {
            continue;
        };
        if existing.created_at + ttl <= now {
            // Expired: forget it and claim the key afresh.
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::Scope.eq(scope))
                .filter(idempotency_key::Column::Key.eq(key))
                .filter(idempotency_key::Column::CreatedAt.eq(existing.created_at))
                .exec(db)
                .await?;
            continue;
        }
        if existing.request_hash != request_hash {
            return Ok(Begin::Mismatch);
        }
        return Ok(match existing.status {
            None => Begin::InProgress,
            Some(status) => Begin::Replay(SavedResponse {
                status: u16::try_from(status).unwrap_or(500),
                headers: existing
                    .headers
                    .and_then(|h| serde_json::from_str(&h).ok())
                    .unwrap_or_default(),
                body: existing.body.unwrap_or_default(),
            }),
        });
    }
    Ok(Begin::InProgress)
}

pub async fn complete(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
    saved: &SavedResponse,
) -> Result<(), StoreError> {
    let headers = serde_json::to_string(&saved.headers).unwrap_or_else(|_| "[]".into());
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            i32::from(saved.status).into(),
        )
        .col_expr(idempotency_key::Column::Headers, Some(headers).into())
        .col_expr(
            idempotency_key::Column::Body,
            Some(saved.body.clone()).into(),
        )
        .filter(idempotency_key::Column::Scope.eq(scope))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Forget a key whose request failed on our side, so the client may retry it.
pub async fn abandon(db: &impl ConnectionTrait, scope: &str, key: &str) -> Result<(), StoreError> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Scope.eq(scope))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Drop keys older than `ttl`; run now and then so the table stays small.
pub async fn purge_expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<u64, StoreError> {
    let res = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - ttl))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
