//! End-to-end: eligibility and loss-free transfers over HTTP, on SQLite and PostgreSQL — two unions
//! contribute; a Burkina Faso mutual (XOF) is eligible and paid, MESP (CDF) lacks public co-financing
//! and its share is held; the bank takes 2,500 XOF on the way and fee coverage tops it up; next
//! period MESP qualifies and receives its held share. The invariant is checked from the ledger at
//! each step: every beneficiary holds at least what was expected and the pool never pays a fee.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_core::{Currency, chart};
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::southern::{
    burkina_paid_for_september_with_coverage, contribute, credit, fact, fund, money, organisation,
    programme_id, store,
};
use support::{NETWORK_ID, TestServer, days_from_today, today, token};

on_both_engines!(
    two_unions_pay_one_mutual_hold_the_other_and_top_up_a_deduction,
    bad_runs_and_confirmations_are_refused_and_write_nothing,
    stale_and_repeated_executions_are_refused,
    facts_and_eligibility_are_guarded_by_role,
    held_funds_return_to_the_pool_and_allocated_batches_cannot_be_reversed,
    random_runs_and_deductions_keep_every_beneficiary_whole,
    a_top_up_fee_coverage_cannot_pay_is_refused_until_funded,
);

fn share<'a>(run: &'a Value, beneficiary: &str) -> &'a Value {
    run["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|share| share["beneficiary_id"] == beneficiary)
        .unwrap()
}

async fn two_unions_pay_one_mutual_hold_the_other_and_top_up_a_deduction(server: TestServer) {
    // Proves the whole southern flow and its invariant on both engines.
    let fund = fund(&server).await;
    let eur = Currency::eur();
    let xof = Currency::from_code("XOF").unwrap();
    let cdf = Currency::from_code("CDF").unwrap();
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
        json!("8"),
        "2026-01-01",
    )
    .await;
    fact(
        &server,
        &fund,
        &fund.mesp,
        "mutual_operational",
        json!("true"),
        "2026-01-01",
    )
    .await;
    contribute(&server, &fund, &fund.csq, "2026-09", 6000, "2026-09-25").await;
    contribute(&server, &fund, &fund.mgen, "2026-09", 4000, "2026-09-26").await;
    // Money that arrives after the period ended is not spent by that period's run.
    contribute(&server, &fund, &fund.mgen, "2026-10", 50, "2026-10-03").await;
    let (status, deposit) = server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage-1",
            &json!({"amount": "500.00", "reference": "Network operating budget 2026"}),
        )
        .await;
    assert_eq!(status, 201, "{deposit}");

    // MESP's verdict names the missing condition.
    let (status, verdict) = server
        .get(
            &format!(
                "/v1/organisations/{}/eligibility?programme_id={}&as_of=2026-09-30",
                fund.mesp, fund.programme
            ),
            &fund.admin,
        )
        .await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["eligible"], false);
    assert_eq!(verdict["conditions"][0]["passed"], true);
    assert_eq!(
        verdict["conditions"][0]["facts"][0]["evidence_reference"],
        "minutes 2026-01-01"
    );
    assert_eq!(verdict["conditions"][1]["code"], "public_cofinancing");
    assert_eq!(verdict["conditions"][1]["passed"], false);
    assert_eq!(verdict["conditions"][1]["parameter"], "5");
    assert_eq!(verdict["conditions"][1]["observed"], Value::Null);

    // A dry run records nothing; the real plan is recorded and executed.
    let run_body = json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": true});
    let (status, dry) = server
        .post("/v1/transfer-runs", &fund.admin, "dry-2026-09", &run_body)
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["status"], "dry_run");
    assert_eq!(dry["id"], Value::Null);
    assert_eq!(money(&dry["totals"]["pool"]), ("10000.00", "EUR"));
    let paid = share(&dry, &fund.burkina);
    assert_eq!(paid["outcome"], "transfer");
    assert_eq!(money(&paid["transfer"]), ("6000.00", "EUR"));
    assert_eq!(money(&paid["expected_fee"]), ("45.00", "EUR"));
    assert_eq!(money(&paid["expected_local"]), ("3935742", "XOF"));
    assert_eq!(paid["rate"]["rate"], "655.957");
    assert_eq!(paid["rate"]["source"], "fixed_parity");
    let held = share(&dry, &fund.mesp);
    assert_eq!(held["outcome"], "held");
    assert_eq!(held["failing_conditions"], json!(["public_cofinancing"]));
    assert_eq!(money(&held["newly_held"]), ("4000.00", "EUR"));
    let (status, run) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "run-2026-09",
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "planned");
    let run_id = run["id"].as_str().unwrap().to_owned();
    let (status, executed) = server
        .post(
            &format!("/v1/transfer-runs/{run_id}/execution"),
            &fund.admin,
            "execute-2026-09",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{executed}");
    let transfers = executed["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["status"], "pending");
    assert_eq!(transfers[0]["end_to_end_id"].as_str().unwrap().len(), 32);
    assert_eq!(executed["not_executed"][0]["outcome"], "held");
    let (_, read_run) = server
        .get(&format!("/v1/transfer-runs/{run_id}"), &fund.admin)
        .await;
    assert_eq!(read_run["status"], "executed");

    let ledger = store(&server).await;
    let programme = programme_id(&fund);
    // Only the October receipt remains in the pool; MESP's share is held; fees came from coverage.
    assert_eq!(
        credit(&ledger, chart::programme_pool(programme, eur)).await,
        5000
    );
    assert_eq!(
        credit(
            &ledger,
            chart::programme_held(programme, organisation(&fund.mesp), eur)
        )
        .await,
        400_000
    );
    assert_eq!(
        credit(&ledger, chart::fee_coverage(eur)).await,
        50_000 - 4500
    );
    assert_eq!(
        credit(&ledger, chart::fee_coverage_reserved(eur)).await,
        4500
    );

    // The bank deducts 2,500 XOF on the way: the confirmation creates a top-up from fee coverage.
    let burkina_token = token(&fund.burkina, Role::Beneficiary);
    let transfer_id = transfers[0]["id"].as_str().unwrap().to_owned();
    let (status, confirmed) = server
        .post(
            &format!("/v1/transfers/{transfer_id}/confirmation"),
            &burkina_token,
            "confirm-1",
            &json!({"received": {"amount": "3933242", "currency": "XOF"}, "value_date": today(),
                    "bank_reference": "BOA-BF-2026-10-08-17", "fees_deducted": {"amount": "2500", "currency": "XOF"}}),
        )
        .await;
    assert_eq!(status, 201, "{confirmed}");
    assert_eq!(confirmed["transfer"]["status"], "topped_up");
    assert_eq!(
        money(&confirmed["transfer"]["confirmation"]["shortfall"]),
        ("2500", "XOF")
    );
    let top_up = &confirmed["top_up"];
    assert_eq!(top_up["kind"], "top_up");
    assert_eq!(money(&top_up["amount"]), ("3.82", "EUR"));
    assert_eq!(money(&top_up["expected_fee"]), ("15.02", "EUR"));
    assert_eq!(money(&top_up["expected_local"]), ("2506", "XOF"));
    let advance = chart::beneficiary_advance(organisation(&fund.burkina), xof);
    assert_eq!(credit(&ledger, advance.clone()).await, 3_933_242);

    // The top-up arrives whole; the mutual now holds at least what was expected (3,935,742 XOF).
    let (status, settled) = server
        .post(
            &format!("/v1/transfers/{}/confirmation", top_up["id"].as_str().unwrap()),
            &burkina_token,
            "confirm-top-up",
            &json!({"received": {"amount": "2506", "currency": "XOF"}, "value_date": today(), "bank_reference": "BOA-BF-2026-10-15-02"}),
        )
        .await;
    assert_eq!(status, 201, "{settled}");
    assert_eq!(settled["transfer"]["status"], "settled");
    assert_eq!(
        money(&settled["transfer"]["confirmation"]["surplus"]),
        ("6", "XOF")
    );
    assert_eq!(settled["top_up"], Value::Null);
    assert!(credit(&ledger, advance.clone()).await >= 3_935_742);
    // The pool never paid a fee: its only movements are the receipts and the two allocations.
    assert_eq!(
        credit(&ledger, chart::programme_pool(programme, eur)).await,
        5000
    );
    assert_eq!(
        credit(&ledger, chart::fee_coverage(eur)).await,
        50_000 - 4500 - 382 - 1502
    );
    assert_eq!(credit(&ledger, chart::fee_coverage_reserved(eur)).await, 0);
    let (_, listed) = server
        .get("/v1/transfers?status=settled", &burkina_token)
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let (_, listed) = server
        .get("/v1/transfers?status=topped_up", &fund.admin)
        .await;
    assert_eq!(listed["items"][0]["id"], transfer_id.as_str());

    // Next period MESP records its public co-financing and receives its held share with October's.
    fact(
        &server,
        &fund,
        &fund.mesp,
        "public_cofinancing_percent",
        json!("6.5"),
        "2026-10-01",
    )
    .await;
    contribute(&server, &fund, &fund.csq, "2026-10", 5950, "2026-10-20").await;
    let (status, october) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "run-2026-10",
            &json!({"programme_id": fund.programme, "period": "2026-10", "dry_run": false}),
        )
        .await;
    assert_eq!(status, 201, "{october}");
    let mesp_share = share(&october, &fund.mesp);
    assert_eq!(mesp_share["outcome"], "transfer");
    assert_eq!(money(&mesp_share["pool_share"]), ("2400.00", "EUR"));
    assert_eq!(money(&mesp_share["held_before"]), ("4000.00", "EUR"));
    assert_eq!(money(&mesp_share["transfer"]), ("6400.00", "EUR"));
    assert_eq!(mesp_share["rate_missing"], true);
    assert_eq!(october["missing_rates"], json!(["CDF"]));
    let october_id = october["id"].as_str().unwrap().to_owned();
    // CDF has no fixed parity: executing without its rate is refused, naming the field.
    let (status, problem) = server
        .post(
            &format!("/v1/transfer-runs/{october_id}/execution"),
            &fund.admin,
            "execute-10-no-rate",
            &json!({}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "rates.CDF");
    let (status, executed) = server
        .post(
            &format!("/v1/transfer-runs/{october_id}/execution"),
            &fund.admin,
            "execute-10",
            &json!({"rates": {"CDF": {"rate": "2850.50", "source": "Banque centrale du Congo fixing 2026-10-31"}}}),
        )
        .await;
    assert_eq!(status, 201, "{executed}");
    let mesp_transfer = executed["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|transfer| transfer["beneficiary_id"] == fund.mesp.as_str())
        .unwrap();
    assert_eq!(
        money(&mesp_transfer["expected_local"]),
        ("18243200.00", "CDF")
    );
    assert_eq!(
        mesp_transfer["rate"]["source"],
        "Banque centrale du Congo fixing 2026-10-31"
    );
    assert_eq!(
        credit(
            &ledger,
            chart::programme_held(programme, organisation(&fund.mesp), eur)
        )
        .await,
        0
    );
    // MESP confirms the whole amount: it holds exactly what was expected, in CDF.
    let (status, _) = server
        .post(
            &format!("/v1/transfers/{}/confirmation", mesp_transfer["id"].as_str().unwrap()),
            &token(&fund.mesp, Role::Beneficiary),
            "mesp-confirm",
            &json!({"received": {"amount": "18243200.00", "currency": "CDF"}, "value_date": today(), "bank_reference": "RAWBANK-778"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        credit(
            &ledger,
            chart::beneficiary_advance(organisation(&fund.mesp), cdf)
        )
        .await,
        1_824_320_000
    );
    let report = ledger.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    ledger.close().await;
}

async fn bad_runs_and_confirmations_are_refused_and_write_nothing(server: TestServer) {
    // Proves each bad input is a problem+json naming its field and nothing is written.
    let fund = fund(&server).await;
    let ledger = store(&server).await;
    let plan =
        |period: &str| json!({"programme_id": fund.programme, "period": period, "dry_run": false});
    let head = ledger.chain_head().await.unwrap();
    for (key, body, field) in [
        ("bad-period", plan("2026-13"), "period"),
        ("quarter-form", plan("2026-Q3"), "period"),
        ("not-ended", plan("2099-01"), "period"),
        (
            "no-programme",
            json!({"programme_id": "00000000-0000-0000-0000-0000000000aa", "period": "2026-09", "dry_run": false}),
            "programme_id",
        ),
        (
            "bad-rate",
            json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false,
                   "rates": {"CDF": {"rate": 2850.5, "source": "x"}}}),
            "rates.CDF.rate",
        ),
    ] {
        let (status, problem) = server
            .post("/v1/transfer-runs", &fund.admin, key, &body)
            .await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|error| error["field"] == field),
            "{key}: {problem}"
        );
    }
    // With no eligible beneficiary (no facts at all), the plan is valid and holds everything.
    contribute(&server, &fund, &fund.csq, "2026-09", 1000, "2026-09-20").await;
    let head_before_plans = ledger.chain_head().await.unwrap();
    assert_ne!(head, head_before_plans);
    let (status, held) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "all-held",
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": true}),
        )
        .await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(money(&held["totals"]["newly_held"]), ("1000.00", "EUR"));
    assert_eq!(money(&held["totals"]["transferred"]), ("0.00", "EUR"));

    // Confirmations: another mutual's transfer, a wrong currency, zero, negative, XOF decimals, and
    // value dates before the transfer was executed (today) or after today.
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
    let (_, coverage) = server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": "100.00", "reference": "sponsor"}),
        )
        .await;
    assert_eq!(coverage["amount"]["amount"], "100.00");
    let (status, run) = server
        .post("/v1/transfer-runs", &fund.admin, "run", &plan("2026-09"))
        .await;
    assert_eq!(status, 201, "{run}");
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
    let transfer = executed["transfers"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/transfers/{transfer}/confirmation");
    let head = ledger.chain_head().await.unwrap();
    let confirm = |amount: &str, currency: &str| json!({"received": {"amount": amount, "currency": currency}, "value_date": today(), "bank_reference": "BOA-1"});
    let (status, _) = server
        .post(
            &path,
            &token(&fund.mesp, Role::Beneficiary),
            "other",
            &confirm("1", "XOF"),
        )
        .await;
    assert_eq!(status, 404, "another mutual's transfer is not disclosed");
    let burkina = token(&fund.burkina, Role::Beneficiary);
    for (key, body, field) in [
        ("currency", confirm("1000", "EUR"), "received.currency"),
        ("zero", confirm("0", "XOF"), "received.amount"),
        ("negative", confirm("-5", "XOF"), "received.amount"),
        ("decimals", confirm("1000.5", "XOF"), "received.amount"),
        (
            "number",
            json!({"received": {"amount": 1000, "currency": "XOF"}, "value_date": today(), "bank_reference": "B"}),
            "received.amount",
        ),
        (
            "date",
            json!({"received": {"amount": "1000", "currency": "XOF"}, "value_date": "08/10/2026", "bank_reference": "B"}),
            "value_date",
        ),
        (
            "before-execution",
            json!({"received": {"amount": "1000", "currency": "XOF"}, "value_date": days_from_today(-1), "bank_reference": "B"}),
            "value_date",
        ),
        (
            "future",
            json!({"received": {"amount": "1000", "currency": "XOF"}, "value_date": days_from_today(1), "bank_reference": "B"}),
            "value_date",
        ),
    ] {
        let (status, problem) = server.post(&path, &burkina, key, &body).await;
        assert_eq!(status, 422, "{key}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{key}: {problem}");
    }
    let (status, _) = server
        .post(
            &path,
            &token(&fund.csq, Role::Contributor),
            "contributor",
            &confirm("1", "XOF"),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        ledger.chain_head().await.unwrap(),
        head,
        "refused confirmations wrote nothing"
    );
    let expected = executed["transfers"][0]["expected_local"]["amount"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = server
        .post(&path, &burkina, "good", &confirm(&expected, "XOF"))
        .await;
    assert_eq!(status, 201);
    let (status, problem) = server
        .post(&path, &burkina, "twice", &confirm(&expected, "XOF"))
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "already_confirmed");
    // A replay of the first confirmation returns it again and writes nothing.
    let head = ledger.chain_head().await.unwrap();
    let (status, replayed) = server
        .post(&path, &burkina, "good", &confirm(&expected, "XOF"))
        .await;
    assert_eq!(status, 201);
    assert_eq!(replayed["transfer"]["status"], "settled");
    assert_eq!(ledger.chain_head().await.unwrap(), head);
    ledger.close().await;
}

async fn stale_and_repeated_executions_are_refused(server: TestServer) {
    // Proves a plan whose pool moved is not executed (409 run_stale), a run executes once, and a
    // transfer whose fees fee coverage cannot pay is not made — its money stays in the pool.
    let fund = fund(&server).await;
    for beneficiary in [&fund.burkina, &fund.mesp] {
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
            json!("10"),
            "2026-01-01",
        )
        .await;
    }
    contribute(&server, &fund, &fund.csq, "2026-09", 1000, "2026-09-20").await;
    // 20 EUR of coverage pays the Burkina transfer's 15.00 + 0.5 % of its amount, not MESP's 10.00 too.
    server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": "20.00", "reference": "sponsor"}),
        )
        .await;
    let run = |key: &'static str| {
        let server = &server;
        let body = json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false});
        let admin = fund.admin.clone();
        async move { server.post("/v1/transfer-runs", &admin, key, &body).await }
    };
    let (_, stale) = run("stale").await;
    contribute(&server, &fund, &fund.mgen, "2026-09", 10, "2026-09-21").await;
    let (status, problem) = server
        .post(
            &format!(
                "/v1/transfer-runs/{}/execution",
                stale["id"].as_str().unwrap()
            ),
            &fund.admin,
            "exec-stale",
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "run_stale");
    let (_, current) = run("current").await;
    let current_id = current["id"].as_str().unwrap().to_owned();
    assert_eq!(share(&current, &fund.burkina)["outcome"], "transfer");
    assert_eq!(share(&current, &fund.mesp)["outcome"], "fees_not_covered");
    let execute = |key: &'static str| {
        let server = &server;
        let path = format!("/v1/transfer-runs/{current_id}/execution");
        let admin = fund.admin.clone();
        async move {
            server
                .post(
                    &path,
                    &admin,
                    key,
                    &json!({"rates": {"CDF": {"rate": "2850", "source": "BCC"}}}),
                )
                .await
        }
    };
    let (status, executed) = execute("exec-1").await;
    assert_eq!(status, 201, "{executed}");
    assert_eq!(executed["not_executed"][0]["outcome"], "fees_not_covered");
    let (status, problem) = execute("exec-2").await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "run_already_executed");
    let ledger = store(&server).await;
    // MESP's 404.00 EUR stays in the pool.
    assert_eq!(
        credit(
            &ledger,
            chart::programme_pool(programme_id(&fund), Currency::eur())
        )
        .await,
        40_400
    );
    ledger.close().await;
}

async fn facts_and_eligibility_are_guarded_by_role(server: TestServer) {
    // Proves who may post facts and read verdicts, and that bad facts are refused field by field.
    let fund = fund(&server).await;
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let body = json!({"code": "mutual_operational", "value": true, "as_of": "2026-01-01", "evidence_reference": "statutes"});
    let (status, _) = server
        .post(
            &format!("/v1/organisations/{}/facts", fund.burkina),
            &burkina,
            "own",
            &body,
        )
        .await;
    assert_eq!(status, 201, "a beneficiary records its own facts");
    let (status, _) = server
        .post(
            &format!("/v1/organisations/{}/facts", fund.mesp),
            &burkina,
            "other",
            &body,
        )
        .await;
    assert_eq!(status, 404, "another mutual is not disclosed");
    for role in [Role::Contributor, Role::Auditor] {
        let (status, _) = server
            .post(
                &format!("/v1/organisations/{}/facts", fund.burkina),
                &token(&fund.csq, role),
                "role",
                &body,
            )
            .await;
        assert_eq!(status, 403, "{role:?}");
    }
    let (status, problem) = server
        .post(
            &format!("/v1/organisations/{}/facts", fund.burkina),
            &fund.admin,
            "bad",
            &json!({"code": "public_cofinancing_percent", "value": 12.5, "as_of": "2026-13-01", "evidence_reference": ""}),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["value", "as_of", "evidence_reference"],
        "{problem}"
    );
    let (status, problem) = server
        .post(
            &format!("/v1/organisations/{}/facts", fund.burkina),
            &fund.admin,
            "bad-code",
            &json!({"code": "happiness", "value": "true", "as_of": "2026-01-01", "evidence_reference": "x"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "code");
    let path = format!(
        "/v1/organisations/{}/eligibility?programme_id={}",
        fund.burkina, fund.programme
    );
    assert_eq!(server.get(&path, &burkina).await.0, 200);
    assert_eq!(
        server.get(&path, &token(NETWORK_ID, Role::Auditor)).await.0,
        200
    );
    assert_eq!(
        server
            .get(&path, &token(&fund.mesp, Role::Beneficiary))
            .await
            .0,
        404
    );
    assert_eq!(
        server
            .get(&path, &token(&fund.csq, Role::Contributor))
            .await
            .0,
        403
    );
    let (status, problem) = server
        .get(
            &format!(
                "/v1/organisations/{}/eligibility?programme_id=nope",
                fund.burkina
            ),
            &fund.admin,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "programme_id");
    let (_, facts) = server
        .get(
            &format!("/v1/organisations/{}/facts", fund.burkina),
            &burkina,
        )
        .await;
    assert_eq!(facts.as_array().unwrap().len(), 1);
    let run = json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": true});
    for role in [Role::Contributor, Role::Auditor, Role::Beneficiary] {
        let (status, _) = server
            .post("/v1/transfer-runs", &token(&fund.mgen, role), "run", &run)
            .await;
        assert_eq!(status, 403, "{role:?}");
    }
    assert_eq!(
        server
            .get("/v1/transfers", &token(&fund.csq, Role::Contributor))
            .await
            .0,
        403
    );
}

async fn held_funds_return_to_the_pool_and_allocated_batches_cannot_be_reversed(
    server: TestServer,
) {
    // Proves the admin may return a hold to the pool with a reason (once), and that a batch whose
    // money has been allocated can no longer be reversed (409 naming why); that the network and
    // its auditors list the runs and what is held (with the failing conditions), others not.
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
    let union = token(&fund.csq, Role::Contributor);
    let (_, batch) = server
        .post(
            "/v1/contribution-batches",
            &union,
            "reversible",
            &json!({"programme_id": fund.programme, "period": "2026-09", "lines": [
                {"reference": "all", "members": 1000, "amount": "1000.00", "kind": "solidarity"}]}),
        )
        .await;
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/receipts"),
            &fund.admin,
            "receipt",
            &json!({"amount": "1000.00", "value_date": "2026-09-20", "bank_reference": "CAMT-9"}),
        )
        .await;
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
    let (status, _) = server
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
    assert_eq!(status, 201);
    let (status, problem) = server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/reversal"),
            &fund.admin,
            "reverse",
            &json!({"reason": "sent twice"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "funds_allocated");

    // The runs and the held funds, listed for the network and its auditors only.
    let auditor = token(NETWORK_ID, Role::Auditor);
    for reader in [&fund.admin, &auditor] {
        let (status, runs) = server.get("/v1/transfer-runs", reader).await;
        assert_eq!(status, 200, "{runs}");
        assert_eq!(runs["items"].as_array().unwrap().len(), 1, "{runs}");
        assert_eq!(runs["items"][0]["id"], run["id"]);
        assert_eq!(runs["items"][0]["status"], "executed");
        assert_eq!(money(&runs["items"][0]["newly_held"]), ("400.00", "EUR"));
        let (status, held) = server.get("/v1/held-funds", reader).await;
        assert_eq!(status, 200, "{held}");
        assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
        assert_eq!(held[0]["beneficiary_id"], fund.mesp.as_str());
        assert_eq!(money(&held[0]["held"]), ("400.00", "EUR"));
        assert!(
            !held[0]["failing_conditions"].as_array().unwrap().is_empty(),
            "{held}"
        );
    }
    for (organisation, role) in [
        (&fund.csq, Role::Contributor),
        (&fund.mesp, Role::Beneficiary),
    ] {
        let outsider = token(organisation, role);
        assert_eq!(server.get("/v1/transfer-runs", &outsider).await.0, 403);
        assert_eq!(server.get("/v1/held-funds", &outsider).await.0, 403);
    }

    let path = format!(
        "/v1/programmes/{}/held-funds/{}/return",
        fund.programme, fund.mesp
    );
    let (status, problem) = server
        .post(&path, &fund.admin, "no-reason", &json!({"reason": " "}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "reason");
    let (status, returned) = server
        .post(
            &path,
            &fund.admin,
            "return",
            &json!({"reason": "MESP wound up its pilot"}),
        )
        .await;
    assert_eq!(status, 201, "{returned}");
    assert_eq!(money(&returned["returned"]), ("400.00", "EUR"));
    let (status, problem) = server
        .post(
            &path,
            &fund.admin,
            "return-again",
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "nothing_held");
    let (_, held) = server.get("/v1/held-funds", &fund.admin).await;
    assert_eq!(held, json!([]), "nothing is held once returned");
    let (status, _) = server
        .post(
            &path,
            &token(&fund.mesp, Role::Beneficiary),
            "mesp",
            &json!({"reason": "mine"}),
        )
        .await;
    assert_eq!(status, 403);
    let ledger = store(&server).await;
    assert_eq!(
        credit(
            &ledger,
            chart::programme_pool(programme_id(&fund), Currency::eur())
        )
        .await,
        40_000
    );
    ledger.close().await;
}

/// A small deterministic generator (xorshift), so every run of the suite tries the same cases.
struct Cases(u64);

impl Cases {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

async fn random_runs_and_deductions_keep_every_beneficiary_whole(server: TestServer) {
    // Proves, over random pools, eligibilities and bank deductions, end to end: every beneficiary
    // ends with at least the expected local amount of every transfer, allocations + holds +
    // carry-forwards account for the pool, and the pool never pays a fee (fee coverage alone pays
    // fees and top-ups).
    let fund = fund(&server).await;
    let eur = Currency::eur();
    let xof = Currency::from_code("XOF").unwrap();
    let mut cases = Cases(0x5eed_2026_1123);
    let ledger = store(&server).await;
    let programme = programme_id(&fund);
    fact(
        &server,
        &fund,
        &fund.burkina,
        "mutual_operational",
        json!(true),
        "2026-01-01",
    )
    .await;
    server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": "10000.00", "reference": "sponsor"}),
        )
        .await;
    let mut expected_for_burkina = 0_i64;
    let mut top_ups = 0;
    for (round, period) in ["2026-06", "2026-07", "2026-08", "2026-09"]
        .into_iter()
        .enumerate()
    {
        let eligible = cases.below(3) != 0;
        fact(
            &server,
            &fund,
            &fund.burkina,
            "public_cofinancing_percent",
            json!(if eligible { "9" } else { "1" }),
            &format!("{period}-01"),
        )
        .await;
        let members = 1 + cases.below(20_000) as i64;
        contribute(
            &server,
            &fund,
            &fund.csq,
            period,
            members,
            &format!("{period}-15"),
        )
        .await;
        let pool_before = credit(&ledger, chart::programme_pool(programme, eur)).await;
        let coverage_before = credit(&ledger, chart::fee_coverage(eur)).await;
        let (status, run) = server
            .post(
                "/v1/transfer-runs",
                &fund.admin,
                &format!("run-{round}"),
                &json!({"programme_id": fund.programme, "period": period, "dry_run": false}),
            )
            .await;
        assert_eq!(status, 201, "{run}");
        let minor = |value: &Value| -> i64 {
            value["amount"]
                .as_str()
                .unwrap()
                .replace('.', "")
                .parse()
                .unwrap()
        };
        let totals = &run["totals"];
        assert_eq!(
            minor(&totals["transferred_from_pool"])
                + minor(&totals["newly_held"])
                + minor(&totals["carried_forward"]),
            minor(&totals["pool"]),
            "{run}"
        );
        let (status, executed) = server
            .post(
                &format!(
                    "/v1/transfer-runs/{}/execution",
                    run["id"].as_str().unwrap()
                ),
                &fund.admin,
                &format!("exec-{round}"),
                &json!({"rates": {"CDF": {"rate": "2841.25", "source": "BCC"}}}),
            )
            .await;
        if status == 409 {
            assert_eq!(executed["code"], "nothing_to_execute");
            continue;
        }
        assert_eq!(status, 201, "{executed}");
        // The pool lost exactly what the plan took from it: no fee.
        assert_eq!(
            pool_before - credit(&ledger, chart::programme_pool(programme, eur)).await,
            minor(&totals["transferred_from_pool"]) + minor(&totals["newly_held"])
        );
        let mut fees_and_top_ups = minor(&totals["expected_fees"]);
        for transfer in executed["transfers"].as_array().unwrap() {
            let beneficiary = transfer["beneficiary_id"].as_str().unwrap();
            let beneficiary_token = token(beneficiary, Role::Beneficiary);
            let expected = minor(&transfer["expected_local"]);
            if beneficiary == fund.burkina {
                expected_for_burkina += expected;
            }
            // The bank deducts a random part (or nothing); top-ups follow until the chain is whole.
            let mut pending = transfer.clone();
            let mut attempt = 0;
            loop {
                let owed = minor(&pending["expected_local"]);
                let deduction = if attempt == 0 {
                    (cases.below(4) * 1250) as i64
                } else {
                    0
                };
                let received = (owed - deduction).max(1);
                let currency = pending["expected_local"]["currency"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let amount = if currency == "CDF" {
                    format!("{}.{:02}", received / 100, received % 100)
                } else {
                    received.to_string()
                };
                let (status, confirmed) = server
                    .post(
                        &format!("/v1/transfers/{}/confirmation", pending["id"].as_str().unwrap()),
                        &beneficiary_token,
                        &format!("confirm-{}", pending["id"].as_str().unwrap()),
                        &json!({"received": {"amount": amount, "currency": currency}, "value_date": today(), "bank_reference": "B"}),
                    )
                    .await;
                assert_eq!(status, 201, "{confirmed}");
                if confirmed["top_up"].is_null() {
                    break;
                }
                fees_and_top_ups += minor(&confirmed["top_up"]["amount"])
                    + minor(&confirmed["top_up"]["expected_fee"]);
                pending = confirmed["top_up"].clone();
                attempt += 1;
                top_ups += 1;
            }
        }
        assert_eq!(
            coverage_before - credit(&ledger, chart::fee_coverage(eur)).await,
            fees_and_top_ups,
            "fee coverage paid every fee and top-up"
        );
        assert!(
            credit(
                &ledger,
                chart::beneficiary_advance(organisation(&fund.burkina), xof)
            )
            .await
                >= expected_for_burkina,
            "the Burkina mutual holds at least what it was promised"
        );
    }
    // The fixed seed exercises both paths: paid transfers and bank deductions made good.
    assert!(
        expected_for_burkina > 0 && top_ups > 0,
        "{expected_for_burkina} {top_ups}"
    );
    // Tracing agrees with the books: the union's euros in the pool and held for MESP are exactly
    // those accounts' balances, and every euro it sent is in one place.
    let (status, traced) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.csq),
            &fund.admin,
        )
        .await;
    assert_eq!(status, 200, "{traced}");
    let minor = |value: &Value| -> i64 {
        value["amount"]
            .as_str()
            .unwrap()
            .replace('.', "")
            .parse()
            .unwrap()
    };
    assert_eq!(
        minor(&traced["in_pool"]),
        credit(&ledger, chart::programme_pool(programme, eur)).await
    );
    assert_eq!(
        minor(&traced["held"]),
        credit(
            &ledger,
            chart::programme_held(programme, organisation(&fund.mesp), eur)
        )
        .await
    );
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
    assert_eq!(parts, minor(&traced["received_total"]));
    let report = ledger.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    ledger.close().await;
}

async fn a_top_up_fee_coverage_cannot_pay_is_refused_until_funded(server: TestServer) {
    // Proves a shortfall within the allowance that fee coverage cannot make good is refused whole
    // (409, nothing written), never paid from the pool, and goes through once fee coverage is funded.
    let fund = fund(&server).await;
    // 20.00 of coverage less the 18.00 fee reserved: 2.00 left.
    let executed = burkina_paid_for_september_with_coverage(&server, &fund, "20.00").await;
    let transfer = executed["transfers"][0]["id"].as_str().unwrap().to_owned();
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let path = format!("/v1/transfers/{transfer}/confirmation");
    // 15,000 XOF short: a 22.87 EUR top-up, within the 23.00 allowance, plus its 15.12 fee.
    let body = json!({"received": {"amount": "378574", "currency": "XOF"}, "value_date": today(), "bank_reference": "BOA-1"});
    let ledger = store(&server).await;
    let head = ledger.chain_head().await.unwrap();
    let (status, problem) = server.post(&path, &burkina, "short", &body).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "fee_coverage_insufficient");
    assert_eq!(ledger.chain_head().await.unwrap(), head, "nothing written");
    server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "more-coverage",
            &json!({"amount": "1000.00", "reference": "sponsor"}),
        )
        .await;
    let (status, confirmed) = server.post(&path, &burkina, "short-again", &body).await;
    assert_eq!(status, 201, "{confirmed}");
    assert_eq!(money(&confirmed["top_up"]["amount"]), ("22.87", "EUR"));
    assert!(
        confirmed["top_up"]["expected_local"]["amount"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            >= 15_000
    );
    assert_eq!(
        credit(
            &ledger,
            chart::programme_pool(programme_id(&fund), Currency::eur())
        )
        .await,
        0,
        "the pool paid nothing"
    );
    ledger.close().await;
}
