//! Choosing a clinic on a staff page, for any number of clinics: a select of
//! at most [`LIMIT`] names, narrowed by part of a name (`org_q`) when there
//! are more, with the chosen one always among them.

use uuid::Uuid;

use super::views::{Choice, OrgPicker};
use crate::{
    app::state::AppState, http::problem::ApiError, security::principal::Principal, service,
};

/// The most names one select lists.
pub(super) const LIMIT: u64 = 200;

pub(super) async fn organizations(
    state: &AppState,
    p: &Principal,
    q: &str,
    selected: Option<Uuid>,
) -> Result<OrgPicker, ApiError> {
    let q = q.trim();
    let part = Some(q).filter(|q| !q.is_empty());
    let (orgs, more) = service::organizations::choices(state, p, part, selected, LIMIT).await?;
    Ok(OrgPicker {
        choices: orgs
            .into_iter()
            .map(|o| Choice {
                selected: Some(o.id) == selected,
                value: o.id.to_string(),
                label: o.name,
            })
            .collect(),
        q: q.to_owned(),
        narrowed: more || part.is_some(),
    })
}

/// The name search a picker's page takes (`?org_q=`).
#[derive(serde::Deserialize, Default)]
pub(crate) struct PickerQuery {
    #[serde(default)]
    pub org_q: String,
}
