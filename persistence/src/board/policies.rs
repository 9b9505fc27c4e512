//! SLA policies as stored: one row per priority ever edited, with its version.

use chrono::{DateTime, Utc};
use madoguchi_domain::board::{Priority, SlaPolicy, SlaPolicySet};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use super::corrupt;
use crate::{entities::sla_policy, error::StoreError};

pub(super) fn policy_json(set: &SlaPolicySet) -> String {
    let one = |p: SlaPolicy| {
        serde_json::json!([
            p.first_response_minutes,
            p.next_reply_minutes,
            p.resolution_minutes
        ])
    };
    serde_json::json!({"low": one(set.low), "normal": one(set.normal), "high": one(set.high), "urgent": one(set.urgent)}).to_string()
}

pub(super) fn policy_from_json(s: &str) -> Result<SlaPolicySet, StoreError> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| corrupt("policy"))?;
    let one = |k: &str| -> Result<SlaPolicy, StoreError> {
        let a = v
            .get(k)
            .and_then(|x| x.as_array())
            .ok_or_else(|| corrupt("policy"))?;
        let n = |i: usize| {
            a.get(i)
                .and_then(|x| x.as_u64())
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| corrupt("policy"))
        };
        Ok(SlaPolicy {
            first_response_minutes: n(0)?,
            next_reply_minutes: n(1)?,
            resolution_minutes: n(2)?,
        })
    };
    Ok(SlaPolicySet {
        low: one("low")?,
        normal: one("normal")?,
        high: one("high")?,
        urgent: one("urgent")?,
    })
}

/// The current policies (defaults for priorities never edited), with versions.
pub async fn policies(
    db: &impl ConnectionTrait,
) -> Result<(SlaPolicySet, Vec<(Priority, i32, DateTime<Utc>)>), StoreError> {
    let mut set = SlaPolicySet::default();
    let mut meta = Vec::new();
    for m in sla_policy::Entity::find().all(db).await? {
        let p = Priority::parse(&m.priority).map_err(|_| corrupt("priority"))?;
        let to = |x: i32| u32::try_from(x).map_err(|_| corrupt("minutes"));
        set.set(
            p,
            SlaPolicy {
                first_response_minutes: to(m.first_response_minutes)?,
                next_reply_minutes: to(m.next_reply_minutes)?,
                resolution_minutes: to(m.resolution_minutes)?,
            },
        );
        meta.push((p, m.version, m.updated_at));
    }
    Ok((set, meta))
}

pub async fn put_policy(
    db: &impl ConnectionTrait,
    p: Priority,
    policy: SlaPolicy,
    now: DateTime<Utc>,
) -> Result<i32, StoreError> {
    let existing = sla_policy::Entity::find_by_id(p.as_str().to_owned())
        .one(db)
        .await?;
    let version = existing.as_ref().map(|m| m.version + 1).unwrap_or(1);
    let am = sla_policy::ActiveModel {
        priority: Set(p.as_str().to_owned()),
        first_response_minutes: Set(policy.first_response_minutes as i32),
        next_reply_minutes: Set(policy.next_reply_minutes as i32),
        resolution_minutes: Set(policy.resolution_minutes as i32),
        version: Set(version),
        updated_at: Set(now),
    };
    if existing.is_some() {
        am.update(db).await?;
    } else {
        am.insert(db).await?;
    }
    Ok(version)
}
