//! End-to-end tests of the partner portal (issue 21, first slice) on SQLite and PostgreSQL: a
//! union's treasurer accepts an invitation, signs in, submits a batch with an error (shown at its
//! row, nothing written) then correctly, sees it, and signs out; forms without their CSRF token
//! are refused; another organisation's pages are refused as the API refuses them.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::json;
use support::people::{TEST_PASSWORD, post_plain};
use support::portal::{Browser, invite, signed_in};
use support::southern::{Fund, fund};
use support::{TestServer, today, token};

fn this_month() -> String {
    today()[..7].to_owned()
}

async fn batches_of(server: &TestServer, fund: &Fund, organisation: &str) -> usize {
    let (status, list) = server
        .get(
            &format!("/v1/contribution-batches?contributor_id={organisation}"),
            &fund.admin,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().len()
}

async fn a_treasurer_signs_in_submits_a_batch_and_signs_out(server: TestServer) {
    // Proves the first slice's journey: a page needs a session; an invitation is accepted on its
    // page (a short password refused there); a wrong password gets the generic refusal; the
    // session's cookies are HttpOnly and SameSite=Lax and never in a URL; a batch with a wrong
    // line comes back with the error at that row and nothing written; a right one is written and
    // shown; signing out ends the session.
    let fund = fund(&server).await;
    let mut browser = Browser::new(&server);
    let answer = browser.get("/portal").await;
    assert_eq!(
        (answer.status, answer.location.as_str()),
        (303, "/portal/sign-in")
    );

    let invitation = invite(&server, "tresoriere@csq.example", &fund.csq, "contributor").await;
    assert_eq!(browser.get("/portal/invitation").await.status, 200);
    let answer = browser
        .post(
            "/portal/invitation",
            &[("invitation_token", &invitation), ("password", "short")],
            true,
        )
        .await;
    assert_eq!(answer.status, 422);
    assert!(
        answer.body.contains("de 12 à 256 caractères"),
        "{}",
        answer.body
    );
    let answer = browser
        .post(
            "/portal/invitation",
            &[
                ("invitation_token", &invitation),
                ("password", TEST_PASSWORD),
            ],
            true,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("Votre mot de passe est enregistré"));

    let answer = browser
        .sign_in("tresoriere@csq.example", "not the password at all")
        .await;
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .body
            .contains("L’adresse électronique ou le mot de passe est incorrect.")
    );
    assert!(!browser.cookies.contains_key("sl_access"));
    let answer = browser
        .sign_in("Tresoriere@CSQ.example", TEST_PASSWORD)
        .await;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/portal"));
    let access = browser
        .set_cookies
        .iter()
        .find(|cookie| cookie.starts_with("sl_access=sls_"))
        .unwrap();
    assert!(
        access.ends_with("; Path=/portal; Max-Age=43200; HttpOnly; SameSite=Lax"),
        "{access}"
    );

    let home = browser.get("/portal").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("tresoriere@csq.example"));
    assert!(home.body.contains("Aucun bordereau déposé"));
    assert!(home.body.contains(&fund.programme));
    let request_id = home
        .body
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let period = this_month();
    let mut fields = vec![
        ("programme_id", fund.programme.as_str()),
        ("period", period.as_str()),
        ("request_id", request_id.as_str()),
        ("reference_0", "Section Montréal"),
        ("members_0", "10"),
        ("amount_0", "10.00"),
        ("kind_0", "solidarity"),
        ("reference_2", "Section Québec"),
        ("members_2", "5"),
        ("amount_2", "9.00"),
        ("kind_2", "solidarity"),
    ];
    let refused = browser.post("/portal", &fields, true).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let row = refused.body.split("id=\"row-2\"").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(
        row.contains("class=\"row-error\"")
            || refused.body.contains("id=\"row-2\" class=\"row-error\"")
    );
    assert!(
        row.contains("Le montant de cette ligne est incorrect."),
        "{row}"
    );
    assert!(row.contains("value=\"Section Québec\""), "{row}");
    let first = refused.body.split("id=\"row-0\"").nth(1).unwrap();
    assert!(!first.split("</tr>").next().unwrap().contains("field-error"));
    assert_eq!(batches_of(&server, &fund, &fund.csq).await, 0);

    fields[9] = ("amount_2", "5.00");
    let done = browser.post("/portal", &fields, true).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.starts_with("/portal/batches/"));
    assert_eq!(batches_of(&server, &fund, &fund.csq).await, 1);
    // The same form sent twice (a double click) is the same batch.
    let again = browser.post("/portal", &fields, true).await;
    assert_eq!(again.location, done.location);
    assert_eq!(batches_of(&server, &fund, &fund.csq).await, 1);
    let batch = browser.get(&done.location).await;
    assert_eq!(batch.status, 200);
    assert!(batch.body.contains("15,00\u{a0}€"), "{}", batch.body);
    assert!(batch.body.contains("Section Québec"));
    assert!(batch.body.contains("Promis, paiement attendu"));
    // How to pay it: the batch's creditor reference and the collection account, as the API says.
    let id = done.location.trim_start_matches("/portal/batches/");
    let (_, api_batch) = server
        .get(
            &format!("/v1/contribution-batches/{id}"),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    let instructions = &api_batch["payment_instructions"];
    let reference = instructions["creditor_reference_printed"].as_str().unwrap();
    assert!(reference.starts_with("RF"), "{api_batch}");
    assert!(
        batch.body.contains("Comment payer ce lot"),
        "{}",
        batch.body
    );
    assert!(batch.body.contains(reference), "{}", batch.body);
    let iban = instructions["collection_account"]["iban"].as_str().unwrap();
    assert!(batch.body.contains(iban), "{}", batch.body);
    let home = browser.get("/portal").await;
    assert!(home.body.contains(&done.location));

    let signed_out = browser.post("/portal/sign-out", &[], true).await;
    assert_eq!(
        (signed_out.status, signed_out.location.as_str()),
        (303, "/portal/sign-in")
    );
    assert!(!browser.cookies.contains_key("sl_access"));
    let answer = browser.get("/portal").await;
    assert_eq!(answer.location, "/portal/sign-in");
}

async fn forms_without_their_csrf_token_are_refused(server: TestServer) {
    // Proves every form checks its CSRF token: a batch, a sign-out, a password change and a
    // sign-in posted without it (or with another) are answered 403 and do nothing.
    let fund = fund(&server).await;
    let mut browser = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let period = this_month();
    let fields = [
        ("programme_id", fund.programme.as_str()),
        ("period", period.as_str()),
        ("request_id", "csrf-test"),
        ("reference_0", "Section A"),
        ("members_0", "3"),
        ("amount_0", "3.00"),
    ];
    let refused = browser.post("/portal", &fields, false).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("Formulaire refusé"),
        "{}",
        refused.body
    );
    let mut forged: Vec<(&str, &str)> = fields.to_vec();
    forged.push(("csrf", "slc_forged"));
    assert_eq!(browser.post("/portal", &forged, false).await.status, 403);
    assert_eq!(batches_of(&server, &fund, &fund.csq).await, 0);
    assert_eq!(
        browser.post("/portal/sign-out", &[], false).await.status,
        403
    );
    let password = [
        ("current_password", TEST_PASSWORD),
        ("new_password", "another long passphrase"),
    ];
    assert_eq!(
        browser
            .post("/portal/password", &password, false)
            .await
            .status,
        403
    );
    // Still signed in with the old password.
    assert_eq!(browser.get("/portal").await.status, 200);
    let mut stranger = Browser::new(&server);
    let answer = stranger
        .post(
            "/portal/sign-in",
            &[("email", "t@csq.example"), ("password", TEST_PASSWORD)],
            false,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert!(!stranger.cookies.contains_key("sl_access"));
    // With its token, the password change works and ends the session.
    let answer = browser.post("/portal/password", &password, true).await;
    assert_eq!(
        (answer.status, answer.location.as_str()),
        (303, "/portal/sign-in")
    );
    assert_eq!(browser.get("/portal").await.location, "/portal/sign-in");
    let answer = browser
        .sign_in("t@csq.example", "another long passphrase")
        .await;
    assert_eq!(answer.status, 303);
}

async fn a_user_of_one_organisation_cannot_open_anothers_pages(server: TestServer) {
    // Proves the portal answers as the API does: another union's batch is a 404 on both, a
    // union's home lists only its own batches, and a mutual's user, whose role may not list
    // batches, is sent to its own home and refused a union's batch (403, as the API's list).
    let fund = fund(&server).await;
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(&fund.mgen, Role::Contributor),
            "mgen-batch",
            &json!({"programme_id": fund.programme, "period": this_month(),
                    "lines": [{"reference": "MGEN Paris", "members": 7, "amount": "7.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let mgen_batch = batch["id"].as_str().unwrap();

    let mut csq = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let page = csq.get(&format!("/portal/batches/{mgen_batch}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("MGEN Paris"));
    let (api_status, _) = server
        .get(
            &format!("/v1/contribution-batches/{mgen_batch}"),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(api_status, 404);
    let home = csq.get("/portal").await;
    assert_eq!(home.status, 200);
    assert!(!home.body.contains(mgen_batch));

    let mut mgen = signed_in(&server, "t@mgen.example", &fund.mgen, "contributor").await;
    let page = mgen.get(&format!("/portal/batches/{mgen_batch}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("MGEN Paris"));

    let mut mutual = signed_in(&server, "t@burkina.example", &fund.burkina, "beneficiary").await;
    // A mutual's home is its own; a union's batch page stays refused to it.
    let home = mutual.get("/portal").await;
    assert_eq!(
        (home.status, home.location.as_str()),
        (303, "/portal/mutual")
    );
    let page = mutual.get(&format!("/portal/batches/{mgen_batch}")).await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains("MGEN Paris"));
    let (api_status, _) = server
        .get(
            "/v1/contribution-batches",
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(api_status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_portal_sign_ins_are_throttled_per_address_with_the_apis() {
    // Proves the portal's sign-in shares the API's per-address throttle of failed
    // authentications: three wrong passwords on the portal use up the address's failures, so the
    // portal then answers 429 even with the right password, and so does POST /v1/sessions.
    let server = support::sqlite_server_with(ledger_api::ApiConfig {
        max_failed_authentications: 3,
        ..ledger_api::ApiConfig::default()
    })
    .await;
    let fund = fund(&server).await;
    let invitation = invite(&server, "t@csq.example", &fund.csq, "contributor").await;
    let (status, _) = post_plain(
        &server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invitation, "password": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    let mut browser = Browser::new(&server);
    for _ in 0..3 {
        assert_eq!(
            browser
                .sign_in("t@csq.example", "a wrong password!")
                .await
                .status,
            401
        );
    }
    let refused = browser.sign_in("t@csq.example", TEST_PASSWORD).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("depuis votre réseau"),
        "{}",
        refused.body
    );
    assert!(!browser.cookies.contains_key("sl_access"));
    let (status, _) = post_plain(
        &server,
        "/v1/sessions",
        "",
        &json!({"email": "t@csq.example", "password": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_tls_the_portal_s_cookies_are_secure() {
    // Proves the setting reaches the cookies: with `secure_cookies` (`--secure-cookies`), the
    // CSRF cookie and the session's cookies are all marked Secure.
    let server = support::sqlite_server_with(ledger_api::ApiConfig {
        secure_cookies: true,
        ..ledger_api::ApiConfig::default()
    })
    .await;
    let fund = fund(&server).await;
    let browser = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let names: Vec<&str> = browser
        .set_cookies
        .iter()
        .map(|cookie| cookie.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["sl_csrf", "sl_access", "sl_refresh"]);
    for cookie in &browser.set_cookies {
        assert!(
            cookie.ends_with("; HttpOnly; SameSite=Lax; Secure"),
            "{cookie}"
        );
    }
}

on_both_engines!(
    a_treasurer_signs_in_submits_a_batch_and_signs_out,
    forms_without_their_csrf_token_are_refused,
    a_user_of_one_organisation_cannot_open_anothers_pages,
);
