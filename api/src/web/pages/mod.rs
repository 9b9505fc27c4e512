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

mod queue;
mod sign_in;
mod threads;

pub use queue::*;
pub use sign_in::*;
pub use threads::*;

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

/// The stylesheet, embedded in the binary.
#[handler]
pub fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .header("x-content-type-options", "nosniff")
        .body(include_str!("../../../assets/board.css"))
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
