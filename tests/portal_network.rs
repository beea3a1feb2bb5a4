//! End-to-end tests of the network secretariat's portal pages (issue 21 item 4) on SQLite and
//! PostgreSQL: two admins plan a transfer run, its proposer cannot approve its execution, the
//! second admin approves it (the run is executed) and the payment file is downloaded; a payment
//! file refused for a mutual without a bank account says so by name; a contributor and a mutual
//! are refused the network's pages as the API refuses them.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::{Engine, on_both_engines};
use serde_json::json;
use support::people::{TEST_PASSWORD, post_plain};
use support::portal::{Browser, back_to, hidden, linked, older_link, pages_of, signed_in, sizes};
use support::southern::{Fund, burkina_paid_for_september, burkina_ready_for_september, fund};
use support::{NETWORK_ID, TestServer, token};

/// The id in the first form action `/portal/network/proposals/{id}/...` of a page.
fn proposal_on(body: &str) -> String {
    body.split("/portal/network/proposals/")
        .nth(1)
        .unwrap_or_else(|| panic!("no proposal in {body}"))
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

/// What the API says of a run.
async fn run_status(server: &TestServer, fund: &Fund, run: &str) -> String {
    let (status, body) = server
        .get(&format!("/v1/transfer-runs/{run}"), &fund.admin)
        .await;
    assert_eq!(status, 200, "{body}");
    body["status"].as_str().unwrap().to_owned()
}

async fn two_admins_plan_approve_and_execute_a_run(server: TestServer) {
    // Proves the secretariat's four-eyes journey on the pages: bank accounts proposed through the
    // API are approved by a second admin on the network's home; an admin lands on the network's
    // home; a plan for a period not ended is refused at its field, nothing recorded; a plan is
    // recorded once (a double click is the same run) and shows its allocations, verdicts and held
    // funds; requesting the execution keeps a proposal; its proposer is told it cannot approve and
    // is refused if it tries (nothing executed); the second admin's approval executes the run;
    // the payment file is then downloaded, paying the mutual's approved account.
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["approvals_required"], 2, "{ready}");
    let fund = fund(&server).await;
    burkina_ready_for_september(&server, &fund, "100.00").await;
    let mut alice = signed_in(&server, "alice@network.example", NETWORK_ID, "admin").await;
    let mut bob = signed_in(&server, "bob@network.example", NETWORK_ID, "admin").await;
    for (organisation, key, body) in [
        (
            fund.burkina.as_str(),
            "burkina-account",
            json!({"holder_name": "Mutuelle de l'éducation de base", "account_number": "BF042 01001 00001234567 89",
                   "bic": "ECOCBFBF", "currency": "XOF"}),
        ),
        (
            NETWORK_ID,
            "network-account",
            json!({"holder_name": "Education and Solidarity Network", "iban": "FR14 2004 1010 0505 0001 3M02 606",
                   "bic": "PSSTFRPPPAR", "currency": "EUR"}),
        ),
    ] {
        let (status, proposal) = server
            .post(
                &format!("/v1/organisations/{organisation}/bank-accounts"),
                &fund.admin,
                key,
                &body,
            )
            .await;
        assert_eq!(status, 202, "{proposal}");
        let home = bob.get("/portal/network").await;
        assert_eq!(home.status, 200, "{}", home.body);
        assert!(
            home.body.contains("Enregistrer un compte bancaire"),
            "{}",
            home.body
        );
        let id = proposal["id"].as_str().unwrap();
        let approved = bob
            .post(
                &format!("/portal/network/proposals/{id}/approval"),
                &[],
                true,
            )
            .await;
        assert_eq!(
            (approved.status, approved.location.as_str()),
            (303, "/portal/network"),
            "{}",
            approved.body
        );
    }
    let (_, accounts) = server
        .get(
            &format!("/v1/organisations/{}/bank-accounts", fund.burkina),
            &fund.admin,
        )
        .await;
    assert_eq!(accounts["current"]["bic"], "ECOCBFBF", "{accounts}");

    let landing = alice.get("/portal").await;
    assert_eq!(
        (landing.status, landing.location.as_str()),
        (303, "/portal/network")
    );
    let home = alice.get("/portal/network").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Aucune campagne de transfert planifiée"));
    assert!(home.body.contains("Rien n’attend d’approbation"));
    let request_id = hidden(&home.body, "request_id");
    let refused = alice
        .post(
            "/portal/network",
            &[
                ("programme_id", &fund.programme),
                ("period", "2099-01"),
                ("request_id", &request_id),
            ],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let at_period = refused.body.split("id=\"period-error\"").nth(1).unwrap();
    assert!(
        at_period.contains("n’est pas encore terminée"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"2099-01\""));
    assert!(
        refused
            .body
            .contains("Aucune campagne de transfert planifiée")
    );

    let fields = [
        ("programme_id", fund.programme.as_str()),
        ("period", "2026-09"),
        ("request_id", request_id.as_str()),
    ];
    let planned = alice.post("/portal/network", &fields, true).await;
    assert_eq!(planned.status, 303, "{}", planned.body);
    assert!(planned.location.starts_with("/portal/network/runs/"));
    let again = alice.post("/portal/network", &fields, true).await;
    assert_eq!(
        again.location, planned.location,
        "a double click plans once"
    );
    let run_id = planned
        .location
        .trim_start_matches("/portal/network/runs/")
        .to_owned();
    assert_eq!(run_status(&server, &fund, &run_id).await, "planned");
    let home = alice.get("/portal/network").await;
    assert!(home.body.contains(&planned.location));
    assert!(home.body.contains("Planifiée, non exécutée"));

    let page = alice.get(&planned.location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let burkina_row = page.body.split("mutuelle-education-bf").nth(1).unwrap();
    let burkina_row = burkina_row.split("</tr>").next().unwrap();
    assert!(
        burkina_row.contains("Toutes les conditions remplies"),
        "{burkina_row}"
    );
    assert!(burkina_row.contains("600,00\u{a0}€"), "{burkina_row}");
    let mesp_row = page.body.split(">mesp<").nth(1).unwrap();
    let mesp_row = mesp_row.split("</tr>").next().unwrap();
    assert!(mesp_row.contains("Retenu"), "{mesp_row}");
    assert!(
        mesp_row.contains("La mutuelle fonctionne"),
        "the failing condition is named: {mesp_row}"
    );
    assert!(mesp_row.contains("400,00\u{a0}€"), "{mesp_row}");
    assert!(page.body.contains("Demander l’exécution"));

    let execution = format!("{}/execution", planned.location);
    let request_id = hidden(&page.body, "request_id");
    let proposed = alice
        .post(&execution, &[("request_id", &request_id)], true)
        .await;
    assert_eq!(
        (proposed.status, proposed.location.as_str()),
        (303, planned.location.as_str()),
        "{}",
        proposed.body
    );
    assert_eq!(run_status(&server, &fund, &run_id).await, "planned");
    let page = alice.get(&planned.location).await;
    assert!(
        page.body
            .contains("vous ne pouvez pas l’approuver vous-même"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("/approval\""),
        "no approval form for its proposer"
    );
    let proposal = proposal_on(&page.body);
    let approval = format!("/portal/network/proposals/{proposal}/approval");
    let refused = alice.post(&approval, &[], true).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("vous ne pouvez pas l’approuver vous-même")
    );
    assert_eq!(run_status(&server, &fund, &run_id).await, "planned");
    // Not executed yet: no payment file.
    let early = alice
        .get(&format!("{}/payment-file", planned.location))
        .await;
    assert_eq!(early.status, 409);
    assert!(early.body.contains("pas encore exécutée"), "{}", early.body);

    let page = bob.get(&planned.location).await;
    assert!(page.body.contains(&approval), "{}", page.body);
    assert!(page.body.contains("Approuver et exécuter la campagne"));
    let approved = bob.post(&approval, &[], true).await;
    assert_eq!(
        (approved.status, approved.location.as_str()),
        (303, planned.location.as_str()),
        "{}",
        approved.body
    );
    assert_eq!(run_status(&server, &fund, &run_id).await, "executed");
    let (_, decided) = server
        .get(&format!("/v1/proposals/{proposal}"), &fund.admin)
        .await;
    assert_eq!(decided["decided_by"], "bob@network.example", "{decided}");
    // A second click on the approval just shows the run.
    let twice = bob.post(&approval, &[], true).await;
    assert_eq!(twice.location, planned.location);

    let page = alice.get(&planned.location).await;
    assert!(page.body.contains("Exécutée"));
    let file = alice
        .get(&format!("{}/payment-file", planned.location))
        .await;
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(file.body.contains("pain.001.001.09"), "{}", file.body);
    assert!(file.body.contains("ECOCBFBF"), "{}", file.body);
    assert!(file.body.contains(">600.00<"), "{}", file.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_admins_plan_approve_and_execute_a_run() {
    two_admins_plan_approve_and_execute_a_run(support::four_eyes_server(Engine::Sqlite).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_admins_plan_approve_and_execute_a_run() {
    two_admins_plan_approve_and_execute_a_run(support::four_eyes_server(Engine::Postgres).await)
        .await;
}

async fn a_payment_file_refused_names_the_mutual_without_a_bank_account(server: TestServer) {
    // Proves the payment file's 409 `bank_account_missing` is a readable page naming the mutual,
    // on the run's page, in the visitor's language; and that with one admin required the
    // execution form executes at once.
    let fund = fund(&server).await;
    burkina_ready_for_september(&server, &fund, "100.00").await;
    let mut admin = signed_in(&server, "admin@network.example", NETWORK_ID, "admin").await;
    let home = admin.get("/portal/network").await;
    let fields = [
        ("programme_id", fund.programme.as_str()),
        ("period", "2026-09"),
        ("request_id", &hidden(&home.body, "request_id")),
    ];
    let planned = admin.post("/portal/network", &fields, true).await;
    assert_eq!(planned.status, 303, "{}", planned.body);
    let page = admin.get(&planned.location).await;
    assert!(page.body.contains("Exécuter la campagne"), "{}", page.body);
    let executed = admin
        .post(
            &format!("{}/execution", planned.location),
            &[("request_id", &hidden(&page.body, "request_id"))],
            true,
        )
        .await;
    assert_eq!(executed.status, 303, "{}", executed.body);
    let run_id = planned.location.trim_start_matches("/portal/network/runs/");
    assert_eq!(run_status(&server, &fund, run_id).await, "executed");
    let refused = admin
        .get(&format!("{}/payment-file", planned.location))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("aucun compte bancaire approuvé pour mutuelle-education-bf"),
        "{}",
        refused.body
    );
    let (status, problem) = server
        .get(
            &format!("/v1/transfer-runs/{run_id}/payment-file"),
            &fund.admin,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("bank_account_missing"))
    );
}

async fn contributors_and_mutuals_are_refused_the_network_pages(server: TestServer) {
    // Proves the network's pages answer as the API does: a union's treasurer and a mutual's
    // manager get 403 on the network's home, a run's page, its payment file and the plan form
    // (nothing planned); an admin's form without its CSRF token is refused (403), one without its
    // request id is answered 400 (nothing planned either).
    let fund = fund(&server).await;
    let run = burkina_paid_for_september(&server, &fund).await;
    let run_id = run["run_id"].as_str().unwrap().to_owned();
    for (email, organisation, role) in [
        ("t@csq.example", fund.csq.as_str(), "contributor"),
        ("m@burkina.example", fund.burkina.as_str(), "beneficiary"),
    ] {
        let mut browser = signed_in(&server, email, organisation, role).await;
        for path in [
            "/portal/network".to_owned(),
            format!("/portal/network/runs/{run_id}"),
            format!("/portal/network/runs/{run_id}/payment-file"),
        ] {
            let answer = browser.get(&path).await;
            assert_eq!(answer.status, 403, "{role} {path}: {}", answer.body);
            assert!(
                answer.body.contains("Votre rôle ne donne pas accès"),
                "{}",
                answer.body
            );
        }
        let answer = browser
            .post(
                "/portal/network",
                &[
                    ("programme_id", &fund.programme),
                    ("period", "2026-10"),
                    ("request_id", "forbidden"),
                ],
                true,
            )
            .await;
        assert_eq!(answer.status, 403, "{role}");
        let (status, _) = server
            .get(
                &format!("/v1/transfer-runs/{run_id}"),
                &token(
                    organisation,
                    if role == "contributor" {
                        Role::Contributor
                    } else {
                        Role::Beneficiary
                    },
                ),
            )
            .await;
        assert_eq!(status, 403);
    }
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let home = admin.get("/portal/network").await;
    assert_eq!(home.status, 200);
    assert_eq!(
        home.body.matches("/portal/network/runs/").count(),
        1,
        "only the one run: {}",
        home.body
    );
    let answer = admin
        .post(
            "/portal/network",
            &[
                ("programme_id", &fund.programme),
                ("period", "2026-10"),
                ("request_id", "no-csrf"),
            ],
            false,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("Formulaire refusé"));
    // A form whose one-off request id was removed: 400, nothing planned.
    let answer = admin
        .post(
            "/portal/network",
            &[
                ("programme_id", &fund.programme),
                ("period", "2026-10"),
                ("request_id", ""),
            ],
            true,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("Formulaire incompris"),
        "{}",
        answer.body
    );
    let home = admin.get("/portal/network").await;
    assert_eq!(home.body.matches("/portal/network/runs/").count(), 1);
}

async fn the_network_verifies_and_rejects_the_mutuals_facts(server: TestServer) {
    // Proves the facts-to-verify page: a mutual's submitted facts are listed with a link to their
    // evidence (the document's own bytes); a rejection without a reason is refused at its fact's
    // field, nothing decided; with a reason it is recorded; a verification is recorded; decided
    // facts leave the list.
    use base64::Engine as _;
    let fund = fund(&server).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let document = b"%PDF-1.7\nminutes of the general assembly\n".to_vec();
    let mut ids = Vec::new();
    for (code, value, evidence) in [
        ("mutual_operational", json!(true), Some(&document)),
        ("public_cofinancing_percent", json!("7"), None),
    ] {
        let mut body = json!({"code": code, "value": value, "as_of": "2026-01-01",
                              "evidence_reference": "AG 2026"});
        if let Some(evidence) = evidence {
            body["evidence_document"] =
                json!(base64::engine::general_purpose::STANDARD.encode(evidence));
        }
        let (status, fact) = server
            .post(
                &format!("/v1/organisations/{}/facts", fund.burkina),
                &burkina,
                &format!("fact-{code}"),
                &body,
            )
            .await;
        assert_eq!(status, 201, "{fact}");
        assert_eq!(fact["status"], "submitted");
        ids.push(fact["id"].as_str().unwrap().to_owned());
    }
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let page = admin.get("/portal/network/facts").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Mutuelle de l&#x27;éducation de base")
            || page.body.contains("Mutuelle de l’éducation"),
        "{}",
        page.body
    );
    assert!(page.body.contains("La mutuelle fonctionne"));
    assert!(page.body.contains("Cofinancement public (%)"));
    let base = format!("/portal/network/organisations/{}/facts", fund.burkina);
    let evidence = format!("{base}/{}/evidence", ids[0]);
    assert!(page.body.contains(&evidence), "{}", page.body);
    assert!(!page.body.contains(&format!("{base}/{}/evidence", ids[1])));
    let download = admin.get(&evidence).await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body.as_bytes(), document.as_slice());

    let request_id = hidden(&page.body, "request_id");
    let rejection = format!("{base}/{}/rejection", ids[1]);
    let refused = admin
        .post(
            &rejection,
            &[("request_id", &format!("{request_id}-r")), ("reason", "  ")],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let at_field = refused
        .body
        .split(&format!("id=\"reason-{}-error\"", ids[1]))
        .nth(1)
        .unwrap();
    assert!(at_field.starts_with(">Donnez un motif"), "{at_field}");
    let facts_path = format!("/v1/organisations/{}/facts", fund.burkina);
    let (_, facts) = server.get(&facts_path, &fund.admin).await;
    assert_eq!(facts[1]["status"], "submitted", "{facts}");

    let rejected = admin
        .post(
            &rejection,
            &[
                ("request_id", &format!("{request_id}-r2")),
                ("reason", "the minutes do not show public funding"),
            ],
            true,
        )
        .await;
    assert_eq!(
        (rejected.status, rejected.location.as_str()),
        (303, "/portal/network/facts"),
        "{}",
        rejected.body
    );
    let verified = admin
        .post(
            &format!("{base}/{}/verification", ids[0]),
            &[("request_id", &format!("{request_id}-v"))],
            true,
        )
        .await;
    assert_eq!(verified.status, 303, "{}", verified.body);
    let (_, facts) = server.get(&facts_path, &fund.admin).await;
    assert_eq!(facts[0]["status"], "verified", "{facts}");
    assert_eq!(facts[1]["status"], "rejected", "{facts}");
    assert_eq!(
        facts[1]["rejection_reason"],
        "the minutes do not show public funding"
    );
    let page = admin.get("/portal/network/facts").await;
    assert!(
        page.body.contains("Aucun fait n’attend de vérification"),
        "{}",
        page.body
    );
    // A mutual is refused the page.
    let mut mutual = signed_in(&server, "m@burkina.example", &fund.burkina, "beneficiary").await;
    let answer = mutual.get("/portal/network/facts").await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}

async fn an_organisation_s_versions_are_shown_and_added_with_errors_at_their_fields(
    server: TestServer,
) {
    // Proves the organisations' pages: the list links each organisation; its page shows the
    // version in force and the history; a version dated before the one in force is refused at
    // its date field and a members count that is not a number at its own (nothing recorded);
    // a right one is recorded once (a double click) with who changed what; a contributor is
    // refused these pages.
    let fund = fund(&server).await;
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let list = admin.get("/portal/network/organisations").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let path = format!("/portal/network/organisations/{}", fund.mesp);
    assert!(list.body.contains(&path), "{}", list.body);
    assert!(list.body.contains("Mutuelle (bénéficiaire)"));
    let page = admin.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Informations en vigueur (version 0)"));
    assert!(
        page.body.contains(&ledger_web::format::integer(
            4000,
            ledger_web::i18n::Lang::Fr
        )),
        "{}",
        page.body
    );
    let request_id = hidden(&page.body, "request_id");
    let history = format!("/v1/organisations/{}/history", fund.mesp);
    let (_, before) = server.get(&history, &fund.admin).await;

    let refused = admin
        .post(
            &path,
            &[
                ("request_id", &request_id),
                ("effective_from", "2026-01-01"),
                ("covered_members", "beaucoup"),
            ],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let at = refused
        .body
        .split("id=\"covered_members-error\"")
        .nth(1)
        .unwrap();
    assert!(at.contains("nombre entier"), "{at}");
    assert!(refused.body.contains("value=\"beaucoup\""));
    let fields = [
        ("request_id", request_id.as_str()),
        ("effective_from", "2026-03-01"),
        ("contact", "Secrétariat, Kinshasa"),
        ("covered_members", "4500"),
    ];
    let done = admin.post(&path, &fields, true).await;
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, path.as_str()),
        "{}",
        done.body
    );
    let again = admin.post(&path, &fields, true).await;
    assert_eq!(again.status, 303);
    let (_, after) = server.get(&history, &fund.admin).await;
    assert_eq!(
        after["versions"].as_array().unwrap().len(),
        before["versions"].as_array().unwrap().len() + 1,
        "{after}"
    );
    let page = admin.get(&path).await;
    assert!(
        page.body.contains("Informations en vigueur (version 1)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Secrétariat, Kinshasa"));
    assert!(
        page.body.contains("contact, membres couverts"),
        "{}",
        page.body
    );
    assert!(page.body.contains("a@network.example"));
    let earlier = admin
        .post(
            &path,
            &[
                ("request_id", "another"),
                ("effective_from", "2026-02-01"),
                ("covered_members", "4600"),
            ],
            true,
        )
        .await;
    assert_eq!(earlier.status, 422, "{}", earlier.body);
    assert!(
        earlier.body.contains("id=\"effective_from-error\""),
        "{}",
        earlier.body
    );

    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    assert_eq!(union.get("/portal/network/organisations").await.status, 403);
    assert_eq!(union.get(&path).await.status, 403);
}

async fn held_funds_users_and_the_security_record(server: TestServer) {
    // Proves the remaining network pages: held funds list what is held for a mutual with the
    // conditions it fails, a return without a reason is refused at its row and one with a reason
    // returns it (one admin required here); an invitation with a bad email is refused at its
    // field, a right one shows its token once (which then sets a password), a user is disabled
    // (its sign-in then refused); the security record lists the invitation; a contributor is
    // refused all three pages.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let page = admin.get("/portal/network/held").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mesp = page.body.split("<strong>MESP</strong>").nth(1).unwrap();
    let mesp = mesp.split("</li>").next().unwrap();
    assert!(mesp.contains("400,00\u{a0}€"), "{mesp}");
    assert!(mesp.contains("La mutuelle fonctionne"), "{mesp}");
    assert!(
        !page.body.contains("<strong>Mutuelle de l"),
        "{}",
        page.body
    );
    let request_id = hidden(&page.body, "request_id");
    let action = format!(
        "/portal/network/held/{}/{}/return",
        fund.programme, fund.mesp
    );
    let refused = admin
        .post(
            &action,
            &[("request_id", &request_id), ("reason", "")],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("Donnez un motif"), "{}", refused.body);
    let returned = admin
        .post(
            &action,
            &[
                ("request_id", &format!("{request_id}-2")),
                ("reason", "MESP left the network"),
            ],
            true,
        )
        .await;
    assert_eq!(
        (returned.status, returned.location.as_str()),
        (303, "/portal/network/held"),
        "{}",
        returned.body
    );
    let page = admin.get("/portal/network/held").await;
    assert!(page.body.contains("Rien n’est retenu"), "{}", page.body);

    let users = admin.get("/portal/network/users").await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(users.body.contains("a@network.example"));
    let refused = admin
        .post(
            "/portal/network/users",
            &[
                ("email", "not an email"),
                ("organisation", &fund.csq),
                ("role", "contributor"),
            ],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let at = refused
        .body
        .split("id=\"invite-email-error\"")
        .nth(1)
        .unwrap();
    assert!(at.contains("Cette adresse n’est pas valable"), "{at}");
    let invited = admin
        .post(
            "/portal/network/users",
            &[
                ("email", "new@csq.example"),
                ("organisation", &fund.csq),
                ("role", "contributor"),
            ],
            true,
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let token = invited
        .body
        .split("<code class=\"token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let (status, body) = post_plain(
        &server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": token, "password": TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let user_id = body["user"]["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body["id"].as_str().unwrap().to_owned());
    let users = admin.get("/portal/network/users").await;
    assert!(users.body.contains("new@csq.example"));
    let disabled = admin
        .post(
            &format!("/portal/network/users/{user_id}/disable"),
            &[],
            true,
        )
        .await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    let users = admin.get("/portal/network/users").await;
    assert!(users.body.contains("Désactivé"), "{}", users.body);
    let mut gone = Browser::new(&server);
    assert_eq!(
        gone.sign_in("new@csq.example", TEST_PASSWORD).await.status,
        401
    );

    let security = admin
        .get("/portal/network/security?kind=invitation_created")
        .await;
    assert_eq!(security.status, 200, "{}", security.body);
    assert!(security.body.contains("invitation_created"));
    assert!(
        security.body.contains("a@network.example"),
        "{}",
        security.body
    );
    assert!(!security.body.contains("<code>sign_in</code>"));

    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    for path in [
        "/portal/network/held",
        "/portal/network/users",
        "/portal/network/security",
    ] {
        assert_eq!(union.get(path).await.status, 403, "{path}");
    }
}

async fn a_fee_schedule_is_recorded_from_the_version_form_and_a_bad_one_refused_at_its_field(
    server: TestServer,
) {
    // Proves the version form offers a mutual's expected bank fees, prefilled from the version in
    // force (none for a union); a negative or non-numeric fixed fee and a percentage out of range
    // or not a number are refused at their own field with nothing recorded; the form without its
    // CSRF token is refused; a right schedule is what the API's history shows, and the page shows
    // each version's schedule.
    let fund = fund(&server).await;
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let path = format!("/portal/network/organisations/{}", fund.burkina);
    let page = admin.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(r#"name="fee_fixed" inputmode="decimal" value="15.00""#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"name="fee_percent" inputmode="decimal" value="0.5""#)
    );
    let mesp = admin
        .get(&format!("/portal/network/organisations/{}", fund.mesp))
        .await;
    assert!(
        mesp.body
            .contains(r#"name="fee_fixed" inputmode="decimal" value="""#),
        "{}",
        mesp.body
    );
    assert!(mesp.body.contains("aucun (le barème du programme"));
    let union = admin
        .get(&format!("/portal/network/organisations/{}", fund.csq))
        .await;
    assert_eq!(union.status, 200);
    assert!(!union.body.contains("fee_fixed"), "{}", union.body);

    let request_id = hidden(&page.body, "request_id");
    let history = format!("/v1/organisations/{}/history", fund.burkina);
    let (_, before) = server.get(&history, &fund.admin).await;
    for (fixed, percent, at, other) in [
        ("-1.00", "0.5", "fee_fixed", "fee_percent"),
        ("douze", "0.5", "fee_fixed", "fee_percent"),
        ("12.00", "150", "fee_percent", "fee_fixed"),
        ("12.00", "un demi", "fee_percent", "fee_fixed"),
    ] {
        let refused = admin
            .post(
                &path,
                &[
                    ("request_id", &request_id),
                    ("effective_from", "2026-03-01"),
                    ("fee_fixed", fixed),
                    ("fee_percent", percent),
                ],
                true,
            )
            .await;
        assert_eq!(refused.status, 422, "{fixed} {percent}: {}", refused.body);
        assert!(
            refused.body.contains(&format!("id=\"{at}-error\"")),
            "{fixed} {percent}: {}",
            refused.body
        );
        assert!(!refused.body.contains(&format!("id=\"{other}-error\"")));
        assert!(refused.body.contains(&format!("value=\"{fixed}\"")));
    }
    let fields = [
        ("request_id", request_id.as_str()),
        ("effective_from", "2026-03-01"),
        ("fee_fixed", "12.50"),
        ("fee_percent", "0.75"),
    ];
    let forged = admin.post(&path, &fields, false).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let (_, unchanged) = server.get(&history, &fund.admin).await;
    assert_eq!(unchanged, before);

    let done = admin.post(&path, &fields, true).await;
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, path.as_str()),
        "{}",
        done.body
    );
    let (_, after) = server.get(&history, &fund.admin).await;
    let versions = after["versions"].as_array().unwrap();
    assert_eq!(
        versions.len(),
        before["versions"].as_array().unwrap().len() + 1
    );
    let recorded = versions.last().unwrap();
    assert_eq!(
        recorded["fee_schedule"],
        json!({"fixed": {"amount": "12.50", "currency": "EUR"}, "percent": "0.75"}),
        "{after}"
    );
    assert_eq!(recorded["changed_fields"], json!(["fee_schedule"]));
    let page = admin.get(&path).await;
    assert!(
        page.body
            .contains(r#"name="fee_fixed" inputmode="decimal" value="12.50""#),
        "{}",
        page.body
    );
    let lang = ledger_web::i18n::Lang::Fr;
    for (fixed, percent) in [("12.50", "0,75"), ("15.00", "0,5")] {
        let shown = format!(
            "{} + {percent}\u{a0}% du montant envoyé",
            ledger_web::format::money(fixed, "EUR", lang)
        );
        assert!(page.body.contains(&shown), "{shown}: {}", page.body);
    }
}

async fn a_version_changing_only_the_name_records_no_fee_schedule(server: TestServer) {
    // Proves, over HTTP, the version form's fee fields left as prefilled from the schedule in
    // force change nothing: a version changing only the name is recorded (its name shown) with no
    // fee schedule of its own; fee fields changed then record a schedule with those values; a
    // percentage that is not one is refused at its field (422) with nothing recorded.
    let fund = fund(&server).await;
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let path = format!("/portal/network/organisations/{}", fund.burkina);
    let history = format!("/v1/organisations/{}/history", fund.burkina);
    // The versions that recorded a fee schedule (each version shows the one in force).
    let schedules = |history: &serde_json::Value| {
        history["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|version| {
                version["changed_fields"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("fee_schedule"))
            })
            .count()
    };
    let (_, before) = server.get(&history, &fund.admin).await;
    let versions_before = before["versions"].as_array().unwrap().len();
    let schedules_before = schedules(&before);
    let in_force = before["versions"].as_array().unwrap().last().unwrap()["fee_schedule"].clone();
    assert_eq!(
        in_force,
        json!({"fixed": {"amount": "15.00", "currency": "EUR"}, "percent": "0.5"}),
        "{before}"
    );

    let page = admin.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let prefilled = |name: &str| {
        page.body
            .split(&format!("name=\"{name}\" inputmode=\"decimal\" value=\""))
            .nth(1)
            .unwrap_or_else(|| panic!("no {name} in {}", page.body))
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    let (fixed, percent) = (prefilled("fee_fixed"), prefilled("fee_percent"));
    assert_eq!((fixed.as_str(), percent.as_str()), ("15.00", "0.5"));
    let (fixed_was, percent_was) = (
        hidden(&page.body, "fee_fixed_was"),
        hidden(&page.body, "fee_percent_was"),
    );
    let request_id = hidden(&page.body, "request_id");
    let renamed = admin
        .post(
            &path,
            &[
                ("request_id", &request_id),
                ("effective_from", "2026-03-01"),
                ("name", "Mutuelle de l’éducation de base du Burkina"),
                ("fee_fixed", &fixed),
                ("fee_percent", &percent),
                ("fee_fixed_was", &fixed_was),
                ("fee_percent_was", &percent_was),
            ],
            true,
        )
        .await;
    assert_eq!(
        (renamed.status, renamed.location.as_str()),
        (303, path.as_str()),
        "{}",
        renamed.body
    );
    let (_, after) = server.get(&history, &fund.admin).await;
    let versions = after["versions"].as_array().unwrap();
    assert_eq!(versions.len(), versions_before + 1, "{after}");
    let recorded = versions.last().unwrap();
    assert_eq!(recorded["changed_fields"], json!(["name"]), "{after}");
    assert_eq!(recorded["fee_schedule"], in_force, "{after}");
    assert_eq!(schedules(&after), schedules_before, "{after}");
    let page = admin.get(&path).await;
    assert!(
        page.body
            .contains("Mutuelle de l’éducation de base du Burkina"),
        "{}",
        page.body
    );

    let request_id = hidden(&page.body, "request_id");
    let refused = admin
        .post(
            &path,
            &[
                ("request_id", &request_id),
                ("effective_from", "2026-04-01"),
                ("fee_fixed", "18.00"),
                ("fee_percent", "beaucoup"),
                ("fee_fixed_was", &fixed_was),
                ("fee_percent_was", &percent_was),
            ],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"fee_percent-error\""),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("id=\"fee_fixed-error\""));
    let (_, unchanged) = server.get(&history, &fund.admin).await;
    assert_eq!(unchanged, after);

    let changed = admin
        .post(
            &path,
            &[
                ("request_id", &format!("{request_id}-2")),
                ("effective_from", "2026-04-01"),
                ("fee_fixed", "18.00"),
                ("fee_percent", &percent),
                ("fee_fixed_was", &fixed_was),
                ("fee_percent_was", &percent_was),
            ],
            true,
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let (_, last) = server.get(&history, &fund.admin).await;
    let versions = last["versions"].as_array().unwrap();
    assert_eq!(versions.len(), versions_before + 2, "{last}");
    assert_eq!(schedules(&last), schedules_before + 1, "{last}");
    assert_eq!(
        versions.last().unwrap()["changed_fields"],
        json!(["fee_schedule"])
    );
    assert_eq!(
        versions.last().unwrap()["fee_schedule"],
        json!({"fixed": {"amount": "18.00", "currency": "EUR"}, "percent": "0.5"}),
        "{last}"
    );
}

async fn the_union_s_batches_page_back_to_the_oldest(server: TestServer) {
    // Proves the union's home lists its newest 50 batches, newest first, with an "Older" link
    // when there are more; following it shows the rest (the oldest, no batch twice) with a link
    // back to the newest; a cursor that is not one the list gave out is a 4xx error page, not a
    // 500.
    let fund = fund(&server).await;
    let contributor = token(&fund.csq, Role::Contributor);
    let mut submitted = Vec::new();
    for n in 0..51 {
        let (status, body) = server
            .post(
                "/v1/contribution-batches",
                &contributor,
                &format!("paged-batch-{n}"),
                &json!({"programme_id": fund.programme, "period": "2026-09", "lines": [
                    {"reference": format!("section-{n}"), "members": 1, "amount": "1.00", "kind": "solidarity"}]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        submitted.push(body["id"].as_str().unwrap().to_owned());
    }
    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let first = union.get("/portal").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let newest = linked(&first.body, "<td><a href=\"/portal/batches/");
    assert_eq!(newest.len(), 50);
    let newest_first: Vec<String> = submitted.iter().rev().take(50).cloned().collect();
    assert_eq!(newest, newest_first);
    assert!(!first.body.contains("Retour aux plus récents"));
    let older = older_link(&first.body).unwrap_or_else(|| panic!("{}", first.body));
    assert!(older.starts_with("/portal?cursor="), "{older}");
    let second = union.get(&older).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let rest = linked(&second.body, "<td><a href=\"/portal/batches/");
    assert_eq!(rest, [submitted[0].clone()], "{}", second.body);
    assert!(!newest.contains(&rest[0]));
    assert_eq!(older_link(&second.body), None);
    assert!(second.body.contains("Retour aux plus récents"));

    let garbage = union.get("/portal?cursor=not-a-cursor").await;
    assert!(
        (400..500).contains(&garbage.status),
        "{}: {}",
        garbage.status,
        garbage.body
    );
    assert!(
        garbage.body.contains("Demande non comprise"),
        "{}",
        garbage.body
    );
}

/// Records the `n`-th run of September (each with its own idempotency key).
async fn plan_run(server: &TestServer, fund: &Fund, n: usize) {
    let (status, body) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            &format!("paged-run-{n}"),
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn the_network_s_runs_page_back_to_the_oldest(server: TestServer) {
    // Proves the network's home lists the newest 50 runs with an "Older" link when there are
    // more; following it shows the rest with a link back to the newest; a garbage cursor is a
    // 4xx error page.
    let fund = fund(&server).await;
    for n in 0..51 {
        plan_run(&server, &fund, n).await;
    }
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let first = admin.get("/portal/network").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let row = "<td class=\"nowrap\"><a href=\"/portal/network/runs/";
    let newest = linked(&first.body, row);
    assert_eq!(newest.len(), 50);
    let older = older_link(&first.body).unwrap_or_else(|| panic!("{}", first.body));
    assert!(older.starts_with("/portal/network?cursor="), "{older}");
    let second = admin.get(&older).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let rest = linked(&second.body, row);
    assert_eq!(rest.len(), 1, "{}", second.body);
    assert!(!newest.contains(&rest[0]));
    assert_eq!(older_link(&second.body), None);
    assert!(second.body.contains("Retour aux plus récents"));

    let garbage = admin.get("/portal/network?cursor=%00%ff").await;
    assert!(
        (400..500).contains(&garbage.status),
        "{}: {}",
        garbage.status,
        garbage.body
    );
}

async fn the_security_record_and_the_users_page_back_to_the_newest(server: TestServer) {
    // Proves the security record pages 100 events at a time and the users page 50 users at a
    // time with "Older" links (a kind chosen stays chosen on the security record's older pages)
    // and a link back to the newest on the older pages, every event and user shown once; a
    // cursor the list did not give is the 422 page on both.
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    for n in 0..101 {
        support::portal::invite(
            &server,
            &format!("user-{n:03}@paged.example"),
            NETWORK_ID,
            "auditor",
        )
        .await;
    }
    let events = |body: &str| {
        body.split("<tr>\n    <td>")
            .skip(1)
            .map(|row| row.split("</tr>").next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let record = "/portal/network/security";
    let all = pages_of(&mut admin, record, record, events).await;
    let counted: Vec<usize> = all.iter().map(Vec::len).collect();
    // The admin's invitation, its acceptance and sign-in, and 101 invitations, the newest first:
    // the admin's sign-in, before the invitations, is on the older page.
    assert_eq!(counted.len(), 2, "{all:?}");
    assert_eq!(counted[0], 100, "{all:?}");
    assert!(counted[1] >= 4, "{all:?}");
    let signed_in_on =
        |page: &Vec<String>| page.iter().any(|row| row.contains("<code>sign_in</code>"));
    assert!(!signed_in_on(&all[0]) && signed_in_on(&all[1]), "{all:?}");
    let first = admin.get(record).await;
    assert!(
        first.body.contains("rel=\"next\">Plus anciens</a>"),
        "{}",
        first.body
    );
    let invited = "/portal/network/security?kind=invitation_created";
    let chosen = pages_of(&mut admin, invited, invited, events).await;
    let counted: Vec<usize> = chosen.iter().map(Vec::len).collect();
    assert_eq!(counted, [100, 2]);
    assert!(
        chosen
            .iter()
            .flatten()
            .all(|row| row.contains("Utilisateur invité <code>invitation_created</code>")),
        "{chosen:?}"
    );
    // The kind is chosen from a list naming each kind in the reader's language.
    let filtered = admin.get(invited).await;
    assert!(
        filtered
            .body
            .contains("<option value=\"invitation_created\" selected>Utilisateur invité</option>"),
        "{}",
        filtered.body
    );

    let users = "/portal/network/users";
    let emails = |body: &str| {
        body.split("<tr>\n    <td>")
            .skip(1)
            .map(|row| row.split('<').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let listed = pages_of(&mut admin, users, users, emails).await;
    assert_eq!(sizes(&listed), [50, 50, 2]);
    // Users are listed as they were invited, so the links say "next page" and "first page".
    let first = admin.get(users).await;
    assert!(
        first.body.contains("rel=\"next\">Page suivante</a>"),
        "{}",
        first.body
    );
    let older = support::portal::older_link(&first.body).unwrap();
    let second = admin.get(&older).await;
    assert!(
        second.body.contains(">Retour à la première page</a>"),
        "{}",
        second.body
    );
    assert!(listed[0].contains(&"a@network.example".to_owned()));
    assert!(listed[2].contains(&"user-100@paged.example".to_owned()));

    for path in [record, users] {
        let garbage = admin.get(&format!("{path}?cursor=c1zz")).await;
        assert_eq!(garbage.status, 422, "{path}: {}", garbage.body);
    }
}

async fn the_organisations_back_to_the_newest(server: TestServer) {
    // Proves the organisations page lists 50 organisations a page with "Older" links and a link
    // back to the newest, each organisation once; a cursor the list did not give is the 422 page.
    let fund = fund(&server).await;
    for n in 0..48 {
        server
            .organisation(&format!("paged-{n:02}"), "contributor", "FR", "EUR", 10)
            .await;
    }
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let path = "/portal/network/organisations";
    let organisations = |body: &str| linked(body, "<td><a href=\"/portal/network/organisations/");
    let listed = pages_of(&mut admin, path, path, organisations).await;
    let (_, registered) = server
        .get("/v1/organisations?limit=1000", &fund.admin)
        .await;
    let registered = registered["items"].as_array().unwrap().len();
    assert!(registered > 50, "{registered}");
    assert_eq!(sizes(&listed), [50, registered - 50]);
    assert!(listed.iter().flatten().any(|id| *id == fund.mesp));
    let garbage = admin.get(&format!("{path}?cursor=c1zz")).await;
    assert_eq!(garbage.status, 422, "{}", garbage.body);
}

async fn the_proposals_back_to_the_newest_keeping_the_runs_page(server: TestServer) {
    // Proves the home page's proposals awaiting a second admin are paged 50 at a time under their
    // own cursor (`proposals`) with "Older" links and a link back to the newest, each proposal
    // once; the runs' "Older" link keeps the proposals' page and the proposals' links keep the
    // runs'; a proposals cursor the list did not give is the 422 page.
    let fund = fund(&server).await;
    for n in 0..51 {
        plan_run(&server, &fund, n).await;
        let (status, body) = server
            .post(
                &format!("/v1/organisations/{NETWORK_ID}/bank-accounts"),
                &fund.admin,
                &format!("paged-account-{n}"),
                &json!({"holder_name": "Education and Solidarity Network", "iban": "FR14 2004 1010 0505 0001 3M02 606",
                        "bic": "PSSTFRPPPAR", "currency": "EUR"}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let mut admin = signed_in(&server, "a@network.example", NETWORK_ID, "admin").await;
    let proposals = |body: &str| linked(body, "action=\"/portal/network/proposals/");
    // The "Older" (runs) or "Next page" (proposals, oldest first) link of the list paged under
    // `name` (its cursor comes last; the other list's page is kept before it).
    let older = |body: &str, name: &str| {
        body.split("\" rel=\"next\">")
            .filter_map(|before| before.rsplit("href=\"").next())
            .map(|href| href.replace("&#x2f;", "/").replace("&amp;", "&"))
            .find(|href| {
                href.rsplit(['?', '&'])
                    .next()
                    .is_some_and(|last| last.starts_with(&format!("{name}=")))
            })
    };
    let first = admin.get("/portal/network").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let newest = proposals(&first.body);
    // Each proposal has two forms: approve and reject (or withdraw).
    assert_eq!(newest.len(), 50 * 2, "{}", first.body);
    assert!(!first.body.contains("Retour aux plus récents"));
    assert!(first.body.contains("rel=\"next\">Page suivante</a>"));
    assert!(first.body.contains("rel=\"next\">Plus anciens</a>"));
    let runs_older = older(&first.body, "cursor").unwrap_or_else(|| panic!("{}", first.body));
    assert!(
        runs_older.starts_with("/portal/network?cursor="),
        "{runs_older}"
    );
    let proposals_older =
        older(&first.body, "proposals").unwrap_or_else(|| panic!("{}", first.body));
    assert!(
        proposals_older.starts_with("/portal/network?proposals="),
        "{proposals_older}"
    );
    let second = admin.get(&proposals_older).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let rest = proposals(&second.body);
    assert_eq!(rest.len(), 2, "{}", second.body);
    assert!(!newest.contains(&rest[0]));
    assert_eq!(older(&second.body, "proposals"), None, "{}", second.body);
    assert!(
        second.body.contains(&back_to("/portal/network")),
        "{}",
        second.body
    );
    // The runs' older page keeps the proposals' page; its proposals' link back keeps the runs'.
    let runs_then = older(&second.body, "cursor").unwrap_or_else(|| panic!("{}", second.body));
    assert!(
        runs_then.starts_with(&format!("{proposals_older}&cursor=")),
        "{runs_then}"
    );
    let both = admin.get(&runs_then).await;
    assert_eq!(both.status, 200, "{}", both.body);
    assert_eq!(proposals(&both.body), rest);
    assert!(
        both.body.contains(&back_to(&proposals_older)),
        "{}",
        both.body
    );
    assert!(both.body.contains(&back_to(&runs_older)), "{}", both.body);
    let garbage = admin.get("/portal/network?proposals=c1zz").await;
    assert_eq!(garbage.status, 422, "{}", garbage.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_proposals_back_to_the_newest_keeping_the_runs_page() {
    the_proposals_back_to_the_newest_keeping_the_runs_page(
        support::four_eyes_server(Engine::Sqlite).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_proposals_back_to_the_newest_keeping_the_runs_page() {
    the_proposals_back_to_the_newest_keeping_the_runs_page(
        support::four_eyes_server(Engine::Postgres).await,
    )
    .await;
}

on_both_engines!(
    the_security_record_and_the_users_page_back_to_the_newest,
    the_organisations_back_to_the_newest,
    a_version_changing_only_the_name_records_no_fee_schedule,
    held_funds_users_and_the_security_record,
    a_fee_schedule_is_recorded_from_the_version_form_and_a_bad_one_refused_at_its_field,
    the_union_s_batches_page_back_to_the_oldest,
    the_network_s_runs_page_back_to_the_oldest,
    an_organisation_s_versions_are_shown_and_added_with_errors_at_their_fields,
    the_network_verifies_and_rejects_the_mutuals_facts,
    a_payment_file_refused_names_the_mutual_without_a_bank_account,
    contributors_and_mutuals_are_refused_the_network_pages,
);
