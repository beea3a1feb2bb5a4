//! The partner portal (issue 21, first slice), at `/portal`: signing in with a password, signing
//! out, accepting an invitation, changing one's password, and a union's home (its batches, with a
//! form to submit one) and batch pages. A thin door like the public site: every page runs the same
//! query, command or action of `ledger-app` as the API, as the signed-in caller, so the same
//! policy and organisation scope apply (another organisation's batch is a 404, as in the API).
//!
//! Every form carries a CSRF token (the `sl_csrf` cookie repeated in a hidden field, checked on
//! every POST: a form without it is answered 403); the session's tokens are in `HttpOnly`,
//! `SameSite=Lax` cookies, `Secure` when the site is served over TLS ([`session::CookiePolicy`]).

mod audit;
mod batches;
mod mutual;
mod network;
pub mod session;
mod union;
mod upload;
mod visit;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ledger_app::people::Origin;
use ledger_app::people::sessions::{self, SignInBody, SignOut};
use ledger_app::people::users::{self, AcceptInvitationBody, ChangePassword, ChangePasswordBody};
use ledger_app::{App, AppError, Refusal};
use minijinja::{Value, context};

use crate::SignInThrottle;
use crate::i18n::{Lang, negotiate};
use crate::pages::page;
use session::{CookiePolicy, Csrf, SignedIn, csrf_matches, signed_in};
use visit::{CheckedForm, SignedForm, Visit};

/// The portal's state: the application and how its cookies are set.
#[derive(Clone)]
pub(crate) struct Portal {
    pub(crate) app: App,
    pub(crate) cookies: CookiePolicy,
    pub(crate) throttle: Option<Arc<dyn SignInThrottle>>,
}

/// The portal's routes.
pub(crate) fn router(
    app: App,
    cookies: CookiePolicy,
    throttle: Option<Arc<dyn SignInThrottle>>,
) -> Router {
    Router::new()
        .route("/portal", get(batches::home).post(batches::submit))
        .route("/portal/batches/{id}", get(batches::batch))
        .route("/portal/sign-in", get(sign_in_form).post(sign_in))
        .route("/portal/sign-out", axum::routing::post(sign_out))
        .route(
            "/portal/invitation",
            get(invitation_form).post(accept_invitation),
        )
        .route("/portal/password", get(password_form).post(change_password))
        .merge(mutual::routes())
        .merge(network::routes())
        .merge(union::routes())
        .merge(audit::routes())
        .with_state(Portal {
            app,
            cookies,
            throttle,
        })
}

/// The client's address, as the connection gives it.
fn address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// The client's address as text (for the security record).
pub(crate) fn client(extensions: &Extensions) -> Option<String> {
    address(extensions).map(|address| address.to_string())
}

/// A posted form's fields, in order.
pub(crate) type Fields = Vec<(String, String)>;

/// The value of field `name`.
pub(crate) fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The id a replayed command answered (its stored JSON's `field`).
pub(crate) fn replayed_id(stored: &str, field: &str) -> String {
    serde_json::from_str::<serde_json::Value>(stored)
        .ok()
        .and_then(|body| body[field].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A file to save, never cached.
pub(crate) fn attachment(media_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A redirection after a POST (303: the browser GETs `location`).
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The answer to a form posted without its CSRF token: 403, nothing done.
pub(crate) fn csrf_refused(lang: Lang, uri: &Uri) -> Response {
    error_page(StatusCode::FORBIDDEN, "error-csrf", lang, uri)
}

pub(crate) fn error_page(status: StatusCode, key: &str, lang: Lang, uri: &Uri) -> Response {
    page(
        status,
        "error.html",
        lang,
        uri,
        context! { message_key => key },
    )
}

/// The page for a refused operation: the API's status (403, 404, 409, 422…), a logged 500 for a
/// defect.
pub(crate) fn refused(error: &AppError, lang: Lang, uri: &Uri) -> Response {
    let (status, key) = match error.refusal {
        Refusal::NotFound => (StatusCode::NOT_FOUND, "error-not-found"),
        Refusal::Forbidden => (StatusCode::FORBIDDEN, "error-forbidden"),
        Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "error-unavailable"),
        Refusal::Throttled => (StatusCode::TOO_MANY_REQUESTS, "error-throttled"),
        Refusal::Conflict => (StatusCode::CONFLICT, "error-conflict"),
        // What the visitor asked for is not valid (an old page's cursor altered, say).
        Refusal::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "error-invalid"),
        _ => {
            tracing::error!(error = %error, source = ?error.source, "a portal page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error-internal")
        }
    };
    error_page(status, key, lang, uri)
}

/// The signed-in visitor, or the answer to give instead (to the sign-in page when not signed in).
pub(crate) async fn require_signed_in(
    portal: &Portal,
    headers: &HeaderMap,
    extensions: &Extensions,
    uri: &Uri,
) -> Result<SignedIn, Response> {
    let lang = negotiate(headers);
    match signed_in(&portal.app, headers, client(extensions).as_deref()).await {
        Ok(Some(signed)) => Ok(signed),
        Ok(None) => Err(see_other("/portal/sign-in")),
        Err(error) => Err(refused(&error, lang, uri)),
    }
}

/// A form posted by a signed-in visitor: its CSRF token checked first (refused: a 403 page and
/// nothing done), then the session. Every signed-in form handler starts here.
pub(crate) async fn signed_form(
    portal: &Portal,
    headers: &HeaderMap,
    extensions: &Extensions,
    uri: &Uri,
    fields: &Fields,
) -> Result<SignedIn, Response> {
    if let Some(refusal) = csrf_refusal(headers, uri, fields) {
        return Err(refusal);
    }
    require_signed_in(portal, headers, extensions, uri).await
}

/// The CSRF rule of every portal form, checked before anything else: the posted `csrf` field
/// repeats the request's CSRF cookie, or the answer is this refusal (403) and nothing is done.
pub(crate) fn csrf_refusal(headers: &HeaderMap, uri: &Uri, fields: &Fields) -> Option<Response> {
    (!csrf_matches(headers, field(fields, "csrf"))).then(|| csrf_refused(negotiate(headers), uri))
}

/// Renders a portal page, with the CSRF token for its forms (set if new) and any renewed tokens.
pub(crate) fn form_page(
    portal: &Portal,
    status: StatusCode,
    template: &str,
    headers: &HeaderMap,
    uri: &Uri,
    signed: Option<&SignedIn>,
    data: Value,
) -> Response {
    let csrf = Csrf::of(headers);
    let user = signed.map(|signed| signed.caller.subject.clone());
    let role = signed.map(|s| s.caller.role.as_str());
    let mut response = page(
        status,
        template,
        negotiate(headers),
        uri,
        context! { csrf => csrf.token.clone(), user => user, role => role, ..data },
    );
    csrf.keep(portal.cookies, &mut response);
    if let Some(signed) = signed {
        signed.keep(portal.cookies, &mut response);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn sign_in_form(State(portal): State<Portal>, headers: HeaderMap, uri: Uri) -> Response {
    form_page(
        &portal,
        StatusCode::OK,
        "portal_sign_in.html",
        &headers,
        &uri,
        None,
        context! { email => "", error => "" },
    )
}

/// Signs in with the API's own sign-in (the same throttling, the same generic refusal).
async fn sign_in(
    State(portal): State<Portal>,
    CheckedForm {
        headers,
        extensions,
        uri,
        fields,
    }: CheckedForm,
) -> Response {
    let lang = negotiate(&headers);
    let email = field(&fields, "email").unwrap_or_default().to_owned();
    let body = SignInBody {
        email: email.clone(),
        password: field(&fields, "password").unwrap_or_default().to_owned(),
    };
    let address = address(&extensions);
    let throttle = portal.throttle.as_deref().zip(address);
    if let Some((throttle, address)) = throttle
        && throttle.check(address).is_err()
    {
        return form_page(
            &portal,
            StatusCode::TOO_MANY_REQUESTS,
            "portal_sign_in.html",
            &headers,
            &uri,
            None,
            context! { email => email, error => "sign-in-throttled-address" },
        );
    }
    let origin = Origin {
        client: client(&extensions),
    };
    let answer = sessions::sign_in(&portal.app, body, &origin).await;
    if let (Some((throttle, address)), Err(error)) = (throttle, &answer)
        && error.refusal == Refusal::Unauthenticated
    {
        throttle.record_failure(address);
    }
    let (status, error) = match answer {
        Ok(session) => {
            let mut response = see_other("/portal");
            portal.cookies.set_session(&mut response, &session);
            return response;
        }
        Err(error) => match error.refusal {
            Refusal::Throttled => (StatusCode::TOO_MANY_REQUESTS, "sign-in-throttled"),
            Refusal::Unauthenticated | Refusal::Invalid => {
                (StatusCode::UNAUTHORIZED, "sign-in-failed")
            }
            _ => return refused(&error, lang, &uri),
        },
    };
    form_page(
        &portal,
        status,
        "portal_sign_in.html",
        &headers,
        &uri,
        None,
        context! { email => email, error => error },
    )
}

async fn sign_out(SignedForm { visit, .. }: SignedForm) -> Response {
    if let Err(error) = visit.portal.app.perform(visit.caller(), SignOut).await {
        return visit.refused(&error);
    }
    let mut response = see_other("/portal/sign-in");
    for name in [session::ACCESS_COOKIE, session::REFRESH_COOKIE] {
        visit.portal.cookies.clear(&mut response, name);
    }
    response
}

async fn invitation_form(State(portal): State<Portal>, headers: HeaderMap, uri: Uri) -> Response {
    form_page(
        &portal,
        StatusCode::OK,
        "portal_invitation.html",
        &headers,
        &uri,
        None,
        context! { errors => errors_value(&[]), done => false },
    )
}

/// The localised message for a password field's refusal.
fn password_errors(error: &AppError) -> Vec<(String, &'static str)> {
    error
        .errors
        .iter()
        .map(|field| {
            let key = match field.field.as_str() {
                "current_password" => "password-current-wrong",
                _ => "password-rule",
            };
            (field.field.clone(), key)
        })
        .collect()
}

/// A form's errors by field: every field of the portal's password forms present (empty when
/// fine), as the templates are strict about what they read.
fn errors_value(errors: &[(String, &'static str)]) -> Value {
    let mut map: std::collections::BTreeMap<String, &'static str> = [
        "invitation_token",
        "password",
        "current_password",
        "new_password",
    ]
    .into_iter()
    .map(|field| (field.to_owned(), ""))
    .collect();
    for (field, key) in errors {
        map.insert(field.clone(), key);
    }
    Value::from_serialize(&map)
}

/// Accepts an invitation: the token (pasted from the invitation) and a new password.
async fn accept_invitation(
    State(portal): State<Portal>,
    CheckedForm {
        headers,
        extensions,
        uri,
        fields,
    }: CheckedForm,
) -> Response {
    let lang = negotiate(&headers);
    let body = AcceptInvitationBody {
        invitation_token: field(&fields, "invitation_token")
            .unwrap_or_default()
            .to_owned(),
        password: field(&fields, "password").unwrap_or_default().to_owned(),
    };
    let origin = Origin {
        client: client(&extensions),
    };
    let (status, errors) = match users::accept_invitation(&portal.app, body, &origin).await {
        Ok(_) => (StatusCode::OK, Vec::new()),
        Err(error) => match error.refusal {
            Refusal::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, password_errors(&error)),
            Refusal::NotFound | Refusal::Conflict => (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![("invitation_token".to_owned(), "invitation-refused")],
            ),
            _ => return refused(&error, lang, &uri),
        },
    };
    let done = errors.is_empty();
    form_page(
        &portal,
        status,
        "portal_invitation.html",
        &headers,
        &uri,
        None,
        context! { errors => errors_value(&errors), done => done },
    )
}

async fn password_form(visit: Visit) -> Response {
    visit.page(
        StatusCode::OK,
        "portal_password.html",
        context! { errors => errors_value(&[]) },
    )
}

/// Changes the signed-in user's password (which ends its sessions: it signs in again).
async fn change_password(form: SignedForm) -> Response {
    let body = ChangePasswordBody {
        current_password: form
            .field("current_password")
            .unwrap_or_default()
            .to_owned(),
        new_password: form.field("new_password").unwrap_or_default().to_owned(),
    };
    let visit = &form.visit;
    match visit
        .portal
        .app
        .perform(visit.caller(), ChangePassword(body))
        .await
    {
        Ok(()) => {
            let mut response = see_other("/portal/sign-in");
            for name in [session::ACCESS_COOKIE, session::REFRESH_COOKIE] {
                visit.portal.cookies.clear(&mut response, name);
            }
            response
        }
        Err(error) if error.refusal == Refusal::Invalid => visit.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "portal_password.html",
            context! { errors => errors_value(&password_errors(&error)) },
        ),
        Err(error) => visit.refused(&error),
    }
}
