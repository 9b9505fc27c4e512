use chrono::{DateTime, FixedOffset, Utc};
use madoguchi_persistence::audit::AuditFilter;
use poem::web::Data;
use poem_openapi::{param::Query, payload::Json, OpenApi};

use super::ApiTags;
use crate::{
    auth::BearerAuth, cursor, problem::ApiError, service, state::AppState, types::AuditEventList,
};

pub struct AuditApi;

const LIST: &str = "audit-events";

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Audit")]
impl AuditApi {
    /// Read the audit trail
    ///
    /// Admin. Newest first. Reading the trail is itself audited.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/audit-events",
        method = "get",
        operation_id = "listAuditEvents"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))] limit: Query<Option<u32>>,
        cursor: Query<Option<String>>,
        /// The acting user's id.
        #[oai(validator(max_length = 64))]
        actor_id: Query<Option<String>>,
        /// e.g. `user`, `organization`, `session`.
        #[oai(validator(max_length = 40))]
        object_type: Query<Option<String>>,
        #[oai(validator(max_length = 64))] object_id: Query<Option<String>>,
        /// e.g. `auth.login`, `user.update`.
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
        /// `success`, `denied` or `failure`.
        #[oai(validator(max_length = 20))]
        outcome: Query<Option<String>>,
        /// Entries at or after this instant (RFC 3339).
        from: Query<Option<DateTime<FixedOffset>>>,
        /// Entries before this instant (RFC 3339).
        to: Query<Option<DateTime<FixedOffset>>>,
    ) -> Result<Json<AuditEventList>, ApiError> {
        let before = cursor::decode_i64(&state.jwt.cursor_key, LIST, cursor.0.as_deref())?;
        let from = from.0.map(|t| t.with_timezone(&Utc));
        let to = to.0.map(|t| t.with_timezone(&Utc));
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(ApiError::invalid_parameter("`to` is before `from`"));
            }
        }
        let filter = AuditFilter {
            actor_id: actor_id.0,
            object_type: object_type.0,
            object_id: object_id.0,
            action: action.0,
            outcome: outcome.0,
            from,
            to,
        };
        let limit = cursor::limit(limit.0);
        let page = service::audit_trail::list(&state, &auth.0, filter, before, limit).await?;
        let next_cursor = cursor::next(&state.jwt.cursor_key, LIST, &page, |e| e.id.to_string());
        Ok(Json(AuditEventList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }
}
