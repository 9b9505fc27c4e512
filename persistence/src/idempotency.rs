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
    /// The first request was applied (its audit entry committed) by a process
    /// that died before answering: its answer is lost, what it wrote is this
    /// object (the audit entry's `object_type`, `object_id`).
    Applied {
        object_type: Option<String>,
        object_id: Option<String>,
    },
    /// The first request with this key is still running.
    InProgress,
}

/// Who claims a key: this process and this request.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    pub instance_id: uuid::Uuid,
    pub request_id: &'a str,
    /// How long an instance may go unseen before its claims count as orphaned.
    pub grace: Duration,
    /// How long any request may take: a claim older than this is orphaned even
    /// if its instance lives (its request failed and could not let go, say the
    /// database went away under it).
    pub lease: Duration,
}

pub async fn begin(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    ttl: Duration,
    by: Claimant<'_>,
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
            instance_id: Set(Some(by.instance_id)),
            request_id: Set(Some(by.request_id.to_owned())),
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
            None => match orphaned(db, &existing, now, by).await? {
                Some(outcome) => outcome,
                None => Begin::InProgress,
            },
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

/// A claim with no answer yet whose instance is no longer alive: its request
/// died with the process. If it committed (its audit entry, written in the same
/// transaction as its writes, exists) the outcome is `Applied`; if not, it
/// changed nothing and this request takes the claim over (one conditional
/// UPDATE, so only one retry does). `None`: still in progress, or someone else
/// took it over first.
async fn orphaned(
    db: &impl ConnectionTrait,
    existing: &idempotency_key::Model,
    now: DateTime<Utc>,
    by: Claimant<'_>,
) -> Result<Option<Begin>, StoreError> {
    let (Some(instance), Some(request_id)) = (existing.instance_id, existing.request_id.as_deref())
    else {
        return Ok(None);
    };
    let expired = existing.created_at + by.lease <= now;
    if !expired
        && (instance == by.instance_id
            || crate::instances::alive(db, instance, now, by.grace).await?)
    {
        return Ok(None);
    }
    let applied = db
        .query_one(crate::board::stmt(
            db,
            "SELECT object_type, object_id FROM audit_events \
             WHERE request_id = $1 AND outcome = 'success' AND occurred_at >= $2 ORDER BY id LIMIT 1",
            // A client may reuse its own X-Request-Id: only entries made since
            // the claim can be this request's.
            vec![request_id.into(), existing.created_at.into()],
        ))
        .await?;
    if let Some(row) = applied {
        return Ok(Some(Begin::Applied {
            object_type: row.try_get("", "object_type")?,
            object_id: row.try_get("", "object_id")?,
        }));
    }
    let taken = db
        .execute(crate::board::stmt(
            db,
            "UPDATE idempotency_keys SET instance_id = $1, request_id = $2, created_at = $3 \
             WHERE scope = $4 AND key = $5 AND status IS NULL AND instance_id = $6 AND request_id = $7",
            vec![
                by.instance_id.into(),
                by.request_id.into(),
                now.into(),
                existing.scope.clone().into(),
                existing.key.clone().into(),
                instance.into(),
                request_id.into(),
            ],
        ))
        .await?
        .rows_affected();
    Ok((taken == 1).then_some(Begin::Started))
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
