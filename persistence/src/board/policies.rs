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

/// A thread's policy as [`policy_json`] writes it: for each priority the
/// first-response, next-reply and resolution minutes. Read into this shape
/// directly (no `serde_json::Value` tree): every thread of a page carries one.
#[derive(serde::Deserialize)]
struct StoredPolicySet {
    low: [u32; 3],
    normal: [u32; 3],
    high: [u32; 3],
    urgent: [u32; 3],
}

pub(super) fn policy_from_json(s: &str) -> Result<SlaPolicySet, StoreError> {
    let v: StoredPolicySet = serde_json::from_str(s).map_err(|_| corrupt("policy"))?;
    let one =
        |[first_response_minutes, next_reply_minutes, resolution_minutes]: [u32; 3]| SlaPolicy {
            first_response_minutes,
            next_reply_minutes,
            resolution_minutes,
        };
    Ok(SlaPolicySet {
        low: one(v.low),
        normal: one(v.normal),
        high: one(v.high),
        urgent: one(v.urgent),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_back_as_written() {
        let set = SlaPolicySet {
            low: SlaPolicy {
                first_response_minutes: 510,
                next_reply_minutes: 511,
                resolution_minutes: 2550,
            },
            normal: SlaPolicy {
                first_response_minutes: 240,
                next_reply_minutes: 241,
                resolution_minutes: 1530,
            },
            high: SlaPolicy {
                first_response_minutes: 60,
                next_reply_minutes: 61,
                resolution_minutes: 510,
            },
            urgent: SlaPolicy {
                first_response_minutes: 30,
                next_reply_minutes: 31,
                resolution_minutes: 240,
            },
        };
        assert_eq!(policy_from_json(&policy_json(&set)).unwrap(), set);
        // What rows written before this code hold.
        let old = r#"{"high":[60,60,510],"low":[510,510,2550],"normal":[240,240,1530],"urgent":[30,30,240]}"#;
        assert_eq!(
            policy_from_json(old).unwrap().urgent.resolution_minutes,
            240
        );
        assert!(policy_from_json(r#"{"high":[60,60]}"#).is_err());
    }
}
