//! What the templates show: plain strings and flags, worked out by the pages
//! from service results. Templates under `api/templates/` are checked against
//! these structs at compile time.

use askama::Template;

/// What every page shows around its content.
pub struct Layout {
    pub title: String,
    /// The signed-in person, if any.
    pub user: Option<UserBar>,
    /// The CSRF token of this session's forms (the logout button's too).
    pub csrf: String,
    /// Active incident notices, shown as a banner on every page.
    pub banners: Vec<Banner>,
    /// A message for the whole page (e.g. after a re-login).
    pub flash: Option<String>,
}

pub struct UserBar {
    pub name: String,
    pub role_label: &'static str,
    pub staff: bool,
    pub admin: bool,
}

pub struct Banner {
    pub title: String,
    pub severity: &'static str,
    pub updated: String,
}

/// A field's message in Japanese, shown next to it.
#[derive(Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub login_csrf: String,
    pub email: String,
    pub error: Option<String>,
    /// Where to go after login, and what was being typed when the session ended.
    pub draft: Draft,
}

/// What a person was typing when their session ended, carried through the
/// login form so nothing is lost.
#[derive(Default, Clone, serde::Deserialize)]
pub struct Draft {
    #[serde(default)]
    pub next: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub visibility: String,
}

impl Draft {
    pub fn is_empty(&self) -> bool {
        self.title.is_empty() && self.body.is_empty()
    }
}

pub struct ThreadRow {
    pub number: i64,
    pub title: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub priority: &'static str,
    pub due: String,
    pub due_class: &'static str,
    pub updated: String,
    pub snippet: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A picker as a page shows it.
pub(crate) struct OrgPicker {
    pub choices: Vec<Choice>,
    /// The part of a name it was narrowed by.
    pub q: String,
    /// Not every clinic is listed: the page offers the name search.
    pub narrowed: bool,
}

impl OrgPicker {
    /// No picker (a clinic's own pages).
    pub(crate) fn none() -> Self {
        OrgPicker {
            choices: Vec::new(),
            q: String::new(),
            narrowed: false,
        }
    }
}

#[derive(Template)]
#[template(path = "threads.html")]
pub struct ThreadsPage {
    pub layout: Layout,
    pub rows: Vec<ThreadRow>,
    pub statuses: Vec<Choice>,
    pub q: String,
    pub searching: bool,
    pub error: Option<String>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "thread_new.html")]
pub struct NewThreadPage {
    pub layout: Layout,
    pub title: String,
    pub body: String,
    pub category: String,
    pub priorities: Vec<Choice>,
    /// Staff name the clinic the thread is for.
    pub picker: OrgPicker,
    pub errors: FieldErrors,
    pub hours: String,
}

pub struct PostView {
    pub author: String,
    pub staff: bool,
    pub internal: bool,
    pub at: String,
    pub at_machine: String,
    pub body: String,
}

pub struct Due {
    /// `ok`, `overdue`, `waiting`, `done`: the state in words and as a class.
    pub class: &'static str,
    pub text: String,
}

pub struct LogRow {
    pub at: String,
    pub clock: &'static str,
    pub event: &'static str,
    pub cause: String,
    pub used: String,
}

#[derive(Template)]
#[template(path = "thread.html")]
pub struct ThreadPage {
    pub layout: Layout,
    pub number: i64,
    pub title: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub priority: &'static str,
    pub category: Option<String>,
    pub created: String,
    pub due: Due,
    pub hours: String,
    pub posts: Vec<PostView>,
    pub staff: bool,
    pub closed: bool,
    pub version: i32,
    pub body: String,
    pub internal: bool,
    pub statuses: Vec<Choice>,
    pub priorities: Vec<Choice>,
    pub assignee: String,
    pub errors: FieldErrors,
    pub conflict: bool,
    pub log: Vec<LogRow>,
}

pub struct QueueRow {
    pub number: i64,
    pub title: String,
    pub organization: String,
    pub status: &'static str,
    pub priority: &'static str,
    pub priority_class: &'static str,
    pub clock: &'static str,
    pub remaining: String,
    /// `late`, `soon` or `ok`, written out too (not colour alone).
    pub urgency: &'static str,
    pub urgency_label: &'static str,
    pub due: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub layout: Layout,
    pub rows: Vec<QueueRow>,
    pub count: usize,
    pub more: bool,
    pub statuses: Vec<Choice>,
    pub priorities: Vec<Choice>,
    pub picker: OrgPicker,
    pub mine: bool,
    pub tag: String,
    pub next: Option<String>,
}

pub struct NoticeView {
    pub id: String,
    pub title: String,
    pub severity: &'static str,
    pub status: &'static str,
    pub active: bool,
    pub body: String,
    pub published: String,
    /// The linked threads the reader may know of.
    pub threads: Vec<i64>,
    pub updates: Vec<NoticeUpdate>,
    /// Staff's update form: its status choices, and on a mistake the text
    /// and message.
    pub statuses: Vec<Choice>,
    pub update_body: String,
    pub update_error: Option<String>,
}

pub struct NoticeUpdate {
    pub at: String,
    pub status: Option<&'static str>,
    pub body: String,
}

#[derive(Template)]
#[template(path = "notices.html")]
pub struct NoticesPage {
    pub layout: Layout,
    pub notices: Vec<NoticeView>,
    /// Staff see the publish form and an update form on each notice.
    pub staff: bool,
    pub picker: OrgPicker,
    pub severities: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub all: bool,
    pub title: String,
    pub body: String,
    pub threads: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "call_new.html")]
pub struct CallPage {
    pub layout: Layout,
    pub picker: OrgPicker,
    pub caller_name: String,
    pub caller_number: String,
    pub outbound: bool,
    pub answered: bool,
    pub started_at: String,
    pub ended_at: String,
    pub summary: String,
    /// `thread`, `new` or `none`.
    pub link: String,
    pub thread_number: String,
    pub title: String,
    pub priorities: Vec<Choice>,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
}

// ---- admin -----------------------------------------------------------------

pub struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub contract: &'static str,
    pub statuses: Vec<Choice>,
    pub version: i32,
    pub created: String,
    /// The contract has ended: its data may be exported and erased.
    pub ended: bool,
    /// Its users must sign in with a second factor.
    pub totp_required: bool,
}

#[derive(Template)]
#[template(path = "admin_organizations.html")]
pub struct AdminOrganizationsPage {
    pub layout: Layout,
    pub rows: Vec<OrganizationRow>,
    pub name: String,
    pub statuses: Vec<Choice>,
    pub errors: FieldErrors,
    pub next: Option<String>,
}

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub organization: String,
    pub active: bool,
    pub totp: bool,
    pub version: i32,
    /// The message of an action on this row that was refused.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct AdminUsersPage {
    pub layout: Layout,
    pub rows: Vec<UserRow>,
    pub picker: OrgPicker,
    /// The organization the list is filtered by, as the filter's select
    /// shows it.
    pub filter_selected: String,
    pub roles: Vec<Choice>,
    pub email: String,
    pub display_name: String,
    pub errors: FieldErrors,
    pub next: Option<String>,
    pub staff_totp_required: bool,
}

pub struct SlaRow {
    pub priority: &'static str,
    pub label: &'static str,
    pub first: String,
    pub next: String,
    pub resolution: String,
    pub first_text: String,
    pub resolution_text: String,
    pub updated: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "admin_sla.html")]
pub struct AdminSlaPage {
    pub layout: Layout,
    pub rows: Vec<SlaRow>,
    pub min: u32,
    pub max: u32,
}

#[derive(Default)]
pub struct DayCell {
    /// 0 for the blank cells before the 1st and after the last day.
    pub day: u32,
    /// `open`, `weekend`, `holiday`, `closure` or `special`.
    pub class: &'static str,
    /// The holiday's name, the closure's note or the special hours.
    pub label: String,
    /// The date in words, for screen readers.
    pub full: String,
}

pub struct MonthView {
    pub title: String,
    pub weeks: Vec<Vec<DayCell>>,
}

pub struct ClosureRow {
    pub date: String,
    pub label: String,
    pub kind: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "admin_calendar.html")]
pub struct AdminCalendarPage {
    pub layout: Layout,
    pub year: i32,
    pub prev: Option<i32>,
    pub next: Option<i32>,
    pub months: Vec<MonthView>,
    pub holidays: Vec<(String, &'static str)>,
    pub closures: Vec<ClosureRow>,
    pub hours: String,
    pub date: String,
    pub special: bool,
    pub special_hours: String,
    pub note: String,
    pub errors: FieldErrors,
}

// ---- account ---------------------------------------------------------------

pub struct SessionRow {
    pub id: String,
    pub kind: &'static str,
    pub current: bool,
    pub created: String,
    pub last_seen: String,
    pub address: String,
    pub agent: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub staff: bool,
    pub enrolled: bool,
    pub required: bool,
    pub recovery_left: u64,
    pub error: Option<String>,
    pub sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
pub struct TotpEnrolPage {
    pub layout: Layout,
    /// An SVG document drawn by the server from the otpauth URI (no user text).
    pub qr_svg: String,
    pub secret: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
}
