//! Admins' date overrides of the business calendar, and the revision stamp that
//! tells every instance to rebuild its tables.

use chrono::{DateTime, NaiveDate, Utc};
use madoguchi_domain::calendar::{DateOverride, Interval};
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::{
    entities::{calendar_override, setting},
    error::StoreError,
    page::Page,
};

const REVISION_KEY: &str = "calendar_revision";

/// One stored override.
#[derive(Debug, Clone)]
pub struct StoredOverride {
    pub date: NaiveDate,
    pub rule: DateOverride,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(format!(
        "corrupt calendar override: {what}"
    )))
}

fn from_model(m: calendar_override::Model) -> Result<StoredOverride, StoreError> {
    let date = NaiveDate::parse_from_str(&m.date, "%Y-%m-%d").map_err(|_| corrupt("date"))?;
    let rule = match m.kind.as_str() {
        "closed" => DateOverride::Closed { note: m.note },
        "hours" => {
            let raw: Vec<String> =
                serde_json::from_str(&m.intervals).map_err(|_| corrupt("intervals"))?;
            let intervals = raw
                .iter()
                .map(|s| Interval::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| corrupt("intervals"))?;
            DateOverride::Hours {
                intervals,
                note: m.note,
            }
        }
        _ => return Err(corrupt("kind")),
    };
    Ok(StoredOverride {
        date,
        rule,
        created_at: m.created_at,
        created_by: m.created_by,
    })
}

fn key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<StoredOverride>, StoreError> {
    calendar_override::Entity::find()
        .order_by_asc(calendar_override::Column::Date)
        .all(db)
        .await?
        .into_iter()
        .map(from_model)
        .collect()
}

pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<NaiveDate>,
    limit: u64,
) -> Result<Page<StoredOverride>, StoreError> {
    let mut q = calendar_override::Entity::find().order_by_asc(calendar_override::Column::Date);
    if let Some(a) = after {
        q = q.filter(calendar_override::Column::Date.gt(key(a)));
    }
    Page::fetch(db, q, limit, from_model).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    date: NaiveDate,
    rule: &DateOverride,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<StoredOverride, StoreError> {
    let (kind, intervals, note) = match rule {
        DateOverride::Closed { note } => ("closed", "[]".to_owned(), note.clone()),
        DateOverride::Hours { intervals, note } => (
            "hours",
            serde_json::to_string(&intervals.iter().map(Interval::format).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into()),
            note.clone(),
        ),
    };
    let m = calendar_override::ActiveModel {
        date: Set(key(date)),
        kind: Set(kind.to_owned()),
        intervals: Set(intervals),
        note: Set(note),
        created_at: Set(now),
        created_by: Set(by),
    }
    .insert(db)
    .await?;
    from_model(m)
}

pub async fn get(db: &impl ConnectionTrait, date: NaiveDate) -> Result<StoredOverride, StoreError> {
    crate::page::by_id::<calendar_override::Entity, _>(db, key(date), from_model).await
}

pub async fn delete(db: &impl ConnectionTrait, date: NaiveDate) -> Result<(), StoreError> {
    let res = calendar_override::Entity::delete_by_id(key(date))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Mark the calendar as changed (call in the transaction of the change).
pub async fn bump_revision(db: &impl ConnectionTrait) -> Result<String, StoreError> {
    let rev = Uuid::new_v4().to_string();
    setting::Entity::insert(setting::ActiveModel {
        key: Set(REVISION_KEY.into()),
        value: Set(rev.clone()),
    })
    .on_conflict(
        OnConflict::column(setting::Column::Key)
            .update_column(setting::Column::Value)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(rev)
}

/// The current revision ("" before the first change).
pub async fn revision(db: &impl ConnectionTrait) -> Result<String, StoreError> {
    Ok(setting::Entity::find()
        .filter(setting::Column::Key.eq(REVISION_KEY))
        .one(db)
        .await?
        .map(|m| m.value)
        .unwrap_or_default())
}
