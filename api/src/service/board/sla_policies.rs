//! SLA policies per priority.

use super::*;

pub async fn get_policies(
    state: &AppState,
    p: &Principal,
) -> Result<(SlaPolicySet, Vec<(Priority, i32, DateTime<Utc>)>), ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::SlaPolicyRead,
        Some(Object::kind("sla_policy")),
    )
    .await?;
    let r = board::policies(&state.db).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::SlaPolicyRead,
            Some(Object::kind("sla_policy")),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    Ok(r)
}

/// Applies to threads created from now on; existing threads keep their snapshot.
pub async fn put_policy(
    state: &AppState,
    p: &Principal,
    priority: Priority,
    policy: SlaPolicy,
) -> Result<(SlaPolicy, i32, DateTime<Utc>), ApiError> {
    let key = priority.as_str();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::SlaPolicyUpdate,
        Some(Object::new("sla_policy", key)),
    )
    .await?;
    let policy = policy.check().map_err(ApiError::validation)?;
    let at = state.now();
    let tx = begin(&state.db).await?;
    let (old, _) = board::policies(&tx).await?;
    let version = board::put_policy(&tx, priority, policy, at).await?;
    let o = old.get(priority);
    record(&tx, entry(state.now(),Some(p), Action::SlaPolicyUpdate, Some(Object::new("sla_policy", key)), Outcome::Success, Some(json!({
        "from": [o.first_response_minutes, o.next_reply_minutes, o.resolution_minutes],
        "to": [policy.first_response_minutes, policy.next_reply_minutes, policy.resolution_minutes],
    })))).await?;
    commit(tx).await?;
    Ok((policy, version, at))
}
