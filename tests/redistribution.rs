//! End-to-end: what follows a transfer, over HTTP, on SQLite and PostgreSQL — redistribution
//! reports that liquidate a mutual's advance within its funds and the administration cap, the
//! ledger reads auditors use (accounts, balances as at a moment, the journal), and organisation
//! statements in JSON and CSV.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_core::{Currency, chart};
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::southern::{
    burkina_paid_for_september, contribute, credit, fact, fund, money, organisation, programme_id,
    store,
};
use support::{NETWORK_ID, TestServer, days_from_today, today, token};

on_both_engines!(
    reports_liquidate_the_advance_within_funds_and_cap,
    accounts_and_journal_are_read_by_auditors,
    a_journal_position_beyond_any_sequence_is_refused,
    statements_sum_to_closing_minus_opening,
    a_union_follows_its_members_euros_to_the_care_they_paid_for,
);

async fn reports_liquidate_the_advance_within_funds_and_cap(server: TestServer) {
    // Proves redistribution reports: refused above the unliquidated funds (alone or with pending
    // reports), above the administration cap, in a wrong currency; an accepted report liquidates the
    // advance per purpose and is final; rejection needs a reason; and reporting_up_to_date reads
    // accepted reports.
    let fund = fund(&server).await;
    let xof = Currency::from_code("XOF").unwrap();
    let executed = burkina_paid_for_september(&server, &fund).await;
    let transfer = executed["transfers"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        money(&executed["transfers"][0]["expected_local"]),
        ("393574", "XOF")
    );
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let (status, _) = server
        .post(
            &format!("/v1/transfers/{transfer}/confirmation"),
            &burkina,
            "confirm",
            &json!({"received": {"amount": "393574", "currency": "XOF"}, "value_date": today(), "bank_reference": "BOA-1"}),
        )
        .await;
    assert_eq!(status, 201);
    // A programme that wants reports within 10 days of each settlement.
    let (_, reporting) = server
        .post(
            "/v1/programmes",
            &fund.admin,
            "programme-reporting",
            &json!({"name": "Reporting", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                    "allocation": {"policy": "pro_rata_covered_members"},
                    "conditions": [{"code": "reporting_up_to_date", "parameter": "10"}],
                    "minimum_transfer": "0", "admin_cost_cap_percent": "15"}),
        )
        .await;
    let reporting_path = format!(
        "/v1/organisations/{}/eligibility?programme_id={}&as_of={}",
        fund.burkina,
        reporting["id"].as_str().unwrap(),
        // The settlement is value-dated today: more than 10 days before this date.
        days_from_today(11)
    );
    let up_to_date = async |server: &TestServer| -> bool {
        server.get(&reporting_path, &fund.admin).await.1["eligible"]
            .as_bool()
            .unwrap()
    };
    assert!(!up_to_date(&server).await, "nothing reported yet");

    let report = |lines: Value| json!({"period": "2026-10", "currency": "XOF", "lines": lines});
    let (status, problem) = server
        .post(
            "/v1/redistribution-reports",
            &burkina,
            "too-much",
            &report(
                json!([{"purpose": "premium_subsidy", "amount": "400000", "members_count": 1000}]),
            ),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "exceeds_unliquidated_funds");
    let (status, problem) = server
        .post(
            "/v1/redistribution-reports",
            &burkina,
            "admin-heavy",
            &report(
                json!([{"purpose": "care_reimbursement", "amount": "80000", "members_count": 300},
                           {"purpose": "administration", "amount": "20000", "members_count": 0}]),
            ),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "admin_cost_cap_exceeded");
    let (status, problem) = server
        .post("/v1/redistribution-reports", &burkina, "bad",
            &json!({"period": "October", "currency": "EUR", "lines": [{"purpose": "holidays", "amount": "10.5", "members_count": -1}]}))
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "period",
        "currency",
        "lines[0].purpose",
        "lines[0].amount",
        "lines[0].members_count",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let (status, submitted) = server
        .post("/v1/redistribution-reports", &burkina, "october",
            &report(json!([{"purpose": "premium_subsidy", "amount": "250000", "members_count": 1200},
                           {"purpose": "care_reimbursement", "amount": "80000", "members_count": 300},
                           {"purpose": "administration", "amount": "40000", "members_count": 0}])))
        .await;
    assert_eq!(status, 201, "{submitted}");
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(money(&submitted["total"]), ("370000", "XOF"));
    // With the pending report, 30,000 more would exceed what was received.
    let (status, problem) = server
        .post(
            "/v1/redistribution-reports",
            &burkina,
            "more",
            &report(json!([{"purpose": "prevention", "amount": "30000", "members_count": 50}])),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let report_id = submitted["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .post(
            &format!("/v1/redistribution-reports/{report_id}/acceptance"),
            &burkina,
            "self",
            &json!({}),
        )
        .await;
    assert_eq!(status, 403, "a mutual does not accept its own report");
    let (status, accepted) = server
        .post(
            &format!("/v1/redistribution-reports/{report_id}/acceptance"),
            &fund.admin,
            "accept",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted["transaction_id"].is_string());
    let ledger = store(&server).await;
    let burkina_id = organisation(&fund.burkina);
    assert_eq!(
        credit(&ledger, chart::beneficiary_advance(burkina_id, xof)).await,
        23_574
    );
    assert_eq!(
        credit(
            &ledger,
            chart::beneficiary_redistributed(burkina_id, "premium_subsidy", xof)
        )
        .await,
        250_000
    );
    let (status, problem) = server
        .post(
            &format!("/v1/redistribution-reports/{report_id}/acceptance"),
            &fund.admin,
            "accept-again",
            &json!({}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "report_already_decided");
    let (status, _) = server
        .post(
            &format!("/v1/redistribution-reports/{report_id}/rejection"),
            &fund.admin,
            "reject-accepted",
            &json!({"reason": "late"}),
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        !up_to_date(&server).await,
        "23,574 XOF still unaccounted for"
    );

    // A report rejected with its reason posts nothing; the last one accounts for everything.
    let (_, second) = server
        .post(
            "/v1/redistribution-reports",
            &burkina,
            "second",
            &report(json!([{"purpose": "prevention", "amount": "23574", "members_count": 80}])),
        )
        .await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .post(
            &format!("/v1/redistribution-reports/{second_id}/rejection"),
            &fund.admin,
            "reject-blank",
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, rejected) = server
        .post(
            &format!("/v1/redistribution-reports/{second_id}/rejection"),
            &fund.admin,
            "reject",
            &json!({"reason": "invoices missing"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(rejected["rejection_reason"], "invoices missing");
    let (_, third) = server
        .post(
            "/v1/redistribution-reports",
            &burkina,
            "third",
            &report(json!([{"purpose": "prevention", "amount": "23574", "members_count": 80}])),
        )
        .await;
    let (status, _) = server
        .post(
            &format!(
                "/v1/redistribution-reports/{}/acceptance",
                third["id"].as_str().unwrap()
            ),
            &fund.admin,
            "accept-third",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201);
    assert!(
        up_to_date(&server).await,
        "every settled franc is accounted for"
    );
    assert_eq!(
        credit(&ledger, chart::beneficiary_advance(burkina_id, xof)).await,
        0
    );
    // The network reverses the last report (a correction, with its reason): the advance is back and
    // reporting is behind again; only an accepted, unreversed report can be reversed.
    let third_id = third["id"].as_str().unwrap().to_owned();
    let reversal = format!("/v1/redistribution-reports/{third_id}/reversal");
    assert_eq!(
        server
            .post(&reversal, &burkina, "own-reversal", &json!({"reason": "x"}))
            .await
            .0,
        403
    );
    let (status, reversed) = server
        .post(
            &reversal,
            &fund.admin,
            "reverse-third",
            &json!({"reason": "prevention invoices were for 2025"}),
        )
        .await;
    assert_eq!(status, 201, "{reversed}");
    assert_eq!(reversed["status"], "reversed");
    assert_eq!(
        reversed["reversal_reason"],
        "prevention invoices were for 2025"
    );
    assert_eq!(
        credit(&ledger, chart::beneficiary_advance(burkina_id, xof)).await,
        23_574
    );
    assert!(
        !up_to_date(&server).await,
        "the reversed report no longer accounts for anything"
    );
    let (status, problem) = server
        .post(
            &reversal,
            &fund.admin,
            "reverse-third-again",
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "report_not_reversible");
    let (status, _) = server
        .post(
            &format!("/v1/redistribution-reports/{second_id}/reversal"),
            &fund.admin,
            "reverse-rejected",
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, 409, "a rejected report cannot be reversed");
    let (_, listed) = server.get("/v1/redistribution-reports", &burkina).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    let (status, _) = server
        .get(
            &format!("/v1/redistribution-reports/{report_id}"),
            &token(&fund.mesp, Role::Beneficiary),
        )
        .await;
    assert_eq!(status, 404);
    let (status, read) = server
        .get(
            &format!("/v1/redistribution-reports/{report_id}"),
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["lines"].as_array().unwrap().len(), 3);
    let report = ledger.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    ledger.close().await;
}

async fn accounts_and_journal_are_read_by_auditors(server: TestServer) {
    // Proves the ledger reads: the chart with balances, a balance as at a moment, the journal in
    // chain order with its hashes linked, paging, and that only auditors and admins read them.
    let fund = fund(&server).await;
    let auditor = token(NETWORK_ID, Role::Auditor);
    let (status, first) = server.get("/v1/journal?limit=1", &auditor).await;
    assert_eq!(status, 200, "{first}");
    let before_receipts = first["items"].as_array().unwrap().len();
    assert_eq!(
        before_receipts, 0,
        "organisations and programmes post nothing"
    );
    contribute(&server, &fund, &fund.csq, "2026-09", 120, "2026-09-20").await;
    let (_, journal) = server
        .get("/v1/journal?after_sequence=0&limit=1", &auditor)
        .await;
    assert_eq!(journal["items"][0]["sequence"], 1);
    assert_eq!(journal["items"][0]["kind"], "pledge");
    assert_eq!(journal["next_after_sequence"], 1);
    let pledged_at = journal["items"][0]["recorded_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, rest) = server
        .get("/v1/journal?after_sequence=1&limit=1000", &auditor)
        .await;
    assert_eq!(rest["items"][0]["kind"], "receipt");
    assert_eq!(
        rest["items"][0]["previous_hash"],
        journal["items"][0]["hash"]
    );
    assert_eq!(rest["next_after_sequence"], Value::Null);
    assert_eq!(server.get("/v1/journal?limit=5000", &auditor).await.0, 422);

    let pool = chart::programme_pool(programme_id(&fund), Currency::eur());
    let (status, now) = server
        .get(&format!("/v1/accounts/{}", pool.id), &auditor)
        .await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(money(&now["balance"]), ("-120.00", "EUR"));
    let (_, then) = server
        .get(
            &format!("/v1/accounts/{}?at={}", pool.id, pledged_at),
            &auditor,
        )
        .await;
    assert_eq!(money(&then["balance"]), ("0.00", "EUR"), "{then}");
    assert_eq!(then["at_sequence"], 1);
    let (status, _) = server
        .get(&format!("/v1/accounts/{}?at=yesterday", pool.id), &auditor)
        .await;
    assert_eq!(status, 422);
    let (_, listed) = server.get("/v1/accounts?limit=1000", &fund.admin).await;
    let codes: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&pool.code.as_str()), "{codes:?}");
    let total: i64 = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|account| {
            account["balance"]["amount"]
                .as_str()
                .unwrap()
                .replace('.', "")
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 0, "the books balance");
    for role in [Role::Contributor, Role::Beneficiary] {
        assert_eq!(
            server.get("/v1/accounts", &token(&fund.csq, role)).await.0,
            403
        );
        assert_eq!(
            server.get("/v1/journal", &token(&fund.csq, role)).await.0,
            403
        );
    }
}

async fn a_journal_position_beyond_any_sequence_is_refused(server: TestServer) {
    // Proves an `after_sequence` beyond what a sequence can be (stored as a signed 64-bit
    // integer) is a 422 naming the parameter, not a 500, while the largest one reads an empty page.
    let auditor = token(NETWORK_ID, Role::Auditor);
    let (status, page) = server
        .get("/v1/journal?after_sequence=9223372036854775807", &auditor)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"], json!([]));
    let (status, problem) = server
        .get("/v1/journal?after_sequence=9223372036854775808", &auditor)
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "after_sequence");
}

async fn statements_sum_to_closing_minus_opening(server: TestServer) {
    // Proves organisation statements: opening balance, movements with running balances and closing
    // balance, in JSON and CSV, the movements summing to closing − opening; and who may read them.
    let fund = fund(&server).await;
    fact(
        &server,
        &fund,
        &fund.burkina,
        "mutual_operational",
        json!(true),
        "2026-01-01",
    )
    .await;
    fact(
        &server,
        &fund,
        &fund.burkina,
        "public_cofinancing_percent",
        json!("5"),
        "2026-01-01",
    )
    .await;
    contribute(&server, &fund, &fund.csq, "2026-08", 500, "2026-08-20").await;
    contribute(&server, &fund, &fund.csq, "2026-09", 1000, "2026-09-20").await;
    server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": "100.00", "reference": "sponsor"}),
        )
        .await;
    let (_, run) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "run",
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false}),
        )
        .await;
    let (_, executed) = server
        .post(
            &format!(
                "/v1/transfer-runs/{}/execution",
                run["id"].as_str().unwrap()
            ),
            &fund.admin,
            "exec",
            &json!({}),
        )
        .await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let transfer = executed["transfers"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .post(&format!("/v1/transfers/{transfer}/confirmation"), &burkina, "confirm",
            &json!({"received": {"amount": "590000", "currency": "XOF"}, "value_date": today(), "bank_reference": "BOA-1"}))
        .await;
    assert_eq!(status, 201);
    let minor = |value: &Value| -> i64 {
        value["amount"]
            .as_str()
            .unwrap()
            .replace('.', "")
            .parse()
            .unwrap()
    };

    let path = format!(
        "/v1/organisations/{}/statement?from=2026-10-01&to={}",
        fund.burkina,
        today()
    );
    let (status, statement) = server.get(&path, &burkina).await;
    assert_eq!(status, 200, "{statement}");
    assert_eq!(statement["currency"], "XOF");
    let movements = statement["movements"].as_array().unwrap();
    // The settlement and the top-up's arrival is pending: one movement of 590,000 XOF.
    assert_eq!(movements.len(), 1, "{statement}");
    assert_eq!(movements[0]["kind"], "settlement");
    let sum: i64 = movements
        .iter()
        .map(|movement| minor(&movement["amount"]))
        .sum();
    assert_eq!(
        sum,
        minor(&statement["closing_balance"]) - minor(&statement["opening_balance"])
    );
    assert_eq!(minor(&statement["closing_balance"]), 590_000);

    // The union's statement in EUR: what it owes, pledges up and receipts down.
    let union_path = format!("/v1/organisations/{}/statement", fund.csq);
    let (_, union_statement) = server
        .get(&union_path, &token(&fund.csq, Role::Contributor))
        .await;
    let kinds: Vec<&str> = union_statement["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    // Movements are in value-date order: a pledge is dated the day it is submitted (today), these
    // receipts carry the bank's earlier value dates.
    assert_eq!(
        kinds,
        ["receipt", "receipt", "pledge", "pledge"],
        "{union_statement}"
    );
    assert_eq!(
        money(&union_statement["movements"][0]["running_balance"]),
        ("-500.00", "EUR")
    );
    assert_eq!(money(&union_statement["closing_balance"]), ("0.00", "EUR"));
    let (_, september) = server
        .get(&format!("{union_path}?from=2026-09-01"), &fund.admin)
        .await;
    assert_eq!(september["movements"].as_array().unwrap().len(), 3);
    assert_eq!(money(&september["opening_balance"]), ("-500.00", "EUR"));
    let sum: i64 = september["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|movement| minor(&movement["amount"]))
        .sum();
    assert_eq!(
        sum,
        minor(&september["closing_balance"]) - minor(&september["opening_balance"])
    );

    let csv = server
        .client
        .get(server.url(&path))
        .bearer_auth(&burkina)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "date,kind,reference,description,amount,currency,running_balance,original_amount,original_currency,rate"
    );
    assert!(rows[1].starts_with("2026-10-01,opening_balance,"));
    assert!(
        rows[2].contains(",settlement,") && rows[2].ends_with(",590000,XOF,590000,,,"),
        "{text}"
    );
    assert!(
        rows[3].starts_with(&format!("{},closing_balance,", today()))
            && rows[3].ends_with(",590000,,,")
    );

    assert_eq!(
        server
            .get(&path, &token(&fund.mesp, Role::Beneficiary))
            .await
            .0,
        404
    );
    assert_eq!(
        server.get(&path, &token(NETWORK_ID, Role::Auditor)).await.0,
        200
    );
    let (status, problem) = server.get(&format!("{path}&currency=EUX"), &burkina).await;
    assert_eq!(status, 422, "{problem}");
    let (status, _) = server
        .get(
            &format!(
                "/v1/organisations/{}/statement?from=2026-12-01&to=2026-01-01",
                fund.burkina
            ),
            &burkina,
        )
        .await;
    assert_eq!(status, 422);
}

async fn a_union_follows_its_members_euros_to_the_care_they_paid_for(server: TestServer) {
    // Proves tracing end to end: from one call, a union sees its September euros redistributed as
    // premium subsidies by the Burkina mutual, in transit to MUGEF-CI, and held for MESP because its
    // public co-financing is missing — first in, first out, reconciling to the cent; a beneficiary
    // sees who funded it; nobody sees another's tracing.
    let fund = fund(&server).await;
    let mugef = server
        .organisation("mugef-ci", "beneficiary", "CI", "XOF", 5000)
        .await;
    for beneficiary in [&fund.burkina, &mugef] {
        fact(
            &server,
            &fund,
            beneficiary,
            "mutual_operational",
            json!(true),
            "2026-01-01",
        )
        .await;
        fact(
            &server,
            &fund,
            beneficiary,
            "public_cofinancing_percent",
            json!("7"),
            "2026-01-01",
        )
        .await;
    }
    fact(
        &server,
        &fund,
        &fund.mesp,
        "mutual_operational",
        json!(true),
        "2026-01-01",
    )
    .await;
    contribute(&server, &fund, &fund.csq, "2026-09", 12_000, "2026-09-20").await;
    contribute(&server, &fund, &fund.mgen, "2026-09", 3_000, "2026-09-21").await;
    server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": "500.00", "reference": "sponsor"}),
        )
        .await;
    let (_, run) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "run",
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false}),
        )
        .await;
    let (status, executed) = server
        .post(
            &format!(
                "/v1/transfer-runs/{}/execution",
                run["id"].as_str().unwrap()
            ),
            &fund.admin,
            "exec",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{executed}");
    // Read tracing part-way (the store follows the journal from here on, applying only what is new):
    // everything sent is in transit or held, nothing is left in the pool.
    let (_, midway) = server
        .get(
            &format!("/v1/tracing/contributors/{}?period=2026-09", fund.csq),
            &fund.admin,
        )
        .await;
    assert_eq!(money(&midway["in_transit"]), ("8000.00", "EUR"), "{midway}");
    assert_eq!(money(&midway["held"]), ("4000.00", "EUR"));
    let burkina_transfer = executed["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|transfer| transfer["beneficiary_id"] == fund.burkina.as_str())
        .unwrap();
    assert_eq!(
        money(&burkina_transfer["expected_local"]),
        ("3935742", "XOF")
    );
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let (status, _) = server
        .post(&format!("/v1/transfers/{}/confirmation", burkina_transfer["id"].as_str().unwrap()), &burkina, "confirm",
            &json!({"received": {"amount": "3935742", "currency": "XOF"}, "value_date": today(), "bank_reference": "BOA-1"}))
        .await;
    assert_eq!(status, 201);
    let (_, report) = server
        .post(
            "/v1/redistribution-reports",
            &burkina,
            "report",
            &json!({"period": "2026-10", "currency": "XOF", "lines": [
                {"purpose": "premium_subsidy", "amount": "2000000", "members_count": 1500},
                {"purpose": "administration", "amount": "100000", "members_count": 0}]}),
        )
        .await;
    let (status, _) = server
        .post(
            &format!(
                "/v1/redistribution-reports/{}/acceptance",
                report["id"].as_str().unwrap()
            ),
            &fund.admin,
            "accept",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201);

    // One call answers the union's question.
    let union = token(&fund.csq, Role::Contributor);
    // A late section's batch, pledged and not yet received, is shown as pledged, not as a lot.
    let (status, _) = server
        .post(
            "/v1/contribution-batches",
            &union,
            "late-section",
            &json!({"programme_id": fund.programme, "period": "2026-09", "lines": [
                {"reference": "late-section", "members": 100, "amount": "100.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, traced) = server
        .get(
            &format!("/v1/tracing/contributors/{}?period=2026-09", fund.csq),
            &union,
        )
        .await;
    assert_eq!(status, 200, "{traced}");
    assert_eq!(money(&traced["received_total"]), ("12000.00", "EUR"));
    assert_eq!(money(&traced["held"]), ("4000.00", "EUR"));
    assert_eq!(money(&traced["in_transit"]), ("2000.00", "EUR"));
    assert_eq!(money(&traced["redistributed"]), ("3201.42", "EUR"));
    assert_eq!(money(&traced["with_beneficiaries"]), ("2798.58", "EUR"));
    assert_eq!(money(&traced["in_pool"]), ("0.00", "EUR"));
    assert_eq!(money(&traced["pledged_outstanding"]), ("100.00", "EUR"));
    let minor = |value: &Value| -> i64 {
        value["amount"]
            .as_str()
            .unwrap()
            .replace('.', "")
            .parse()
            .unwrap()
    };
    let parts: i64 = [
        "in_pool",
        "earmarked",
        "held",
        "in_transit",
        "with_beneficiaries",
        "redistributed",
        "refunded",
    ]
    .iter()
    .map(|field| minor(&traced[*field]))
    .sum();
    assert_eq!(
        parts,
        minor(&traced["received_total"]),
        "reconciles to the cent"
    );
    let share = |traced: &Value, beneficiary: &str| -> Value {
        traced["beneficiaries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|share| share["beneficiary_id"] == beneficiary)
            .unwrap()
            .clone()
    };
    let mesp = share(&traced, &fund.mesp);
    assert_eq!(money(&mesp["held"]), ("4000.00", "EUR"));
    assert_eq!(mesp["held_because"], json!(["public_cofinancing"]));
    assert_eq!(
        money(&share(&traced, &mugef)["in_transit"]),
        ("2000.00", "EUR")
    );
    let burkina_share = share(&traced, &fund.burkina);
    let subsidies = burkina_share["redistributed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|purpose| purpose["purpose"] == "premium_subsidy")
        .unwrap();
    assert_eq!(money(&subsidies["eur"]), ("3048.98", "EUR"));
    assert_eq!(money(&subsidies["local"]), ("2000000", "XOF"));
    assert_eq!(money(&burkina_share["received_local"]), ("1835742", "XOF"));
    // First in, first out: the second union's later euros are the ones still in transit to MUGEF-CI.
    let (_, second) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.mgen),
            &token(&fund.mgen, Role::Contributor),
        )
        .await;
    assert_eq!(money(&second["in_transit"]), ("3000.00", "EUR"));
    let (status, funded) = server
        .get(
            &format!("/v1/tracing/beneficiaries/{mugef}"),
            &token(&mugef, Role::Beneficiary),
        )
        .await;
    assert_eq!(status, 200, "{funded}");
    assert_eq!(money(&funded["total"]), ("5000.00", "EUR"));
    assert_eq!(funded["funders"].as_array().unwrap().len(), 2);
    assert_eq!(funded["funders"][0]["period"], "2026-09");

    // Another union's tracing: the union is listed to this token, so the answer says it may not
    // trace it (403), not that it does not exist; an id that is no contributor is a 404.
    let (status, refused) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.csq),
            &token(&fund.mgen, Role::Contributor),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "forbidden");
    assert!(
        !refused["detail"].as_str().unwrap().contains("no such"),
        "{refused}"
    );
    let (_, listed) = server
        .get("/v1/organisations", &token(&fund.mgen, Role::Contributor))
        .await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|organisation| organisation["id"] == fund.csq.as_str())
    );
    for unknown in [uuid::Uuid::nil().to_string(), fund.burkina.clone()] {
        assert_eq!(
            server
                .get(
                    &format!("/v1/tracing/contributors/{unknown}"),
                    &token(&fund.mgen, Role::Contributor)
                )
                .await
                .0,
            404
        );
    }
    assert_eq!(
        server
            .get(&format!("/v1/tracing/contributors/{}", fund.csq), &burkina)
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .get(
                &format!("/v1/tracing/contributors/{}", fund.csq),
                &token(NETWORK_ID, Role::Auditor)
            )
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .get(&format!("/v1/tracing/beneficiaries/{mugef}"), &burkina)
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .get(&format!("/v1/tracing/beneficiaries/{mugef}"), &union)
            .await
            .0,
        403
    );
    // Reversing the Burkina report puts its money back with the mutual, in tracing too.
    let (status, _) = server
        .post(
            &format!(
                "/v1/redistribution-reports/{}/reversal",
                report["id"].as_str().unwrap()
            ),
            &fund.admin,
            "reverse",
            &json!({"reason": "premium subsidies counted twice"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, after) = server
        .get(
            &format!("/v1/tracing/contributors/{}?period=2026-09", fund.csq),
            &union,
        )
        .await;
    assert_eq!(money(&after["redistributed"]), ("0.00", "EUR"), "{after}");
    assert_eq!(money(&after["with_beneficiaries"]), ("6000.00", "EUR"));
    assert_eq!(
        money(&share(&after, &fund.burkina)["received_local"]),
        ("3935742", "XOF")
    );
}
