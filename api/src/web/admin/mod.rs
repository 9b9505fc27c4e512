//! Admin pages: organizations, users, SLA policies and the business calendar
//! of a year. Each calls the service its REST route calls, so the service's
//! own authorization (admins only) and audit apply; a change redirects back
//! with a notice (`?done=`), a mistake renders the page again with the message
//! next to the field and what was typed.

use chrono::{Datelike, NaiveDate};
use madoguchi_domain::{
    board::{Priority, SlaPolicy},
    calendar::{ClosedReason, DateOverride, FIRST_YEAR, LAST_YEAR},
    ContractStatus, Role,
};
use madoguchi_persistence::users::UserFilter;
use poem::{
    handler,
    http::StatusCode,
    web::{Data, Path, Query},
    Request, Response,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    jp,
    pages::{failure, field_errors, layout, path_id, render, signed_in, SessionForm, PAGE},
    see_other,
    session::WebSession,
    views::*,
};
use crate::{
    app::state::AppState,
    http::problem::{ApiError, ProblemType},
    service::{self, board as svc},
};

mod calendar;
mod organizations;
mod sla;
mod users;

pub use calendar::*;
pub use organizations::*;
pub use sla::*;
pub use users::*;

/// The notice after a change, by the code the redirect carries.
fn done_message(code: &str) -> Option<String> {
    let m = match code {
        "org-created" => "医療機関を登録しました。",
        "org-updated" => "医療機関の契約状態を変更しました。",
        "org-erased" => "個人データを削除しました。利用者はログインできなくなり、件名・本文・氏名・電話番号は「（削除済み）」になりました。",
        "erase-name-mismatch" => "医療機関名が一致しないため、削除しませんでした。登録どおりの名称を入力してください。",
        "erase-not-ended" => "契約が終了していない医療機関の個人データは削除できません（何も変更していません）。",
        "user-created" => "利用者を登録しました。",
        "user-deactivated" => "利用者を無効にしました。ログイン中のセッションはすべて終了しました。",
        "user-activated" => "利用者を有効にしました。",
        "totp-reset" => "2段階認証をリセットしました。この利用者のセッションはすべて終了しました。次のログインで設定し直します。",
        "totp-required" => "スタッフの2段階認証を必須にしました。未設定のスタッフは、設定が終わるまでほかの操作ができません。",
        "totp-optional" => "スタッフの2段階認証を任意にしました。",
        "totp-own-first" => "必須にする前に、ご自身の2段階認証を「アカウント」で設定してください（設定は変わっていません）。",
        "password-reset" => {
            "パスワードを再設定しました。この利用者のセッションはすべて終了しました。新しいパスワードをご本人に安全な方法でお伝えください。"
        }
        "sla-saved" => "SLA目標を保存しました。これから受け付けるお問い合わせに適用されます。",
        "closure-added" => "休業日・特別営業日を追加しました。進行中の期限は再計算されました。",
        "closure-removed" => "休業日・特別営業日を削除しました。進行中の期限は再計算されました。",
        _ => return None,
    };
    Some(m.to_owned())
}

async fn admin_layout(state: &AppState, s: &WebSession, title: &str, done: Option<&str>) -> Layout {
    let mut l = layout(state, Some(s), title).await;
    l.flash = done.and_then(done_message);
    l
}

/// The `If-Match` value for the version a form carried.
fn tag(version: &str) -> String {
    format!("\"{}\"", version.trim())
}

#[handler]
pub async fn home() -> Response {
    see_other("/admin/organizations")
}

/// An admin signed in to the board, as a handler parameter: anyone else gets
/// the page [`admin_signed_in`] answers.
pub(crate) struct AdminSignedIn(pub WebSession);

impl<'a> poem::FromRequest<'a> for AdminSignedIn {
    async fn from_request(req: &'a Request, _body: &mut poem::RequestBody) -> poem::Result<Self> {
        let state = req
            .data::<AppState>()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        admin_signed_in(state, req)
            .await
            .map(AdminSignedIn)
            .map_err(poem::Error::from_response)
    }
}

/// The admin pages are for admins: an agent who opens one is told so, rather
/// than shown forms that would refuse every change.
async fn admin_signed_in(state: &AppState, req: &Request) -> Result<WebSession, Response> {
    let s = signed_in(state, req, None).await?;
    if !Role::ADMINS.contains(&s.principal.role()) {
        return Err(failure(state, Some(&s), ApiError::forbidden_for(Role::ADMINS)).await);
    }
    Ok(s)
}

// ---- organizations ---------------------------------------------------------
