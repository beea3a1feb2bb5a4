//! The public site in a real browser (issue 20): headless Chromium, driven by Python Playwright
//! (`tests/browser/pages.py`, installed by `scripts/ensure-browser.sh`), against the real server
//! on a random port. Every public page in French, English and Spanish shows the figures this test
//! reads from the API, formatted per language; axe-core finds no serious or critical violation; a
//! hostile organisation name is shown as text; the language switch sticks. Never skipped: a
//! missing browser or Playwright fails the test.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use ledger_api::auth::Role;
use ledger_testkit::{Engine, OnEngine};
use ledger_web::format::money;
use ledger_web::i18n::Lang;
use serde_json::{Value, json};
use support::southern::{burkina_paid_for_september, fund};
use support::{NETWORK_ID, TestServer, today, token};

const HOSTILE_NAME: &str = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

/// One amount as each language writes it.
fn in_every_language(amount: &Value) -> BTreeMap<&'static str, Vec<String>> {
    let (amount, currency) = (
        amount["amount"].as_str().unwrap(),
        amount["currency"].as_str().unwrap(),
    );
    Lang::ALL
        .into_iter()
        .map(|lang| (lang.code(), vec![money(amount, currency, lang)]))
        .collect()
}

fn merge(
    mut into: BTreeMap<&'static str, Vec<String>>,
    more: BTreeMap<&'static str, Vec<String>>,
) -> BTreeMap<&'static str, Vec<String>> {
    for (lang, figures) in more {
        into.entry(lang).or_default().extend(figures);
    }
    into
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_pages_in_a_real_browser() {
    // Proves the browser checks on a fund with a paid, confirmed transfer, a held share,
    // a named and an unnamed union and a mutual with a hostile name.
    let server = TestServer::start(Engine::Sqlite).await;
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let (status, _) = server
        .post(
            &format!("/v1/organisations/{}/publication", fund.csq),
            &token(&fund.csq, Role::Contributor),
            "publish-csq",
            &json!({"published": true}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .post(
            "/v1/organisations",
            &fund.admin,
            "hostile",
            &json!({"slug": "hostile", "name": HOSTILE_NAME, "kind": "beneficiary", "country": "BF",
                    "currency": "XOF", "covered_members": 10}),
        )
        .await;
    assert_eq!(status, 201);
    // The mutual confirms what its bank credited.
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let (_, transfers) = server.get("/v1/transfers", &burkina).await;
    let transfer = transfers["items"][0].clone();
    let (status, confirmed) = server
        .post(
            &format!(
                "/v1/transfers/{}/confirmation",
                transfer["id"].as_str().unwrap()
            ),
            &burkina,
            "confirm",
            &json!({"received": transfer["expected_local"], "value_date": today(),
                    "bank_reference": "BOA-1"}),
        )
        .await;
    assert_eq!(status, 201, "{confirmed}");

    // The figures, as the API gives them.
    let (_, csq_tracing) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.csq),
            &fund.admin,
        )
        .await;
    let (_, network) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.mgen),
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(network["received_total"]["amount"], "0.00", "{network}");
    let home = merge(
        in_every_language(&csq_tracing["received_total"]),
        in_every_language(&csq_tracing["with_beneficiaries"]),
    );
    let mutual = merge(
        in_every_language(&transfer["amount"]),
        in_every_language(&transfer["expected_local"]),
    );
    let union = in_every_language(&csq_tracing["received_total"]);
    let expected = json!({
        "pages": {
            "/": home,
            "/mutuals": mutual,
            "/mutuals/mutuelle-education-bf": mutual,
            "/unions/csq": union,
            "/one-euro": in_every_language(&csq_tracing["received_total"]),
            "/open-data": {},
            "/verify": {},
        },
        "hostile": {"path": "/mutuals/hostile", "name": HOSTILE_NAME},
    });

    let printed = run_script(&server, "pages.py", expected).await;
    assert!(
        printed.contains("21 pages checked in 3 languages; 0 failures"),
        "{printed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_in_a_real_browser() {
    // Proves the portal's first journeys in a real browser, in French and English: a union's
    // treasurer signs in, submits a batch with an error (shown at its row) then correctly, a form
    // without its CSRF token is refused, another union's batch is refused, signing out works, and
    // axe-core is clean on every page. Set SCREENSHOTS=docs/screenshots to photograph the home.
    let server = TestServer::start(Engine::Sqlite).await;
    let fund = fund(&server).await;
    let period = today()[..7].to_owned();
    let (status, other) = server
        .post(
            "/v1/contribution-batches",
            &token(&fund.mgen, Role::Contributor),
            "mgen-batch",
            &json!({"programme_id": fund.programme, "period": period,
                    "lines": [{"reference": "MGEN Paris", "members": 7, "amount": "7.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let languages = [Lang::En, Lang::Fr];
    let mut users = serde_json::Map::new();
    let mut texts = serde_json::Map::new();
    for lang in languages {
        let email = format!("treasurer-{}@csq.example", lang.code());
        users.insert(
            lang.code().to_owned(),
            member(&server, &email, &fund.csq, "contributor").await,
        );
        texts.insert(
            lang.code().to_owned(),
            json!({
                "amount_error": ledger_web::i18n::message(lang, "batch-error-amount", &[]),
                "csrf_title": ledger_web::i18n::message(lang, "error-csrf-title", &[]),
                "amount": money("12.00", "EUR", lang),
            }),
        );
    }
    let expected = json!({
        "languages": languages.map(Lang::code),
        "users": users,
        "texts": texts,
        "period": period,
        "other_batch": other["id"],
    });
    let printed = run_script(&server, "portal.py", expected).await;
    assert!(
        printed.contains("portal journeys in 2 languages; 0 failures"),
        "{printed}"
    );
}

/// Invites `email` into `organisation` as `role` and sets its password, through the API.
async fn member(server: &TestServer, email: &str, organisation: &str, role: &str) -> Value {
    let (status, invited) = support::people::post_plain(
        server,
        "/v1/users",
        &token(NETWORK_ID, Role::Admin),
        &json!({"email": email, "organisation": organisation, "role": role}),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    let (status, accepted) = support::people::post_plain(
        server,
        "/v1/invitations/acceptance",
        "",
        &json!({"invitation_token": invited["invitation_token"],
                "password": support::people::TEST_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    json!({"email": email, "password": support::people::TEST_PASSWORD})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mutual_portal_in_a_real_browser() {
    // Proves a mutual's everyday work in a real browser, in French, English and Spanish (one
    // fresh fund each, as a transfer is confirmed once): its manager signs in, confirms the
    // transfer with an error first (shown at its field) then with a shortfall (topped up), files
    // a report, declares a fact with a PDF (shown awaiting verification), opens the printable
    // statement in XOF; another mutual's manager is refused the transfer; axe-core is clean.
    // Set SCREENSHOTS=docs/screenshots to photograph the mutual's home in each language.
    for lang in Lang::ALL {
        let server = TestServer::start(Engine::Sqlite).await;
        let fund = fund(&server).await;
        burkina_paid_for_september(&server, &fund).await;
        let (_, transfers) = server
            .get("/v1/transfers", &token(&fund.burkina, Role::Beneficiary))
            .await;
        let transfer = &transfers["items"][0];
        let expected_local = transfer["expected_local"]["amount"].as_str().unwrap();
        let received = expected_local.parse::<i64>().unwrap() - 10_000;
        let text = |key: &str| ledger_web::i18n::message(lang, key, &[]);
        let expected = json!({
            "lang": lang.code(),
            "mutual": member(&server, "gestion@mutuelle.bf", &fund.burkina, "beneficiary").await,
            "other": member(&server, "gestion@mesp.cd", &fund.mesp, "beneficiary").await,
            "transfer": transfer["id"],
            "expected_local": money(expected_local, "XOF", lang),
            "received": received.to_string(),
            "fees": "10000",
            "today": today(),
            "period": "2026-09",
            "report_amount": "200000",
            "currency": "XOF",
            "texts": {
                "received_error": text("mutual-error-received"),
                "confirmed": text("mutual-status-topped_up"),
                "report_submitted": text("mutual-report-status-submitted"),
                "fact_pending": text("mutual-fact-status-submitted"),
            },
        });
        let printed = run_script(&server, "portal_mutual.py", expected).await;
        assert!(
            printed.contains(&format!("mutual journey in {}; 0 failures", lang.code())),
            "{printed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_portal_in_a_real_browser() {
    // Proves the secretariat's journey in a real browser, in French, English and Spanish, on a
    // server where a second admin must approve an execution: one admin plans a run and requests
    // its execution, is told it cannot approve it and offered no approval; a second admin
    // approves it (the run is executed), verifies a mutual's fact, uploads the bank's camt.053
    // statement (a receipt booked, a line unmatched) and assigns the unmatched line to its
    // proposed batch; the first downloads the payment file; axe-core is clean on every network
    // page; a union's treasurer is refused the network's home. Set SCREENSHOTS=docs/screenshots
    // to photograph the network's home and its statement pages.
    let server = support::four_eyes_server(Engine::Sqlite).await;
    let fund = fund(&server).await;
    // A second admin's token, to approve the bank accounts proposed with the first's.
    let second = ledger_api::auth::mint_hs256(
        support::TEST_SECRET,
        &ledger_api::auth::Claims {
            sub: "second-admin".to_owned(),
            org: NETWORK_ID.to_owned(),
            role: Role::Admin,
            exp: support::now_seconds() + 3600,
            iat: Some(support::now_seconds()),
            iss: None,
            aud: None,
        },
    )
    .unwrap();
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
        let (status, approved) = support::people::post_plain(
            &server,
            &format!(
                "/v1/proposals/{}/approval",
                proposal["id"].as_str().unwrap()
            ),
            &second,
            &json!({}),
        )
        .await;
        assert_eq!(status, 200, "{approved}");
    }
    for (code, value) in [
        ("mutual_operational", json!(true)),
        ("public_cofinancing_percent", json!("5")),
    ] {
        support::southern::fact(&server, &fund, &fund.burkina, code, value, "2026-01-01").await;
    }
    let (status, _) = server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": "300.00", "reference": "sponsor"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut languages = serde_json::Map::new();
    for (index, lang) in Lang::ALL.into_iter().enumerate() {
        let code = lang.code();
        // Each language plans its own programme's run for September.
        let (status, programme) = server
            .post(
                "/v1/programmes",
                &fund.admin,
                &format!("programme-{code}"),
                &json!({"name": format!("Solidarity euro ({code})"), "currency": "EUR",
                        "rate_per_member": "1.00", "period": "month",
                        "allocation": {"policy": "pro_rata_covered_members"},
                        "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "5"}],
                        "minimum_transfer": "100.00", "admin_cost_cap_percent": "15",
                        "fee_schedule": {"fixed": "10.00", "percent": "0"}}),
            )
            .await;
        assert_eq!(status, 201, "{programme}");
        let programme = programme["id"].as_str().unwrap().to_owned();
        let of_this_language = support::southern::Fund {
            admin: fund.admin.clone(),
            programme: programme.clone(),
            csq: fund.csq.clone(),
            mgen: fund.mgen.clone(),
            burkina: fund.burkina.clone(),
            mesp: fund.mesp.clone(),
        };
        let value_date = format!("2026-09-{}", 20 + index);
        support::southern::contribute(
            &server,
            &of_this_language,
            &fund.csq,
            "2026-09",
            1000,
            &value_date,
        )
        .await;
        // A mutual's own declaration, waiting for the network.
        let (status, fact) = server
            .post(
                &format!("/v1/organisations/{}/facts", fund.burkina),
                &token(&fund.burkina, Role::Beneficiary),
                &format!("declared-{code}"),
                &json!({"code": "general_assembly_date", "value": format!("2026-0{}-15", index + 3),
                        "as_of": format!("2026-0{}-15", index + 3), "evidence_reference": "minutes"}),
            )
            .await;
        assert_eq!(status, 201, "{fact}");
        // The bank's statement of the network's recorded account: a credit quoting a union's
        // batch reference (its receipt) and one without, from a payer named like another union
        // (unmatched, its batch proposed).
        let period = format!("2026-0{}", 4 + index);
        let members = 200 + i64::try_from(index).unwrap();
        let (_, reference) =
            support::camt053::batch(&server, &of_this_language, &fund.csq, &period, 500).await;
        support::camt053::batch(&server, &of_this_language, &fund.mgen, &period, members).await;
        let mut quoted = support::camt053::Line::credit("500.00", &format!("BANK-{code}-1"));
        quoted.creditor_reference = Some(reference);
        quoted.debtor = Some("CSQ".to_owned());
        let mut open =
            support::camt053::Line::credit(&format!("{members}.00"), &format!("BANK-{code}-2"));
        open.debtor = Some("M.G.E.N.".to_owned());
        let statement_id = format!("STMT-BROWSER-{code}");
        let statement = support::camt053::camt053(
            "08",
            &statement_id,
            "FR1420041010050500013M02606",
            "EUR",
            &[quoted, open],
        );
        languages.insert(
            code.to_owned(),
            json!({
                "statement": {"id": statement_id, "xml": statement},
                "alice": member(&server, &format!("alice-{code}@network.example"), NETWORK_ID, "admin").await,
                "bob": member(&server, &format!("bob-{code}@network.example"), NETWORK_ID, "admin").await,
                "programme": programme,
                "fact": fact["id"],
                "mutual": fund.burkina,
                "creditor_bic": "ECOCBFBF",
                "texts": {
                    "proposer": ledger_web::i18n::message(lang, "network-proposer-cannot-approve", &[]),
                    "executed": ledger_web::i18n::message(lang, "network-run-status-executed", &[]),
                    "receipt": ledger_web::i18n::message(lang, "statements-status-receipt", &[]),
                    "unmatched": ledger_web::i18n::message(lang, "statements-status-unmatched", &[]),
                    "assigned": ledger_web::i18n::message(lang, "statements-status-assigned", &[]),
                },
            }),
        );
    }
    let expected = json!({
        "order": Lang::ALL.map(Lang::code),
        "languages": languages,
        "period": "2026-09",
        "treasurer": member(&server, "treasurer@csq.example", &fund.csq, "contributor").await,
    });
    let printed = run_script(&server, "portal_network.py", expected).await;
    assert!(
        printed.contains("network journeys in 3 languages; 0 failures"),
        "{printed}"
    );
}

/// Invites a user of `organisation` with `role` and sets its password, through the API; returns
/// the email.
async fn user_of(server: &TestServer, email: &str, organisation: &str, role: &str) -> String {
    member(server, email, organisation, role).await["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs a portal browser script with `expected`; returns what it printed.
async fn run_script(server: &TestServer, name: &str, expected: Value) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(name);
    let base_url = server.base_url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .env("BASE_URL", base_url)
            .env("EXPECTED", expected.to_string())
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs (scripts/ensure-browser.sh installs what the browser tests need)");
    let printed = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{printed}");
    printed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_union_and_audit_portal_in_a_real_browser() {
    // Proves a union's and an auditor's journeys in a real browser, in French, English and
    // Spanish: the union uploads a French CSV with a bad cell (named by row and column in the
    // page's language, nothing written) then a right one, sees where its euros went (chart and
    // table), opens its printable statement (the print stylesheet hides the frame), creates and
    // revokes an API key; the auditor downloads the export, verifies it against the latest
    // checkpoint, reads the trial balance and the checkpoints; a union's user is refused the
    // audit pages; axe-core is clean and no CSP violation occurs on every page. Set
    // SCREENSHOTS=docs/screenshots to photograph the pages.
    let server = TestServer::start(Engine::Sqlite).await;
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let (status, tracing) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.csq),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(status, 200, "{tracing}");
    let latest: Value = server
        .client
        .get(server.url("/v1/checkpoints/latest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sequence = latest["sequence"].as_u64().unwrap();
    let languages = Lang::ALL;
    let mut unions = serde_json::Map::new();
    let mut auditors = serde_json::Map::new();
    let mut texts = serde_json::Map::new();
    // The euros page names the mutual as the registry does.
    let (status, mutual) = server
        .get(
            &format!(
                "/v1/organisations/{}",
                tracing["beneficiaries"][0]["beneficiary_id"]
                    .as_str()
                    .unwrap()
            ),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(status, 200, "{mutual}");
    let mutual_name = mutual["name"].as_str().unwrap().to_owned();
    for lang in languages {
        let code = lang.code();
        let password = support::people::TEST_PASSWORD;
        let email = user_of(
            &server,
            &format!("t-{code}@csq.example"),
            &fund.csq,
            "contributor",
        )
        .await;
        unions.insert(
            code.to_owned(),
            json!({"email": email, "password": password}),
        );
        let email = user_of(
            &server,
            &format!("a-{code}@audit.example"),
            NETWORK_ID,
            "auditor",
        )
        .await;
        auditors.insert(
            code.to_owned(),
            json!({"email": email, "password": password}),
        );
        let message = |key: &str, arguments: &[(&str, String)]| {
            ledger_web::i18n::message(lang, key, arguments)
        };
        texts.insert(
            code.to_owned(),
            json!({
                "bad_cell": message("upload-cell", &[("row", "3".to_owned()), ("column", "membres".to_owned())]),
                "received": money(tracing["received_total"]["amount"].as_str().unwrap(), "EUR", lang),
                "mutual": mutual_name,
                "statement_title": message("statement-title", &[("year", "2026".to_owned())]),
                "revoked": message("keys-revoked", &[("date", String::new())]).trim().to_owned(),
                "matches": message("audit-verdict-matches_checkpoint", &[("sequence", sequence.to_string())]),
                "balanced": message("audit-balanced", &[]),
            }),
        );
    }
    let expected = json!({
        "languages": languages.map(Lang::code),
        "unions": unions,
        "auditors": auditors,
        "texts": texts,
        "period": today()[..7],
        "sequence": sequence,
        "checkpoint_hash": latest["hash"],
        "mutual_slug": "mutuelle-education-bf",
    });
    let printed = run_script(&server, "portal_union.py", expected.clone()).await;
    assert!(
        printed.contains("union journeys in 3 languages; 0 failures"),
        "{printed}"
    );
    let printed = run_script(&server, "portal_audit.py", expected).await;
    assert!(
        printed.contains("audit journeys in 3 languages; 0 failures"),
        "{printed}"
    );
}
