//! Background work on the clocks: the warning/breach sweep and re-projection
//! after a calendar change.

use super::*;
use madoguchi_domain::time::to_wire;

/// Record warnings and breaches that are due, each exactly once per clock cycle.
/// Returns how many events were recorded.
pub async fn sweep(state: &AppState, at: DateTime<Utc>) -> Result<usize, StoreError> {
    let cal = state.calendar.get();
    let mut recorded = 0;
    loop {
        let tx = begin(&state.db).await?;
        let ids = board::claim_due_threads(&tx, at, 50).await?;
        if ids.is_empty() {
            commit(tx).await?;
            return Ok(recorded);
        }
        for id in ids {
            let t = board::get_by_id(&tx, id).await?;
            let mut sla = board::load_sla(&tx, id).await?;
            recorded += record_due(&tx, &t, &mut sla, at, &cal).await?;
            board::save_sla(&tx, id, &sla).await?;
            let (due, breached) = sla.urgency(at);
            board::set_urgency(&tx, id, due, breached).await?;
        }
        commit(tx).await?;
        // A backlog is worked off in batches with a pause between them, so requests
        // waiting for a connection (SQLite has one) are served in between.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Record the warnings and breaches of `t`'s clocks that have come by `at` and
/// are not yet recorded (`ThreadSla::fire_due`, the sweeper's rule), each with
/// its clock-log entry and its outbox event, once per clock cycle (the outbox's
/// dedupe key). The sweeper calls it, and so does every write that stops,
/// pauses or re-projects a clock, before it does: a reply that lands between a
/// due time and the next sweep must not leave a clock marked breached whose
/// breach was never logged nor sent. The caller saves `sla`. Returns how many
/// events were recorded.
pub(crate) async fn record_due(
    tx: &madoguchi_persistence::Tx,
    t: &ThreadRecord,
    sla: &mut ThreadSla,
    at: DateTime<Utc>,
    cal: &BusinessCalendar,
) -> Result<usize, StoreError> {
    let events = sla.fire_due(at, cal);
    let mut recorded = 0;
    for e in &events {
        let event_type = match e.event {
            ClockEventKind::Warning => EventType::SlaWarning,
            _ => EventType::SlaBreached,
        };
        let clock = sla.clocks().find(|c| c.kind == e.kind);
        let inserted = outbox::append(
            tx,
            NewEvent {
                event_type,
                dedupe_key: Some(format!(
                    "{event_type}:{}:{}:{}",
                    t.id,
                    e.kind.as_str(),
                    e.cycle
                )),
                thread_id: Some(t.id),
                organization_id: Some(t.organization_id),
                internal: false,
                payload: json!({
                    "thread_number": t.number,
                    "organization_id": t.organization_id,
                    "status": t.status.as_str(),
                    "priority": t.priority.as_str(),
                    "clock": e.kind.as_str(),
                    "cycle": e.cycle,
                    "target_minutes": clock.map(|c| c.target_seconds / 60),
                    "due_at": clock.and_then(|c| c.due_at).map(|d| to_wire(d).to_rfc3339()),
                    "occurred_at": to_wire(e.at).to_rfc3339(),
                }),
                occurred_at: e.at,
            },
        )
        .await?;
        recorded += usize::from(inserted);
    }
    board::append_clock_events(tx, t.id, &events).await?;
    Ok(recorded)
}

/// After a calendar change: every running clock keeps the business time it used
/// under the old calendar and is projected under the new one.
pub async fn reproject_all(
    state: &AppState,
    old: &BusinessCalendar,
    new: &BusinessCalendar,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let warn = state.config.warn_permille;
    let mut after = None;
    let mut n = 0;
    loop {
        let ids = board::threads_with_running_clocks(&state.db, after, 200).await?;
        let Some(last) = ids.last().copied() else {
            return Ok(n);
        };
        after = Some(last);
        let tx = begin(&state.db).await?;
        for id in ids {
            let t = board::get_by_id(&tx, id).await?;
            board::lock(&tx, t.number).await?;
            let mut sla = board::load_sla(&tx, id).await?;
            // What came due under the old calendar is recorded before it changes.
            record_due(&tx, &t, &mut sla, at, old).await?;
            let mut events = Vec::new();
            for c in sla.clocks_mut() {
                match c.reproject(at, old, new, warn) {
                    Ok(e) => events.extend(e),
                    Err(e) => {
                        tracing::warn!(thread = t.number, error = %e, "clock could not be re-projected")
                    }
                }
            }
            board::save_sla(&tx, id, &sla).await?;
            board::append_clock_events(&tx, id, &events).await?;
            let (due, breached) = sla.urgency(at);
            board::set_urgency(&tx, id, due, breached).await?;
            n += 1;
        }
        commit(tx).await?;
    }
}
