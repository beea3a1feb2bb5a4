//! End-to-end: top-ups are bounded and reviewed (issue 15), on SQLite and PostgreSQL. The Burkina
//! mutual's September transfer is 600.00 EUR, expected 393,574 XOF, with an expected fee of 18.00
//! EUR: fee coverage makes good at once at most 23.00 EUR (the fee plus the 5.00 tolerance) for the
//! transfer and its top-ups together; a larger claim is a disputed settlement that moves no money
//! until an admin resolves it with the bank statement.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_core::{Currency, chart};
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::southern::{
    Fund, burkina_paid_for_september, credit, fund, money, organisation, store,
};
use support::{NETWORK_ID, TestServer, server_on, today, token};

on_both_engines!(
    a_one_xof_claim_is_disputed_moves_nothing_and_an_admin_resolves_it_with_the_statement,
    claims_just_inside_the_allowance_are_topped_up_and_just_outside_disputed,
    a_repeated_claim_on_the_top_up_is_bounded_by_the_same_allowance,
);

/// Fee coverage (available, reserved) in EUR cents.
async fn coverage(server: &TestServer) -> (i64, i64) {
    let ledger = store(server).await;
    let eur = Currency::eur();
    let balances = (
        credit(&ledger, chart::fee_coverage(eur)).await,
        credit(&ledger, chart::fee_coverage_reserved(eur)).await,
    );
    ledger.close().await;
    balances
}

fn confirmation(received: &str) -> Value {
    json!({"received": {"amount": received, "currency": "XOF"}, "value_date": today(),
           "bank_reference": "BOA-BF-2026-17"})
}

async fn september_transfer(server: &TestServer, fund: &Fund) -> String {
    let executed = burkina_paid_for_september(server, fund).await;
    assert_eq!(
        money(&executed["transfers"][0]["expected_local"]),
        ("393574", "XOF")
    );
    assert_eq!(
        money(&executed["transfers"][0]["expected_fee"]),
        ("18.00", "EUR")
    );
    executed["transfers"][0]["id"].as_str().unwrap().to_owned()
}

async fn a_one_xof_claim_is_disputed_moves_nothing_and_an_admin_resolves_it_with_the_statement(
    server: TestServer,
) {
    // Proves the path is closed: "1 XOF arrived" moves no money and leaves fee coverage
    // untouched; the claim is a disputed settlement, kept across a restart, listed under
    // ?status=disputed; only an admin resolves it, with the bank statement as evidence, once; the
    // settlement then booked carries the resolution in its journal metadata; and the database
    // refuses to rewrite claims or resolutions.
    let fund = fund(&server).await;
    let transfer = september_transfer(&server, &fund).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let path = format!("/v1/transfers/{transfer}/confirmation");
    let before = coverage(&server).await;
    let ledger = store(&server).await;
    let head = ledger.chain_head().await.unwrap();
    ledger.close().await;

    let (status, claimed) = server
        .post(&path, &burkina, "one-xof", &confirmation("1"))
        .await;
    assert_eq!(status, 202, "{claimed}");
    assert_eq!(claimed["transfer"]["status"], "disputed");
    assert_eq!(
        money(&claimed["transfer"]["dispute"]["claimed_received"]),
        ("1", "XOF")
    );
    assert_eq!(
        money(&claimed["transfer"]["dispute"]["top_up_needed"]),
        ("600.00", "EUR")
    );
    assert_eq!(claimed["top_up"], Value::Null);
    assert_eq!(coverage(&server).await, before, "fee coverage untouched");
    let ledger = store(&server).await;
    assert_eq!(ledger.chain_head().await.unwrap(), head, "no money moved");
    ledger.close().await;
    // A replay answers the same; another confirmation waits for the review.
    let (status, replayed) = server
        .post(&path, &burkina, "one-xof", &confirmation("1"))
        .await;
    assert_eq!((status, &replayed), (202, &claimed));
    let (status, problem) = server
        .post(&path, &burkina, "whole-now", &confirmation("393574"))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "disputed");

    // The claim survives a restart and is listed.
    let url = server.database_url.clone();
    let _directory = server.stop().await;
    let server = server_on(&url).await;
    let (status, read) = server
        .get(&format!("/v1/transfers/{transfer}"), &burkina)
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["status"], "disputed");
    assert_eq!(money(&read["dispute"]["claimed_received"]), ("1", "XOF"));
    let (_, disputed) = server
        .get("/v1/transfers?status=disputed", &fund.admin)
        .await;
    assert_eq!(disputed["items"].as_array().unwrap().len(), 1, "{disputed}");
    assert_eq!(disputed["items"][0]["id"], transfer.as_str());
    let (_, pending) = server
        .get("/v1/transfers?status=pending", &fund.admin)
        .await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 0, "{pending}");
    let (status, claims) = server
        .get(&format!("/v1/transfers/{transfer}/disputes"), &burkina)
        .await;
    assert_eq!(status, 200, "{claims}");
    let claim = &claims["items"][0];
    assert_eq!(claim["status"], "open");
    assert_eq!(money(&claim["allowance"]), ("23.00", "EUR"));
    assert_eq!(money(&claim["shortfall"]), ("393573", "XOF"));
    assert_eq!(claim["claimed_by"], "beneficiary-user");

    // Only an admin resolves, with valid evidence.
    let resolution_path = format!("/v1/transfers/{transfer}/dispute-resolution");
    let established = json!({"decision": "top_up", "received": {"amount": "393000", "currency": "XOF"},
        "bank_statement_reference": "BOA-BF statement 2026/11 p.3", "reason": "The statement shows 393,000 XOF credited; 574 XOF went to an intermediary."});
    for role_token in [
        burkina.clone(),
        token(NETWORK_ID, Role::Auditor),
        token(&fund.csq, Role::Contributor),
    ] {
        let (status, _) = server
            .post(
                &resolution_path,
                &role_token,
                "resolve-by-other",
                &established,
            )
            .await;
        assert_eq!(status, 403);
    }
    for (key, body, field) in [
        (
            "bad-decision",
            json!({"decision": "maybe", "bank_statement_reference": "S", "reason": "R"}),
            "decision",
        ),
        (
            "no-received",
            json!({"decision": "top_up", "bank_statement_reference": "S", "reason": "R"}),
            "received",
        ),
        (
            "wrong-currency",
            json!({"decision": "top_up", "received": {"amount": "393000", "currency": "EUR"}, "bank_statement_reference": "S", "reason": "R"}),
            "received.currency",
        ),
        (
            "no-statement",
            json!({"decision": "top_up", "received": {"amount": "393000", "currency": "XOF"}, "bank_statement_reference": " ", "reason": "R"}),
            "bank_statement_reference",
        ),
        (
            "no-reason",
            json!({"decision": "reject", "bank_statement_reference": "S", "reason": ""}),
            "reason",
        ),
    ] {
        let (status, problem) = server.post(&resolution_path, &fund.admin, key, &body).await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
    }
    assert_eq!(coverage(&server).await, before, "refusals moved nothing");

    let (status, resolved) = server
        .post(&resolution_path, &fund.admin, "resolve", &established)
        .await;
    assert_eq!(status, 201, "{resolved}");
    assert_eq!(resolved["dispute"]["status"], "resolved");
    assert_eq!(
        money(&resolved["dispute"]["resolution"]["established_received"]),
        ("393000", "XOF")
    );
    assert_eq!(resolved["transfer"]["status"], "topped_up");
    assert_eq!(
        money(&resolved["transfer"]["confirmation"]["received"]),
        ("393000", "XOF")
    );
    // 574 XOF short: 0.88 EUR (577 XOF) with its 15.01 EUR fee, and the 18.00 reserved fee paid.
    assert_eq!(money(&resolved["top_up"]["amount"]), ("0.88", "EUR"));
    assert_eq!(money(&resolved["top_up"]["expected_fee"]), ("15.01", "EUR"));
    assert_eq!(
        coverage(&server).await,
        (before.0 - 88 - 1501, before.1 - 1800 + 1501)
    );
    let ledger = store(&server).await;
    assert_eq!(
        credit(
            &ledger,
            chart::beneficiary_advance(
                organisation(&fund.burkina),
                Currency::from_code("XOF").unwrap()
            )
        )
        .await,
        393_000
    );
    // The settlement's journal entry records who resolved the claim and on what evidence.
    let settlement = resolved["transfer"]["confirmation"]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, journal) = server
        .get("/v1/journal?after_sequence=0&limit=1000", &fund.admin)
        .await;
    assert_eq!(status, 200, "{journal}");
    let entry = journal["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["transaction_id"] == settlement.as_str())
        .unwrap();
    assert_eq!(entry["actor_subject"], "admin-user");
    let metadata: Value = serde_json::from_str(entry["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(
        metadata["bank_statement_reference"],
        "BOA-BF statement 2026/11 p.3"
    );
    assert_eq!(metadata["claimed_received"], "1");
    assert_eq!(metadata["claimed_by"], "beneficiary-user");
    assert!(
        metadata["dispute_resolved_by"]
            .as_str()
            .unwrap()
            .starts_with("admin-user"),
        "{metadata}"
    );
    assert_eq!(metadata["dispute_id"], claim["id"]);

    // Resolving twice is a conflict, and nothing moves.
    let after = coverage(&server).await;
    let (status, problem) = server
        .post(&resolution_path, &fund.admin, "resolve-again", &established)
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "dispute_already_resolved");
    assert_eq!(coverage(&server).await, after);
    let (_, claims) = server
        .get(&format!("/v1/transfers/{transfer}/disputes"), &fund.admin)
        .await;
    assert_eq!(
        claims["items"][0]["resolution"]["reason"],
        established["reason"]
    );
    // A transfer never disputed (the top-up) has nothing to resolve.
    let (status, problem) = server
        .post(
            &format!(
                "/v1/transfers/{}/dispute-resolution",
                resolved["top_up"]["id"].as_str().unwrap()
            ),
            &fund.admin,
            "resolve-top-up",
            &established,
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "not_disputed");

    // The database itself refuses to rewrite claims and resolutions.
    for sql in [
        "UPDATE transfer_disputes SET received_minor = 393574",
        "DELETE FROM transfer_disputes",
        "UPDATE transfer_dispute_resolutions SET reason = 'rewritten'",
        "DELETE FROM transfer_dispute_resolutions",
    ] {
        let error = match (ledger.sqlite_pool(), ledger.postgres_pool()) {
            (Some(pool), _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            (None, Some(pool)) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            (None, None) => unreachable!(),
        }
        .expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    let report = ledger.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    ledger.close().await;
}

async fn claims_just_inside_the_allowance_are_topped_up_and_just_outside_disputed(
    server: TestServer,
) {
    // Proves the bound to the cent: a shortfall whose top-up is 23.01 EUR (the 18.00 expected fee
    // plus the 5.00 tolerance, and one cent) is disputed; the admin's rejection moves nothing and
    // lets the beneficiary confirm again; a shortfall whose top-up is exactly 23.00 EUR is topped
    // up at once; of two claims racing, only one is open.
    let fund = fund(&server).await;
    let transfer = september_transfer(&server, &fund).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let path = format!("/v1/transfers/{transfer}/confirmation");
    let before = coverage(&server).await;

    // 15,088 XOF short needs 23.01 EUR (23.00 EUR converts to 15,087 XOF).
    let (status, outside) = server
        .post(&path, &burkina, "outside", &confirmation("378486"))
        .await;
    assert_eq!(status, 202, "{outside}");
    assert_eq!(outside["transfer"]["status"], "disputed");
    assert_eq!(
        money(&outside["transfer"]["dispute"]["top_up_needed"]),
        ("23.01", "EUR")
    );
    assert_eq!(coverage(&server).await, before);

    // The resolution's reason has the bound of every reason: one character more than
    // MAX_REASON_LENGTH is a 422 naming `reason`, and nothing is decided.
    let too_long = "é".repeat(ledger_core::memo::MAX_REASON_LENGTH + 1);
    let (status, problem) = server
        .post(
            &format!("/v1/transfers/{transfer}/dispute-resolution"),
            &fund.admin,
            "reject-too-long",
            &json!({"decision": "reject", "bank_statement_reference": "S", "reason": too_long}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "reason", "{problem}");

    // The longest reason is taken whole.
    let longest = "é".repeat(ledger_core::memo::MAX_REASON_LENGTH);
    let (status, rejected) = server
        .post(
            &format!("/v1/transfers/{transfer}/dispute-resolution"),
            &fund.admin,
            "reject",
            &json!({"decision": "reject", "bank_statement_reference": "BOA-BF statement 2026/11",
                    "reason": format!(" {longest} ")}),
        )
        .await;
    assert_eq!(status, 201, "{rejected}");
    assert_eq!(rejected["dispute"]["status"], "rejected");
    assert_eq!(rejected["transfer"]["status"], "pending");
    assert_eq!(rejected["top_up"], Value::Null);
    assert_eq!(coverage(&server).await, before, "a rejection moves nothing");
    let (status, problem) = server
        .post(
            &format!("/v1/transfers/{transfer}/dispute-resolution"),
            &fund.admin,
            "reject-again",
            &json!({"decision": "reject", "bank_statement_reference": "S", "reason": "again"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "dispute_already_resolved");

    // Two claims racing on the transfer: one is recorded, the other refused; a transfer has at
    // most one open claim.
    let (claim_1, claim_2) = (confirmation("378486"), confirmation("378485"));
    let (first, second) = tokio::join!(
        server.post(&path, &burkina, "race-1", &claim_1),
        server.post(&path, &burkina, "race-2", &claim_2),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409], "{first:?} {second:?}");
    let (status, rejected) = server
        .post(
            &format!("/v1/transfers/{transfer}/dispute-resolution"),
            &fund.admin,
            "reject-second-claim",
            &json!({"decision": "reject", "bank_statement_reference": "BOA-BF statement 2026/11",
                    "reason": "Same statement: two credits."}),
        )
        .await;
    assert_eq!(status, 201, "{rejected}");
    assert_eq!(rejected["dispute"]["claim_number"], 2);
    assert_eq!(coverage(&server).await, before);

    // 15,087 XOF short needs exactly 23.00 EUR: paid at once, with its 15.12 EUR fee.
    let (status, inside) = server
        .post(&path, &burkina, "inside", &confirmation("378487"))
        .await;
    assert_eq!(status, 201, "{inside}");
    assert_eq!(inside["transfer"]["status"], "topped_up");
    assert_eq!(money(&inside["top_up"]["amount"]), ("23.00", "EUR"));
    assert_eq!(money(&inside["top_up"]["expected_fee"]), ("15.12", "EUR"));
    assert_eq!(
        coverage(&server).await,
        (before.0 - 2300 - 1512, before.1 - 1800 + 1512)
    );
    let (_, claims) = server
        .get(&format!("/v1/transfers/{transfer}/disputes"), &fund.admin)
        .await;
    assert_eq!(claims["items"].as_array().unwrap().len(), 2, "{claims}");
    assert_eq!(claims["items"][0]["status"], "rejected");
    assert_eq!(claims["items"][1]["status"], "rejected");
}

async fn a_repeated_claim_on_the_top_up_is_bounded_by_the_same_allowance(server: TestServer) {
    // Proves a top-up's own confirmation cannot drain fee coverage: claiming "1 XOF arrived" on each
    // top-up is paid at once only while the chain's top-ups, fees included, stay within the
    // transfer's 23.00 EUR allowance; the next claim is disputed and moves nothing.
    let fund = fund(&server).await;
    let transfer = september_transfer(&server, &fund).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let before = coverage(&server).await;
    let confirm = async |id: &str, key: &str, received: &str| -> (u16, Value) {
        server
            .post(
                &format!("/v1/transfers/{id}/confirmation"),
                &burkina,
                key,
                &confirmation(received),
            )
            .await
    };

    // The bank took 2,500 XOF: 3.82 EUR with its 15.02 EUR fee (18.84 of 23.00 used).
    let (status, first) = confirm(&transfer, "first", "391074").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(money(&first["top_up"]["amount"]), ("3.82", "EUR"));
    // "1 XOF of the top-up arrived": 2,499 short needs 3.81 EUR; 18.84 + 3.81 = 22.65 ≤ 23.00.
    let (status, second) = confirm(first["top_up"]["id"].as_str().unwrap(), "second", "1").await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(money(&second["top_up"]["amount"]), ("3.81", "EUR"));
    assert_eq!(money(&second["top_up"]["expected_fee"]), ("15.02", "EUR"));
    let paid = 382 + 1502 + 381 + 1502;
    assert_eq!(coverage(&server).await.0, before.0 - paid);

    // The same claim again: 37.67 already paid, so the next 3.81 is disputed and nothing moves.
    let second_top_up = second["top_up"]["id"].as_str().unwrap().to_owned();
    let (status, third) = confirm(&second_top_up, "third", "1").await;
    assert_eq!(status, 202, "{third}");
    assert_eq!(third["transfer"]["status"], "disputed");
    assert_eq!(third["top_up"], Value::Null);
    assert_eq!(coverage(&server).await.0, before.0 - paid);
    let (_, claims) = server
        .get(
            &format!("/v1/transfers/{second_top_up}/disputes"),
            &fund.admin,
        )
        .await;
    assert_eq!(money(&claims["items"][0]["already_paid"]), ("37.67", "EUR"));
    assert_eq!(money(&claims["items"][0]["allowance"]), ("23.00", "EUR"));
    // Without review, fee coverage paid at most the allowance plus one top-up's fee.
    assert!(paid <= 2300 + 1502);
}
