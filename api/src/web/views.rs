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
    pub organizations: Vec<Choice>,
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
    pub organizations: Vec<Choice>,
    pub mine: bool,
    pub tag: String,
    pub next: Option<String>,
}

pub struct NoticeView {
    pub title: String,
    pub severity: &'static str,
    pub status: &'static str,
    pub active: bool,
    pub body: String,
    pub published: String,
    pub updates: Vec<NoticeUpdate>,
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
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
}
