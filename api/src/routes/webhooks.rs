use poem::web::Data;
use poem_openapi::{
    param::{Header, Path, Query},
    payload::Json,
    ApiResponse, OpenApi,
};
use uuid::Uuid;

use super::{location, ApiTags};
use crate::{
    app::state::AppState,
    http::cursor,
    http::etag::etag,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::webhooks as svc,
    types::{
        CreateWebhook, DeliveryDto, DeliveryList, DeliveryStatusDto, UpdateWebhook, WebhookDto,
        WebhookEventDto, WebhookList, WebhookWithSecretDto,
    },
};

pub struct WebhooksApi;

const LIST: &str = "webhooks";
const DELIVERIES: &str = "webhook-deliveries";

#[derive(ApiResponse)]
enum Created {
    /// The subscription and its signing secret, shown this once.
    #[oai(status = 201)]
    Created(
        Json<WebhookWithSecretDto>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum One {
    #[oai(status = 200)]
    Ok(Json<WebhookDto>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum Rotated {
    /// The new secret; the previous one keeps signing for 24 hours.
    #[oai(status = 200)]
    Ok(Json<WebhookWithSecretDto>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum Queued {
    /// Queued for delivery now.
    #[oai(status = 202)]
    Accepted(Json<DeliveryDto>),
}

#[derive(ApiResponse)]
enum Deleted {
    /// Removed, with its deliveries.
    #[oai(status = 204)]
    Done,
}

fn events(v: &[WebhookEventDto]) -> Vec<String> {
    v.iter().map(|e| e.as_str().to_owned()).collect()
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Integrations")]
impl WebhooksApi {
    /// Subscribe to events
    ///
    /// Admin. Deliveries follow Standard Webhooks 1.0: `webhook-id`,
    /// `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
    /// "id.timestamp.body">` with the `whsec_` secret of the answer, shown once).
    /// A subscription bound to `organization_id` hears only that clinic's events
    /// and never an internal one.
    #[oai(path = "/webhooks", method = "post", operation_id = "createWebhook")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateWebhook>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let types = events(&b.event_types);
        let made = svc::create(
            &state,
            &auth.0,
            svc::NewWebhook {
                url: &b.url,
                event_types: &types,
                organization_id: b.organization_id,
                enabled: b.enabled,
                description: b.description.as_deref(),
            },
        )
        .await?;
        let tag = etag(made.webhook.version);
        let loc = location("/v1/webhooks", made.webhook.id);
        Ok(Created::Created(
            Json(WebhookWithSecretDto {
                secret: made.secret,
                webhook: made.webhook.into(),
            }),
            loc,
            tag,
        ))
    }

    /// List webhook subscriptions
    ///
    /// Admin. Newest first.
    #[oai(path = "/webhooks", method = "get", operation_id = "listWebhooks")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<WebhookList>, ApiError> {
        let before = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            LIST,
            cursor.0.as_deref(),
        )?;
        let page = svc::list(&state, &auth.0, before, cursor::limit(limit.0)).await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), LIST, &page, |w| w.id);
        Ok(Json(WebhookList {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Read a webhook subscription
    ///
    /// Admin. Never the secret.
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "getWebhook")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<One, ApiError> {
        let w = svc::get(&state, &auth.0, id.0).await?;
        let tag = etag(w.version);
        Ok(One::Ok(Json(w.into()), tag))
    }

    /// Change a webhook subscription
    ///
    /// Admin. Requires `If-Match`. Turning a disabled subscription on again
    /// clears its failure record.
    #[oai(
        path = "/webhooks/:id",
        method = "patch",
        operation_id = "updateWebhook"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<UpdateWebhook>,
    ) -> Result<One, ApiError> {
        let b = body.0;
        let types = b.event_types.as_deref().map(events);
        let w = svc::update(
            &state,
            &auth.0,
            id.0,
            if_match.0.as_deref(),
            svc::WebhookChanges {
                url: b.url.as_deref(),
                event_types: types.as_deref(),
                // Absent: leave it; null: clear it.
                organization_id: b.organization_id.into(),
                enabled: b.enabled,
                description: Option::<Option<crate::http::text::Text>>::from(b.description)
                    .as_ref()
                    .map(|d| d.as_deref()),
            },
        )
        .await?;
        let tag = etag(w.version);
        Ok(One::Ok(Json(w.into()), tag))
    }

    /// Delete a webhook subscription
    ///
    /// Admin. Its deliveries and their log go with it.
    #[oai(
        path = "/webhooks/:id",
        method = "delete",
        operation_id = "deleteWebhook"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Deleted, ApiError> {
        svc::delete(&state, &auth.0, id.0).await?;
        Ok(Deleted::Done)
    }

    /// Rotate the signing secret
    ///
    /// Admin. Answers the new secret once; for 24 hours every delivery carries
    /// two signatures (new and previous), so the receiver can switch over.
    #[oai(
        path = "/webhooks/:id/rotate-secret",
        method = "post",
        operation_id = "rotateWebhookSecret"
    )]
    async fn rotate(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Rotated, ApiError> {
        let made = svc::rotate_secret(&state, &auth.0, id.0).await?;
        let tag = etag(made.webhook.version);
        Ok(Rotated::Ok(
            Json(WebhookWithSecretDto {
                secret: made.secret,
                webhook: made.webhook.into(),
            }),
            tag,
        ))
    }

    /// Send a test event
    ///
    /// Admin. Queues a `webhook.ping` (data: the subscription's id) for delivery
    /// now (a disabled subscription gets it once enabled); follow it in the
    /// deliveries.
    #[oai(
        path = "/webhooks/:id/ping",
        method = "post",
        operation_id = "pingWebhook"
    )]
    async fn ping(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Queued, ApiError> {
        let d = svc::ping(&state, &auth.0, id.0).await?;
        Ok(Queued::Accepted(Json((d, Vec::new()).into())))
    }

    /// A subscription's deliveries
    ///
    /// Admin. Newest first, each with every attempt (status, latency, the first
    /// 1 KiB of the answer, the error).
    #[oai(
        path = "/webhooks/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn deliveries(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only deliveries in this state.
        status: Query<Option<DeliveryStatusDto>>,
        /// Only deliveries of this event type (e.g. `sla.breached`, `webhook.ping`).
        #[oai(validator(max_length = 60))]
        event_type: Query<Option<String>>,
    ) -> Result<Json<DeliveryList>, ApiError> {
        let before = cursor::decode_as::<Uuid>(
            &cursor::key_for(&state, &auth.0),
            DELIVERIES,
            cursor.0.as_deref(),
        )?;
        let page = svc::deliveries(
            &state,
            &auth.0,
            id.0,
            madoguchi_persistence::webhooks::DeliveryFilter {
                status: status.0.map(Into::into),
                event_type: event_type.0,
            },
            before,
            cursor::limit(limit.0),
        )
        .await?;
        let next_cursor = cursor::next(&cursor::key_for(&state, &auth.0), DELIVERIES, &page, |d| {
            d.delivery.id
        });
        Ok(Json(DeliveryList {
            items: page
                .items
                .into_iter()
                .map(|v| (v.delivery, v.attempts).into())
                .collect(),
            next_cursor,
        }))
    }

    /// Retry a delivery
    ///
    /// Admin. Sends it again now, whatever became of it (a failed one included).
    #[oai(
        path = "/webhooks/:id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "retryWebhookDelivery"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> Result<Queued, ApiError> {
        let v = svc::retry(&state, &auth.0, id.0, delivery_id.0).await?;
        Ok(Queued::Accepted(Json((v.delivery, v.attempts).into())))
    }
}
