//! Credentials of every kind for the end-to-end tests: a token minted with the test secret, a
//! signed-in user's access token, or an API key made by such a user, for any organisation and
//! role, so the authorisation matrices run with each.

use std::sync::atomic::{AtomicUsize, Ordering};

use ledger_api::auth::Role;
use serde_json::{Value, json};

use super::{NETWORK_ID, TestServer, token};

/// How a test caller proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A token signed with the server's secret (the `token` command's kind).
    Minted,
    /// A user invited into the organisation, signed in: its access token.
    Session,
    /// An API key made by such a user.
    ApiKey,
}

/// The password of every test user.
pub const TEST_PASSWORD: &str = "a test passphrase, long enough";

static USERS: AtomicUsize = AtomicUsize::new(0);

/// POSTs JSON with an optional bearer and no idempotency key; returns status and body.
pub async fn post_plain(
    server: &TestServer,
    path: &str,
    bearer: &str,
    body: &Value,
) -> (u16, Value) {
    let mut request = server.client.post(server.url(path)).json(body);
    if !bearer.is_empty() {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A bearer credential of `kind` for `organisation` (its id) in `role`.
pub async fn credential(
    server: &TestServer,
    organisation: &str,
    role: Role,
    kind: Credential,
) -> String {
    if kind == Credential::Minted {
        return token(organisation, role);
    }
    let email = format!(
        "{}-{}@test.example",
        role.as_str(),
        USERS.fetch_add(1, Ordering::Relaxed)
    );
    let (status, invited) = post_plain(
        server,
        "/v1/users",
        &token(NETWORK_ID, Role::Admin),
        &json!({"email": email, "organisation": organisation, "role": role.as_str()}),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    let (status, body) = post_plain(
        server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invited["invitation_token"], "password": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, session) = post_plain(
        server,
        "/v1/sessions",
        "",
        &json!({"email": email, "password": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 201, "{session}");
    let access = session["access_token"].as_str().unwrap().to_owned();
    if kind == Credential::Session {
        return access;
    }
    let (status, created) =
        post_plain(server, "/v1/api-keys", &access, &json!({"name": "matrix"})).await;
    assert_eq!(status, 201, "{created}");
    created["key"].as_str().unwrap().to_owned()
}
