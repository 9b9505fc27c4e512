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

mod admin;
mod desk;
pub mod jp;
mod pages;
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
            "/admin/users",
            poem::get(admin::users).post(admin::create_user),
        )
        .at("/admin/users/:id", poem::post(admin::update_user))
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
