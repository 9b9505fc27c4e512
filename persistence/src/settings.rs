//! Small shared settings that every instance must agree on (e.g. the JWT secret).

use sea_orm::{sea_query::OnConflict, ConnectionTrait, EntityTrait, Set};

use crate::{entities::setting, error::StoreError};

/// Store `candidate` under `key` unless a value is already there, and return the
/// value that won. Two instances starting at once both end up with the same one.
pub async fn get_or_init(
    db: &impl ConnectionTrait,
    key: &str,
    candidate: &str,
) -> Result<String, StoreError> {
    let row = setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(candidate.to_owned()),
    };
    setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(setting::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    get(db, key).await?.ok_or(StoreError::NotFound)
}

pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, StoreError> {
    Ok(setting::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Set `key` to `value`, whatever it was.
pub async fn put(db: &impl ConnectionTrait, key: &str, value: &str) -> Result<(), StoreError> {
    let row = setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
    };
    setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(setting::Column::Key)
                .update_column(setting::Column::Value)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
