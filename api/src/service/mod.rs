//! Use cases. Each public function is one thing a caller can do: it checks the
//! caller's role, opens the transaction, does the work, appends the audit entry
//! in the same transaction, and commits.

pub mod announcements;
pub mod api_keys;
mod attempts;
pub mod audit_trail;
pub mod auth;
pub mod board;
pub mod bootstrap;
pub mod calendar;
pub mod calls;
pub mod contract_end;
pub mod housekeeping;
pub mod jobs;
mod journal;
pub mod opener;
pub mod organizations;
pub mod outbox;
pub mod second_factor;
pub mod users;
pub mod webhooks;

use madoguchi_domain::Action;
use madoguchi_domain::Role;
use madoguchi_persistence::audit::Outcome;

pub use journal::{entry, record, record_all, Object};

use crate::{app::state::AppState, http::problem::ApiError, security::principal::Principal};

/// Whose eyes a record is shown to: staff see everything; a clinic (its people,
/// a key bound to it, or its archive at contract end) sees its own public side.
/// One decision, so that the API, the board and the export show a clinic the
/// same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Staff,
    Clinic(Option<uuid::Uuid>),
}

impl Viewer {
    pub fn of(p: &Principal) -> Self {
        if p.role().is_staff() {
            Viewer::Staff
        } else {
            Viewer::Clinic(p.organization_id())
        }
    }

    pub fn is_staff(self) -> bool {
        self == Viewer::Staff
    }
}

/// Record that `p` did `action` on `object` with `outcome`, outside any
/// transaction: the one shape every audited read and every refusal takes.
async fn record_outside(
    state: &AppState,
    p: &Principal,
    action: Action,
    object: Option<Object<'_>>,
    outcome: Outcome,
    detail: Option<serde_json::Value>,
) -> Result<(), ApiError> {
    record(
        &state.db,
        entry(state.now(), Some(p), action, object, outcome, detail),
    )
    .await
}

/// Record that `p` successfully did `action` on `object` (a read, most often).
pub async fn record_success(
    state: &AppState,
    p: &Principal,
    action: Action,
    object: Object<'_>,
    detail: Option<serde_json::Value>,
) -> Result<(), ApiError> {
    record_outside(state, p, action, Some(object), Outcome::Success, detail).await
}

/// Deny by default: the caller's role must be one of `allowed`, and an API key
/// must hold the scope of `action` ([`Scope::for_action`](madoguchi_domain::integrations::Scope::for_action)). A refusal is
/// itself audited, so call this on the pool *before* opening the transaction of
/// the work: a refusal inside a transaction would be rolled back with it.
pub async fn authorize(
    state: &AppState,
    p: &Principal,
    allowed: &[Role],
    action: Action,
    object: Option<Object<'_>>,
) -> Result<(), ApiError> {
    let Err(refusal) = p.permits(allowed, action) else {
        return Ok(());
    };
    record_outside(state, p, action, object, Outcome::Denied, None).await?;
    Err(refusal)
}

/// Answer "not found" for an object the caller may not know exists, and audit the
/// attempt as denied.
pub async fn hidden(
    state: &AppState,
    p: &Principal,
    action: Action,
    object: Object<'_>,
) -> ApiError {
    match record_outside(state, p, action, Some(object), Outcome::Denied, None).await {
        Ok(()) => ApiError::not_found(),
        Err(e) => e,
    }
}
