//! Signing in to the board: the `SignedIn` and `SessionForm` extractors, the login and logout pages.

use super::*;

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

pub(in crate::web) async fn signed_in(
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

pub(in crate::web) async fn form_session(
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
pub(in crate::web) async fn path_id<T: std::str::FromStr>(
    state: &AppState,
    s: &WebSession,
    raw: &str,
) -> Result<T, Response> {
    match raw.parse::<T>() {
        Ok(v) => Ok(v),
        Err(_) => Err(failure(state, Some(s), ApiError::new(ProblemType::NotFound)).await),
    }
}

pub(in crate::web) fn refused_form() -> Response {
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
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) password: String,
    #[serde(default)]
    pub(crate) totp: String,
    #[serde(flatten)]
    pub(crate) draft: Draft,
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
    pub(crate) csrf: String,
}

impl CsrfOnly {
    pub(in crate::web) fn csrf(&self) -> &str {
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
