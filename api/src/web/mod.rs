//! The web board: the support board in a browser, in Japanese, for clinics
//! and agents, served by the same binary under `/`.
//!
//! Pages are thin in the same way as REST routes: parse the form, find the
//! signed-in person ([`session`]), call the same service function the REST
//! route calls (so the same authorization, rules and audit apply), and render
//! the result with a template checked at compile time (askama, under
//! `api/templates/`). Every answer is an `Ok` HTML response with its status,
//! strict security headers and no caching; a service error becomes the page it
//! means (the login page, the 404 page, the form again with its message).

/// Forms whose `csrf` field [`pages::SessionForm`] checks.
macro_rules! csrf_forms {
    ($($t:ty),* $(,)?) => {
        $(impl crate::web::pages::HasCsrf for $t {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}

mod account;
mod admin;
mod desk;
pub mod jp;
mod pages;
mod pickers;
pub mod session;
mod views;

use poem::{
    http::{header, Method, StatusCode},
    Endpoint, IntoResponse, Request, Response, Route,
};

/// The board's front door `/` in front of everything else: the API's
/// catch-all nest at the root would otherwise answer it.
pub struct WithHome<E>(pub E);

impl<E: Endpoint> Endpoint for WithHome<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.uri().path() == "/" && req.method() == Method::GET {
            return pages::home.call(req).await.map(IntoResponse::into_response);
        }
        self.0.call(req).await.map(IntoResponse::into_response)
    }
}

/// The board's routes, added at the root beside `/v1`.
pub fn mount(route: Route) -> Route {
    route
        .at("/login", poem::get(pages::login_page).post(pages::login))
        .at("/logout", poem::post(pages::logout))
        .at("/account", poem::get(account::account))
        .at(
            "/account/totp",
            poem::get(account::totp_page).post(account::start_totp),
        )
        .at("/account/totp/confirm", poem::post(account::confirm_totp))
        .at("/account/totp/remove", poem::post(account::remove_totp))
        .at(
            "/account/sessions/:id/end",
            poem::post(account::end_session),
        )
        .at("/account/password", poem::post(account::change_password))
        .at(
            "/threads",
            poem::get(pages::threads).post(pages::create_thread),
        )
        .at("/threads/new", poem::get(pages::new_thread))
        .at(
            "/threads/:number",
            poem::get(pages::thread).post(pages::update_thread),
        )
        .at("/threads/:number/posts", poem::post(pages::reply))
        .at("/queue", poem::get(pages::queue))
        .at("/notices", poem::get(desk::notices).post(desk::publish))
        .at("/notices/:id/updates", poem::post(desk::add_update))
        .at("/calls", poem::post(desk::log_call))
        .at("/calls/new", poem::get(desk::new_call))
        .at("/admin", poem::get(admin::home))
        .at(
            "/admin/organizations",
            poem::get(admin::organizations).post(admin::create_organization),
        )
        .at(
            "/admin/organizations/:id",
            poem::post(admin::update_organization),
        )
        .at(
            "/admin/organizations/:id/export",
            poem::post(admin::export_organization),
        )
        .at(
            "/admin/organizations/:id/erase",
            poem::post(admin::erase_organization),
        )
        .at(
            "/admin/users",
            poem::get(admin::users).post(admin::create_user),
        )
        .at("/admin/users/:id", poem::post(admin::update_user))
        .at("/admin/security", poem::post(admin::put_security))
        .at("/admin/sla", poem::get(admin::sla))
        .at("/admin/sla/:priority", poem::post(admin::put_sla))
        .at("/admin/calendar", poem::get(admin::calendar))
        .at("/admin/calendar/closures", poem::post(admin::add_closure))
        .at(
            "/admin/calendar/closures/:date/delete",
            poem::post(admin::remove_closure),
        )
        .at("/assets/board.css", poem::get(pages::stylesheet))
}

/// The metrics label of a board path: its route's template, so page views
/// are counted per page while a client cannot grow the number of series.
/// Keep in step with [`mount`].
pub fn route_label(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    Some(match segments.as_slice() {
        [""] => "/",
        ["login"] => "/login",
        ["logout"] => "/logout",
        ["account"] => "/account",
        ["account", "totp"] => "/account/totp",
        ["account", "totp", _] => "/account/totp/{action}",
        ["account", "sessions", _, "end"] => "/account/sessions/{id}/end",
        ["account", "password"] => "/account/password",
        ["threads"] => "/threads",
        ["threads", "new"] => "/threads/new",
        ["threads", _] => "/threads/{number}",
        ["threads", _, "posts"] => "/threads/{number}/posts",
        ["queue"] => "/queue",
        ["notices"] => "/notices",
        ["notices", _, "updates"] => "/notices/{id}/updates",
        ["calls"] => "/calls",
        ["calls", "new"] => "/calls/new",
        ["admin"] => "/admin",
        ["admin", "organizations"] => "/admin/organizations",
        ["admin", "organizations", _] => "/admin/organizations/{id}",
        ["admin", "users"] => "/admin/users",
        ["admin", "users", _] => "/admin/users/{id}",
        ["admin", "security"] => "/admin/security",
        ["admin", "sla"] => "/admin/sla",
        ["admin", "sla", _] => "/admin/sla/{priority}",
        ["admin", "calendar"] => "/admin/calendar",
        ["admin", "calendar", "closures"] => "/admin/calendar/closures",
        ["admin", "calendar", "closures", _, "delete"] => "/admin/calendar/closures/{date}/delete",
        ["assets", "board.css"] => "/assets/board.css",
        _ => return None,
    })
}

/// The Content-Security-Policy of every page: nothing but this site's own
/// stylesheet; no script, no frames, forms only to this site.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML answer with the board's security headers.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "same-origin")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
}

/// A redirect after a form (303, so the browser follows with GET).
pub(crate) fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .header(header::CACHE_CONTROL, "no-store")
        .body(())
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn board_paths_are_counted_by_their_route_and_unknown_ones_are_not() {
        assert_eq!(route_label("/"), Some("/"));
        assert_eq!(route_label("/threads/1234"), Some("/threads/{number}"));
        assert_eq!(
            route_label("/admin/calendar/closures/2026-12-28/delete"),
            Some("/admin/calendar/closures/{date}/delete")
        );
        assert_eq!(route_label("/threads/1/posts/x"), None);
        assert_eq!(route_label("/wp-login.php"), None);
    }
}
