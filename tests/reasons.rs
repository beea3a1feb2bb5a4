//! End-to-end: every endpoint that takes a `reason` (a batch reversal, a report's rejection and
//! reversal, held funds returned) accepts one of the documented maximum length and refuses one
//! character more with 422 naming `reason`, on SQLite and PostgreSQL. A long reason is quoted in
//! the correction's memo, which once overflowed the memo limit and answered 500.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_core::memo::MAX_REASON_LENGTH;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::southern::{burkina_paid_for_september, fund};
use support::{TestServer, token};

on_both_engines!(every_reason_takes_the_longest_length_and_refuses_one_more);

/// Posts a reason one character too long (422 naming `reason`, nothing written), then one of the
/// longest length (201), and returns the second answer.
async fn refused_then_accepted(server: &TestServer, token: &str, path: &str) -> Value {
    // Two-byte characters: the limit counts characters, and storage must hold their bytes.
    let longest = "é".repeat(MAX_REASON_LENGTH);
    let too_long = format!("{longest}e");
    let (status, problem) = server
        .post(
            path,
            token,
            &format!("{path}-too-long"),
            &json!({"reason": too_long}),
        )
        .await;
    assert_eq!(status, 422, "{path}: {problem}");
    assert_eq!(problem["code"], "validation_failed", "{path}");
    assert_eq!(problem["field"], "reason", "{path}");
    let (status, answer) = server
        .post(
            path,
            token,
            &format!("{path}-longest"),
            &json!({"reason": format!("  {longest}\n")}),
        )
        .await;
    assert_eq!(status, 201, "{path}: {answer}");
    answer
}

async fn every_reason_takes_the_longest_length_and_refuses_one_more(server: TestServer) {
    // Proves the reason boundary (MAX_REASON_LENGTH characters accepted, one more refused with 422
    // naming `reason`) on each of the four endpoints that take one, with the longest reason
    // recorded whole where it is read back.
    let fund = fund(&server).await;
    let longest = "é".repeat(MAX_REASON_LENGTH);
    // Burkina paid for September; MESP, without facts, has its share held.
    let executed = burkina_paid_for_september(&server, &fund).await;

    let held = format!(
        "/v1/programmes/{}/held-funds/{}/return",
        fund.programme, fund.mesp
    );
    refused_then_accepted(&server, &fund.admin, &held).await;

    let union = token(&fund.mgen, Role::Contributor);
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &union,
            "october",
            &json!({"programme_id": fund.programme, "period": "2026-10", "lines": [
                {"reference": "all", "members": 10, "amount": "10.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_str().unwrap();
    refused_then_accepted(
        &server,
        &fund.admin,
        &format!("/v1/contribution-batches/{batch_id}/reversal"),
    )
    .await;
    let (_, read) = server
        .get(&format!("/v1/contribution-batches/{batch_id}"), &fund.admin)
        .await;
    assert_eq!(read["reversal_reason"], longest.as_str());

    let transfer = executed["transfers"][0]["id"].as_str().unwrap();
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let (status, confirmed) = server
        .post(
            &format!("/v1/transfers/{transfer}/confirmation"),
            &burkina,
            "confirm",
            &json!({"received": {"amount": "393574", "currency": "XOF"}, "value_date": support::today(), "bank_reference": "BOA-1"}),
        )
        .await;
    assert_eq!(status, 201, "{confirmed}");
    let mut reports = Vec::new();
    for key in ["first", "second"] {
        let (status, report) = server
            .post(
                "/v1/redistribution-reports",
                &burkina,
                key,
                &json!({"period": "2026-10", "currency": "XOF", "lines": [
                    {"purpose": "prevention", "amount": "1000", "members_count": 10}]}),
            )
            .await;
        assert_eq!(status, 201, "{report}");
        reports.push(report["id"].as_str().unwrap().to_owned());
    }
    let rejected = refused_then_accepted(
        &server,
        &fund.admin,
        &format!("/v1/redistribution-reports/{}/rejection", reports[0]),
    )
    .await;
    assert_eq!(rejected["rejection_reason"], longest.as_str());
    let (status, accepted) = server
        .post(
            &format!("/v1/redistribution-reports/{}/acceptance", reports[1]),
            &fund.admin,
            "accept",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{accepted}");
    let reversed = refused_then_accepted(
        &server,
        &fund.admin,
        &format!("/v1/redistribution-reports/{}/reversal", reports[1]),
    )
    .await;
    assert_eq!(reversed["reversal_reason"], longest.as_str());
}
