//! The board's pages. Each finds the signed-in person, calls the service the
//! matching REST route calls, and renders the result; service errors become
//! pages (see [`failure`]).

use askama::Template;
use chrono::{DateTime, Utc};
use madoguchi_domain::{
    announcements::Severity,
    board::{AuthorRole, ClockCause, ClockState, Priority, ThreadStatus, Urgency, Visibility},
    calendar::BusinessCalendar,
    Reason, Role,
};
use madoguchi_persistence::board::ThreadFilter;
use poem::{
    handler,
    http::{header, StatusCode},
    web::{Data, Form, Path, Query},
    Request, Response,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    html, jp, see_other,
    session::{self, WebSession},
    views::*,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    service::{self, board as svc},
};

pub(super) const PAGE: u64 = 50;

pub(super) fn render(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "a board page failed to render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>エラー</title>\
                 <h1>表示できませんでした</h1><p>時間をおいてもう一度お試しください。</p></html>"
                    .to_owned(),
            )
        }
    }
}

/// The frame of a page for `s`, with the active incident banner.
pub(super) async fn layout(state: &AppState, s: Option<&WebSession>, title: &str) -> Layout {
    let mut banners = Vec::new();
    if let Some(s) = s {
        // The banner is a convenience: a failure to read it never fails the page.
        if let Ok(page) = service::announcements::list(state, &s.principal, true, None, 3).await {
            for (a, updates) in page.items {
                let updated = updates.last().map(|u| u.created_at).unwrap_or(a.updated_at);
                banners.push(Banner {
                    title: a.title,
                    severity: severity(&a.severity),
                    updated: jp::datetime(updated),
                });
            }
        }
    }
    Layout {
        title: title.to_owned(),
        user: s.map(|s| UserBar {
            name: s.principal.display_name().to_owned(),
            role_label: jp::role(s.principal.role()),
            admin: s.principal.role() == Role::Admin,
            staff: s.principal.role().is_staff(),
        }),
        csrf: s.map(|s| s.csrf.clone()).unwrap_or_default(),
        banners,
        flash: None,
    }
}

pub(super) fn severity(s: &str) -> &'static str {
    match Severity::parse(s).ok() {
        Some(Severity::Info) => "お知らせ",
        Some(Severity::Minor) => "軽微",
        Some(Severity::Major) => "重大",
        Some(Severity::Critical) => "緊急",
        None => "お知らせ",
    }
}

/// The page a service error means.
pub(super) async fn failure(state: &AppState, s: Option<&WebSession>, e: ApiError) -> Response {
    let (status, heading, message) = match e.kind {
        ProblemType::NotFound => (
            StatusCode::NOT_FOUND,
            "ページが見つかりません",
            "お探しのページは存在しないか、表示する権限がありません。".to_owned(),
        ),
        ProblemType::Forbidden | ProblemType::MissingScope => (
            StatusCode::FORBIDDEN,
            "この操作は許可されていません",
            "このページはご利用のアカウントではお使いいただけません。".to_owned(),
        ),
        ProblemType::TooManyRequests => (
            StatusCode::TOO_MANY_REQUESTS,
            "しばらくお待ちください",
            "操作が集中しています。少し時間をおいてからもう一度お試しください。".to_owned(),
        ),
        ProblemType::ThreadClosed
        | ProblemType::ContractInactive
        | ProblemType::IllegalTransition => (e.status, "この操作はできません", explain(&e)),
        _ if e.status.is_client_error() => (e.status, "入力内容を確認してください", explain(&e)),
        _ => {
            tracing::error!(error = %e, "a board page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "ただいま表示できません",
                "一時的な問題が起きています。時間をおいてもう一度お試しください。".to_owned(),
            )
        }
    };
    let mut page = ErrorPage {
        layout: layout(state, s, heading).await,
        heading: heading.to_owned(),
        message,
    };
    page.layout.title = heading.to_owned();
    render(status, &page)
}

fn explain(e: &ApiError) -> String {
    match e.kind {
        ProblemType::ThreadClosed => "このお問い合わせは完了しています。続きは新規お問い合わせからお送りください。".to_owned(),
        ProblemType::ContractInactive => "ご契約が有効でないため、新しいお問い合わせや返信はお受けできません。これまでの履歴はご覧いただけます。".to_owned(),
        ProblemType::IllegalTransition => "この状態からは選んだ状態に変更できません。".to_owned(),
        _ => "入力内容に誤りがあります。".to_owned(),
    }
}

/// A field's problem in Japanese.
pub(super) fn field_message(field: &str, reason: Reason, limit: Option<u64>) -> String {
    let what = match field {
        "title" | "open_thread.title" => "件名",
        "body" => "本文",
        "category" => "分類",
        "organization_id" | "organization_ids" => "医療機関",
        "priority" => "優先度",
        "status" => "状態",
        "visibility" => "公開範囲",
        "q" => "キーワード",
        "name" => "名称",
        "email" => "メールアドレス",
        "display_name" => "氏名",
        "password" => "パスワード",
        "new_password" => "新しいパスワード",
        "role" => "役割",
        "contract_status" => "契約状態",
        "first_response_minutes" => "初回回答の目標",
        "next_reply_minutes" => "次回回答の目標",
        "resolution_minutes" => "解決の目標",
        "date" => "日付",
        "note" => "メモ",
        "hours" => "営業時間",
        "caller_name" => "お名前",
        "caller_number" => "電話番号",
        "started_at" => "開始日時",
        "ended_at" => "終了日時",
        "summary" => "対応内容",
        "thread_number" => "お問い合わせ番号",
        "severity" => "重要度",
        "thread_numbers" => "関連するお問い合わせ",
        _ => "入力",
    };
    let n = limit.map_or_else(String::new, |n| n.to_string());
    match reason {
        Reason::Empty => format!("{what}を入力してください。"),
        Reason::TooLong => format!("{what}は{n}文字以内で入力してください。"),
        Reason::TooShort => format!("{what}は{n}文字以上で入力してください。"),
        Reason::OutOfRange => format!("{what}は1〜{n}分の範囲で入力してください。"),
        Reason::MultipleLines => format!("{what}は改行を含めずに入力してください。"),
        Reason::ControlCharacters => format!("{what}に使用できない文字が含まれています。"),
        Reason::Guessable => "推測されやすいパスワードです。よく使われる語や並び、氏名・メールアドレスを含まない、長めの文にしてください。".to_owned(),
        Reason::NotAnEmail => "メールアドレスの形式で入力してください（例：name@example.jp）。".to_owned(),
        Reason::NotAPhoneNumber => "電話番号の形式で入力してください（例：03-6413-0612、090-1234-5678）。".to_owned(),
        Reason::OrganizationRequired => "医療機関の利用者には、所属する医療機関を選んでください。".to_owned(),
        Reason::OrganizationNotAllowed => "サポート担当と管理者には医療機関を選ばないでください。".to_owned(),
        Reason::UnknownOrganization => "選んだ医療機関が見つかりません。".to_owned(),
        Reason::UnknownThread => "この医療機関のお問い合わせ番号ではありません。".to_owned(),
        Reason::InTheFuture => format!("{what}に未来の時刻は指定できません。"),
        Reason::EndsBeforeStart => "終了日時は開始日時より後にしてください。".to_owned(),
        Reason::NotHours => "営業時間は 09:00-12:00 の形で入力してください（複数はカンマ区切り）。".to_owned(),
        Reason::TooFewLetters => "2文字以上続けて入力してください（例：予約、FAX）。".to_owned(),
        Reason::NotStarted => "設定が始まっていません。もう一度最初から操作してください。".to_owned(),
        Reason::Invalid => format!("{what}の内容を確認してください。"),
    }
}

pub(super) fn field_errors(e: &ApiError) -> FieldErrors {
    FieldErrors(
        e.errors
            .iter()
            .map(|f| {
                (
                    f.field.clone(),
                    field_message(&f.field, f.reason.reason(), f.limit),
                )
            })
            .collect(),
    )
}

fn status_class(s: ThreadStatus) -> &'static str {
    match s {
        ThreadStatus::New => "st-new",
        ThreadStatus::Open => "st-open",
        ThreadStatus::Pending => "st-pending",
        ThreadStatus::Resolved | ThreadStatus::Closed => "st-done",
    }
}

const STATUSES: [ThreadStatus; 5] = [
    ThreadStatus::New,
    ThreadStatus::Open,
    ThreadStatus::Pending,
    ThreadStatus::Resolved,
    ThreadStatus::Closed,
];
const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

pub(super) fn status_choices(selected: Option<ThreadStatus>) -> Vec<Choice> {
    STATUSES
        .iter()
        .map(|s| Choice {
            value: s.as_str().to_owned(),
            label: jp::status(*s).to_owned(),
            selected: Some(*s) == selected,
        })
        .collect()
}

pub(super) fn priority_choices(selected: Option<Priority>) -> Vec<Choice> {
    PRIORITIES
        .iter()
        .map(|p| Choice {
            value: p.as_str().to_owned(),
            label: jp::priority(*p).to_owned(),
            selected: Some(*p) == selected,
        })
        .collect()
}

/// When the customer's answer is due, in plain Japanese.
fn due(v: &svc::ThreadView, at: DateTime<Utc>, cal: &BusinessCalendar) -> Due {
    let t = &v.thread;
    if matches!(t.status, ThreadStatus::Resolved | ThreadStatus::Closed) {
        return Due {
            class: "done",
            text: "解決済みです。".to_owned(),
        };
    }
    let Some(clock) = v.sla.answer_clock() else {
        return Due {
            class: "done",
            text: "回答済みです。追加のご質問があれば返信してください。".to_owned(),
        };
    };
    let view = clock.view(at, cal);
    match (view.state, view.due_at) {
        (ClockState::Paused, _) => Due {
            class: "waiting",
            text: "お客様からのご返信をお待ちしています。".to_owned(),
        },
        (ClockState::Breached, Some(d)) => Due {
            class: "overdue",
            text: format!(
                "回答予定（{}）を過ぎています。担当者が対応を急いでいます。",
                jp::datetime(d)
            ),
        },
        (_, Some(d)) => Due {
            class: "ok",
            text: format!("{} までに回答予定", jp::datetime(d)),
        },
        _ => Due {
            class: "ok",
            text: "回答をご準備しています。".to_owned(),
        },
    }
}

fn short_due(d: &Due) -> String {
    match d.class {
        "ok" => d.text.replace(" までに回答予定", "までに回答予定"),
        "overdue" => "回答予定を過ぎています".to_owned(),
        "waiting" => "ご返信待ち".to_owned(),
        _ => d.text.trim_end_matches('。').to_owned(),
    }
}

/// Whether the request's session is live; otherwise the login page (for a
/// form, carrying what was typed).
/// The person signed in to the board, as a handler parameter (realworld's
/// `AuthUser`): a page that takes it cannot run without a live session, and
/// no page repeats the check. Without one, the request is answered with the
/// login page (or `/account` for staff who must enrol a second factor), which
/// the manners pass through as it is.
pub(crate) struct SignedIn(pub WebSession);

impl<'a> poem::FromRequest<'a> for SignedIn {
    async fn from_request(req: &'a Request, _body: &mut poem::RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| crate::http::problem::ApiError::internal("application state missing"))?;
        signed_in(state, req, None)
            .await
            .map(SignedIn)
            .map_err(poem::Error::from_response)
    }
}

pub(super) async fn signed_in(
    state: &AppState,
    req: &Request,
    draft: Option<Draft>,
) -> Result<WebSession, Response> {
    match session::current(state, req).await {
        // Staff who must enrol a second factor see nothing else until they have.
        Ok(Some(s)) if s.principal.enrol_only() && !req.uri().path().starts_with("/account") => {
            Err(super::see_other("/account"))
        }
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            let mut draft = draft.unwrap_or_default();
            if draft.next.is_empty() {
                draft.next = req.uri().path().to_owned();
            }
            let expired = !draft.is_empty();
            Err(login_form(
                state,
                req,
                String::new(),
                expired.then(|| {
                    "ログインの有効期限が切れました。もう一度ログインしてください。".to_owned()
                }),
                draft,
                StatusCode::UNAUTHORIZED,
            )
            .await)
        }
        Err(e) => Err(failure(state, None, e).await),
    }
}

async fn login_form(
    state: &AppState,
    req: &Request,
    email: String,
    error: Option<String>,
    draft: Draft,
    status: StatusCode,
) -> Response {
    let (login_csrf, cookie) = session::pre_session(state, req);
    let page = LoginPage {
        layout: layout(state, None, "ログイン").await,
        login_csrf,
        email,
        error,
        draft,
    };
    let mut resp = render(status, &page);
    if let Some(c) = cookie {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The session of a form's sender with the form's CSRF token checked;
/// otherwise the page that answers instead (the login page carrying `draft`,
/// or the refusal).
/// A form that carries the board's CSRF token.
pub(crate) trait HasCsrf {
    fn csrf(&self) -> &str;
}

/// A form posted by the person signed in to the board, with its CSRF token
/// checked, as a handler parameter. Without a live session the answer is the
/// login page; with a token that is not this session's, the refusal page.
/// (A form that must survive an expired session calls [`form_session`] with
/// its draft instead.)
pub(crate) struct SessionForm<T>(pub WebSession, pub T);

impl<'a, T> poem::FromRequest<'a> for SessionForm<T>
where
    T: serde::de::DeserializeOwned + HasCsrf + Send,
{
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        let Form(f) = Form::<T>::from_request(req, body).await?;
        let s = form_session(state, req, f.csrf(), None)
            .await
            .map_err(poem::Error::from_response)?;
        Ok(SessionForm(s, f))
    }
}

pub(super) async fn form_session(
    state: &AppState,
    req: &Request,
    csrf: &str,
    draft: Option<Draft>,
) -> Result<WebSession, Response> {
    let s = signed_in(state, req, draft).await?;
    if !session::session_form_ok(state, req, csrf) {
        return Err(refused_form());
    }
    Ok(s)
}

/// An id in a page's path; anything else is the 404 page.
pub(super) async fn path_id<T: std::str::FromStr>(
    state: &AppState,
    s: &WebSession,
    raw: &str,
) -> Result<T, Response> {
    match raw.parse::<T>() {
        Ok(v) => Ok(v),
        Err(_) => Err(failure(state, Some(s), ApiError::new(ProblemType::NotFound)).await),
    }
}

pub(super) fn refused_form() -> Response {
    html(
        StatusCode::FORBIDDEN,
        "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>送信できませんでした</title>\
         <h1>送信できませんでした</h1><p>フォームの有効期限が切れたか、別のサイトから送信されました。\
         ページを開き直してから、もう一度お試しください。</p><p><a href=\"/\">トップページへ</a></p></html>"
            .to_owned(),
    )
}

#[handler]
pub async fn home(state: Data<&AppState>, req: &Request) -> Response {
    match session::current(&state, req).await {
        Ok(Some(s)) if s.principal.role().is_staff() => see_other("/queue"),
        Ok(Some(_)) => see_other("/threads"),
        _ => see_other("/login"),
    }
}

#[handler]
pub async fn login_page(state: Data<&AppState>, req: &Request) -> Response {
    if let Ok(Some(_)) = session::current(&state, req).await {
        return see_other("/");
    }
    login_form(
        &state,
        req,
        String::new(),
        None,
        Draft::default(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
    #[serde(flatten)]
    draft: Draft,
}

/// Only a path on this site. Browsers drop tabs and newlines from a URL and
/// read `\\` as `/`, so `/\t/evil.example` is `//evil.example`, another site:
/// such characters are refused outright, then the path is parsed as a browser
/// would, against this site, and must stay on it. The answer is the parsed
/// form, so where the browser is sent is what was checked.
pub(crate) fn local_path(next: &str) -> Option<String> {
    if !next.starts_with('/')
        || next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let base = url::Url::parse("https://madoguchi.invalid/").ok()?;
    let to = base.join(next).ok()?;
    if to.origin() != base.origin() {
        return None;
    }
    let mut out = to.path().to_owned();
    if let Some(q) = to.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

#[handler]
pub async fn login(state: Data<&AppState>, req: &Request, Form(f): Form<LoginForm>) -> Response {
    if !session::login_form_ok(&state, req, &f.csrf) {
        return refused_form();
    }
    let (secret, hash) = session::new_secret();
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(400).collect());
    let totp = Some(f.totp.trim().to_owned()).filter(|t| !t.is_empty());
    let result = service::auth::login_web(&state, &f.email, f.password, totp, &hash, agent).await;
    let (user, sid) = match result {
        Ok(ok) => ok,
        Err(e) => {
            let message = match e.kind {
                ProblemType::TooManyRequests => format!(
                    "ログインの試行が多すぎます。{}秒ほど待ってからもう一度お試しください。",
                    e.retry_after.unwrap_or(60)
                ),
                ProblemType::SecondFactorRequired => "このアカウントは2段階認証を使っています。正しいパスワードと、認証アプリの確認コード（または回復コード）を入力してください。".to_owned(),
                _ => "メールアドレスまたはパスワード（確認コード）が正しくありません。".to_owned(),
            };
            return login_form(&state, req, f.email, Some(message), f.draft, e.status).await;
        }
    };
    let principal = match service::second_factor::principal_for(&state, user, sid).await {
        Ok(p) => p,
        Err(e) => return failure(&state, None, e).await,
    };
    let s = WebSession {
        principal,
        csrf: session::csrf_token(&state, &hash),
    };
    let cookie = session::session_cookie(&state, req, &secret);
    let mut resp = if f.draft.is_empty() {
        let to = local_path(&f.draft.next).unwrap_or_else(|| "/".to_owned());
        see_other(&to)
    } else {
        resume(&state, &s, f.draft).await
    };
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// After a re-login, the form that was being sent, filled in again.
async fn resume(state: &AppState, s: &WebSession, draft: Draft) -> Response {
    let flash = Some(
        "ログインし直しました。入力内容は残っています。確認して、もう一度送信してください。"
            .to_owned(),
    );
    let target = draft
        .next
        .strip_prefix("/threads/")
        .and_then(|r| r.split('/').next())
        .and_then(|n| n.parse::<i64>().ok());
    match target {
        Some(number) => {
            let internal = draft.visibility == "internal";
            thread_page(
                state,
                s,
                number,
                draft.body,
                internal,
                FieldErrors::default(),
                false,
                flash,
                StatusCode::OK,
            )
            .await
        }
        None => {
            let priority = Priority::parse(&draft.priority).ok();
            new_thread_page(
                state,
                s,
                draft.title,
                draft.body,
                draft.category,
                priority,
                None,
                "",
                FieldErrors::default(),
                flash,
                StatusCode::OK,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

impl CsrfOnly {
    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[handler]
pub async fn logout(state: Data<&AppState>, req: &Request, Form(f): Form<CsrfOnly>) -> Response {
    if !session::session_form_ok(&state, req, &f.csrf) {
        return refused_form();
    }
    if let Ok(Some(s)) = session::current(&state, req).await {
        if let Err(e) = service::auth::logout(&state, &s.principal).await {
            return failure(&state, Some(&s), e).await;
        }
    }
    let mut resp = see_other("/login");
    if let Ok(v) = session::clear_session_cookie(&state, req).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    before: Option<i64>,
}

#[handler]
pub async fn threads(
    state: Data<&AppState>,
    Query(q): Query<ListQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let p = &s.principal;
    let status = ThreadStatus::parse(&q.status).ok();
    let (at, cal) = (state.now(), state.calendar.get());
    let mut error = None;
    let mut next = None;
    let searching = !q.q.trim().is_empty();
    let rows = if searching {
        match svc::search_threads(&state, p, q.q.trim(), status, q.before, PAGE).await {
            Ok((hits, more)) => {
                if let Some(c) = more {
                    next = Some(format!(
                        "/threads?q={}&status={}&before={c}",
                        urlencode(&q.q),
                        q.status
                    ));
                }
                hits.into_iter()
                    .map(|h| ThreadRow {
                        number: h.thread.number,
                        title: h.thread.title,
                        status: jp::status(h.thread.status),
                        status_class: status_class(h.thread.status),
                        priority: jp::priority(h.thread.priority),
                        due: String::new(),
                        due_class: "",
                        updated: jp::datetime(h.thread.updated_at),
                        snippet: Some(h.snippet),
                    })
                    .collect()
            }
            Err(e) if e.kind == ProblemType::ValidationFailed => {
                error = Some(
                    e.errors
                        .first()
                        .map(|f| field_message(&f.field, f.reason.reason(), f.limit))
                        .unwrap_or_else(|| explain(&e)),
                );
                Vec::new()
            }
            Err(e) => return failure(&state, Some(&s), e).await,
        }
    } else {
        let filter = ThreadFilter {
            statuses: status.map(|s| vec![s]).unwrap_or_default(),
            ..Default::default()
        };
        match svc::list_threads(&state, p, filter, q.before, PAGE).await {
            Ok(page) => {
                if page.has_more {
                    if let Some(last) = page.items.last() {
                        next = Some(format!(
                            "/threads?status={}&before={}",
                            q.status, last.thread.number
                        ));
                    }
                }
                page.items
                    .iter()
                    .map(|v| {
                        let d = due(v, at, &cal);
                        ThreadRow {
                            number: v.thread.number,
                            title: v.thread.title.clone(),
                            status: jp::status(v.thread.status),
                            status_class: status_class(v.thread.status),
                            priority: jp::priority(v.thread.priority),
                            due: short_due(&d),
                            due_class: d.class,
                            updated: jp::datetime(v.thread.updated_at),
                            snippet: None,
                        }
                    })
                    .collect()
            }
            Err(e) => return failure(&state, Some(&s), e).await,
        }
    };
    let page = ThreadsPage {
        layout: layout(&state, Some(&s), "お問い合わせ一覧").await,
        rows,
        statuses: status_choices(status),
        q: q.q,
        searching,
        error,
        next,
    };
    render(StatusCode::OK, &page)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn new_thread_page(
    state: &AppState,
    s: &WebSession,
    title: String,
    body: String,
    category: String,
    priority: Option<Priority>,
    organization: Option<Uuid>,
    org_q: &str,
    errors: FieldErrors,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let picker = if s.principal.role().is_staff() {
        match super::pickers::organizations(state, &s.principal, org_q, organization).await {
            Ok(p) => p,
            Err(e) => return failure(state, Some(s), e).await,
        }
    } else {
        super::views::OrgPicker::none()
    };
    let mut layout = layout(state, Some(s), "新規お問い合わせ").await;
    layout.flash = flash;
    let page = NewThreadPage {
        layout,
        title,
        body,
        category,
        priorities: priority_choices(Some(priority.unwrap_or(Priority::Normal))),
        picker,
        errors,
        hours: jp::hours(state.calendar.get().rules()),
    };
    render(status, &page)
}

#[handler]
pub async fn new_thread(
    state: Data<&AppState>,
    Query(q): Query<super::pickers::PickerQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    new_thread_page(
        &state,
        &s,
        String::new(),
        String::new(),
        String::new(),
        None,
        None,
        &q.org_q,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct NewThreadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    organization_id: String,
}

#[handler]
pub async fn create_thread(
    state: Data<&AppState>,
    req: &Request,
    Form(f): Form<NewThreadForm>,
) -> Response {
    let draft = Draft {
        next: "/threads/new".into(),
        title: f.title.clone(),
        body: f.body.clone(),
        category: f.category.clone(),
        priority: f.priority.clone(),
        visibility: String::new(),
    };
    let s = match form_session(&state, req, &f.csrf, Some(draft)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let priority = Priority::parse(&f.priority).ok();
    let organization = Uuid::parse_str(f.organization_id.trim()).ok();
    let category = f.category.trim();
    let new = svc::NewThread {
        title: &f.title,
        body: &f.body,
        category: (!category.is_empty()).then_some(category),
        priority,
        tags: None,
        organization_id: organization,
        follow_up_of: None,
    };
    match svc::create_thread(&state, &s.principal, new).await {
        Ok(v) => see_other(&format!("/threads/{}", v.thread.number)),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            let errors = field_errors(&e);
            new_thread_page(
                &state,
                &s,
                f.title,
                f.body,
                f.category,
                priority,
                organization,
                "",
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn thread_page(
    state: &AppState,
    s: &WebSession,
    number: i64,
    body: String,
    internal: bool,
    errors: FieldErrors,
    conflict: bool,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let p = &s.principal;
    let v = match svc::get_thread(state, p, number).await {
        Ok(v) => v,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let posts = match svc::list_posts(state, p, number, None, 200).await {
        Ok(page) => page.items,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let staff = p.role().is_staff();
    let log = if staff {
        match svc::clock_log(state, p, number).await {
            Ok(events) => events
                .into_iter()
                .map(|e| LogRow {
                    at: jp::full_datetime(e.at),
                    clock: jp::clock(e.kind),
                    event: jp::clock_event(e.event),
                    cause: cause(&e.cause),
                    used: jp::duration(e.used_seconds),
                })
                .collect(),
            Err(e) => return failure(state, Some(s), e).await,
        }
    } else {
        Vec::new()
    };
    let (at, cal) = (state.now(), state.calendar.get());
    let t = &v.thread;
    let me = p.user_id();
    let assignee = match t.assignee_id {
        None => "未割当".to_owned(),
        Some(a) if Some(a) == me => "自分".to_owned(),
        Some(_) => "他の担当者".to_owned(),
    };
    let mut statuses = vec![Choice {
        value: t.status.as_str().to_owned(),
        label: format!("{}（現在）", jp::status(t.status)),
        selected: true,
    }];
    statuses.extend(t.status.allowed().iter().map(|s| Choice {
        value: s.as_str().to_owned(),
        label: jp::status(*s).to_owned(),
        selected: false,
    }));
    let mut layout = layout(state, Some(s), &t.title).await;
    layout.flash = flash;
    let page = ThreadPage {
        layout,
        number: t.number,
        title: t.title.clone(),
        status: jp::status(t.status),
        status_class: status_class(t.status),
        priority: jp::priority(t.priority),
        category: t.category.clone(),
        created: jp::full_datetime(t.created_at),
        due: due(&v, at, &cal),
        hours: jp::hours(cal.rules()),
        posts: posts
            .into_iter()
            .map(|post| PostView {
                staff: post.author_role.is_staff(),
                internal: post.visibility == Visibility::Internal,
                author: if post.author_role == AuthorRole::System {
                    "サポート窓口".to_owned()
                } else {
                    post.author_name
                },
                at: jp::full_datetime(post.created_at),
                at_machine: jp::machine(post.created_at),
                body: post.body,
            })
            .collect(),
        staff,
        closed: t.status == ThreadStatus::Closed,
        version: t.version,
        body,
        internal,
        statuses,
        priorities: priority_choices(Some(t.priority)),
        assignee,
        errors,
        conflict,
        log,
    };
    render(status, &page)
}

/// A clock event's cause as a person reads it.
fn cause(c: &ClockCause) -> String {
    match c {
        ClockCause::ThreadCreated => "お問い合わせの受付".to_owned(),
        ClockCause::Post(_) => "投稿".to_owned(),
        ClockCause::Call(_) | ClockCause::CallAnswered => "電話対応".to_owned(),
        ClockCause::Status(s) => format!("状態を「{}」に変更", jp::status(*s)),
        ClockCause::Priority(p) => format!("優先度を「{}」に変更", jp::priority(*p)),
        ClockCause::Sweeper => "期限の確認".to_owned(),
        ClockCause::CalendarChanged => "営業日カレンダーの変更".to_owned(),
        ClockCause::Other(other) => other.clone(),
    }
}

#[handler]
pub async fn thread(
    state: Data<&AppState>,
    Path(number): Path<String>,
    SignedIn(s): SignedIn,
) -> Response {
    let number: i64 = match path_id(&state, &s, &number).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    thread_page(
        &state,
        &s,
        number,
        String::new(),
        false,
        FieldErrors::default(),
        false,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /threads/{n}` is not a form target; the reply form posts to `/posts`.
#[handler]
pub async fn update_thread(state: Data<&AppState>, req: &Request) -> Response {
    let s = session::current(&state, req).await.ok().flatten();
    failure(&state, s.as_ref(), ApiError::new(ProblemType::NotFound)).await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    assign: String,
    #[serde(default)]
    version: String,
}

#[handler]
pub async fn reply(
    state: Data<&AppState>,
    req: &Request,
    Path(number): Path<String>,
    Form(f): Form<ReplyForm>,
) -> Response {
    let draft = Draft {
        next: format!("/threads/{number}"),
        body: f.body.clone(),
        visibility: f.visibility.clone(),
        ..Default::default()
    };
    let s = match form_session(&state, req, &f.csrf, Some(draft)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let number: i64 = match path_id(&state, &s, &number).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let p = &s.principal;
    let internal = f.visibility == "internal";
    let again = |errors: FieldErrors, conflict: bool, status: StatusCode| {
        let (state, s, body) = (&state, &s, f.body.clone());
        async move {
            thread_page(
                state, s, number, body, internal, errors, conflict, None, status,
            )
            .await
        }
    };
    // Staff changes first, on the version the page showed: if someone else
    // changed the thread meanwhile, nothing is written and the text is kept.
    if p.role().is_staff() {
        let status = ThreadStatus::parse(&f.status).ok();
        let priority = Priority::parse(&f.priority).ok();
        let assignee = match f.assign.as_str() {
            "me" => Some(p.user_id()),
            "none" => Some(None),
            _ => None,
        };
        let current = match svc::get_thread(&state, p, number).await {
            Ok(v) => v.thread,
            Err(e) => return failure(&state, Some(&s), e).await,
        };
        let changes = svc::ThreadChanges {
            title: None,
            category: None,
            priority: priority.filter(|x| *x != current.priority),
            status: status.filter(|x| *x != current.status),
            assignee_id: assignee.filter(|a| *a != current.assignee_id),
            tags: None,
        };
        let changed =
            changes.priority.is_some() || changes.status.is_some() || changes.assignee_id.is_some();
        if changed {
            let tag = format!("\"{}\"", f.version.trim());
            let visibility = if internal {
                Visibility::Internal
            } else {
                Visibility::Public
            };
            let done = svc::reply_with_changes(
                &state,
                p,
                number,
                Some(&tag),
                changes,
                &f.body,
                visibility,
            )
            .await;
            return match done {
                Ok(_) => see_other(&format!("/threads/{number}")),
                Err(e) => match e.kind {
                    ProblemType::PreconditionFailed => {
                        again(
                            FieldErrors::default(),
                            true,
                            StatusCode::PRECONDITION_FAILED,
                        )
                        .await
                    }
                    ProblemType::ValidationFailed | ProblemType::IllegalTransition => {
                        let mut errors = field_errors(&e);
                        if e.kind == ProblemType::IllegalTransition {
                            errors.0.push(("status".into(), explain(&e)));
                        }
                        again(errors, false, e.status).await
                    }
                    _ => failure(&state, Some(&s), e).await,
                },
            };
        }
    }
    let visibility = if internal {
        Some(Visibility::Internal)
    } else {
        Some(Visibility::Public)
    };
    match svc::add_post(&state, p, number, &f.body, visibility).await {
        Ok(_) => see_other(&format!("/threads/{number}")),
        Err(e) if e.kind == ProblemType::ValidationFailed => {
            again(field_errors(&e), false, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    org_q: String,
}

#[handler]
pub async fn queue(
    state: Data<&AppState>,
    Query(q): Query<QueueQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    let p = &s.principal;
    let status = ThreadStatus::parse(&q.status).ok();
    let priority = Priority::parse(&q.priority).ok();
    let organization = Uuid::parse_str(q.organization_id.trim()).ok();
    let mine = !q.mine.is_empty();
    let tag = q.tag.trim().to_owned();
    let filter = ThreadFilter {
        organization_id: organization,
        statuses: status.map(|s| vec![s]).unwrap_or_default(),
        priority,
        assignee_id: if mine { p.user_id() } else { None },
        tag: (!tag.is_empty()).then(|| tag.clone()),
    };
    let cursor = Some(q.after.trim()).filter(|c| !c.is_empty());
    let after = match crate::http::cursor::decode_as(
        &crate::http::cursor::key_for(&state, &s.principal),
        "queue",
        cursor,
    ) {
        Ok(a) => a,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let page = match svc::queue(&state, p, filter, after, PAGE).await {
        Ok(page) => page,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .map(|v| v.thread.organization_id)
        .collect();
    let names = match service::organizations::names(&state, p, &ids).await {
        Ok(n) => n,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let picker = match super::pickers::organizations(&state, p, &q.org_q, organization).await {
        Ok(pk) => pk,
        Err(e) => return failure(&state, Some(&s), e).await,
    };
    let (at, cal) = (state.now(), state.calendar.get());
    let next = if page.has_more {
        page.items.last().map(|v| {
            format!(
                "/queue?status={}&priority={}&organization_id={}&tag={}&mine={}&after={}",
                q.status,
                q.priority,
                q.organization_id,
                urlencode(&tag),
                q.mine,
                crate::http::cursor::encode_as(
                    &crate::http::cursor::key_for(&state, &s.principal),
                    "queue",
                    &madoguchi_persistence::board::queue_key(&v.thread)
                )
            )
        })
    } else {
        None
    };
    let rows: Vec<QueueRow> = page
        .items
        .iter()
        .map(|v| {
            let t = &v.thread;
            let (clock, remaining, urgency, urgency_label, due) = match v.sla.pressing(at) {
                Some(c) => {
                    let view = c.view(at, &cal);
                    let due = view.due_at.map(jp::datetime).unwrap_or_default();
                    match view.urgency(state.config.warn_permille) {
                        Urgency::Breached => {
                            let over = view.used_seconds.saturating_sub(c.target_seconds);
                            (
                                jp::clock(c.kind),
                                format!("{}超過", jp::duration(over)),
                                "late",
                                "超過",
                                due,
                            )
                        }
                        Urgency::Warned => (
                            jp::clock(c.kind),
                            format!("残り {}", jp::duration(view.remaining_seconds)),
                            "soon",
                            "まもなく",
                            due,
                        ),
                        Urgency::OnTime => (
                            jp::clock(c.kind),
                            format!("残り {}", jp::duration(view.remaining_seconds)),
                            "ok",
                            "",
                            due,
                        ),
                    }
                }
                None => ("", "—".to_owned(), "ok", "", String::new()),
            };
            QueueRow {
                number: t.number,
                title: t.title.clone(),
                organization: names.get(&t.organization_id).cloned().unwrap_or_default(),
                status: jp::status(t.status),
                priority: jp::priority(t.priority),
                priority_class: t.priority.as_str(),
                clock,
                remaining,
                urgency,
                urgency_label,
                due,
            }
        })
        .collect();
    let page = QueuePage {
        layout: layout(&state, Some(&s), "対応キュー").await,
        count: rows.len(),
        more: page.has_more,
        rows,
        statuses: status_choices(status),
        priorities: priority_choices(priority),
        picker,
        mine,
        tag,
        next,
    };
    render(StatusCode::OK, &page)
}

/// The stylesheet, embedded in the binary.
#[handler]
pub fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .header("x-content-type-options", "nosniff")
        .body(include_str!("../../assets/board.css"))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_is_a_path_on_this_site_or_nothing() {
        for evil in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/ /evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(local_path(evil), None, "{evil:?}");
        }
        assert_eq!(local_path("/threads/12").as_deref(), Some("/threads/12"));
        assert_eq!(
            local_path("/search?q=%E4%BA%88%E7%B4%84").as_deref(),
            Some("/search?q=%E4%BA%88%E7%B4%84")
        );
        // Dot segments are resolved, and cannot climb off the site.
        assert_eq!(local_path("/a/../../threads").as_deref(), Some("/threads"));
    }
}
