//! The portal as a browser without JavaScript sees it: cookies kept, redirections not followed
//! (the tests check them), forms posted with the CSRF token of the cookie (or without it, to see
//! them refused), files sent as `multipart/form-data`; and a user invited and accepted through the
//! API, signed in.

use std::collections::BTreeMap;

use ledger_api::auth::Role;
use serde_json::json;

use super::people::{TEST_PASSWORD, post_plain};
use super::{NETWORK_ID, TestServer, token};

/// The boundary of the multipart forms sent.
const BOUNDARY: &str = "----portal-test-boundary-7MA4YWxkTrZu0gW";

/// A browser without JavaScript, reading pages in French.
pub struct Browser {
    base_url: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` received, as sent.
    pub set_cookies: Vec<String>,
}

/// What the server answered.
pub struct Answer {
    pub status: u16,
    /// `Location`, empty when absent.
    pub location: String,
    /// `Content-Type`, empty when absent.
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (lossy for a binary file).
    pub body: String,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        self.body.clone()
    }
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Browser {
            base_url: server.base_url.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }

    /// A second tab of the same browser: the same cookies (a double click's second request).
    pub fn twin(&self) -> Browser {
        Browser {
            base_url: self.base_url.clone(),
            client: self.client.clone(),
            cookies: self.cookies.clone(),
            set_cookies: Vec::new(),
        }
    }

    /// The `Cookie` header the browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The CSRF token of the cookie, as a form carries it.
    pub fn csrf(&self) -> String {
        self.cookies["sl_csrf"].clone()
    }

    /// Sends `request` with the cookies, keeps the ones set, and reads the answer.
    pub async fn answer(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .header("cookie", self.cookie_header())
            .header("accept-language", "fr")
            .send()
            .await
            .unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap().to_owned();
            let (pair, _) = text.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookies.push(text);
        }
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let (location, content_type) = (header("location"), header("content-type"));
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap().to_vec();
        Answer {
            status,
            location,
            content_type,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.client.get(format!("{}{path}", self.base_url));
        self.answer(request).await
    }

    /// `fields` and, when `csrf`, the CSRF token of the cookie.
    fn with_csrf(&self, fields: &[(&str, &str)], csrf: bool) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        if csrf {
            fields.push(("csrf".to_owned(), self.csrf()));
        }
        fields
    }

    /// Posts a form with the CSRF token of the cookie (unless `csrf` is false).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Answer {
        let fields = self.with_csrf(fields, csrf);
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .form(&fields);
        self.answer(request).await
    }

    /// Posts a `multipart/form-data` form with `fields` (and the CSRF token unless `csrf` is
    /// false) and one file `(field, file name, content)`, as a browser sends it.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
        csrf: bool,
    ) -> Answer {
        let mut body = Vec::new();
        for (name, value) in self.with_csrf(fields, csrf) {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, file_name, content) = file;
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body);
        self.answer(request).await
    }

    /// Posts a form whose file field is `file`, as `(file name, content)`.
    pub async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &[u8]),
        csrf: bool,
    ) -> Answer {
        let (file_name, content) = file;
        self.post_multipart(path, fields, ("file", file_name, content), csrf)
            .await
    }

    /// Opens the sign-in page and signs in.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        assert_eq!(self.get("/portal/sign-in").await.status, 200);
        self.post(
            "/portal/sign-in",
            &[("email", email), ("password", password)],
            true,
        )
        .await
    }
}

/// Invites `email` into `organisation` as `role` through the API; returns the invitation token.
pub async fn invite(server: &TestServer, email: &str, organisation: &str, role: &str) -> String {
    let (status, body) = post_plain(
        server,
        "/v1/users",
        &token(NETWORK_ID, Role::Admin),
        &json!({"email": email, "organisation": organisation, "role": role}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["invitation_token"].as_str().unwrap().to_owned()
}

/// A user of `organisation` with `role`, invited and accepted through the API, signed in to the
/// portal (which sends every role to `/portal` first).
pub async fn signed_in(
    server: &TestServer,
    email: &str,
    organisation: &str,
    role: &str,
) -> Browser {
    let invitation = invite(server, email, organisation, role).await;
    let (status, body) = post_plain(
        server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invitation, "password": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut browser = Browser::new(server);
    let answer = browser.sign_in(email, TEST_PASSWORD).await;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/portal"));
    browser
}

/// The value of the first hidden field `name` of a page.
pub fn hidden(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// The href of the "Older" link of a page, if any.
pub fn older_link(body: &str) -> Option<String> {
    let before = body.split("\" rel=\"next\">").next()?;
    if before.len() == body.len() {
        return None;
    }
    let href = before.rsplit("href=\"").next()?;
    Some(href.replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// The ids linked as `{prefix}{id}"` on a page.
pub fn linked(body: &str, prefix: &str) -> Vec<String> {
    body.split(prefix)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The pages of a long list at `path`, from the newest (or first) on: each but the last has an
/// "Older" link to `path?cursor=…`, each but the first a link back to `newest` and none on the
/// first; `rows` reads a page's items.
pub async fn pages_of(
    browser: &mut Browser,
    path: &str,
    newest: &str,
    rows: impl Fn(&str) -> Vec<String>,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(at) = next {
        let page = browser.get(&at).await;
        assert_eq!(page.status, 200, "{at}: {}", page.body);
        let back = back_to(newest);
        assert_eq!(
            page.body.contains(&back),
            !pages.is_empty(),
            "{at}: {}",
            page.body
        );
        next = older_link(&page.body);
        if let Some(older) = &next {
            let expected = if path.contains('?') {
                format!("{path}&cursor=")
            } else {
                format!("{path}?cursor=")
            };
            assert!(older.starts_with(&expected), "{older}");
        }
        pages.push(rows(&page.body));
    }
    pages
}

/// The "Back to the newest" link to `href`, as a page writes it (escaped).
pub fn back_to(href: &str) -> String {
    let escaped = href.replace('&', "&amp;").replace('/', "&#x2f;");
    format!("<a href=\"{escaped}\">Retour ")
}

/// The sizes of `pages`, and that no item is on two of them.
pub fn sizes(pages: &[Vec<String>]) -> Vec<usize> {
    let all: Vec<&String> = pages.iter().flatten().collect();
    let distinct: std::collections::BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "{pages:?}");
    pages.iter().map(Vec::len).collect()
}
