//! End-to-end, on SQLite and PostgreSQL: the limits that keep every balance far inside its integer
//! range (issue 15). A batch past a limit is refused with the limit named (422 before the write,
//! 409 when only the writer can judge), never a 500; totals display with their decimals whatever
//! their size; control characters are refused in references, names and reasons; and random batches
//! driven at the limits never get past them.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_core::limits::{
    DEFAULT_MAX_DONATION_LINE_MINOR, MAX_ACCOUNT_BALANCE_MINOR, MAX_BATCH_AMOUNT_MINOR,
    MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR, MAX_LINE_MEMBERS,
};
use ledger_core::{Currency, MAX_AMOUNT_MINOR, chart};
use ledger_testkit::on_both_engines;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::{NETWORK_ID, TestServer, token};

on_both_engines!(
    a_full_programme_account_answers_409_naming_the_limit_and_displays_in_euros,
    batches_past_a_limit_are_refused_with_the_limit_named,
    control_characters_are_refused_in_references_names_and_reasons,
    random_batches_at_the_limits_never_pass_them,
);

/// Euros with cents from minor units.
fn euros(minor: i64) -> String {
    ledger_core::money::decimal_string(minor, Currency::eur())
}

/// A monthly programme at `rate` EUR per member; its id.
async fn open_programme(server: &TestServer, name: &str, rate: &str) -> (u16, Value) {
    server
        .post(
            "/v1/programmes",
            &token(NETWORK_ID, Role::Admin),
            &format!("programme-{}", name.escape_default()),
            &json!({
                "name": name, "currency": "EUR", "rate_per_member": rate, "period": "month",
                "allocation": {"policy": "pro_rata_covered_members"}, "conditions": [],
                "minimum_transfer": "100.00", "admin_cost_cap_percent": "15"
            }),
        )
        .await
}

/// A contributor's token and a programme at the highest rate (1,000.00 EUR per member), so one
/// solidarity line of 10,000,000 members reaches the batch limit.
async fn fund(server: &TestServer, slug: &str) -> (String, String) {
    let union = server
        .organisation(slug, "contributor", "FR", "EUR", 100)
        .await;
    let (status, body) = open_programme(server, &format!("Limits {slug}"), "1000.00").await;
    assert_eq!(status, 201, "{body}");
    (
        token(&union, Role::Contributor),
        body["id"].as_str().unwrap().to_owned(),
    )
}

fn batch(programme: &str, period: &str, lines: Value) -> Value {
    json!({"programme_id": programme, "period": period, "lines": lines})
}

fn donation(reference: &str, minor: i64) -> Value {
    json!({"reference": reference, "members": 0, "amount": euros(minor), "kind": "donation"})
}

/// A solidarity line of `members` at 1,000.00 EUR.
fn solidarity(reference: &str, members: i64) -> Value {
    json!({"reference": reference, "members": members, "amount": euros(members * 100_000), "kind": "solidarity"})
}

async fn a_full_programme_account_answers_409_naming_the_limit_and_displays_in_euros(
    server: TestServer,
) {
    // Proves that when a programme's shared pledged account is within 50.00 EUR of the account
    // limit (filled here directly, as no one contributor can), a batch that would cross it answers
    // 409 `limit_exceeded` naming max_account_balance (it was a 500 when the account overflowed),
    // a batch that fits is accepted, and the programme's totals, far above the largest single
    // amount, display as euros with cents (they were shown as raw minor units).
    let (union_token, programme) = fund(&server, "filled").await;
    let store = support::southern::store(&server).await;
    let programme_id = uuid::Uuid::parse_str(&programme).unwrap();
    let pledged = chart::programme_pledged(programme_id, Currency::eur());
    let elsewhere = chart::fund_bank(Currency::eur());
    store
        .open_account(
            &pledged,
            ledger_core::Timestamp::from_unix_micros(0).unwrap(),
        )
        .await
        .ok();
    store
        .open_account(
            &elsewhere,
            ledger_core::Timestamp::from_unix_micros(0).unwrap(),
        )
        .await
        .ok();
    let fill = |minor: i64| {
        let chart: std::collections::HashMap<_, _> = [
            (pledged.id, pledged.clone()),
            (elsewhere.id, elsewhere.clone()),
        ]
        .into();
        ledger_core::TransactionDraft {
            id: ledger_core::TransactionId::from_uuid(uuid::Uuid::now_v7()),
            kind: ledger_core::TransactionKind::Adjustment,
            effective_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            recorded_at: ledger_core::Timestamp::from_unix_micros(1_795_404_316_000_000).unwrap(),
            actor: ledger_core::Actor::system(),
            memo: "fill the pledged account".into(),
            metadata: serde_json::Map::new(),
            postings: vec![
                ledger_core::Posting {
                    account_id: elsewhere.id,
                    amount: ledger_core::Amount::from_minor(minor, Currency::eur()).unwrap(),
                },
                ledger_core::Posting {
                    account_id: pledged.id,
                    amount: ledger_core::Amount::from_minor(-minor, Currency::eur()).unwrap(),
                },
            ],
        }
        .validate(&chart)
        .unwrap()
    };
    let room = 5_000;
    let mut filled = 0;
    while filled < MAX_ACCOUNT_BALANCE_MINOR - room {
        let minor = MAX_AMOUNT_MINOR.min(MAX_ACCOUNT_BALANCE_MINOR - room - filled);
        store.append(fill(minor)).await.unwrap();
        filled += minor;
    }
    store.close().await;

    let (status, refused) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "too-much",
            &batch(&programme, "2026-11", json!([donation("gala", room + 1)])),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "limit_exceeded");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("max_account_balance"),
        "{refused}"
    );
    let (status, accepted) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "fits",
            &batch(&programme, "2026-11", json!([donation("gala", room)])),
        )
        .await;
    assert_eq!(status, 201, "{accepted}");
    let (status, shown) = server
        .get(&format!("/v1/programmes/{programme}"), &union_token)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        shown["balances"]["pledged_outstanding"]["amount"],
        euros(MAX_ACCOUNT_BALANCE_MINOR),
        "{shown}"
    );
}

async fn batches_past_a_limit_are_refused_with_the_limit_named(server: TestServer) {
    // Proves each limit of a batch is refused naming the limit, writing nothing: 422 with the field
    // for a donation line above the configured maximum, a batch above the batch limit and a
    // programme rate above the highest rate; 409 limit_exceeded (judged by the writer) for a
    // contributor's batches for one period above the period limit (ten batches at the batch limit
    // fit, an eleventh cent does not, while another period is still open).
    let (union_token, programme) = fund(&server, "limited").await;
    let post = |key: String, body: Value| {
        let server = &server;
        let union_token = &union_token;
        async move {
            server
                .post("/v1/contribution-batches", union_token, &key, &body)
                .await
        }
    };
    let (status, body) = post(
        "donation".into(),
        batch(
            &programme,
            "2026-11",
            json!([donation("bequest", DEFAULT_MAX_DONATION_LINE_MINOR + 1)]),
        ),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "lines[0].amount");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("max_donation_line")
    );

    let members = MAX_LINE_MEMBERS as i64;
    let (status, body) = post(
        "batch".into(),
        batch(
            &programme,
            "2026-11",
            json!([solidarity("a", members), solidarity("b", 1)]),
        ),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "lines");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("max_batch_amount")
    );

    for index in 0..MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR / MAX_BATCH_AMOUNT_MINOR {
        let (status, body) = post(
            format!("full-{index}"),
            batch(&programme, "2026-11", json!([solidarity("a", members)])),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["supplementary"], index > 0);
    }
    let (status, body) = post(
        "one-cent-more".into(),
        batch(&programme, "2026-11", json!([donation("gala", 1)])),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "limit_exceeded");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("max_contributor_period_amount"),
        "{body}"
    );
    let (status, body) = post(
        "next-period".into(),
        batch(&programme, "2026-12", json!([donation("gala", 1)])),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = open_programme(&server, "Too dear", "1000.01").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "rate_per_member");
}

async fn control_characters_are_refused_in_references_names_and_reasons(server: TestServer) {
    // Proves ESC, CR/LF and NUL are refused with 422 naming the field in a batch line's reference,
    // a receipt's bank reference, a reversal's reason, an organisation's name, a programme's name
    // and a fact's evidence reference; a tab is refused in a reference but accepted in a reason.
    let admin = token(NETWORK_ID, Role::Admin);
    let (union_token, programme) = fund(&server, "escapes").await;
    let (status, body) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "escape",
            &batch(
                &programme,
                "2026-11",
                json!([
                    donation("gala\u{1b}[2J", 100),
                    donation("b\r\nc", 100),
                    donation("t\tab", 100)
                ]),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "lines[0].reference",
            "lines[1].reference",
            "lines[2].reference"
        ]
    );

    let (status, created) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "clean",
            &batch(&programme, "2026-11", json!([donation("gala", 10_000)])),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let batch_id = created["id"].as_str().unwrap();
    let (status, body) = server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/receipts"),
            &admin,
            "receipt",
            &json!({"amount": "1.00", "value_date": "2026-11-20", "bank_reference": "REF\u{0}1"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "bank_reference");
    let (status, body) = server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/reversal"),
            &admin,
            "reversal-escape",
            &json!({"reason": "typo\n\u{1b}[31mforged"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "reason");
    let (status, body) = server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/reversal"),
            &admin,
            "reversal-tab",
            &json!({"reason": "typo:\tsection counted twice"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = server
        .post(
            "/v1/organisations",
            &admin,
            "organisation-escape",
            &json!({"slug": "escaped", "name": "Union\r\nX-Admin: yes", "kind": "contributor",
                    "country": "FR", "currency": "EUR", "covered_members": 1}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "name");
    let (status, body) = open_programme(&server, "Bad\u{7}name", "1.00").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "name");

    let mutual = server
        .organisation("mutual", "beneficiary", "BF", "XOF", 100)
        .await;
    let (status, body) = server
        .post(
            &format!("/v1/organisations/{mutual}/facts"),
            &admin,
            "fact",
            &json!({"code": "mutual_operational", "value": true, "as_of": "2026-11-01",
                    "evidence_reference": "minutes\u{1b}]8;;http://x\u{7}"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "evidence_reference");
}

/// One batch of a random run: its lines as (kind is donation, members, amount in minor units).
#[derive(Debug, Clone)]
struct RandomBatch {
    period: &'static str,
    lines: Vec<(bool, i64, i64)>,
}

fn random_line() -> impl Strategy<Value = (bool, i64, i64)> {
    prop_oneof![
        // Solidarity lines of up to the most members, at 1,000.00 EUR: up to the batch limit.
        (1..=MAX_LINE_MEMBERS as i64).prop_map(|members| (false, members, members * 100_000)),
        // Donations around the configured maximum, on either side of it.
        (1..=2 * DEFAULT_MAX_DONATION_LINE_MINOR).prop_map(|minor| (true, 0, minor)),
    ]
}

fn random_batches() -> impl Strategy<Value = Vec<RandomBatch>> {
    proptest::collection::vec(
        (
            prop_oneof![Just("2026-11"), Just("2026-12")],
            proptest::collection::vec(random_line(), 1..4),
        )
            .prop_map(|(period, lines)| RandomBatch { period, lines }),
        8..24,
    )
}

async fn random_batches_at_the_limits_never_pass_them(server: TestServer) {
    // Proves, for random runs of batches drawn at and around every limit (lines up to the most
    // members at the highest rate, donations on both sides of the maximum), on each engine: every
    // answer is 201 exactly when the model of the limits accepts the batch and otherwise a 4xx
    // naming a limit or a field, never a 500; each period's accepted total never passes the
    // contributor's period limit; and every displayed total has its decimal point.
    let handle = tokio::runtime::Handle::current();
    let server = &server;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 3,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let case_number = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&random_batches(), |batches| {
        let case = case_number.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let (union_token, programme) = fund(server, &format!("random-{case}")).await;
                let mut pledged: std::collections::HashMap<&str, i64> = Default::default();
                for (index, random) in batches.iter().enumerate() {
                    let lines: Vec<Value> = random
                        .lines
                        .iter()
                        .enumerate()
                        .map(|(line, (is_donation, members, minor))| {
                            let reference = format!("line-{line}");
                            if *is_donation {
                                donation(&reference, *minor)
                            } else {
                                json!({"reference": reference, "members": members,
                                       "amount": euros(*minor), "kind": "solidarity"})
                            }
                        })
                        .collect();
                    let total: i64 = random.lines.iter().map(|line| line.2).sum();
                    let period_total = pledged.get(random.period).copied().unwrap_or(0);
                    let accepted_by_model = random.lines.iter().all(|(is_donation, _, minor)| {
                        !is_donation || *minor <= DEFAULT_MAX_DONATION_LINE_MINOR
                    }) && total <= MAX_BATCH_AMOUNT_MINOR
                        && period_total + total <= MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR;
                    let (status, body) = server
                        .post(
                            "/v1/contribution-batches",
                            &union_token,
                            &format!("random-{case}-{index}"),
                            &batch(&programme, random.period, json!(lines)),
                        )
                        .await;
                    prop_assert!(status < 500, "{status} {body}");
                    prop_assert_eq!(status == 201, accepted_by_model, "{} {}", status, body);
                    if status == 201 {
                        *pledged.entry(random.period).or_default() += total;
                        prop_assert_eq!(
                            body["totals"]["amount"]["amount"].as_str().unwrap(),
                            euros(total)
                        );
                    } else {
                        let text = body.to_string();
                        prop_assert!(text.contains("max_") || text.contains("field"), "{}", text);
                    }
                }
                for total in pledged.values() {
                    prop_assert!(*total <= MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR);
                }
                Ok(())
            })
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
