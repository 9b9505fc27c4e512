//! A clinic's data at the end of its contract (APPI; the guideline's rules for
//! entrusted data): handed back as an archive, then erased. Both are admin
//! actions and both are audited; the archive's writing is `crate::archive`.

use madoguchi_domain::Action;
use madoguchi_domain::{
    erasure::{check_erasable, ErasureRefusal},
    Role,
};
use madoguchi_persistence::{
    audit::{NewAuditEvent, Outcome},
    begin_writer, commit,
    erasure::{self, Erased},
    organizations::{self, Organization},
};
use serde_json::json;
use uuid::Uuid;

use super::{authorize, entry, record, Object};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    security::principal::Principal,
};

/// Start an export: the caller may, the organization exists, and the start is
/// on the audit trail before a byte leaves. Answers the organization and the
/// entry to complete (outcome and counts) when the archive has been written.
pub async fn start_export(
    state: &AppState,
    p: &Principal,
    id: Uuid,
) -> Result<(Organization, NewAuditEvent), ApiError> {
    let sid = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::OrganizationExport,
        Some(Object::new("organization", &sid)),
    )
    .await?;
    let org = organizations::get(&state.db, id).await?;
    record(
        &state.db,
        entry(
            state.now(),
            Some(p),
            Action::OrganizationExport,
            Some(Object::new("organization", &sid)),
            Outcome::Success,
            Some(json!({"format": "zip"})),
        ),
    )
    .await?;
    let finished = entry(
        state.now(),
        Some(p),
        Action::OrganizationExportFinished,
        Some(Object::new("organization", &sid)),
        Outcome::Success,
        None,
    );
    Ok((org, finished))
}

/// Record how an export ended: the files' line counts, or why it stopped (the
/// download was abandoned, or the database failed).
pub async fn finish_export(
    state: &AppState,
    mut finished: NewAuditEvent,
    result: Result<serde_json::Value, String>,
) {
    finished.occurred_at = state.now();
    match result {
        Ok(counts) => finished.detail = Some(counts),
        Err(reason) => {
            finished.outcome = Outcome::Failure;
            finished.detail = Some(json!({"reason": reason}));
        }
    }
    if let Err(e) = record(&state.db, finished).await {
        tracing::error!(error = %e, "could not record the end of an export");
    }
}

/// Erase the organization's personal data: names, emails, phone numbers, caller
/// names, titles and bodies become the tombstone, its people can no longer sign
/// in (sessions, second factors and keys end), its search documents go. Only for
/// an ended contract, with the organization's name typed as confirmation. The
/// audit trail keeps every entry: its entries hold ids, actions and times, never
/// those values, so the chain verifies as before.
pub async fn erase(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    confirmation: &str,
) -> Result<(Organization, Erased), ApiError> {
    let sid = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::OrganizationErase,
        Some(Object::new("organization", &sid)),
    )
    .await?;
    let tx = begin_writer(&state.db).await?;
    let org = organizations::get(&tx, id).await?;
    check_erasable(org.contract_status, &org.name, confirmation).map_err(|r| match r {
        ErasureRefusal::ContractNotEnded => {
            ApiError::new(ProblemType::ContractNotEnded).detail(format!(
                "the contract of this organization is {}; erasure needs it ended",
                org.contract_status.as_str()
            ))
        }
        ErasureRefusal::WrongConfirmation(e) => e.into(),
    })?;
    let unindexed = erasure::unindex(&tx, id).await?;
    let mut erased = erasure::erase_organization(&tx, id, state.now()).await?;
    erased.search_documents = unindexed;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::OrganizationErase,
            Some(Object::new("organization", &sid)),
            Outcome::Success,
            Some(counts(&erased)),
        ),
    )
    .await?;
    commit(tx).await?;
    // The erasure holds; the files are scrubbed in the background (a vacuum
    // of large tables takes a while). A vacuum cannot remove a row version a
    // transaction somewhere may still read, so it goes again a little later,
    // and once more, for what the first pass had to leave. If that fails, the
    // next checkpoint or (auto)vacuum does it: a warning, not a failure.
    let db = state.db.clone();
    tokio::spawn(async move {
        for pause in [0, 5, 30] {
            tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
            let scrub = erasure::scrub_files(
                &db,
                std::time::Duration::from_secs(30),
                erasure::Scrub::Vacuum,
            );
            match scrub.await {
                Ok(()) => tracing::info!("database files scrubbed after an erasure"),
                Err(e) => {
                    tracing::warn!(error = %e, "scrubbing the database files after an erasure failed")
                }
            }
        }
    });
    Ok((org, erased))
}

/// The counts as the audit entry records them.
fn counts(e: &Erased) -> serde_json::Value {
    json!({
        "users": e.users, "sessions": e.sessions, "recovery_codes": e.recovery_codes,
        "threads": e.threads, "tags": e.tags, "posts": e.posts, "calls": e.calls,
        "search_documents": e.search_documents, "events": e.events,
        "webhook_deliveries": e.webhook_deliveries, "idempotency_records": e.idempotency_records,
        "api_keys_revoked": e.api_keys_revoked, "webhooks_disabled": e.webhooks_disabled,
    })
}
