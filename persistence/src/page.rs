use sea_orm::{ConnectionTrait, EntityTrait, PrimaryKeyTrait, QuerySelect, Select};

use crate::error::StoreError;

/// One page of a keyset-paginated list: the rows, and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Build a page from `limit + 1` fetched rows: the extra row only says "more".
    pub(crate) fn from_overfetch(mut rows: Vec<T>, limit: u64) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Page {
            items: rows,
            has_more,
        }
    }
}

impl<T> Page<T> {
    /// Run `query` (already filtered and ordered by the caller) for one page of
    /// `limit` rows, converting each with `from`: one extra row is read to learn
    /// whether more follow.
    pub(crate) async fn fetch<E>(
        db: &impl ConnectionTrait,
        query: Select<E>,
        limit: u64,
        from: impl Fn(E::Model) -> Result<T, StoreError>,
    ) -> Result<Self, StoreError>
    where
        E: EntityTrait,
    {
        let rows = query
            .limit(limit + 1)
            .all(db)
            .await?
            .into_iter()
            .map(from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(rows, limit))
    }
}

/// The row of entity `E` with primary key `id`, converted with `from`, or
/// [`StoreError::NotFound`].
pub(crate) async fn by_id<E, T>(
    db: &impl ConnectionTrait,
    id: impl Into<<E::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    from: impl FnOnce(E::Model) -> Result<T, StoreError>,
) -> Result<T, StoreError>
where
    E: EntityTrait,
{
    E::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
        .and_then(from)
}
