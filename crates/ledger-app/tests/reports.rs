//! Redistribution reports through the application, without HTTP, on SQLite and PostgreSQL alike:
//! an accepted report liquidates the advance as `ledger_core::postings::reports` books it, and of
//! two reversals planned from the same state only the first commits; the second is refused by the
//! reversal's balance guards under the writer's lock, with the command's own refusal.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_app::clock::{FixedClock, SequentialIds};
use ledger_app::reports::{
    AcceptReportCommand, CreateReport, ReverseReport, ReverseReportCommand, SubmitReport,
};
use ledger_app::{App, Caller, Command, IdempotencyKey, Refusal, Reply, Role, Sources};
use ledger_core::limits::ContributionLimits;
use ledger_core::organisation::{Organisation, OrganisationKind, Slug};
use ledger_core::postings::{entry, leg};
use ledger_core::{Actor, Amount, Currency, OrganisationId, TransactionKind, chart};
use ledger_store::records::Record;
use ledger_store::{Store, StoreOptions, WriteRequest};
use uuid::Uuid;

fn key(name: &str, body: &str) -> IdempotencyKey {
    IdempotencyKey::new(name, "POST\n/test", body.as_bytes().to_vec()).unwrap()
}

/// A beneficiary paid in XOF whose advance holds 1,000,000 XOF (as a settlement leaves it).
async fn beneficiary_with_an_advance(app: &App) -> OrganisationId {
    let xof = Currency::from_code("XOF").unwrap();
    let beneficiary = OrganisationId::from_uuid(Uuid::from_u128(0xb0));
    let advance = chart::beneficiary_advance(beneficiary, xof);
    let fx = chart::fx_conversion(xof);
    let received = Amount::from_minor(1_000_000, xof).unwrap();
    let settlement = entry(
        app.sources.header(Actor::system()),
        TransactionKind::Settlement,
        "test settlement".to_owned(),
        &serde_json::json!({"test": true}),
        vec![leg(&fx, received), leg(&advance, received.negated())],
        &[&fx, &advance],
    )
    .unwrap();
    let organisation = Organisation {
        id: beneficiary,
        slug: Slug::parse("mutuelle-test").unwrap(),
        name: "Mutuelle test".to_owned(),
        kind: OrganisationKind::Beneficiary,
        country: "BF".to_owned(),
        currency: xof,
        covered_members: Some(100),
        registry_identifier: None,
    };
    app.store
        .write(WriteRequest {
            transactions: vec![settlement],
            records: vec![
                Record::Organisation(organisation),
                Record::Account(fx),
                Record::Account(advance),
            ],
            ..WriteRequest::default()
        })
        .await
        .unwrap();
    beneficiary
}

fn done<O>(reply: Reply<O>) -> O {
    match reply {
        Reply::Done { output, .. } => output,
        Reply::Replayed(_) => panic!("a first request was answered as a replay"),
    }
}

async fn a_report_is_accepted_then_reversed_once(store: Store) {
    // Proves the report commands book through the core's postings and that a reversal racing
    // another (both planned before either commits) is refused by its guards as
    // `report_not_reversible`, leaving the advance as one reversal leaves it.
    let instant = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let sources = Sources::new(
        Arc::new(FixedClock(instant)),
        Arc::new(SequentialIds::new(3)),
    );
    let app = App::new(store, sources, ContributionLimits::default());
    let beneficiary = beneficiary_with_an_advance(&app).await;
    let mutual = Caller::with_token("treasurer".to_owned(), beneficiary, Role::Beneficiary);
    let admin = Caller::with_token(
        "network".to_owned(),
        OrganisationId::from_uuid(Uuid::from_u128(0xa0)),
        Role::Admin,
    );
    let body = r#"{"period":"2026-10","currency":"XOF","lines":[{"purpose":"premium_subsidy","amount":"600000","members_count":40},{"purpose":"administration","amount":"50000","members_count":0}]}"#;
    let report: CreateReport = serde_json::from_str(body).unwrap();
    let submitted = done(
        app.run(&mutual, &key("submit", body), SubmitReport(report))
            .await
            .unwrap(),
    );
    assert_eq!(submitted.status, "submitted");
    let id = submitted.id.to_string();
    let accepted = done(
        app.run(
            &admin,
            &key("accept", "{}"),
            AcceptReportCommand { id: id.clone() },
        )
        .await
        .unwrap(),
    );
    assert_eq!(accepted.status, "accepted");
    let xof = Currency::from_code("XOF").unwrap();
    let advance = chart::beneficiary_advance(beneficiary, xof).id;
    assert_eq!(app.store.balance(advance, None).await.unwrap(), -350_000);

    let reverse = || ReverseReportCommand {
        id: id.clone(),
        body: ReverseReport {
            reason: "counted twice".to_owned(),
        },
    };
    let first = reverse().plan(&app, &admin).await.unwrap();
    let second = reverse().plan(&app, &admin).await.unwrap();
    let reversed = done(
        app.commit(&admin, &key("reverse-1", "{}"), first)
            .await
            .unwrap(),
    );
    assert_eq!(reversed.status, "reversed");
    let refused = app
        .commit(&admin, &key("reverse-2", "{}"), second)
        .await
        .unwrap_err();
    assert_eq!(refused.refusal, Refusal::Conflict);
    assert_eq!(refused.code, "report_not_reversible");
    assert_eq!(app.store.balance(advance, None).await.unwrap(), -1_000_000);
    let subsidy = chart::beneficiary_redistributed(beneficiary, "premium_subsidy", xof).id;
    assert_eq!(app.store.balance(subsidy, None).await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_a_report_is_accepted_then_reversed_once() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    a_report_is_accepted_then_reversed_once(store).await;
}

#[tokio::test]
async fn postgres_a_report_is_accepted_then_reversed_once() {
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    a_report_is_accepted_then_reversed_once(store).await;
}
