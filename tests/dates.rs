//! End-to-end: dates and periods within the fund's life, on SQLite and PostgreSQL. Every date the
//! API takes is strictly `YYYY-MM-DD` between 2000-01-01 and 2099-12-31 (422 naming the field), a
//! bank receipt cannot be dated after today, periods lie no more than the horizon ahead, and a
//! malformed tracing period is an error rather than zeros.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::{Datelike, Months, Utc};
use ledger_api::auth::Role;
use ledger_core::PERIOD_HORIZON_MONTHS;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::southern::{burkina_paid_for_september, fund};
use support::{TestServer, token};

on_both_engines!(
    every_date_the_api_takes_is_strict_and_bounded,
    a_receipt_dated_after_today_is_refused,
    periods_beyond_the_horizon_are_refused,
    period_filters_refuse_a_malformed_period,
);

/// The forms issue 15 found accepted: a six-digit year, year zero, a negative year, and a date
/// without its zeros; then a non-day and the first day after the fund's life.
const BAD_DATES: [&str; 6] = [
    "+99999-12-31",
    "0000-01-01",
    "-0001-01-01",
    "2026-2-3",
    "2026-02-30",
    "2100-01-01",
];

/// The fields a 422 problem names.
fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_refused(status: u16, problem: &Value, field: &str, what: &str) {
    assert_eq!(status, 422, "{what}: {problem}");
    assert_eq!(problem["code"], "validation_failed", "{what}: {problem}");
    assert!(
        fields(problem).iter().any(|named| named == field),
        "{what}: {field} not named in {problem}"
    );
}

/// A query-string value (`+` would otherwise read as a space).
fn query_value(text: &str) -> String {
    text.replace('+', "%2B")
}

/// A pledged batch of 100 euros for 2026-10 by the fund's first union; returns its id.
async fn pledged_batch(server: &TestServer, union: &str, programme: &str, key: &str) -> String {
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(union, Role::Contributor),
            key,
            &json!({"programme_id": programme, "period": "2026-10", "lines": [
                {"reference": "all-sections", "members": 100, "amount": "100.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    batch["id"].as_str().unwrap().to_owned()
}

async fn every_date_the_api_takes_is_strict_and_bounded(server: TestServer) {
    // Proves each bad date form is refused with the field named by every operation that takes a
    // date: receipt value_date, fact as_of, confirmation value_date, statement from/to and
    // eligibility as_of; and that the refused receipts wrote nothing.
    let fund = fund(&server).await;
    let executed = burkina_paid_for_september(&server, &fund).await;
    let transfer = executed["transfers"][0]["id"].as_str().unwrap().to_owned();
    let burkina = token(&fund.burkina, Role::Beneficiary);
    let batch = pledged_batch(&server, &fund.csq, &fund.programme, "batch-dates").await;
    for (index, date) in BAD_DATES.into_iter().enumerate() {
        let (status, problem) = server
            .post(
                &format!("/v1/contribution-batches/{batch}/receipts"),
                &fund.admin,
                &format!("receipt-{index}"),
                &json!({"amount": "100.00", "value_date": date, "bank_reference": "CAMT-1"}),
            )
            .await;
        assert_refused(status, &problem, "value_date", &format!("receipt {date}"));

        let (status, problem) = server
            .post(
                &format!("/v1/organisations/{}/facts", fund.burkina),
                &fund.admin,
                &format!("fact-{index}"),
                &json!({"code": "mutual_operational", "value": true, "as_of": date, "evidence_reference": "minutes"}),
            )
            .await;
        assert_refused(status, &problem, "as_of", &format!("fact {date}"));

        let (status, problem) = server
            .post(
                &format!("/v1/transfers/{transfer}/confirmation"),
                &burkina,
                &format!("confirm-{index}"),
                &json!({"received": {"amount": "3935742", "currency": "XOF"}, "value_date": date, "bank_reference": "BOA-1"}),
            )
            .await;
        assert_refused(
            status,
            &problem,
            "value_date",
            &format!("confirmation {date}"),
        );

        for field in ["from", "to"] {
            let (status, problem) = server
                .get(
                    &format!(
                        "/v1/organisations/{}/statement?{field}={}",
                        fund.csq,
                        query_value(date)
                    ),
                    &fund.admin,
                )
                .await;
            assert_refused(
                status,
                &problem,
                field,
                &format!("statement {field} {date}"),
            );
        }

        let (status, problem) = server
            .get(
                &format!(
                    "/v1/organisations/{}/eligibility?programme_id={}&as_of={}",
                    fund.burkina,
                    fund.programme,
                    query_value(date)
                ),
                &fund.admin,
            )
            .await;
        assert_refused(status, &problem, "as_of", &format!("eligibility {date}"));
    }
    // Nothing was received and the transfer is still pending.
    let (status, read) = server
        .get(&format!("/v1/contribution-batches/{batch}"), &fund.admin)
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["status"], "pledged", "{read}");
    let (status, read) = server
        .get(&format!("/v1/transfers/{transfer}"), &fund.admin)
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["status"], "pending", "{read}");
    // The bounds themselves are dates of the fund's life.
    let (status, statement) = server
        .get(
            &format!(
                "/v1/organisations/{}/statement?from=2000-01-01&to=2099-12-31",
                fund.csq
            ),
            &fund.admin,
        )
        .await;
    assert_eq!(status, 200, "{statement}");
}

async fn a_receipt_dated_after_today_is_refused(server: TestServer) {
    // Proves a bank receipt cannot be dated in the future (422 naming value_date, nothing written),
    // while one dated today is recorded.
    let fund = fund(&server).await;
    let batch = pledged_batch(&server, &fund.csq, &fund.programme, "batch-future").await;
    let today = Utc::now().date_naive();
    // Two days ahead, so that a test run across midnight cannot make it today (the boundary
    // itself is proved by the core's `FundDate::not_after` test).
    let after_tomorrow = today.succ_opt().and_then(|day| day.succ_opt()).unwrap();
    let (status, problem) = server
        .post(
            &format!("/v1/contribution-batches/{batch}/receipts"),
            &fund.admin,
            "receipt-after-tomorrow",
            &json!({"amount": "100.00", "value_date": after_tomorrow.to_string(), "bank_reference": "CAMT-1"}),
        )
        .await;
    assert_refused(
        status,
        &problem,
        "value_date",
        "a receipt dated after tomorrow",
    );
    let (_, read) = server
        .get(&format!("/v1/contribution-batches/{batch}"), &fund.admin)
        .await;
    assert_eq!(read["status"], "pledged", "{read}");
    let (status, receipt) = server
        .post(
            &format!("/v1/contribution-batches/{batch}/receipts"),
            &fund.admin,
            "receipt-today",
            &json!({"amount": "100.00", "value_date": today.to_string(), "bank_reference": "CAMT-1"}),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
}

async fn periods_beyond_the_horizon_are_refused(server: TestServer) {
    // Proves a batch may name the month PERIOD_HORIZON_MONTHS ahead but not one beyond it, nor
    // 2033 or a year beyond the fund's life; and a redistribution report likewise.
    let fund = fund(&server).await;
    let union = token(&fund.csq, Role::Contributor);
    let today = Utc::now().date_naive();
    let month = |months: u32| {
        let date = today.checked_add_months(Months::new(months)).unwrap();
        format!("{:04}-{:02}", date.year(), date.month())
    };
    let batch = |period: &str| {
        json!({"programme_id": fund.programme, "period": period, "lines": [
            {"reference": "all-sections", "members": 10, "amount": "10.00", "kind": "solidarity"}]})
    };
    let (status, created) = server
        .post(
            "/v1/contribution-batches",
            &union,
            "at-horizon",
            &batch(&month(PERIOD_HORIZON_MONTHS)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    // Two months past the horizon rather than one, so that a run across the end of a month
    // cannot move the horizon onto it (the exact boundary is proved by the core's period tests).
    for (index, period) in [
        month(PERIOD_HORIZON_MONTHS + 2),
        "2033-01".to_owned(),
        "2100-01".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let (status, problem) = server
            .post(
                "/v1/contribution-batches",
                &union,
                &format!("beyond-{index}"),
                &batch(period),
            )
            .await;
        assert_refused(status, &problem, "period", &format!("batch for {period}"));
    }
    let (status, problem) = server
        .post(
            "/v1/redistribution-reports",
            &token(&fund.burkina, Role::Beneficiary),
            "report-2033",
            &json!({"period": "2033", "currency": "XOF", "lines": [
                {"purpose": "premium_subsidy", "amount": "1000", "members_count": 10}]}),
        )
        .await;
    assert_refused(status, &problem, "period", "a report for 2033");
}

async fn period_filters_refuse_a_malformed_period(server: TestServer) {
    // Proves a malformed period in a read's filter (tracing, the batch list) is a 422 naming
    // `period`, not an answer of zeros or an empty list, while a well-formed one filters.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let union = token(&fund.csq, Role::Contributor);
    for period in ["garbage", "2026-9", "99999", "2026-11-01"] {
        let (status, problem) = server
            .get(
                &format!("/v1/tracing/contributors/{}?period={period}", fund.csq),
                &union,
            )
            .await;
        assert_refused(status, &problem, "period", &format!("tracing {period}"));
        let (status, problem) = server
            .get(&format!("/v1/contribution-batches?period={period}"), &union)
            .await;
        assert_refused(status, &problem, "period", &format!("batch list {period}"));
    }
    let (status, traced) = server
        .get(
            &format!("/v1/tracing/contributors/{}?period=2026-09", fund.csq),
            &union,
        )
        .await;
    assert_eq!(status, 200, "{traced}");
    assert_eq!(traced["received_total"]["amount"], "1000.00", "{traced}");
    let (status, listed) = server
        .get("/v1/contribution-batches?period=2026-09", &union)
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}
