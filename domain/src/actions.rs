//! What a caller does, as authorization, API-key scopes and the audit trail
//! name it. One enum, so a rename is a compile error rather than a check that
//! silently stops matching; the names written to the audit trail (and read by
//! auditors' filters) live in [`Action::as_str`] and nowhere else.

use std::fmt;

/// An audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `thread.create`
    ThreadCreate,
    /// `thread.read`
    ThreadRead,
    /// `thread.list`
    ThreadList,
    /// `thread.update`
    ThreadUpdate,
    /// `thread.sla_log.read`
    ThreadSlaLogRead,
    /// `post.create`
    PostCreate,
    /// `post.list`
    PostList,
    /// `queue.read`
    QueueRead,
    /// `search`
    Search,
    /// `announcement.create`
    AnnouncementCreate,
    /// `announcement.read`
    AnnouncementRead,
    /// `announcement.list`
    AnnouncementList,
    /// `announcement.update`
    AnnouncementUpdate,
    /// `call.create`
    CallCreate,
    /// `call.read`
    CallRead,
    /// `call.list`
    CallList,
    /// `call.update`
    CallUpdate,
    /// `call.report`
    CallReport,
    /// `user.create`
    UserCreate,
    /// `user.read`
    UserRead,
    /// `user.list`
    UserList,
    /// `user.update`
    UserUpdate,
    /// `user.password_change`
    UserPasswordChange,
    /// `user.password_reset`
    UserPasswordReset,
    /// `auth.login`
    AuthLogin,
    /// `auth.logout`
    AuthLogout,
    /// `session.list`
    SessionList,
    /// `session.revoke`
    SessionRevoke,
    /// `second_factor.enrol_start`
    SecondFactorEnrolStart,
    /// `second_factor.enrol`
    SecondFactorEnrol,
    /// `second_factor.remove`
    SecondFactorRemove,
    /// `second_factor.reset`
    SecondFactorReset,
    /// `organization.create`
    OrganizationCreate,
    /// `organization.read`
    OrganizationRead,
    /// `organization.list`
    OrganizationList,
    /// `organization.update`
    OrganizationUpdate,
    /// `organization.export`
    OrganizationExport,
    /// `organization.export_finished`
    OrganizationExportFinished,
    /// `organization.erase`
    OrganizationErase,
    /// `calendar.read`
    CalendarRead,
    /// `calendar.create`
    CalendarCreate,
    /// `calendar.delete`
    CalendarDelete,
    /// `sla_policy.read`
    SlaPolicyRead,
    /// `sla_policy.update`
    SlaPolicyUpdate,
    /// `settings.read`
    SettingsRead,
    /// `settings.update`
    SettingsUpdate,
    /// `audit.read`
    AuditRead,
    /// `audit.export`
    AuditExport,
    /// `audit.verify`
    AuditVerify,
    /// `api_key.create`
    ApiKeyCreate,
    /// `api_key.read`
    ApiKeyRead,
    /// `api_key.list`
    ApiKeyList,
    /// `api_key.revoke`
    ApiKeyRevoke,
    /// `webhook.create`
    WebhookCreate,
    /// `webhook.read`
    WebhookRead,
    /// `webhook.list`
    WebhookList,
    /// `webhook.update`
    WebhookUpdate,
    /// `webhook.delete`
    WebhookDelete,
    /// `webhook.rotate_secret`
    WebhookRotateSecret,
    /// `webhook.ping`
    WebhookPing,
    /// `webhook.deliveries`
    WebhookDeliveries,
    /// `webhook.retry`
    WebhookRetry,
    /// `request.replay`
    RequestReplay,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 63] = [
        Action::ThreadCreate,
        Action::ThreadRead,
        Action::ThreadList,
        Action::ThreadUpdate,
        Action::ThreadSlaLogRead,
        Action::PostCreate,
        Action::PostList,
        Action::QueueRead,
        Action::Search,
        Action::AnnouncementCreate,
        Action::AnnouncementRead,
        Action::AnnouncementList,
        Action::AnnouncementUpdate,
        Action::CallCreate,
        Action::CallRead,
        Action::CallList,
        Action::CallUpdate,
        Action::CallReport,
        Action::UserCreate,
        Action::UserRead,
        Action::UserList,
        Action::UserUpdate,
        Action::UserPasswordChange,
        Action::UserPasswordReset,
        Action::AuthLogin,
        Action::AuthLogout,
        Action::SessionList,
        Action::SessionRevoke,
        Action::SecondFactorEnrolStart,
        Action::SecondFactorEnrol,
        Action::SecondFactorRemove,
        Action::SecondFactorReset,
        Action::OrganizationCreate,
        Action::OrganizationRead,
        Action::OrganizationList,
        Action::OrganizationUpdate,
        Action::OrganizationExport,
        Action::OrganizationExportFinished,
        Action::OrganizationErase,
        Action::CalendarRead,
        Action::CalendarCreate,
        Action::CalendarDelete,
        Action::SlaPolicyRead,
        Action::SlaPolicyUpdate,
        Action::SettingsRead,
        Action::SettingsUpdate,
        Action::AuditRead,
        Action::AuditExport,
        Action::AuditVerify,
        Action::ApiKeyCreate,
        Action::ApiKeyRead,
        Action::ApiKeyList,
        Action::ApiKeyRevoke,
        Action::WebhookCreate,
        Action::WebhookRead,
        Action::WebhookList,
        Action::WebhookUpdate,
        Action::WebhookDelete,
        Action::WebhookRotateSecret,
        Action::WebhookPing,
        Action::WebhookDeliveries,
        Action::WebhookRetry,
        Action::RequestReplay,
    ];

    /// The name in the audit trail.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ThreadCreate => "thread.create",
            Action::ThreadRead => "thread.read",
            Action::ThreadList => "thread.list",
            Action::ThreadUpdate => "thread.update",
            Action::ThreadSlaLogRead => "thread.sla_log.read",
            Action::PostCreate => "post.create",
            Action::PostList => "post.list",
            Action::QueueRead => "queue.read",
            Action::Search => "search",
            Action::AnnouncementCreate => "announcement.create",
            Action::AnnouncementRead => "announcement.read",
            Action::AnnouncementList => "announcement.list",
            Action::AnnouncementUpdate => "announcement.update",
            Action::CallCreate => "call.create",
            Action::CallRead => "call.read",
            Action::CallList => "call.list",
            Action::CallUpdate => "call.update",
            Action::CallReport => "call.report",
            Action::UserCreate => "user.create",
            Action::UserRead => "user.read",
            Action::UserList => "user.list",
            Action::UserUpdate => "user.update",
            Action::UserPasswordChange => "user.password_change",
            Action::UserPasswordReset => "user.password_reset",
            Action::AuthLogin => "auth.login",
            Action::AuthLogout => "auth.logout",
            Action::SessionList => "session.list",
            Action::SessionRevoke => "session.revoke",
            Action::SecondFactorEnrolStart => "second_factor.enrol_start",
            Action::SecondFactorEnrol => "second_factor.enrol",
            Action::SecondFactorRemove => "second_factor.remove",
            Action::SecondFactorReset => "second_factor.reset",
            Action::OrganizationCreate => "organization.create",
            Action::OrganizationRead => "organization.read",
            Action::OrganizationList => "organization.list",
            Action::OrganizationUpdate => "organization.update",
            Action::OrganizationExport => "organization.export",
            Action::OrganizationExportFinished => "organization.export_finished",
            Action::OrganizationErase => "organization.erase",
            Action::CalendarRead => "calendar.read",
            Action::CalendarCreate => "calendar.create",
            Action::CalendarDelete => "calendar.delete",
            Action::SlaPolicyRead => "sla_policy.read",
            Action::SlaPolicyUpdate => "sla_policy.update",
            Action::SettingsRead => "settings.read",
            Action::SettingsUpdate => "settings.update",
            Action::AuditRead => "audit.read",
            Action::AuditExport => "audit.export",
            Action::AuditVerify => "audit.verify",
            Action::ApiKeyCreate => "api_key.create",
            Action::ApiKeyRead => "api_key.read",
            Action::ApiKeyList => "api_key.list",
            Action::ApiKeyRevoke => "api_key.revoke",
            Action::WebhookCreate => "webhook.create",
            Action::WebhookRead => "webhook.read",
            Action::WebhookList => "webhook.list",
            Action::WebhookUpdate => "webhook.update",
            Action::WebhookDelete => "webhook.delete",
            Action::WebhookRotateSecret => "webhook.rotate_secret",
            Action::WebhookPing => "webhook.ping",
            Action::WebhookDeliveries => "webhook.deliveries",
            Action::WebhookRetry => "webhook.retry",
            Action::RequestReplay => "request.replay",
        }
    }

    /// The action of an audit-trail name (for filters).
    pub fn parse(name: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }
}
