//! Webhook subscriptions (admin): create, read, change, delete, rotate the
//! signing secret, ping; their deliveries and a manual retry. Delivery itself is
//! [`dispatcher`].

pub mod dispatcher;
mod targets;

use chrono::Duration;
use madoguchi_domain::Action;
use madoguchi_domain::{
    events::EventType, integrations::subscription_events, Role, ValidationError,
};
use madoguchi_persistence::{
    audit::Outcome,
    begin, commit, organizations,
    webhooks::{self, Attempt, Delivery, DeliveryFilter, NewDelivery, Webhook},
    Page, StoreError,
};
use serde_json::json;
use uuid::Uuid;

pub use targets::check_url;

use super::{authorize, entry, record, record_success, Object};
use crate::{
    app::state::AppState, http::etag::expected_version, http::problem::ApiError,
    security::principal::Principal, security::secrets,
};

/// How long the secret before a rotation keeps signing.
const ROTATION_OVERLAP_HOURS: i64 = 24;
const MAX_DESCRIPTION_CHARS: usize = 500;

pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub event_types: &'a [String],
    pub organization_id: Option<Uuid>,
    pub enabled: Option<bool>,
    pub description: Option<&'a str>,
}

/// A subscription and, once, its secret (on creation and rotation).
pub struct WithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

fn description(d: Option<&str>) -> Result<Option<String>, ValidationError> {
    match d.map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => Err(ValidationError::new(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        )),
        Some(d) => Ok(Some(d.to_owned())),
    }
}

async fn organization_exists(
    tx: &madoguchi_persistence::Tx,
    org: Option<Uuid>,
) -> Result<(), ApiError> {
    let Some(org) = org else { return Ok(()) };
    match organizations::get(tx, org).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ValidationError::new(
            "organization_id",
            "no such organization",
        )
        .because(madoguchi_domain::Reason::UnknownOrganization)
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// What the trail keeps of a subscription: the URL's origin only. Integrations
/// put tokens in paths and query strings, and the trail can be neither edited
/// nor erased.
fn audit_detail(w: &Webhook) -> serde_json::Value {
    json!({
        "origin": url_origin(&w.url),
        "event_types": w.event_types,
        "organization_id": w.organization_id,
        "enabled": w.enabled,
    })
}

/// `scheme://host[:port]` of a URL; `None` for one that does not parse.
fn url_origin(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
}

pub async fn create(
    state: &AppState,
    p: &Principal,
    n: NewWebhook<'_>,
) -> Result<WithSecret, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookCreate,
        Some(Object::kind("webhook")),
    )
    .await?;
    let mut errors = Vec::new();
    let events = subscription_events(n.event_types)
        .map_err(|e| errors.push(e))
        .ok();
    let desc = description(n.description).map_err(|e| errors.push(e)).ok();
    let url = check_url(&state.config.webhooks, n.url)
        .await
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(events), Some(desc), Some(url), true) = (events, desc, url, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let now = state.now();
    let secret = secrets::new_webhook_secret();
    let w = Webhook {
        id: Uuid::now_v7(),
        url,
        event_types: events,
        organization_id: n.organization_id,
        enabled: n.enabled.unwrap_or(true),
        description: desc,
        secret: secret.clone(),
        previous_secret: None,
        previous_secret_until: None,
        disabled_reason: None,
        failing_since: None,
        version: 1,
        created_by: p.user_id(),
        created_at: now,
        updated_at: now,
    };
    let tx = begin(&state.db).await?;
    organization_exists(&tx, w.organization_id).await?;
    webhooks::insert(&tx, &w).await?;
    let id = w.id.to_string();
    record(
        &tx,
        entry(
            now,
            Some(p),
            Action::WebhookCreate,
            Some(Object::new("webhook", &id)),
            Outcome::Success,
            Some(audit_detail(&w)),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(WithSecret { webhook: w, secret })
}

pub async fn list(
    state: &AppState,
    p: &Principal,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<Webhook>, ApiError> {
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookList,
        Some(Object::kind("webhook")),
    )
    .await?;
    let page = webhooks::list(&state.read, before, limit).await?;
    record_success(state, p, Action::WebhookList, Object::kind("webhook"), None).await?;
    Ok(page)
}

pub async fn get(state: &AppState, p: &Principal, id: Uuid) -> Result<Webhook, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookRead,
        Some(Object::new("webhook", &key)),
    )
    .await?;
    let w = webhooks::get(&state.read, id).await?;
    record_success(
        state,
        p,
        Action::WebhookRead,
        Object::new("webhook", &key),
        None,
    )
    .await?;
    Ok(w)
}

pub struct WebhookChanges<'a> {
    pub url: Option<&'a str>,
    pub event_types: Option<&'a [String]>,
    /// Absent: leave it; `Some(None)`: no longer bound to an organization.
    pub organization_id: Option<Option<Uuid>>,
    pub enabled: Option<bool>,
    pub description: Option<Option<&'a str>>,
}

pub async fn update(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    if_match: Option<&str>,
    ch: WebhookChanges<'_>,
) -> Result<Webhook, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookUpdate,
        Some(Object::new("webhook", &key)),
    )
    .await?;
    if if_match.is_none() {
        return Err(ApiError::precondition_required());
    }
    let mut errors = Vec::new();
    let events = match ch.event_types {
        Some(e) => subscription_events(e)
            .map(Some)
            .map_err(|e| errors.push(e))
            .unwrap_or(None),
        None => None,
    };
    let desc = match ch.description {
        Some(d) => description(d)
            .map(Some)
            .map_err(|e| errors.push(e))
            .unwrap_or(None),
        None => None,
    };
    let url = match ch.url {
        Some(u) => check_url(&state.config.webhooks, u)
            .await
            .map(Some)
            .map_err(|e| errors.push(e))
            .unwrap_or(None),
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let tx = begin(&state.db).await?;
    let mut w = webhooks::get(&tx, id).await?;
    let expected = expected_version(if_match, w.version)?;
    if let Some(u) = url {
        w.url = u;
    }
    if let Some(e) = events {
        w.event_types = e;
    }
    if let Some(o) = ch.organization_id {
        organization_exists(&tx, o).await?;
        w.organization_id = o;
    }
    if let Some(d) = desc {
        w.description = d;
    }
    if let Some(enabled) = ch.enabled {
        if enabled && !w.enabled {
            // Turned on again by a person: its failure record starts afresh.
            w.disabled_reason = None;
            w.failing_since = None;
        }
        w.enabled = enabled;
    }
    webhooks::update(&tx, &mut w, expected, state.now()).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::WebhookUpdate,
            Some(Object::new("webhook", &key)),
            Outcome::Success,
            Some(audit_detail(&w)),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(w)
}

pub async fn delete(state: &AppState, p: &Principal, id: Uuid) -> Result<(), ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookDelete,
        Some(Object::new("webhook", &key)),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let w = webhooks::get(&tx, id).await?;
    webhooks::delete(&tx, id).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::WebhookDelete,
            Some(Object::new("webhook", &key)),
            Outcome::Success,
            Some(audit_detail(&w)),
        ),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

/// A new signing secret; the previous one keeps signing for 24 hours beside it,
/// so a receiver can switch without losing a delivery.
pub async fn rotate_secret(
    state: &AppState,
    p: &Principal,
    id: Uuid,
) -> Result<WithSecret, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookRotateSecret,
        Some(Object::new("webhook", &key)),
    )
    .await?;
    let now = state.now();
    let tx = begin(&state.db).await?;
    let mut w = webhooks::get(&tx, id).await?;
    let secret = secrets::new_webhook_secret();
    w.previous_secret = Some(std::mem::replace(&mut w.secret, secret.clone()));
    w.previous_secret_until = Some(now + Duration::hours(ROTATION_OVERLAP_HOURS));
    let version = w.version;
    webhooks::update(&tx, &mut w, version, now).await?;
    record(
        &tx,
        entry(
            now,
            Some(p),
            Action::WebhookRotateSecret,
            Some(Object::new("webhook", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    commit(tx).await?;
    state.webhook_wake.notify_one();
    Ok(WithSecret { webhook: w, secret })
}

/// Send a `webhook.ping` to the subscription now (a disabled one gets it once it
/// is enabled again, like any other delivery). Returns the delivery.
pub async fn ping(state: &AppState, p: &Principal, id: Uuid) -> Result<Delivery, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookPing,
        Some(Object::new("webhook", &key)),
    )
    .await?;
    let now = state.now();
    let tx = begin(&state.db).await?;
    let w = webhooks::get(&tx, id).await?;
    let event_id = format!("msg_{}", Uuid::now_v7().simple());
    let body = json!({
        "type": EventType::WebhookPing.as_str(),
        "timestamp": madoguchi_domain::time::to_wire(now).to_rfc3339(),
        "data": {"webhook_id": w.id},
    })
    .to_string();
    let delivery_id = webhooks::enqueue(
        &tx,
        NewDelivery {
            webhook_id: w.id,
            event_id: &event_id,
            event_type: EventType::WebhookPing.as_str(),
            body,
        },
        now,
    )
    .await?;
    record(
        &tx,
        entry(
            now,
            Some(p),
            Action::WebhookPing,
            Some(Object::new("webhook", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    let d = webhooks::get_delivery(&tx, delivery_id).await?;
    commit(tx).await?;
    state.webhook_wake.notify_one();
    Ok(d)
}

/// A delivery with its attempts.
pub struct DeliveryView {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

pub async fn deliveries(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    filter: DeliveryFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Page<DeliveryView>, ApiError> {
    let key = id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookDeliveries,
        Some(Object::new("webhook", &key)),
    )
    .await?;
    webhooks::get(&state.read, id).await?;
    let page = webhooks::list_deliveries(&state.read, id, &filter, before, limit).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for d in page.items {
        let attempts = webhooks::attempts(&state.read, d.id).await?;
        items.push(DeliveryView {
            delivery: d,
            attempts,
        });
    }
    record_success(
        state,
        p,
        Action::WebhookDeliveries,
        Object::new("webhook", &key),
        None,
    )
    .await?;
    Ok(Page {
        items,
        has_more: page.has_more,
    })
}

/// Send a delivery again now, whatever became of it.
pub async fn retry(
    state: &AppState,
    p: &Principal,
    id: Uuid,
    delivery_id: Uuid,
) -> Result<DeliveryView, ApiError> {
    let key = delivery_id.to_string();
    authorize(
        state,
        p,
        Role::ADMINS,
        Action::WebhookRetry,
        Some(Object::new("webhook_delivery", &key)),
    )
    .await?;
    let tx = begin(&state.db).await?;
    let d = webhooks::get_delivery(&tx, delivery_id).await?;
    if d.webhook_id != id {
        return Err(ApiError::not_found());
    }
    webhooks::retry_now(&tx, delivery_id, state.now()).await?;
    record(
        &tx,
        entry(
            state.now(),
            Some(p),
            Action::WebhookRetry,
            Some(Object::new("webhook_delivery", &key)),
            Outcome::Success,
            None,
        ),
    )
    .await?;
    let delivery = webhooks::get_delivery(&tx, delivery_id).await?;
    let attempts = webhooks::attempts(&tx, delivery_id).await?;
    commit(tx).await?;
    state.webhook_wake.notify_one();
    Ok(DeliveryView { delivery, attempts })
}
