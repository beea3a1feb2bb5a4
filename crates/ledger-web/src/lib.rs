//! The public site of the solidarity ledger: server-rendered pages in French, English and Spanish
//! that anyone may read without signing in — the fund at a glance, the directory of member
//! mutuals, published unions' pages, where one euro goes, open data and how to verify the books.
//!
//! A thin door: each handler runs one public query of `ledger-app` ([`ledger_app::public`]) and
//! renders a template ([`templates`]); the texts come from Fluent messages ([`i18n`]), figures are
//! written per language ([`format`]). Pages need no JavaScript and carry a Content-Security-Policy
//! that allows none; templates escape everything they print.

pub mod chart;
pub mod format;
pub mod i18n;
mod open_data;
mod pages;
pub mod portal;
pub mod templates;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use ledger_app::App;

/// The Content-Security-Policy of every page: no script at all, styles and images from the site
/// only, forms posting only to it (the partner portal's), never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The security headers of every page and asset (the API's own are added where these are absent).
const PAGE_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    ),
];

async fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in PAGE_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The per-address throttle of failed sign-ins the HTTP door keeps (the API's), so the portal's
/// sign-in counts and obeys the same failures as `POST /v1/sessions`.
pub trait SignInThrottle: Send + Sync {
    /// `Err(seconds to wait)` when `client` has used up its failures.
    fn check(&self, client: std::net::IpAddr) -> Result<(), u64>;
    /// Counts one failed sign-in of `client`.
    fn record_failure(&self, client: std::net::IpAddr);
}

/// The site's settings.
#[derive(Clone, Default)]
pub struct SiteSettings {
    /// The site is served over TLS (directly or behind a proxy): the portal's cookies are
    /// `Secure`.
    pub secure_cookies: bool,
    /// The door's throttle of failed sign-ins per client address (none: only the per-email
    /// throttle of `ledger_app::people::sessions::sign_in`).
    pub sign_in_throttle: Option<std::sync::Arc<dyn SignInThrottle>>,
}

impl std::fmt::Debug for SiteSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SiteSettings")
            .field("secure_cookies", &self.secure_cookies)
            .field("sign_in_throttle", &self.sign_in_throttle.is_some())
            .finish()
    }
}

/// The site's routes, for merging into the service's router (which adds request ids, limits and
/// timeouts around them).
pub fn router(app: App, settings: SiteSettings) -> Router {
    let portal = portal::router(
        app.clone(),
        portal::session::CookiePolicy {
            secure: settings.secure_cookies,
        },
        settings.sign_in_throttle,
    );
    Router::new()
        .route("/", get(pages::home))
        .route("/mutuals", get(pages::directory))
        .route("/mutuals/{slug}", get(pages::mutual))
        .route("/unions/{slug}", get(pages::union))
        .route("/one-euro", get(pages::one_euro))
        .route("/open-data", get(pages::open_data))
        .route("/open-data/{file}", get(open_data::download))
        .route("/verify", get(pages::verify))
        .route("/language/{code}", get(pages::switch_language))
        .route("/static/{file}", get(pages::asset))
        .with_state(app)
        .merge(portal)
        .layer(axum::middleware::map_response(with_page_headers))
}
