//! The signed-in person's own account: the second factor (enrolment with a QR
//! code, recovery codes shown once, removal), the sessions they are signed in
//! with (ending any of them), and their password. The same services as
//! `/v1/me/…`.

use poem::{
    handler,
    http::StatusCode,
    web::{Data, Form, Path, Query},
    Request, Response,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    jp,
    pages::{failure, form_session, layout, path_id, render, CsrfOnly, SessionForm, SignedIn},
    see_other,
    session::WebSession,
    views::*,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    service::{auth, second_factor as svc},
};

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_message(done: &str) -> Option<String> {
    Some(
        match done {
            "totp-removed" => "2段階認証を解除しました。",
            "session-ended" => "選んだ端末のログインを終了しました。",
            "password-changed" => "パスワードを変更しました。ほかの端末のログインは終了しました。",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The Japanese of a refusal on this page.
fn message(e: &ApiError) -> Option<String> {
    Some(match e.kind {
        ProblemType::ValidationFailed => {
            let field = e.errors.first().map(|f| f.field.as_str()).unwrap_or("");
            let reason = e.errors.first().map(|f| f.reason.reason());
            match field {
                "code" if reason == Some(madoguchi_domain::Reason::NotStarted) => {
                    "設定が始まっていません。もう一度「設定を始める」から操作してください。".into()
                }
                "code" => "確認コードが正しくありません。アプリに表示されている最新の6桁を入力してください。".into(),
                "current_password" => "現在のパスワードが正しくありません。".into(),
                _ => super::pages::field_errors(e)
                    .0
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        ProblemType::TooManyRequests => format!(
            "失敗が続いたため、しばらく操作できません。{}秒ほど待ってからもう一度お試しください。",
            e.retry_after.unwrap_or(60)
        ),
        ProblemType::SecondFactorExists => "2段階認証はすでに設定されています。".into(),
        _ => return None,
    })
}

async fn account_page(
    state: &AppState,
    s: &WebSession,
    flash: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let factor = match svc::status(state, &s.principal).await {
        Ok(f) => f,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let current = crate::routes::auth::current_session(&s.principal);
    let sessions = match auth::my_sessions(state, &s.principal).await {
        Ok(list) => list,
        Err(e) => return failure(state, Some(s), e).await,
    };
    let mut page = AccountPage {
        layout: layout(state, Some(s), "アカウント").await,
        staff: s.principal.role().is_staff(),
        enrolled: factor.enrolled,
        required: factor.required,
        recovery_left: factor.recovery_codes_left,
        error,
        sessions: sessions
            .into_iter()
            .map(|x| SessionRow {
                id: x.id.to_string(),
                kind: if x.browser { "ブラウザ" } else { "API" },
                current: Some(x.id) == current,
                created: jp::datetime(x.created_at),
                last_seen: jp::datetime(x.last_seen_at),
                address: x.client_address.unwrap_or_else(|| "不明".into()),
                agent: x.user_agent.unwrap_or_default(),
            })
            .collect(),
    };
    page.layout.flash = flash.or_else(|| {
        (factor.required && !factor.enrolled).then(|| {
            "スタッフのアカウントには2段階認証の設定が必要です。設定が終わるまで、ほかのページは使えません。"
                .to_owned()
        })
    });
    render(status, &page)
}

#[handler]
pub async fn account(
    state: Data<&AppState>,
    q: Query<DoneQuery>,
    SignedIn(s): SignedIn,
) -> Response {
    account_page(&state, &s, done_message(&q.done), None, StatusCode::OK).await
}

async fn enrolment_page(
    state: &AppState,
    s: &WebSession,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let pending = match svc::pending(state, &s.principal).await {
        Ok(Some(p)) => p,
        Ok(None) => return see_other("/account"),
        Err(e) => return failure(state, Some(s), e).await,
    };
    let secret_groups = pending
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let page = TotpEnrolPage {
        layout: layout(state, Some(s), "2段階認証の設定").await,
        // Inline in the page: the XML declaration of the document goes.
        qr_svg: match pending.qr_svg.find("<svg") {
            Some(i) => pending.qr_svg[i..].to_owned(),
            None => pending.qr_svg,
        },
        secret: secret_groups,
        error,
    };
    render(status, &page)
}

/// The enrolment in progress: its QR code and the form for the first code.
#[handler]
pub async fn totp_page(state: Data<&AppState>, SignedIn(s): SignedIn) -> Response {
    enrolment_page(&state, &s, None, StatusCode::OK).await
}

#[handler]
pub async fn start_totp(
    state: Data<&AppState>,
    req: &Request,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let s = match form_session(&state, req, f.csrf(), None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match svc::start(&state, &s.principal).await {
        Ok(_) => see_other("/account/totp"),
        Err(e) => match message(&e) {
            Some(m) => account_page(&state, &s, None, Some(m), e.status).await,
            None => failure(&state, Some(&s), e).await,
        },
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

#[handler]
pub async fn confirm_totp(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<CodeForm>,
) -> Response {
    match svc::confirm(&state, &s.principal, f.code.trim()).await {
        Ok(codes) => {
            let page = RecoveryCodesPage {
                layout: layout(&state, Some(&s), "2段階認証を設定しました").await,
                codes,
            };
            render(StatusCode::OK, &page)
        }
        Err(e) => match message(&e) {
            Some(m) => enrolment_page(&state, &s, Some(m), e.status).await,
            None => failure(&state, Some(&s), e).await,
        },
    }
}

#[handler]
pub async fn remove_totp(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<CodeForm>,
) -> Response {
    match svc::remove(&state, &s.principal, f.code.trim()).await {
        Ok(()) => see_other("/account?done=totp-removed"),
        Err(e) => match message(&e) {
            Some(m) => account_page(&state, &s, None, Some(m), e.status).await,
            None => failure(&state, Some(&s), e).await,
        },
    }
}

#[handler]
pub async fn end_session(
    state: Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let s = match form_session(&state, req, f.csrf(), None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id: Uuid = match path_id(&state, &s, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match auth::end_my_session(&state, &s.principal, id).await {
        Ok(()) if Some(id) == crate::routes::auth::current_session(&s.principal) => {
            see_other("/login")
        }
        Ok(()) => see_other("/account?done=session-ended"),
        Err(e) => failure(&state, Some(&s), e).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

#[handler]
pub async fn change_password(
    state: Data<&AppState>,
    SessionForm(s, f): SessionForm<PasswordForm>,
) -> Response {
    match auth::change_password(&state, &s.principal, f.current_password, &f.new_password).await {
        Ok(_) => see_other("/account?done=password-changed"),
        Err(e) => match message(&e) {
            Some(m) => account_page(&state, &s, None, Some(m), e.status).await,
            None => failure(&state, Some(&s), e).await,
        },
    }
}

csrf_forms!(CodeForm, PasswordForm);
