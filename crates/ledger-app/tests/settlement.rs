//! The settlement commands run without HTTP, on both engines, with a fixed clock and id source:
//! a confirmation judged against the injected date, a guard failing under the writer's lock mapped
//! to its refusal, a replay answered with the first response, a claim beyond the allowance
//! recorded for review and resolved, and a return of held funds refused when nothing is held.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_app::clock::{FixedClock, SequentialIds};
use ledger_app::disputes::{ListDisputes, ResolveClaim, ResolveDispute};
use ledger_app::transfers::confirmation::{ConfirmReceipt, ConfirmTransfer};
use ledger_app::transfers::held_funds::{ReturnHeld, ReturnHeldFunds};
use ledger_app::{App, AppError, Caller, IdempotencyKey, Refusal, Reply, Role, Sources, Status};
use ledger_core::limits::ContributionLimits;
use ledger_core::organisation::{
    AllocationPolicy, Organisation, OrganisationKind, Programme, Slug,
};
use ledger_core::postings::settlement::{TopUp, top_up};
use ledger_core::{Actor, Amount, Currency, OrganisationId, PeriodKind, Timestamp, chart};
use ledger_store::records::{Record, TransferRecord};
use ledger_store::{Store, StoreOptions, WriteRequest};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A migrated store and whatever keeps its database alive.
struct Fixture {
    store: Store,
    _directory: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    Fixture {
        store,
        _directory: Some(directory),
    }
}

async fn postgres() -> Fixture {
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Fixture {
        store,
        _directory: None,
    }
}

fn instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn eur(text: &str) -> Amount {
    Amount::parse(text, Currency::eur()).unwrap()
}

/// The books with a beneficiary, a programme and one pending transfer of 100.00 EUR to it (no
/// expected fee, nothing in fee coverage): the app on a clock fixed at 2026-11-30.
async fn books(store: Store) -> (App, Caller, Programme, Uuid) {
    let app = App::new(
        store,
        Sources::new(
            Arc::new(FixedClock(instant())),
            Arc::new(SequentialIds::new(42)),
        ),
        ContributionLimits::default(),
    );
    let beneficiary = Organisation {
        id: OrganisationId::from_uuid(Uuid::from_u128(0x5e77_1e00_0001)),
        slug: Slug::parse("mutuelle-test").unwrap(),
        name: "Mutuelle test".to_owned(),
        kind: OrganisationKind::Beneficiary,
        country: "SN".to_owned(),
        currency: Currency::eur(),
        covered_members: Some(100),
        registry_identifier: None,
    };
    let programme = Programme {
        id: Uuid::from_u128(0x5e77_1e00_0002),
        name: "Programme test".to_owned(),
        currency: Currency::eur(),
        rate_per_member: eur("1.00"),
        period: PeriodKind::Month,
        allocation: AllocationPolicy::ProRataCoveredMembers,
        conditions: Vec::new(),
        minimum_transfer: eur("1.00"),
        admin_cost_cap_percent: Decimal::TEN,
    };
    // The transfer's booking is a top-up's (Cr in transit); only its in-transit account matters.
    let transfer_id = Uuid::from_u128(0x5e77_1e00_0003);
    let header = app.sources.header(Actor {
        subject: "treasurer".to_owned(),
        organisation: None,
    });
    let transaction_id = header.id;
    let sent = top_up(
        header,
        &TopUp {
            transfer_id,
            beneficiary: beneficiary.id,
            beneficiary_slug: &beneficiary.slug,
            period: "2026-11",
            run_id: None,
            end_to_end_id: "00000000000000000000000000000003",
            amount: eur("100.00"),
            fee: eur("0.00"),
        },
    )
    .unwrap();
    // The fund's bank account is opened by the first receipt, in real books.
    let mut records = vec![
        Record::Organisation(beneficiary.clone()),
        Record::Programme(programme.clone()),
        Record::Account(chart::fund_bank(Currency::eur())),
    ];
    records.extend(sent.opens.into_iter().map(Record::Account));
    records.push(Record::Transfer(Box::new(TransferRecord {
        id: transfer_id,
        kind: "transfer",
        run_id: None,
        root_transfer_id: transfer_id,
        parent_transfer_id: None,
        programme_id: programme.id,
        beneficiary_id: beneficiary.id,
        period: "2026-11".to_owned(),
        amount_minor: 10_000,
        currency: "EUR".to_owned(),
        fee_minor: 0,
        local_currency: "EUR".to_owned(),
        rate: None,
        rate_source: None,
        expected_local_minor: 10_000,
        residue_minor: "0".to_owned(),
        end_to_end_id: "00000000000000000000000000000003".to_owned(),
        in_transit_account_id: chart::transfer_in_transit(
            transfer_id,
            beneficiary.id,
            Currency::eur(),
        )
        .id,
        transaction_id,
        created_by: "treasurer".to_owned(),
        created_at: Timestamp::from_datetime(instant()),
    })));
    app.store
        .write(WriteRequest {
            transactions: vec![sent.transaction],
            records,
            ..WriteRequest::default()
        })
        .await
        .unwrap();
    let caller = Caller {
        subject: "mutual-treasurer".to_owned(),
        organisation: beneficiary.id,
        role: Role::Beneficiary,
        via: ledger_app::Via::Token,
    };
    (app, caller, programme, transfer_id)
}

fn confirmation(
    transfer: Uuid,
    received: &str,
    value_date: &str,
) -> (IdempotencyKey, ConfirmReceipt) {
    let json = format!(
        r#"{{"received":{{"amount":"{received}","currency":"EUR"}},"value_date":"{value_date}","bank_reference":"STMT-1"}}"#
    );
    let body: ConfirmTransfer = serde_json::from_str(&json).unwrap();
    let key = IdempotencyKey::new(
        &format!("confirm-{received}-{value_date}"),
        &format!("POST\n/v1/transfers/{transfer}/confirmation"),
        json.into_bytes(),
    )
    .unwrap();
    let command = ConfirmReceipt {
        transfer_id: transfer.to_string(),
        body,
    };
    (key, command)
}

fn refusal<T: std::fmt::Debug>(
    result: Result<T, AppError>,
) -> (Refusal, &'static str, Option<String>) {
    let error = result.unwrap_err();
    let field = error.field().map(str::to_owned);
    (error.refusal, error.code, field)
}

async fn a_confirmation_is_judged_by_the_injected_clock_and_its_guards(fixture: Fixture) {
    let (app, caller, _, transfer) = books(fixture.store).await;
    // The day after the fixed clock's today is in the future (whatever the real date).
    let (key, command) = confirmation(transfer, "100.00", "2026-12-01");
    assert_eq!(
        refusal(app.run(&caller, &key, command).await),
        (
            Refusal::Invalid,
            "validation_failed",
            Some("value_date".to_owned())
        )
    );
    // A shortfall of 1.00 needs a top-up from fee coverage, which holds nothing: the guard fails
    // under the writer's lock and is refused by name; nothing is written.
    let (key, command) = confirmation(transfer, "99.00", "2026-11-30");
    assert_eq!(
        refusal(app.run(&caller, &key, command).await),
        (Refusal::Conflict, "fee_coverage_insufficient", None)
    );
    // What was expected arrived: settled, and the same request again is answered with the first
    // response; another request confirming it again is refused.
    let (key, command) = confirmation(transfer, "100.00", "2026-11-30");
    let Reply::Done { status, output, .. } = app.run(&caller, &key, command).await.unwrap() else {
        panic!("the first confirmation was answered as a replay");
    };
    assert_eq!(status, Status::Created);
    assert_eq!(output.transfer.status, "settled");
    assert!(output.top_up.is_none());
    let (_, again) = confirmation(transfer, "100.00", "2026-11-30");
    assert!(matches!(
        app.run(&caller, &key, again).await.unwrap(),
        Reply::Replayed(stored) if stored.response_status == 201
    ));
    let (other, command) = confirmation(transfer, "100.00", "2026-11-29");
    assert_eq!(
        refusal(app.run(&caller, &other, command).await),
        (Refusal::Conflict, "already_confirmed", None)
    );
}

fn resolution(
    transfer: Uuid,
    decision: &str,
    received: Option<&str>,
) -> (IdempotencyKey, ResolveClaim) {
    let received = received
        .map(|amount| format!(r#","received":{{"amount":"{amount}","currency":"EUR"}}"#))
        .unwrap_or_default();
    let json = format!(
        r#"{{"decision":"{decision}"{received},"bank_statement_reference":"camt.053-17","reason":"the statement says so"}}"#
    );
    let body: ResolveDispute = serde_json::from_str(&json).unwrap();
    let key = IdempotencyKey::new(
        &format!("resolve-{decision}-{received}"),
        &format!("POST\n/v1/transfers/{transfer}/dispute-resolution"),
        json.into_bytes(),
    )
    .unwrap();
    let command = ResolveClaim {
        transfer_id: transfer.to_string(),
        body,
    };
    (key, command)
}

async fn a_claim_beyond_the_allowance_waits_for_the_network(fixture: Fixture) {
    let (app, caller, _, transfer) = books(fixture.store).await;
    let admin = Caller {
        subject: "admin".to_owned(),
        organisation: OrganisationId::from_uuid(Uuid::from_u128(0x5e77_1e00_0009)),
        role: Role::Admin,
        via: ledger_app::Via::Token,
    };
    // A shortfall of 10.00 is beyond the allowance (no expected fee + 5.00): recorded, no money.
    let (key, command) = confirmation(transfer, "90.00", "2026-11-30");
    let Reply::Done { status, output, .. } = app.run(&caller, &key, command).await.unwrap() else {
        panic!("the claim was answered as a replay");
    };
    assert_eq!(status, Status::Accepted);
    assert_eq!(output.transfer.status, "disputed");
    // The beneficiary may not resolve its own claim; the network rejects it.
    let (key, command) = resolution(transfer, "reject", None);
    assert_eq!(
        refusal(app.run(&caller, &key, command).await),
        (Refusal::Forbidden, "forbidden", None)
    );
    let (key, command) = resolution(transfer, "reject", None);
    let Reply::Done { output, .. } = app.run(&admin, &key, command).await.unwrap() else {
        panic!("the rejection was answered as a replay");
    };
    assert_eq!(
        (
            output.dispute.status.as_str(),
            output.transfer.status.as_str()
        ),
        ("rejected", "pending")
    );
    let (key, command) = resolution(transfer, "top_up", Some("100.00"));
    assert_eq!(
        refusal(app.run(&admin, &key, command).await),
        (Refusal::Conflict, "dispute_already_resolved", None)
    );
    // A second claim, resolved with what the statement shows: the settlement is booked.
    let (key, command) = confirmation(transfer, "89.00", "2026-11-30");
    assert!(app.run(&caller, &key, command).await.is_ok());
    let (key, command) = resolution(transfer, "top_up", Some("100.00"));
    let Reply::Done { output, .. } = app.run(&admin, &key, command).await.unwrap() else {
        panic!("the resolution was answered as a replay");
    };
    assert_eq!(
        (output.dispute.claim_number, output.transfer.status.as_str()),
        (2, "settled")
    );
    let claims = app
        .query(
            &caller,
            ListDisputes {
                transfer_id: transfer.to_string(),
            },
        )
        .await
        .unwrap();
    let statuses: Vec<&str> = claims
        .items
        .iter()
        .map(|claim| claim.status.as_str())
        .collect();
    assert_eq!(statuses, ["rejected", "resolved"]);
}

async fn a_return_of_held_funds_needs_something_held(fixture: Fixture) {
    let (app, _, programme, _) = books(fixture.store).await;
    let admin = Caller {
        subject: "admin".to_owned(),
        organisation: OrganisationId::from_uuid(Uuid::from_u128(0x5e77_1e00_0009)),
        role: Role::Admin,
        via: ledger_app::Via::Token,
    };
    let returning = |programme: String| {
        let json = r#"{"reason":"the mutual closed"}"#;
        let key = IdempotencyKey::new(
            &format!("return-{programme}"),
            "POST\n/v1/programmes/held-funds/return",
            json.as_bytes().to_vec(),
        )
        .unwrap();
        let body: ReturnHeldFunds = serde_json::from_str(json).unwrap();
        (
            key,
            ReturnHeld {
                programme_id: programme,
                beneficiary_id: Uuid::from_u128(0x5e77_1e00_0001).to_string(),
                body,
            },
        )
    };
    let (key, command) = returning("not-an-id".to_owned());
    assert_eq!(
        refusal(app.run(&admin, &key, command).await),
        (Refusal::NotFound, "not_found", None)
    );
    let (key, command) = returning(programme.id.to_string());
    assert_eq!(
        refusal(app.run(&admin, &key, command).await),
        (Refusal::Conflict, "nothing_held", None)
    );
}

#[tokio::test]
async fn a_confirmation_is_judged_by_the_injected_clock_and_its_guards_on_sqlite() {
    a_confirmation_is_judged_by_the_injected_clock_and_its_guards(sqlite().await).await;
}

#[tokio::test]
async fn a_confirmation_is_judged_by_the_injected_clock_and_its_guards_on_postgres() {
    a_confirmation_is_judged_by_the_injected_clock_and_its_guards(postgres().await).await;
}

#[tokio::test]
async fn a_return_of_held_funds_needs_something_held_on_sqlite() {
    a_return_of_held_funds_needs_something_held(sqlite().await).await;
}

#[tokio::test]
async fn a_return_of_held_funds_needs_something_held_on_postgres() {
    a_return_of_held_funds_needs_something_held(postgres().await).await;
}

#[tokio::test]
async fn a_claim_beyond_the_allowance_waits_for_the_network_on_sqlite() {
    a_claim_beyond_the_allowance_waits_for_the_network(sqlite().await).await;
}

#[tokio::test]
async fn a_claim_beyond_the_allowance_waits_for_the_network_on_postgres() {
    a_claim_beyond_the_allowance_waits_for_the_network(postgres().await).await;
}
