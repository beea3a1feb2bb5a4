//! End-to-end: the partners change (issue 18) over HTTP, on SQLite and PostgreSQL — facts that
//! need the network's eye (a mutual's own declaration counts only once an admin verifies it; the
//! eligibility endpoint names the pending fact) and the evidence documents attached to them.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine;
use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::people::{Credential, credential, post_plain};
use support::southern::{burkina_run_for_september, contribute, fact, fund, money};
use support::{NETWORK_ID, TestServer, token};

on_both_engines!(
    a_self_declared_fact_counts_only_once_verified,
    evidence_documents_are_checked_stored_and_read_with_the_facts_rights,
    runs_allocate_by_the_covered_members_in_force_in_their_period,
    organisation_versions_refuse_bad_input_and_show_across_instances,
    a_run_uses_the_programme_rules_of_its_period,
    a_cad_receipt_reads_back_with_both_amounts,
    a_top_up_pays_the_fee_schedule_of_its_period,
    rules_cannot_take_effect_in_a_period_that_has_a_run,
    batches_are_paid_into_the_network_s_recorded_account,
);

fn share<'a>(run: &'a Value, beneficiary: &str) -> &'a Value {
    run["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|share| share["beneficiary_id"] == beneficiary)
        .unwrap()
}

/// Both mutuals of the fixture made eligible by the network's facts.
async fn both_eligible(server: &TestServer, fund: &support::southern::Fund) {
    for mutual in [&fund.burkina, &fund.mesp] {
        fact(
            server,
            fund,
            mutual,
            "mutual_operational",
            json!(true),
            "2026-01-01",
        )
        .await;
        fact(
            server,
            fund,
            mutual,
            "public_cofinancing_percent",
            json!("5"),
            "2026-01-01",
        )
        .await;
    }
}

async fn dry_run(server: &TestServer, fund: &support::southern::Fund, period: &str) -> Value {
    let (status, run) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            &format!("dry-run-{period}"),
            &json!({"programme_id": fund.programme, "period": period, "dry_run": true}),
        )
        .await;
    assert_eq!(status, 200, "{run}");
    run
}

fn base64(content: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(content)
}

const MINUTES_PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% general assembly minutes";

async fn a_self_declared_fact_counts_only_once_verified(server: TestServer) {
    // Proves a beneficiary's own fact is `submitted` and does not count (the eligibility endpoint
    // names it as pending) until an admin verifies it; a rejected one never counts and keeps its
    // reason; a decision is final (409, nothing written); only admins decide; an admin's own fact
    // counts at once and cannot be "verified" again.
    let fund = fund(&server).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    fact(
        &server,
        &fund,
        &fund.burkina,
        "mutual_operational",
        json!(true),
        "2026-01-01",
    )
    .await;
    let facts_path = format!("/v1/organisations/{}/facts", fund.burkina);
    let (status, declared) = server
        .post(
            &facts_path,
            &burkina,
            "declare-12",
            &json!({"code": "public_cofinancing_percent", "value": "12", "as_of": "2026-02-01",
                    "evidence_reference": "ministry letter 2026-014"}),
        )
        .await;
    assert_eq!(status, 201, "{declared}");
    assert_eq!(declared["status"], "submitted");
    let declared_id = declared["id"].as_str().unwrap().to_owned();
    let eligibility_path = format!(
        "/v1/organisations/{}/eligibility?programme_id={}&as_of=2026-03-01",
        fund.burkina, fund.programme
    );
    let (status, verdict) = server.get(&eligibility_path, &burkina).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["eligible"], false, "{verdict}");
    let public = &verdict["conditions"][1];
    assert_eq!(public["code"], "public_cofinancing");
    assert_eq!(public["passed"], false);
    assert_eq!(public["pending_facts"][0]["id"], declared_id.as_str());
    assert_eq!(public["pending_facts"][0]["status"], "submitted");
    assert!(
        public["explanation"]
            .as_str()
            .unwrap()
            .contains(&declared_id),
        "{public}"
    );

    let decision_path = |id: &str, what: &str| format!("{facts_path}/{id}/{what}");
    // Only the network decides.
    for who in [&burkina, &token(NETWORK_ID, Role::Auditor)] {
        let (status, _) = server
            .post(
                &decision_path(&declared_id, "verification"),
                who,
                "verify-self",
                &json!({}),
            )
            .await;
        assert_eq!(status, 403);
    }
    let (status, verified) = server
        .post(
            &decision_path(&declared_id, "verification"),
            &fund.admin,
            "verify-12",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{verified}");
    assert_eq!(verified["status"], "verified");
    assert!(verified["decided_by"].as_str().unwrap().contains("admin"));
    let (_, verdict) = server.get(&eligibility_path, &burkina).await;
    assert_eq!(verdict["eligible"], true, "{verdict}");
    assert_eq!(
        verdict["conditions"][1]["facts"][0]["id"],
        declared_id.as_str()
    );
    assert!(verdict["conditions"][1].get("pending_facts").is_none());

    // A decision is final, and an admin's own fact was verified when posted.
    let (status, problem) = server
        .post(
            &decision_path(&declared_id, "rejection"),
            &fund.admin,
            "reject-12",
            &json!({"reason": "changed our mind"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "fact_already_decided");
    let (_, facts) = server.get(&facts_path, &fund.admin).await;
    let admin_fact = facts[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(facts[0]["status"], "verified");
    let (status, problem) = server
        .post(
            &decision_path(&admin_fact, "verification"),
            &fund.admin,
            "verify-admin-fact",
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");

    // A later declaration of 1 % is rejected: the verified 12 % still counts.
    let (_, lower) = server
        .post(
            &facts_path,
            &burkina,
            "declare-1",
            &json!({"code": "public_cofinancing_percent", "value": "1", "as_of": "2026-02-15",
                    "evidence_reference": "budget 2026"}),
        )
        .await;
    let lower_id = lower["id"].as_str().unwrap().to_owned();
    let (status, problem) = server
        .post(
            &decision_path(&lower_id, "rejection"),
            &fund.admin,
            "reject-empty",
            &json!({"reason": "  "}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "reason");
    let (status, rejected) = server
        .post(
            &decision_path(&lower_id, "rejection"),
            &fund.admin,
            "reject-1",
            &json!({"reason": "the budget shows 6 %, not 1 %"}),
        )
        .await;
    assert_eq!(status, 201, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    let (_, verdict) = server.get(&eligibility_path, &burkina).await;
    assert_eq!(verdict["eligible"], true, "{verdict}");
    let (_, facts) = server.get(&facts_path, &burkina).await;
    let statuses: Vec<&str> = facts
        .as_array()
        .unwrap()
        .iter()
        .map(|fact| fact["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["verified", "verified", "rejected"]);
    assert_eq!(
        facts[2]["rejection_reason"],
        "the budget shows 6 %, not 1 %"
    );
    // Another beneficiary's fact, or no fact at all, is not found.
    let (status, _) = server
        .post(
            &format!(
                "/v1/organisations/{}/facts/{lower_id}/verification",
                fund.mesp
            ),
            &fund.admin,
            "verify-elsewhere",
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);
}

async fn evidence_documents_are_checked_stored_and_read_with_the_facts_rights(server: TestServer) {
    // Proves an evidence document is accepted by content (not by what it claims), refused when
    // empty of an accepted type, not base64 or over the size limit (422 naming the field, nothing
    // written), recorded on the fact by its SHA-256, stored once however often it is attached, and
    // downloaded, byte for byte, by exactly those who may read the fact.
    let fund = fund(&server).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let facts_path = format!("/v1/organisations/{}/facts", fund.burkina);
    let body = |document: Value| {
        json!({"code": "mutual_operational", "value": true, "as_of": "2026-01-01",
               "evidence_reference": "statutes", "evidence_document": document})
    };
    let mut oversized = b"%PDF-1.7\n".to_vec();
    oversized.resize(4 * 1024 * 1024 + 1, b' ');
    for (key, document) in [
        ("html", json!(base64(b"<html><body>%PDF-</body></html>"))),
        ("not-base64", json!("%%% not base64 %%%")),
        ("empty", json!("")),
        ("oversized", json!(base64(&oversized))),
        ("number", json!(12)),
    ] {
        let (status, problem) = server
            .post(&facts_path, &burkina, key, &body(document))
            .await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "evidence_document", "{key}");
    }
    assert_eq!(server.get(&facts_path, &burkina).await.1, json!([]));

    let (status, posted) = server
        .post(
            &facts_path,
            &burkina,
            "with-pdf",
            &body(json!(base64(MINUTES_PDF))),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    let sha256 = ledger_core::evidence::sha256_hex(MINUTES_PDF);
    assert_eq!(posted["evidence_sha256"], sha256.as_str());
    // The same document attached to a second fact is the same address.
    let (status, again) = server
        .post(
            &facts_path,
            &fund.admin,
            "with-pdf-again",
            &body(json!(base64(MINUTES_PDF))),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["evidence_sha256"], sha256.as_str());
    let ledger = support::southern::store(&server).await;
    assert_eq!(
        ledger
            .evidence_document(&sha256)
            .await
            .unwrap()
            .unwrap()
            .content,
        MINUTES_PDF
    );
    ledger.close().await;

    let evidence_path = format!("{facts_path}/{}/evidence", posted["id"].as_str().unwrap());
    for (who, expected) in [
        (burkina.clone(), 200),
        (fund.admin.clone(), 200),
        (token(NETWORK_ID, Role::Auditor), 200),
        (token(&fund.mesp, Role::Beneficiary), 404),
        (token(&fund.csq, Role::Contributor), 403),
    ] {
        let response = server
            .request(reqwest::Method::GET, &evidence_path)
            .bearer_auth(&who)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{who}");
        if expected == 200 {
            assert_eq!(response.headers()["content-type"], "application/pdf");
            assert_eq!(response.headers()["x-content-sha256"], sha256.as_str());
            assert_eq!(response.bytes().await.unwrap().as_ref(), MINUTES_PDF);
        }
    }
    // A fact without a document has none to download.
    fact(
        &server,
        &fund,
        &fund.burkina,
        "contribution_rates_defined",
        json!(true),
        "2026-01-01",
    )
    .await;
    let (_, facts) = server.get(&facts_path, &fund.admin).await;
    let bare = facts[2]["id"].as_str().unwrap();
    let (status, _) = server
        .get(&format!("{facts_path}/{bare}/evidence"), &fund.admin)
        .await;
    assert_eq!(status, 404);
}

async fn runs_allocate_by_the_covered_members_in_force_in_their_period(server: TestServer) {
    // Proves a change of covered members takes effect from its date: a run for the period before
    // it (planned after the change was recorded) allocates by the old number, a run for the
    // period after by the new one; the organisation shows the version in force today.
    let fund = fund(&server).await;
    both_eligible(&server, &fund).await;
    contribute(&server, &fund, &fund.csq, "2026-09", 1000, "2026-09-20").await;
    contribute(&server, &fund, &fund.csq, "2026-10", 1000, "2026-10-20").await;
    // MESP is rolled out to the whole country from October: 4,000 → 14,000 members.
    let (status, version) = server
        .post(
            &format!("/v1/organisations/{}/versions", fund.mesp),
            &fund.admin,
            "mesp-rollout",
            &json!({"effective_from": "2026-10-01", "covered_members": 14000,
                    "contact": "Secrétariat MESP, Kinshasa, +243 81 000 0000"}),
        )
        .await;
    assert_eq!(status, 201, "{version}");
    assert_eq!(version["version"], 1);
    assert_eq!(
        version["changed_fields"],
        json!(["contact", "covered_members"])
    );
    let september = dry_run(&server, &fund, "2026-09").await;
    assert_eq!(share(&september, &fund.mesp)["weight"], 4000);
    assert_eq!(share(&september, &fund.burkina)["weight"], 6000);
    assert_eq!(
        money(&share(&september, &fund.mesp)["pool_share"]),
        ("400.00", "EUR")
    );
    let october = dry_run(&server, &fund, "2026-10").await;
    assert_eq!(share(&october, &fund.mesp)["weight"], 14000);
    // Both months' money is in the pool (September was only a dry run): 2,000 × 14/20.
    assert_eq!(
        money(&share(&october, &fund.mesp)["pool_share"]),
        ("1400.00", "EUR")
    );
    assert_eq!(
        money(&share(&october, &fund.burkina)["pool_share"]),
        ("600.00", "EUR")
    );
    let (_, mesp) = server
        .get(&format!("/v1/organisations/{}", fund.mesp), &fund.admin)
        .await;
    assert_eq!(mesp["covered_members"], 14000);
    assert_eq!(mesp["version"], 1);
    assert_eq!(mesp["version_effective_from"], "2026-10-01");
    assert_eq!(
        mesp["contact"],
        "Secrétariat MESP, Kinshasa, +243 81 000 0000"
    );
}

async fn organisation_versions_refuse_bad_input_and_show_across_instances(server: TestServer) {
    // Proves a version before the previous one's date, an empty name, a negative member count, a
    // fee schedule for a contributor and a version that changes nothing are refused naming the
    // field (nothing written); only admins record versions; the history lists every version with
    // who changed what and when and which is current (a future version is not yet); and a second
    // instance on the same database, which had read the organisation before, sees the change.
    let fund = fund(&server).await;
    let other = support::server_on(&server.database_url).await;
    let path = format!("/v1/organisations/{}", fund.mesp);
    assert_eq!(
        other.get(&path, &fund.admin).await.1["covered_members"],
        4000
    );
    let versions = format!("{path}/versions");
    let (status, _) = server
        .post(
            &versions,
            &fund.admin,
            "v1",
            &json!({"effective_from": "2026-10-01", "covered_members": 9000}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, seen) = other.get(&path, &fund.admin).await;
    assert_eq!(seen["covered_members"], 9000, "{seen}");
    assert_eq!(seen["version"], 1);
    for (key, body, field) in [
        (
            "early",
            json!({"effective_from": "2026-09-30", "covered_members": 9500}),
            "effective_from",
        ),
        (
            "bad-date",
            json!({"effective_from": "2026-13-01", "covered_members": 9500}),
            "effective_from",
        ),
        (
            "no-name",
            json!({"effective_from": "2026-11-01", "name": ""}),
            "name",
        ),
        (
            "negative",
            json!({"effective_from": "2026-11-01", "covered_members": -1}),
            "covered_members",
        ),
        (
            "same",
            json!({"effective_from": "2026-11-01", "covered_members": 9000}),
            "effective_from",
        ),
    ] {
        let (status, problem) = server.post(&versions, &fund.admin, key, &body).await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
    }
    let (status, problem) = server
        .post(
            &format!("/v1/organisations/{}/versions", fund.csq),
            &fund.admin,
            "contributor-fees",
            &json!({"effective_from": "2026-11-01", "fee_schedule": {"fixed": "1.00", "percent": "0"}}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "fee_schedule");
    for role in [Role::Beneficiary, Role::Auditor] {
        let (status, _) = server
            .post(
                &versions,
                &token(&fund.mesp, role),
                "not-admin",
                &json!({"effective_from": "2026-11-01", "covered_members": 1}),
            )
            .await;
        assert_eq!(status, 403);
    }
    let (status, _) = server
        .post(
            "/v1/organisations/00000000-0000-7000-8000-00000000dead/versions",
            &fund.admin,
            "unknown",
            &json!({"effective_from": "2026-11-01", "covered_members": 1}),
        )
        .await;
    assert_eq!(status, 404);
    // A renaming that takes effect in 2099 is recorded but not current.
    let (status, renamed) = server
        .post(
            &versions,
            &fund.admin,
            "rename",
            &json!({"effective_from": "2099-01-01", "name": "Mutuelle de la santé de l'enseignement", "fee_schedule": {"fixed": "12.00", "percent": "0.25"}}),
        )
        .await;
    assert_eq!(status, 201, "{renamed}");
    let (status, history) = other
        .get(
            &format!("{path}/history"),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["current_version"], 1);
    let listed = history["versions"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["covered_members"], 4000);
    assert_eq!(listed[0]["changed_by"], Value::Null);
    assert_eq!(listed[1]["covered_members"], 9000);
    assert_eq!(listed[1]["changed_fields"], json!(["covered_members"]));
    assert!(listed[1]["changed_by"].as_str().unwrap().contains("admin"));
    assert!(listed[1]["recorded_at"].is_string());
    assert_eq!(listed[2]["changed_fields"], json!(["name", "fee_schedule"]));
    assert_eq!(
        listed[2]["covered_members"], 9000,
        "unchanged fields carry over"
    );
    assert_eq!(money(&listed[2]["fee_schedule"]["fixed"]), ("12.00", "EUR"));
    assert_eq!(other.get(&path, &fund.admin).await.1["name"], "MESP");
    other.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_bank_change_counts_only_once_a_second_admin_approves_it() {
    a_bank_change_counts_only_once_a_second_admin_approves_it(
        support::four_eyes_server(ledger_testkit::Engine::Sqlite).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_bank_change_counts_only_once_a_second_admin_approves_it() {
    a_bank_change_counts_only_once_a_second_admin_approves_it(
        support::four_eyes_server(ledger_testkit::Engine::Postgres).await,
    )
    .await;
}

/// Proposes as `proposer` and approves as `approver`; answers the approved operation's result.
async fn approved(
    server: &TestServer,
    path: &str,
    proposer: &str,
    approver: &str,
    key: &str,
    body: &Value,
) -> Value {
    let (status, proposal) = server.post(path, proposer, key, body).await;
    assert_eq!(status, 202, "{proposal}");
    let (status, decided) = post_plain(
        server,
        &format!(
            "/v1/proposals/{}/approval",
            proposal["id"].as_str().unwrap()
        ),
        approver,
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    decided["result"].clone()
}

async fn a_bank_change_counts_only_once_a_second_admin_approves_it(server: TestServer) {
    // Proves a beneficiary's bank account (and the network's collection account) is set only once
    // a second admin approves it (four eyes, the proposer may not approve); bad IBANs and BICs are
    // refused at once naming the field, with no proposal; a change proposed, and even approved,
    // after a run was planned leaves that run's transfer paid to the account in force when it was
    // planned; the payment-file reads name creditor and debtor accounts.
    let fund = fund(&server).await;
    let alice = credential(&server, NETWORK_ID, Role::Admin, Credential::Session).await;
    let bob = credential(&server, NETWORK_ID, Role::Admin, Credential::Session).await;
    let accounts = format!("/v1/organisations/{}/bank-accounts", fund.burkina);
    for (key, body, field) in [
        (
            "bad-iban",
            json!({"holder_name": "MEB", "iban": "DE45500105175407324931", "currency": "EUR"}),
            "iban",
        ),
        (
            "short-iban",
            json!({"holder_name": "MEB", "iban": "DE4450010517540732493", "currency": "EUR"}),
            "iban",
        ),
        (
            "bad-bic",
            json!({"holder_name": "MEB", "account_number": "BF0420100001", "bic": "ECOC-BF", "currency": "XOF"}),
            "bic",
        ),
        (
            "no-bic",
            json!({"holder_name": "MEB", "account_number": "BF0420100001", "currency": "XOF"}),
            "bic",
        ),
    ] {
        let (status, problem) = server.post(&accounts, &alice, key, &body).await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
    }
    let (_, proposals) = server.get("/v1/proposals?status=pending", &alice).await;
    assert_eq!(proposals["items"], json!([]), "nothing proposed");

    let first = json!({"holder_name": "Mutuelle de l'éducation de base", "account_number": "BF042 01001 00001234567 89",
                       "bic": "ECOCBFBF", "currency": "XOF"});
    let (status, proposal) = server.post(&accounts, &alice, "first", &first).await;
    assert_eq!(status, 202, "{proposal}");
    assert_eq!(proposal["operation"], "set_bank_account");
    let (_, listed) = server.get(&accounts, &fund.admin).await;
    assert_eq!(
        listed["current"],
        Value::Null,
        "not in force before approval"
    );
    let approval = format!(
        "/v1/proposals/{}/approval",
        proposal["id"].as_str().unwrap()
    );
    let (status, problem) = post_plain(&server, &approval, &alice, &json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("approval_by_proposer"))
    );
    let (status, _) = post_plain(&server, &approval, &bob, &json!({})).await;
    assert_eq!(status, 200);
    let (_, listed) = server
        .get(&accounts, &token(&fund.burkina, Role::Beneficiary))
        .await;
    assert_eq!(listed["current"]["version"], 1, "{listed}");
    assert_eq!(listed["current"]["bic"], "ECOCBFBF");
    assert!(listed["current"]["approved_by"].is_string());

    // The September run is planned with account 1 in force.
    let run = burkina_run_for_september(&server, &fund, "100.00").await;
    // A change is proposed: not in force until approved.
    let second = json!({"holder_name": "MEB", "account_number": "BF099 99999 99999999999 99",
                        "bic": "CORIBFBFXXX", "currency": "XOF"});
    let (status, change) = server.post(&accounts, &alice, "second", &second).await;
    assert_eq!(status, 202, "{change}");
    let (_, listed) = server.get(&accounts, &fund.admin).await;
    assert_eq!(listed["current"]["version"], 1);
    // Approved before the run is executed: the run still pays the account it was planned with.
    let (status, _) = post_plain(
        &server,
        &format!("/v1/proposals/{}/approval", change["id"].as_str().unwrap()),
        &bob,
        &json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = server.get(&accounts, &fund.admin).await;
    assert_eq!(listed["current"]["version"], 2);
    assert_eq!(listed["accounts"].as_array().unwrap().len(), 2);
    let executed = approved(
        &server,
        &format!(
            "/v1/transfer-runs/{}/execution",
            run["id"].as_str().unwrap()
        ),
        &alice,
        &bob,
        "execute",
        &json!({}),
    )
    .await;
    let transfer = executed["transfers"][0]["id"].as_str().unwrap();
    let (status, creditor) = server
        .get(
            &format!("/v1/transfers/{transfer}/creditor"),
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200, "{creditor}");
    assert_eq!(creditor["creditor"]["version"], 1, "{creditor}");
    assert_eq!(
        creditor["creditor"]["account_number"],
        "BF042 01001 00001234567 89"
    );
    assert_eq!(creditor["creditor"]["bic"], "ECOCBFBF");
    assert_eq!(creditor["creditor"]["currency"], "XOF");
    assert_eq!(money(&creditor["amount"]), ("600.00", "EUR"));
    assert!(creditor["end_to_end_id"].as_str().unwrap().len() <= 35);
    let (status, _) = server
        .get(
            &format!("/v1/transfers/{transfer}/creditor"),
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(status, 403);

    // The network's collection account, for the debtor side of payment files.
    let collection = "/v1/network/collection-account";
    assert_eq!(server.get(collection, &fund.admin).await.1, Value::Null);
    let recorded = approved(
        &server,
        &format!("/v1/organisations/{NETWORK_ID}/bank-accounts"),
        &alice,
        &bob,
        "network-account",
        &json!({"holder_name": "Education and Solidarity Network", "iban": "FR14 2004 1010 0505 0001 3M02 606",
                "bic": "PSSTFRPPPAR", "currency": "EUR"}),
    )
    .await;
    assert_eq!(
        recorded["iban"], "FR1420041010050500013M02606",
        "{recorded}"
    );
    let (status, account) = server
        .get(collection, &token(NETWORK_ID, Role::Auditor))
        .await;
    assert_eq!(status, 200);
    assert_eq!(account["holder_name"], "Education and Solidarity Network");
    assert_eq!(account["iban"], "FR1420041010050500013M02606");
    assert_eq!(account["bic"], "PSSTFRPPPAR");
    let (status, _) = server
        .get(collection, &token(&fund.burkina, Role::Beneficiary))
        .await;
    assert_eq!(status, 403);
}

async fn a_run_uses_the_programme_rules_of_its_period(server: TestServer) {
    // Proves a rule change from October leaves September's run on the old rule (a 5 % public
    // co-financing passes) and October's on the new one (8 %: it fails), each run recording the
    // version it used; bad versions are refused naming the field; the programme shows the version
    // in force and its history.
    let fund = fund(&server).await;
    both_eligible(&server, &fund).await;
    contribute(&server, &fund, &fund.csq, "2026-09", 1000, "2026-09-20").await;
    contribute(&server, &fund, &fund.csq, "2026-10", 1000, "2026-10-20").await;
    let versions = format!("/v1/programmes/{}/versions", fund.programme);
    let stricter = json!({"effective_period": "2026-10",
                          "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "8"}]});
    let (status, _) = server
        .post(
            &versions,
            &token(&fund.burkina, Role::Beneficiary),
            "not-admin",
            &stricter,
        )
        .await;
    assert_eq!(status, 403);
    let (status, version) = server
        .post(&versions, &fund.admin, "stricter", &stricter)
        .await;
    assert_eq!(status, 201, "{version}");
    assert_eq!(version["version"], 1);
    assert_eq!(version["changed_fields"], json!(["conditions"]));
    for (key, body, field) in [
        (
            "quarter",
            json!({"effective_period": "2026-Q4", "minimum_transfer": "50.00"}),
            "effective_period",
        ),
        (
            "earlier",
            json!({"effective_period": "2026-09", "minimum_transfer": "50.00"}),
            "effective_period",
        ),
        (
            "cap",
            json!({"effective_period": "2026-11", "admin_cost_cap_percent": "120"}),
            "admin_cost_cap_percent",
        ),
        (
            "same",
            json!({"effective_period": "2026-11", "minimum_transfer": "100.00"}),
            "effective_period",
        ),
    ] {
        let (status, problem) = server.post(&versions, &fund.admin, key, &body).await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
    }

    let (status, september) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "run-2026-09",
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false}),
        )
        .await;
    assert_eq!(status, 201, "{september}");
    assert_eq!(september["programme_version"], 0);
    assert_eq!(share(&september, &fund.burkina)["eligible"], true);
    let (_, recorded) = server
        .get(
            &format!("/v1/transfer-runs/{}", september["id"].as_str().unwrap()),
            &fund.admin,
        )
        .await;
    assert_eq!(recorded["programme_version"], 0);
    let october = dry_run(&server, &fund, "2026-10").await;
    assert_eq!(october["programme_version"], 1);
    let burkina = share(&october, &fund.burkina);
    assert_eq!(burkina["eligible"], false, "{burkina}");
    assert_eq!(burkina["failing_conditions"], json!(["public_cofinancing"]));
    assert_eq!(burkina["conditions"][1]["parameter"], "8");

    let (_, programme) = server
        .get(&format!("/v1/programmes/{}", fund.programme), &fund.admin)
        .await;
    assert_eq!(programme["version"], 1);
    assert_eq!(programme["version_effective_period"], "2026-10");
    assert_eq!(programme["conditions"][1]["parameter"], "8");
    let (status, history) = server
        .get(
            &format!("/v1/programmes/{}/history", fund.programme),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["current_version"], 1);
    assert_eq!(history["versions"][0]["conditions"][1]["parameter"], "5");
    assert!(
        history["versions"][1]["changed_by"]
            .as_str()
            .unwrap()
            .contains("admin")
    );
    // The database itself keeps versions and the version a run recorded.
    let ledger = support::southern::store(&server).await;
    for sql in [
        "UPDATE programme_versions SET conditions = '[]'",
        "DELETE FROM programme_versions",
        "UPDATE transfer_runs SET programme_version = 1",
    ] {
        let refused = match (ledger.sqlite_pool(), ledger.postgres_pool()) {
            (Some(pool), _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            (None, Some(pool)) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            (None, None) => unreachable!(),
        };
        let error = refused.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    ledger.close().await;
}

async fn a_cad_receipt_reads_back_with_both_amounts(server: TestServer) {
    // Proves a receipt can carry what the union actually sent (1,650.00 CAD) and the bank's rate
    // besides the EUR credited, which is what counts; the batch, the union's statement and its
    // tracing show both; an original in the credited currency, without a rate, with a bad rate
    // or more decimals than CAD has is refused naming the field, nothing written.
    let fund = fund(&server).await;
    let csq = token(&fund.csq, Role::Contributor);
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &csq,
            "csq-september",
            &json!({"programme_id": fund.programme, "period": "2026-09", "lines": [
                {"reference": "all-sections", "members": 1125, "amount": "1125.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_str().unwrap();
    let receipts = format!("/v1/contribution-batches/{batch_id}/receipts");
    let receipt = |original: Value, rate: Value| {
        json!({"amount": "1125.00", "value_date": "2026-09-20", "bank_reference": "CAMT-CSQ-0920",
               "original": original, "rate": rate})
    };
    for (key, body, field) in [
        (
            "same-currency",
            receipt(json!({"amount": "1125.00", "currency": "EUR"}), json!("1")),
            "original.currency",
        ),
        (
            "no-rate",
            receipt(json!({"amount": "1650.00", "currency": "CAD"}), Value::Null),
            "rate",
        ),
        (
            "zero-rate",
            receipt(json!({"amount": "1650.00", "currency": "CAD"}), json!("0")),
            "rate",
        ),
        (
            "decimals",
            receipt(
                json!({"amount": "1650.001", "currency": "CAD"}),
                json!("1.4667"),
            ),
            "original.amount",
        ),
        (
            "no-original",
            receipt(Value::Null, json!("1.4667")),
            "original",
        ),
    ] {
        let (status, problem) = server.post(&receipts, &fund.admin, key, &body).await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
    }
    let (status, recorded) = server
        .post(
            &receipts,
            &fund.admin,
            "cad",
            &receipt(
                json!({"amount": "1650.00", "currency": "CAD"}),
                json!("1.4667"),
            ),
        )
        .await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(money(&recorded["amount"]), ("1125.00", "EUR"));
    assert_eq!(money(&recorded["original"]["amount"]), ("1650.00", "CAD"));
    let (_, read) = server
        .get(&format!("/v1/contribution-batches/{batch_id}"), &csq)
        .await;
    let receipts_read = read["receipts"].as_array().unwrap();
    assert_eq!(receipts_read.len(), 1, "{read}");
    assert_eq!(money(&receipts_read[0]["amount"]), ("1125.00", "EUR"));
    assert_eq!(
        money(&receipts_read[0]["original"]["amount"]),
        ("1650.00", "CAD")
    );
    assert_eq!(receipts_read[0]["original"]["rate"], "1.4667");
    assert_eq!(read["status"], "received", "{read}");

    let (status, statement) = server
        .get(
            &format!(
                "/v1/organisations/{}/statement?from=2026-09-01&to=2026-09-30",
                fund.csq
            ),
            &csq,
        )
        .await;
    assert_eq!(status, 200, "{statement}");
    let receipt_movement = statement["movements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|movement| movement["kind"] == "receipt")
        .unwrap();
    assert_eq!(money(&receipt_movement["amount"]), ("-1125.00", "EUR"));
    assert_eq!(
        money(&receipt_movement["original"]["amount"]),
        ("1650.00", "CAD")
    );
    // The statement a treasurer opens in a spreadsheet shows both too.
    let csv = server
        .client
        .get(server.url(&format!(
            "/v1/organisations/{}/statement?from=2026-09-01&to=2026-09-30",
            fund.csq
        )))
        .bearer_auth(&csq)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.lines()
            .any(|row| row.contains(",receipt,") && row.ends_with(",1650.00,CAD,1.4667")),
        "{csv}"
    );
    let (status, tracing) = server
        .get(&format!("/v1/tracing/contributors/{}", fund.csq), &csq)
        .await;
    assert_eq!(status, 200, "{tracing}");
    assert_eq!(money(&tracing["received_total"]), ("1125.00", "EUR"));
    let sent = &tracing["received_in_other_currencies"][0];
    assert_eq!(money(&sent["credited"]), ("1125.00", "EUR"));
    assert_eq!(money(&sent["sent"]), ("1650.00", "CAD"));
    assert_eq!(sent["rate"], "1.4667");
}

async fn a_top_up_pays_the_fee_schedule_of_its_period(server: TestServer) {
    // Proves a top-up's fee is computed by the fee schedule version of its transfer's period, as
    // the run's own fee was: the Burkina mutual's schedule changes to 20.00 EUR + 0.5 % from
    // September (before the run) and to 40.00 EUR + 1 % from October (after it); September's
    // top-up pays 20.02 EUR, not the schedule given at registration (15.02) nor October's.
    let fund = fund(&server).await;
    let versions = format!("/v1/organisations/{}/versions", fund.burkina);
    let (status, september) = server
        .post(
            &versions,
            &fund.admin,
            "fees-september",
            &json!({"effective_from": "2026-09-01", "fee_schedule": {"fixed": "20.00", "percent": "0.5"}}),
        )
        .await;
    assert_eq!(status, 201, "{september}");
    let executed = support::southern::burkina_paid_for_september(&server, &fund).await;
    let transfer = &executed["transfers"][0];
    assert_eq!(money(&transfer["expected_fee"]), ("23.00", "EUR"));
    assert_eq!(money(&transfer["expected_local"]), ("393574", "XOF"));
    let (status, october) = server
        .post(
            &versions,
            &fund.admin,
            "fees-october",
            &json!({"effective_from": "2026-10-01", "fee_schedule": {"fixed": "40.00", "percent": "1"}}),
        )
        .await;
    assert_eq!(status, 201, "{october}");
    // The bank kept 2,500 XOF: 3.82 EUR make it good, with September's fee.
    let (status, confirmed) = server
        .post(
            &format!(
                "/v1/transfers/{}/confirmation",
                transfer["id"].as_str().unwrap()
            ),
            &token(&fund.burkina, Role::Beneficiary),
            "confirm-short",
            &json!({"received": {"amount": "391074", "currency": "XOF"}, "value_date": support::today(),
                    "bank_reference": "BOA-BF-2026-17"}),
        )
        .await;
    assert_eq!(status, 201, "{confirmed}");
    assert_eq!(money(&confirmed["top_up"]["amount"]), ("3.82", "EUR"));
    assert_eq!(
        money(&confirmed["top_up"]["expected_fee"]),
        ("20.02", "EUR")
    );
}

async fn rules_cannot_take_effect_in_a_period_that_has_a_run(server: TestServer) {
    // Proves past plans never change meaning: once September has a run (planned, then executed),
    // rules from September or from an earlier period are refused with 409
    // period_already_planned naming the run, nothing written (the history is unchanged, a later
    // plan of September still uses version 0); a dry run records nothing and blocks nothing;
    // rules from October are recorded.
    let fund = fund(&server).await;
    contribute(&server, &fund, &fund.csq, "2026-08", 1000, "2026-08-20").await;
    let versions = format!("/v1/programmes/{}/versions", fund.programme);
    let august = dry_run(&server, &fund, "2026-08").await;
    assert_eq!(august["programme_version"], 0);
    let run = burkina_run_for_september(&server, &fund, "100.00").await;
    let run_id = run["id"].as_str().unwrap();
    let stricter = |period: &str| {
        json!({"effective_period": period,
               "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "8"}]})
    };
    let refused = async |key: &str, period: &str| {
        let (status, problem) = server
            .post(&versions, &fund.admin, key, &stricter(period))
            .await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["code"], "period_already_planned", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(run_id),
            "{problem}"
        );
        assert_eq!(problem["errors"][0]["field"], "effective_period");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("planned run {run_id}")),
            "{problem}"
        );
    };
    refused("from-september", "2026-09").await;
    refused("from-august", "2026-08").await;
    let (status, executed) = server
        .post(
            &format!("/v1/transfer-runs/{run_id}/execution"),
            &fund.admin,
            "exec-september",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{executed}");
    let (status, problem) = server
        .post(
            &versions,
            &fund.admin,
            "from-september-again",
            &stricter("2026-09"),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("executed run {run_id}")),
        "{problem}"
    );
    let (_, history) = server
        .get(
            &format!("/v1/programmes/{}/history", fund.programme),
            &fund.admin,
        )
        .await;
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "{history}"
    );
    let again = dry_run(&server, &fund, "2026-09").await;
    assert_eq!(again["programme_version"], 0);
    // October has no run: its rules are recorded.
    let (status, version) = server
        .post(&versions, &fund.admin, "from-october", &stricter("2026-10"))
        .await;
    assert_eq!(status, 201, "{version}");
    assert_eq!(version["version"], 1);
}

async fn batches_are_paid_into_the_network_s_recorded_account(server: TestServer) {
    // Proves one rule for the collection account: while the books record none for the network, a
    // batch's payment instructions name the configured one; once the network's account is
    // recorded (approved), every batch's instructions, old and new, name it (the payment file's
    // debtor reads the same rule: tests/files.rs, the demo's last run).
    let fund = fund(&server).await;
    let union = token(&fund.csq, Role::Contributor);
    let batch = |key: &'static str, period: &'static str| {
        json!({"programme_id": fund.programme, "period": period, "lines": [
            {"reference": key, "members": 10, "amount": "10.00", "kind": "solidarity"}]})
    };
    let (status, first) = server
        .post(
            "/v1/contribution-batches",
            &union,
            "first",
            &batch("first", "2026-09"),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let configured = &first["payment_instructions"]["collection_account"];
    assert_eq!(configured["iban"], "FR7630006000011234567890189");
    assert_eq!(configured["recorded_version"], Value::Null);
    let (status, account) = server
        .post(
            &format!("/v1/organisations/{NETWORK_ID}/bank-accounts"),
            &fund.admin,
            "network-account",
            &json!({"holder_name": "Education and Solidarity Network", "iban": "FR14 2004 1010 0505 0001 3M02 606",
                    "bic": "PSSTFRPPPAR", "currency": "EUR"}),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let recorded = json!({"holder": "Education and Solidarity Network",
        "iban": "FR1420041010050500013M02606", "account_number": null, "bic": "PSSTFRPPPAR",
        "currency": "EUR", "recorded_version": 1});
    let first_id = first["id"].as_str().unwrap();
    let (_, read) = server
        .get(&format!("/v1/contribution-batches/{first_id}"), &union)
        .await;
    assert_eq!(read["payment_instructions"]["collection_account"], recorded);
    let (_, listed) = server.get("/v1/contribution-batches", &union).await;
    assert_eq!(
        listed["items"][0]["payment_instructions"]["collection_account"],
        recorded
    );
    let (status, second) = server
        .post(
            "/v1/contribution-batches",
            &union,
            "second",
            &batch("second", "2026-10"),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        second["payment_instructions"]["collection_account"],
        recorded
    );
}
