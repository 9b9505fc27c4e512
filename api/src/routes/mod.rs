//! One `#[OpenApi]` impl per resource. Handlers stay a few lines: parse,
//! call one service function, map the result.

pub mod announcements;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod calls;
pub mod ops;
pub mod organizations;
pub mod queue;
pub mod second_factor;
pub mod sla_policies;
pub mod threads;
pub mod users;
pub mod webhooks;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Login, logout and the caller's own account.
    Auth,
    /// Contract organizations (clinics and hospitals).
    Organizations,
    /// People who sign in: customers, agents, admins.
    Users,
    /// The append-only audit trail.
    Audit,
    /// Japanese business calendar: holidays, open hours, business-time arithmetic.
    Calendar,
    /// The support board: threads, posts, the queue, search.
    Board,
    /// SLA policies.
    Sla,
    /// The phone line: call logs.
    Calls,
    /// Incident notices.
    Announcements,
    /// API keys and webhooks for other systems.
    Integrations,
    /// Health, readiness.
    Operations,
}

pub type Api = (
    auth::AuthApi,
    second_factor::SecondFactorApi,
    organizations::OrganizationsApi,
    users::UsersApi,
    audit::AuditApi,
    calendar::CalendarApi,
    threads::ThreadsApi,
    queue::QueueApi,
    sla_policies::SlaPoliciesApi,
    calls::CallsApi,
    announcements::AnnouncementsApi,
    api_keys::ApiKeysApi,
    webhooks::WebhooksApi,
    ops::OpsApi,
);

pub fn api() -> Api {
    (
        auth::AuthApi,
        second_factor::SecondFactorApi,
        organizations::OrganizationsApi,
        users::UsersApi,
        audit::AuditApi,
        calendar::CalendarApi,
        threads::ThreadsApi,
        queue::QueueApi,
        sla_policies::SlaPoliciesApi,
        calls::CallsApi,
        announcements::AnnouncementsApi,
        api_keys::ApiKeysApi,
        webhooks::WebhooksApi,
        ops::OpsApi,
    )
}

/// A `Location` header value for a created object.
pub(crate) fn location(prefix: &str, id: impl std::fmt::Display) -> String {
    format!("{prefix}/{id}")
}
