//! End-to-end, on both engines: people invited, signing in with a password, acting, signing out;
//! API keys created, used and revoked; throttled guessing; the security record; and a revocation
//! on one instance refused by another at once.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::people::post_plain as post;
use support::{NETWORK_ID, TestServer, token};

const PASSWORD: &str = "une phrase de passe solide";

/// Invites `email` into `organisation` as `role` (with the network's minted admin token) and
/// returns the invitation token.
async fn invite(server: &TestServer, email: &str, organisation: &str, role: &str) -> String {
    let (status, body) = post(
        server,
        "/v1/users",
        &token(NETWORK_ID, Role::Admin),
        &json!({"email": email, "organisation": organisation, "role": role}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["status"], "invited");
    body["invitation_token"].as_str().unwrap().to_owned()
}

/// Invites, accepts and signs in; returns the session.
async fn signed_in(server: &TestServer, email: &str, organisation: &str, role: &str) -> Value {
    let invitation = invite(server, email, organisation, role).await;
    let (status, body) = post(
        server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invitation, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");
    sign_in(server, email, PASSWORD).await.1
}

async fn sign_in(server: &TestServer, email: &str, password: &str) -> (u16, Value) {
    post(
        server,
        "/v1/sessions",
        "",
        &json!({"email": email, "password": password}),
    )
    .await
}

fn access(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_owned()
}

async fn a_user_is_invited_signs_in_acts_and_signs_out(server: TestServer) {
    // Proves the whole path of a person: invitation, password, sign-in, an authorised read and a
    // write with the session's token (recorded under the user's email), sign-out, and the old
    // token refused; the invitation cannot be used twice.
    let csq = server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let invitation = invite(&server, "Tresoriere@CSQ.qc.ca", "csq", "contributor").await;
    let (status, body) = post(
        &server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invitation, "password": "short"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("password")),
        "{body}"
    );
    let accept = json!({"invitation_token": invitation, "password": PASSWORD});
    let (status, body) = post(&server, "/v1/invitations/acceptance", "", &accept).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "tresoriere@csq.qc.ca");
    let (status, body) = post(&server, "/v1/invitations/acceptance", "", &accept).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invitation_used")),
        "{body}"
    );

    let (status, session) = sign_in(&server, "tresoriere@csq.qc.ca", PASSWORD).await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["user"]["organisation_id"], csq.as_str());
    let bearer = access(&session);
    assert!(bearer.starts_with("sls_"));
    let (status, body) = server.get("/v1/contribution-batches", &bearer).await;
    assert_eq!(status, 200, "{body}");
    let programme = server.programme("people").await;
    let (status, body) = server
        .post(
            "/v1/contribution-batches",
            &bearer,
            "batch-by-user",
            &json!({"programme_id": programme, "period": "2026-11", "lines": [
                {"reference": "montreal", "members": 10, "amount": "10.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["submitted_by"], "tresoriere@csq.qc.ca");
    // The network's own endpoints stay closed to a contributor's session.
    let (status, _) = server.get("/v1/journal", &bearer).await;
    assert_eq!(status, 403);

    let response = server
        .client
        .delete(server.url("/v1/sessions/current"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (status, body) = server.get("/v1/contribution-batches", &bearer).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_revoked")),
        "{body}"
    );
    // The refresh token of the closed session is refused too.
    let (status, body) = post(
        &server,
        "/v1/sessions/refresh",
        "",
        &json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("refresh_refused")),
        "{body}"
    );
}

async fn a_refresh_rotates_the_tokens(server: TestServer) {
    // Proves a refresh gives a new access token that works, retires the old access token and the
    // old refresh token, and keeps the session.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let session = signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (status, renewed) = post(
        &server,
        "/v1/sessions/refresh",
        "",
        &json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(renewed["session_id"], session["session_id"]);
    assert_ne!(renewed["access_token"], session["access_token"]);
    let (status, _) = server
        .get("/v1/contribution-batches", &access(&renewed))
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .get("/v1/contribution-batches", &access(&session))
        .await;
    assert_eq!(status, 401);
    let (status, _) = post(
        &server,
        "/v1/sessions/refresh",
        "",
        &json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 401);
}

async fn an_api_key_acts_and_is_refused_once_revoked(server: TestServer) {
    // Proves a key made by a signed-in user acts for its organisation with its role, is listed
    // without its secret, cannot be revoked by another organisation, and is refused on its next
    // use once revoked (api_key_revoked), each step on the security record.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    server
        .organisation("mgen", "contributor", "FR", "EUR", 1000)
        .await;
    let session = signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (status, body) = post(
        &server,
        "/v1/api-keys",
        &access(&session),
        &json!({"name": "accounting system", "role": "admin"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("role")),
        "{body}"
    );
    let (status, created) = post(
        &server,
        "/v1/api-keys",
        &access(&session),
        &json!({"name": "accounting system"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["api_key"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(created["api_key"]["prefix"].as_str().unwrap()));
    assert_eq!(created["api_key"]["role"], "contributor");
    let (status, body) = server.get("/v1/contribution-batches", &key).await;
    assert_eq!(status, 200, "{body}");
    let (status, listed) = server.get("/v1/api-keys", &key).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&key));
    // A minted token has no user: it cannot make keys.
    let (status, _) = post(
        &server,
        "/v1/api-keys",
        &token(NETWORK_ID, Role::Admin),
        &json!({"name": "x"}),
    )
    .await;
    assert_eq!(status, 403);
    // Another organisation's user does not see the key.
    let other = signed_in(&server, "t@mgen.fr", "mgen", "contributor").await;
    let revoke = format!("/v1/api-keys/{key_id}/revocation");
    let (status, _) = post(&server, &revoke, &access(&other), &json!({})).await;
    assert_eq!(status, 404);
    let (status, body) = post(&server, &revoke, &access(&session), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked_at"].is_string());
    let (status, body) = server.get("/v1/contribution-batches", &key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "{body}"
    );
    let (status, events) = server
        .get(
            "/v1/security-events?limit=1000",
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200, "{events}");
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "invitation_created",
        "password_set",
        "sign_in",
        "api_key_created",
        "api_key_revoked",
        "credential_refused",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let record = events.to_string();
    assert!(
        !record.contains(&key) && !record.contains(PASSWORD),
        "a secret on record"
    );
    // Newest first on asking: the same events, the other way round.
    let (status, newest) = server
        .get(
            "/v1/security-events?limit=1000&order=newest_first",
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200, "{newest}");
    let mut reversed = newest["items"].as_array().unwrap().clone();
    reversed.reverse();
    assert_eq!(&reversed, events["items"].as_array().unwrap());
    let (status, _) = server.get("/v1/security-events", &access(&session)).await;
    assert_eq!(status, 403);
}

async fn wrong_passwords_are_refused_alike_and_then_throttled(server: TestServer) {
    // Proves an unknown email and a wrong password get the same refusal, and that the eleventh
    // attempt on one email within the window is throttled (429 with Retry-After), even with the
    // right password.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (status, unknown) = sign_in(&server, "nobody@csq.qc.ca", "whatever it is").await;
    let (wrong_status, wrong) = sign_in(&server, "t@csq.qc.ca", "not the password").await;
    assert_eq!((status, wrong_status), (401, 401));
    assert_eq!(unknown, wrong);
    assert_eq!(wrong["code"], "invalid_credentials");
    for _ in 0..9 {
        let (status, _) = sign_in(&server, "t@csq.qc.ca", "not the password").await;
        assert_eq!(status, 401);
    }
    let response = server
        .client
        .post(server.url("/v1/sessions"))
        .json(&json!({"email": "t@csq.qc.ca", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "sign_in_throttled");
}

async fn a_disabled_user_is_refused_on_its_next_request(server: TestServer) {
    // Proves disabling a user refuses its session at once (user_disabled) and its keys, and that
    // it can no longer sign in.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let session = signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (_, created) = post(
        &server,
        "/v1/api-keys",
        &access(&session),
        &json!({"name": "sync"}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let user_id = session["user"]["id"].as_str().unwrap();
    let (status, body) = post(
        &server,
        &format!("/v1/users/{user_id}/disable"),
        &token(NETWORK_ID, Role::Admin),
        &json!({}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("disabled")),
        "{body}"
    );
    let (status, body) = server
        .get("/v1/contribution-batches", &access(&session))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("user_disabled")),
        "{body}"
    );
    let (status, body) = server.get("/v1/contribution-batches", &key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "{body}"
    );
    let (status, _) = sign_in(&server, "t@csq.qc.ca", PASSWORD).await;
    assert_eq!(status, 401);
}

async fn a_password_change_revokes_every_session(server: TestServer) {
    // Proves changing a password checks the current one, revokes every session of the user, and
    // that the new password then signs in.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let first = signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (_, second) = sign_in(&server, "t@csq.qc.ca", PASSWORD).await;
    let (status, body) = post(
        &server,
        "/v1/users/me/password",
        &access(&first),
        &json!({"current_password": "wrong wrong wrong", "new_password": "a new passphrase here"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("current_password")),
        "{body}"
    );
    let (status, _) = post(
        &server,
        "/v1/users/me/password",
        &access(&first),
        &json!({"current_password": PASSWORD, "new_password": "a new passphrase here"}),
    )
    .await;
    assert_eq!(status, 204);
    for session in [&first, &second] {
        let (status, _) = server
            .get("/v1/contribution-batches", &access(session))
            .await;
        assert_eq!(status, 401);
    }
    let (status, _) = sign_in(&server, "t@csq.qc.ca", "a new passphrase here").await;
    assert_eq!(status, 201);
}

async fn an_invitation_must_fit_the_organisation(server: TestServer) {
    // Proves an invitation names a registered organisation and a role its kind may hold, and that
    // an email is invited once.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let admin = token(NETWORK_ID, Role::Admin);
    let (status, body) = post(
        &server,
        "/v1/users",
        &admin,
        &json!({"email": "x@csq.qc.ca", "organisation": "csq", "role": "admin"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("role")),
        "{body}"
    );
    let (status, body) = post(
        &server,
        "/v1/users",
        &admin,
        &json!({"email": "not an email", "organisation": "nowhere", "role": "king"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");
    invite(&server, "x@csq.qc.ca", "csq", "contributor").await;
    let (status, body) = post(
        &server,
        "/v1/users",
        &admin,
        &json!({"email": "X@csq.qc.ca", "organisation": "csq", "role": "contributor"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("email_taken")),
        "{body}"
    );
    let (status, _) = post(
        &server,
        "/v1/users",
        &token(NETWORK_ID, Role::Auditor),
        &json!({"email": "y@csq.qc.ca", "organisation": "csq", "role": "contributor"}),
    )
    .await;
    assert_eq!(status, 403);
}

async fn an_admin_revokes_one_session_of_a_user(server: TestServer) {
    // Proves an admin lists a user's sessions and revokes one: that session is refused at once,
    // the user's other session still works, and another user can neither list nor revoke them.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    server
        .organisation("mgen", "contributor", "FR", "EUR", 1000)
        .await;
    let first = signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (_, second) = sign_in(&server, "t@csq.qc.ca", PASSWORD).await;
    let user_id = first["user"]["id"].as_str().unwrap();
    let sessions = format!("/v1/users/{user_id}/sessions");
    let (status, listed) = server.get(&sessions, &access(&first)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&access(&first)),
        "a token listed"
    );
    let outsider = signed_in(&server, "t@mgen.fr", "mgen", "contributor").await;
    let (status, _) = server.get(&sessions, &access(&outsider)).await;
    assert_eq!(status, 404);
    let revoke = format!(
        "/v1/sessions/{}/revocation",
        first["session_id"].as_str().unwrap()
    );
    let (status, _) = post(&server, &revoke, &access(&outsider), &json!({})).await;
    assert_eq!(status, 404);
    let (status, body) = post(
        &server,
        &revoke,
        &token(NETWORK_ID, Role::Admin),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked_at"].is_string());
    let (status, body) = server
        .get("/v1/contribution-batches", &access(&first))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("session_revoked")),
        "{body}"
    );
    let (status, _) = server
        .get("/v1/contribution-batches", &access(&second))
        .await;
    assert_eq!(status, 200);
}

/// A 10-line-style batch of `members` for `programme` and `period` (one solidarity line).
fn batch_body(programme: &str, period: &str, members: i64) -> Value {
    json!({
        "programme_id": programme,
        "period": period,
        "lines": [{"reference": "section", "members": members, "amount": format!("{members}.00"), "kind": "solidarity"}]
    })
}

/// How many batches the network sees.
async fn batches_count(server: &TestServer) -> usize {
    let (status, listed) = server
        .get(
            "/v1/contribution-batches?limit=1000",
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    listed["items"].as_array().unwrap().len()
}

async fn a_key_revoked_between_two_writes_is_refused_on_the_write_path(server: TestServer) {
    // Proves a key this instance already knows (kept in memory after its first use, so its writes
    // read nothing before their transaction) is refused on the write after its revocation, by the
    // check inside the write's own transaction: 401 api_key_revoked, nothing written but the
    // security event, and a replay of a key used before its revocation is refused too. The same
    // for a key whose creator is disabled.
    server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let programme = server.programme("solidarity-euro").await;
    let session = signed_in(&server, "t@csq.qc.ca", "csq", "contributor").await;
    let (_, created) = post(
        &server,
        "/v1/api-keys",
        &access(&session),
        &json!({"name": "sync"}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    for (idempotency, period) in [("first", "2026-10"), ("second", "2026-11")] {
        let (status, body) = server
            .post(
                "/v1/contribution-batches",
                &key,
                idempotency,
                &batch_body(&programme, period, 10),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let revoke = format!(
        "/v1/api-keys/{}/revocation",
        created["api_key"]["id"].as_str().unwrap()
    );
    let (status, _) = post(&server, &revoke, &access(&session), &json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(
            "/v1/contribution-batches",
            &key,
            "third",
            &batch_body(&programme, "2026-12", 10),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/v1/contribution-batches",
            &key,
            "second",
            &batch_body(&programme, "2026-11", 10),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "a replay answered a revoked key: {body}"
    );
    assert_eq!(batches_count(&server).await, 2);
    let (_, events) = server
        .get(
            "/v1/security-events?limit=1000",
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    let refusals = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| {
            event["kind"] == "credential_refused" && event.to_string().contains("api_key_revoked")
        })
        .count();
    assert_eq!(refusals, 2, "{events}");
    // A key whose creator is disabled (which revokes its keys), used before.
    let other = signed_in(&server, "u@csq.qc.ca", "csq", "contributor").await;
    let (_, created) = post(
        &server,
        "/v1/api-keys",
        &access(&other),
        &json!({"name": "sync"}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let (status, body) = server
        .post(
            "/v1/contribution-batches",
            &key,
            "fourth",
            &batch_body(&programme, "2027-01", 10),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = post(
        &server,
        &format!(
            "/v1/users/{}/disable",
            other["user"]["id"].as_str().unwrap()
        ),
        &token(NETWORK_ID, Role::Admin),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(
            "/v1/contribution-batches",
            &key,
            "fifth",
            &batch_body(&programme, "2027-02", 10),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "{body}"
    );
    assert_eq!(batches_count(&server).await, 3);
}

on_both_engines!(
    a_key_revoked_between_two_writes_is_refused_on_the_write_path,
    an_admin_revokes_one_session_of_a_user,
    a_user_is_invited_signs_in_acts_and_signs_out,
    a_refresh_rotates_the_tokens,
    an_api_key_acts_and_is_refused_once_revoked,
    wrong_passwords_are_refused_alike_and_then_throttled,
    a_disabled_user_is_refused_on_its_next_request,
    a_password_change_revokes_every_session,
    an_invitation_must_fit_the_organisation,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_instance_is_refused_by_another_at_once() {
    // Proves revocation is read from the shared database on every request: two instances on one
    // PostgreSQL, the key revoked through the first, refused by the second on its next use, a
    // write included (the second knew the key already: checked in the write's transaction).
    let first = support::postgres_server().await;
    let second = support::server_on(&first.database_url).await;
    first
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let session = signed_in(&first, "t@csq.qc.ca", "csq", "contributor").await;
    let (_, created) = post(
        &first,
        "/v1/api-keys",
        &access(&session),
        &json!({"name": "sync"}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let (status, _) = second.get("/v1/contribution-batches", &key).await;
    assert_eq!(status, 200);
    // The second instance now knows the key: its writes read nothing before their transaction.
    let programme = first.programme("solidarity-euro").await;
    let (status, body) = second
        .post(
            "/v1/contribution-batches",
            &key,
            "before",
            &batch_body(&programme, "2026-11", 10),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let revoke = format!(
        "/v1/api-keys/{}/revocation",
        created["api_key"]["id"].as_str().unwrap()
    );
    let (status, _) = post(&first, &revoke, &access(&session), &json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = second
        .post(
            "/v1/contribution-batches",
            &key,
            "after",
            &batch_body(&programme, "2026-12", 10),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "{body}"
    );
    assert_eq!(batches_count(&second).await, 1);
    let (status, body) = second.get("/v1/contribution-batches", &key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("api_key_revoked")),
        "{body}"
    );
    // And a session signed out on the second is refused by the first.
    let response = second
        .client
        .delete(second.url("/v1/sessions/current"))
        .bearer_auth(access(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let (status, _) = first
        .get("/v1/contribution-batches", &access(&session))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_comes_in_through_the_cli() {
    // Proves the real way in: `solidarity-ledger user add` on the server invites the first admin
    // of the network, who sets a password, signs in and registers an organisation.
    let directory = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
        .args([
            "user",
            "add",
            "--org",
            "network",
            "--role",
            "admin",
            "--email",
            "secretariat@ens.org",
        ])
        .arg("--data-dir")
        .arg(directory.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let invitation = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(invitation.starts_with("sli_"), "{invitation}");
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let server = support::server_on(&url).await;
    let (status, body) = post(
        &server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invitation, "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["role"].as_str()),
        (200, Some("admin")),
        "{body}"
    );
    let (status, session) = sign_in(&server, "secretariat@ens.org", PASSWORD).await;
    assert_eq!(status, 201, "{session}");
    let (status, body) = server
        .post(
            "/v1/organisations",
            &access(&session),
            "org-csq",
            &json!({"slug": "csq", "name": "CSQ", "kind": "contributor", "country": "CA",
                    "currency": "CAD", "covered_members": 10}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A second invitation of the same email is refused by the CLI with the reason.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
        .args([
            "user",
            "add",
            "--org",
            "network",
            "--role",
            "admin",
            "--email",
            "secretariat@ens.org",
        ])
        .arg("--data-dir")
        .arg(directory.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
