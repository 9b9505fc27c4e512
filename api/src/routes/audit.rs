use chrono::{DateTime, FixedOffset, Utc};
use futures_util::StreamExt;
use madoguchi_persistence::audit::AuditFilter;
use poem::{web::Data, Body};
use poem_openapi::{
    param::Query,
    payload::{Binary, Json},
    ApiResponse, OpenApi,
};

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::cursor,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service,
    types::{AuditEventDto, AuditEventList, AuditVerification, ChainBreak},
};

pub struct AuditApi;

/// The list's and the export's filters, with the range checked.
fn audit_filter(
    actor_id: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    from: Option<DateTime<FixedOffset>>,
    to: Option<DateTime<FixedOffset>>,
) -> Result<AuditFilter, ApiError> {
    let from = from.map(|t| t.with_timezone(&Utc));
    let to = to.map(|t| t.with_timezone(&Utc));
    if let (Some(f), Some(t)) = (from, to) {
        madoguchi_domain::time::Span::new(f, t)?;
    }
    Ok(AuditFilter {
        actor_id,
        object_type,
        object_id,
        action,
        outcome,
        from,
        to,
    })
}

#[derive(ApiResponse)]
enum Export {
    /// One JSON object per line (JSON Lines), oldest first.
    #[oai(status = 200, content_type = "application/jsonl")]
    Ok(Binary<Body>),
}

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
        let before =
            cursor::decode_as::<i64>(&cursor::key_for(&state, &auth.0), LIST, cursor.0.as_deref())?;
        let filter = audit_filter(
            actor_id.0,
            object_type.0,
            object_id.0,
            action.0,
            outcome.0,
            from.0,
            to.0,
        )?;
        let limit = cursor::limit(limit.0);
        let page = service::audit_trail::list(&state, &auth.0, filter, before, limit).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |e| e.id);
        Ok(Json(AuditEventList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Verify the audit chain
    ///
    /// Admin. Walks every entry in order (constant memory) and reports the first
    /// one that does not verify: `edited`, `missing` or `reordered`.
    #[oai(
        path = "/audit-events/verify",
        method = "get",
        operation_id = "verifyAuditEvents"
    )]
    async fn verify(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<AuditVerification>, ApiError> {
        let v = service::audit_trail::verify(&state, &auth.0).await?;
        Ok(Json(AuditVerification {
            ok: v.first_broken.is_none(),
            entries: v.entries,
            first_broken: v.first_broken.map(|b| ChainBreak {
                id: b.id,
                reason: b.reason.to_owned(),
            }),
        }))
    }

    /// Export the audit trail
    ///
    /// Admin. JSON Lines with the list's filters, oldest first, streamed page by
    /// page in constant memory whatever the size. The export itself is audited.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/audit-events/export",
        method = "get",
        operation_id = "exportAuditEvents"
    )]
    async fn export(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64))] actor_id: Query<Option<String>>,
        #[oai(validator(max_length = 40))] object_type: Query<Option<String>>,
        #[oai(validator(max_length = 64))] object_id: Query<Option<String>>,
        #[oai(validator(max_length = 64))] action: Query<Option<String>>,
        #[oai(validator(max_length = 20))] outcome: Query<Option<String>>,
        from: Query<Option<DateTime<FixedOffset>>>,
        to: Query<Option<DateTime<FixedOffset>>>,
    ) -> Result<Export, ApiError> {
        let filter = audit_filter(
            actor_id.0,
            object_type.0,
            object_id.0,
            action.0,
            outcome.0,
            from.0,
            to.0,
        )?;
        let pages = service::audit_trail::export(&state, &auth.0, filter).await?;
        // Each page becomes its JSON lines; the wire shape is this front end's.
        let pages = pages.map(|page| match page {
            Ok(rows) => {
                let mut buf = Vec::with_capacity(rows.len() * 300);
                for r in rows {
                    let dto: AuditEventDto = r.into();
                    if let Some(v) = poem_openapi::types::ToJSON::to_json(&dto) {
                        buf.extend_from_slice(v.to_string().as_bytes());
                        buf.push(b'\n');
                    }
                }
                Ok(buf)
            }
            Err(e) => {
                tracing::error!(error = %e, "audit export failed mid-stream");
                Err(std::io::Error::other("audit export failed"))
            }
        });
        Ok(Export::Ok(Binary(Body::from_bytes_stream(pages))))
    }
}
