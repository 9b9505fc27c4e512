//! A person's second factor as stored: the sealed TOTP secret (confirmed, or
//! pending enrolment), the last time step accepted, and the recovery codes'
//! hashes. Sealing and code checking happen above; this module keeps the
//! "once only" writes atomic, so two instances cannot both accept one code.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use uuid::Uuid;

use crate::{
    entities::{recovery_code, user},
    error::StoreError,
};

/// What is stored of one person's second factor.
#[derive(Debug, Clone, Default)]
pub struct Factor {
    /// The confirmed secret, sealed.
    pub secret: Option<String>,
    /// A secret handed out for enrolment, sealed, until confirmed.
    pub pending: Option<String>,
    /// The last time step a code was accepted for.
    pub last_step: Option<i64>,
}

pub async fn get(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Factor, StoreError> {
    let m = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Factor {
        secret: m.totp_secret,
        pending: m.totp_pending_secret,
        last_step: m.totp_last_step,
    })
}

/// Keep a secret handed out for enrolment (replacing an earlier unconfirmed one).
pub async fn set_pending(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    sealed: &str,
) -> Result<(), StoreError> {
    user::Entity::update_many()
        .col_expr(user::Column::TotpPendingSecret, sealed.into())
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The pending secret becomes the factor, with `step` as its first used code;
/// the account's version moves on (it now shows `totp_enrolled`). False when
/// the pending secret changed meanwhile (another enrolment started).
pub async fn confirm(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    pending: &str,
    step: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let res = user::Entity::update_many()
        .col_expr(user::Column::TotpSecret, pending.into())
        .col_expr(
            user::Column::TotpPendingSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(user::Column::TotpLastStep, step.into())
        .col_expr(
            user::Column::Version,
            Expr::col(user::Column::Version).add(1),
        )
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::TotpPendingSecret.eq(pending))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Accept time step `step` for the person's code: only a later step than any
/// accepted before, in one statement, so a code is good once on every instance.
pub async fn accept_step(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    step: i64,
) -> Result<bool, StoreError> {
    let res = user::Entity::update_many()
        .col_expr(user::Column::TotpLastStep, step.into())
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::TotpSecret.is_not_null())
        .filter(
            user::Column::TotpLastStep
                .is_null()
                .or(user::Column::TotpLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Remove the factor (and its recovery codes); the account's version moves on.
/// False when there was none.
pub async fn remove(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let none = || Expr::value(Option::<String>::None);
    let res = user::Entity::update_many()
        .col_expr(user::Column::TotpSecret, none())
        .col_expr(user::Column::TotpPendingSecret, none())
        .col_expr(user::Column::TotpLastStep, Expr::value(Option::<i64>::None))
        .col_expr(
            user::Column::Version,
            Expr::col(user::Column::Version).add(1),
        )
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(user_id))
        .filter(
            user::Column::TotpSecret
                .is_not_null()
                .or(user::Column::TotpPendingSecret.is_not_null()),
        )
        .exec(db)
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Replace the person's recovery codes by these (hashes).
pub async fn replace_recovery_codes(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    hashes: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    for h in hashes {
        recovery_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            code_hash: Set(h.clone()),
            created_at: Set(now),
            used_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Spend the recovery code with this hash: true once, false after (or for a
/// code the person never had).
pub async fn spend_recovery_code(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let res = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, now.into())
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// How many unspent recovery codes the person has left.
pub async fn recovery_codes_left(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<u64, StoreError> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}
