//! The portal's session: cookies holding a signed-in session's tokens (never a URL), the caller
//! they speak for (checked on every request by `ledger_app::people::authenticate`, as the API
//! checks a bearer), a quiet refresh when the short-lived access token has expired, and the CSRF
//! token every form carries.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use ledger_app::people::authenticate::{KeyCheck, authenticate};
use ledger_app::people::secrets::{self, ACCESS_PREFIX};
use ledger_app::people::sessions::{self, RefreshBody, SessionView};
use ledger_app::{App, AppError, Caller};

/// The cookie holding the session's access token.
pub const ACCESS_COOKIE: &str = "sl_access";
/// The cookie holding the session's refresh token (exchanged when the access token expires).
pub const REFRESH_COOKIE: &str = "sl_refresh";
/// The cookie holding the CSRF token every form must repeat in its `csrf` field.
pub const CSRF_COOKIE: &str = "sl_csrf";
/// The prefix of a CSRF token (random, 256 bits, like every token of the service).
const CSRF_PREFIX: &str = "slc_";
/// How long the portal's cookies are kept: a session's whole life (12 hours), in seconds.
const COOKIE_MAX_AGE_SECONDS: i64 = ledger_app::people::SESSION_LIFETIME.num_seconds();

/// How the portal's cookies are set.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookiePolicy {
    /// Add `Secure` (the site is served over TLS, directly or behind a proxy).
    pub secure: bool,
}

impl CookiePolicy {
    fn cookie(self, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/portal; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }

    /// Adds a cookie to `response`.
    pub fn set(self, response: &mut Response, name: &str, value: &str) {
        if let Some(cookie) = self.cookie(name, value, COOKIE_MAX_AGE_SECONDS) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }

    /// Removes a cookie from the browser.
    pub fn clear(self, response: &mut Response, name: &str) {
        if let Some(cookie) = self.cookie(name, "", 0) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }

    /// Sets a session's tokens.
    pub fn set_session(self, response: &mut Response, session: &SessionView) {
        self.set(response, ACCESS_COOKIE, &session.access_token);
        self.set(response, REFRESH_COOKIE, &session.refresh_token);
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The request's CSRF token, or a new one (then `fresh` says it must be set).
#[derive(Debug)]
pub struct Csrf {
    pub token: String,
    pub fresh: bool,
}

impl Csrf {
    pub fn of(headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE).filter(|token| token.starts_with(CSRF_PREFIX)) {
            Some(token) => Csrf {
                token: token.to_owned(),
                fresh: false,
            },
            None => Csrf {
                token: secrets::new_token(CSRF_PREFIX).0,
                fresh: true,
            },
        }
    }

    /// Sets the token's cookie on `response` if it is new.
    pub fn keep(&self, policy: CookiePolicy, response: &mut Response) {
        if self.fresh {
            policy.set(response, CSRF_COOKIE, &self.token);
        }
    }
}

/// Whether a posted form repeats the request's CSRF cookie (compared in constant time).
pub fn csrf_matches(headers: &HeaderMap, posted: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), posted) {
        (Some(expected), Some(posted)) if expected.starts_with(CSRF_PREFIX) => {
            secrets::same_hash(&secrets::token_hash(expected), &secrets::token_hash(posted))
        }
        _ => false,
    }
}

/// A signed-in visitor: the caller its session speaks for, and new tokens when they were renewed.
#[derive(Debug)]
pub struct SignedIn {
    pub caller: Caller,
    pub renewed: Option<SessionView>,
}

impl SignedIn {
    /// Sets the renewed tokens, if any, on `response`.
    pub fn keep(&self, policy: CookiePolicy, response: &mut Response) {
        if let Some(session) = &self.renewed {
            policy.set_session(response, session);
        }
    }
}

/// The caller the request's session cookies speak for, or `None` (not signed in, signed out,
/// expired, disabled). An expired access token is exchanged with the refresh token.
pub async fn signed_in(
    app: &App,
    headers: &HeaderMap,
    client: Option<&str>,
) -> Result<Option<SignedIn>, AppError> {
    let Some(access) =
        cookie(headers, ACCESS_COOKIE).filter(|token| token.starts_with(ACCESS_PREFIX))
    else {
        return Ok(None);
    };
    match authenticate(app, access, client, KeyCheck::Now).await {
        Ok(caller) => Ok(Some(SignedIn {
            caller,
            renewed: None,
        })),
        Err(error) if error.code == "access_token_expired" => {
            let Some(refresh_token) = cookie(headers, REFRESH_COOKIE) else {
                return Ok(None);
            };
            let body = RefreshBody {
                refresh_token: refresh_token.to_owned(),
            };
            let Ok(session) = sessions::refresh(app, body).await else {
                return Ok(None);
            };
            let caller = authenticate(app, &session.access_token, client, KeyCheck::Now).await?;
            Ok(Some(SignedIn {
                caller,
                renewed: Some(session),
            }))
        }
        Err(error) if error.refusal == ledger_app::Refusal::Unauthenticated => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_must_repeat_its_cookie_token() {
        // Proves the CSRF check: no cookie, no field, another token or a token without the prefix
        // are all refused; only the cookie's own token passes.
        let mut headers = HeaderMap::new();
        assert!(!csrf_matches(&headers, Some("slc_a")));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=fr; sl_csrf=slc_abc"),
        );
        assert!(csrf_matches(&headers, Some("slc_abc")));
        assert!(!csrf_matches(&headers, None));
        assert!(!csrf_matches(&headers, Some("slc_abd")));
        assert!(!csrf_matches(&headers, Some("")));
        headers.insert(header::COOKIE, HeaderValue::from_static("sl_csrf=abc"));
        assert!(!csrf_matches(&headers, Some("abc")));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_when_told() {
        // Proves the cookie attributes: HttpOnly and SameSite=Lax always, Secure by the setting.
        let mut response = Response::new(axum::body::Body::empty());
        CookiePolicy { secure: true }.set(&mut response, ACCESS_COOKIE, "sls_x");
        CookiePolicy { secure: false }.set(&mut response, REFRESH_COOKIE, "slr_x");
        let cookies: Vec<&str> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        assert_eq!(
            cookies,
            [
                "sl_access=sls_x; Path=/portal; Max-Age=43200; HttpOnly; SameSite=Lax; Secure",
                "sl_refresh=slr_x; Path=/portal; Max-Age=43200; HttpOnly; SameSite=Lax",
            ]
        );
    }
}
