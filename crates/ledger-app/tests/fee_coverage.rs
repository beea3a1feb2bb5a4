//! Fee coverage through the application layer alone (no HTTP), on both engines: the deposit
//! command with an injected clock and id source, its replay, and the read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_app::clock::{FixedClock, SequentialIds};
use ledger_app::transfers::fee_coverage::{
    CreateDeposit, DepositFeeCoverage, DepositView, ReadFeeCoverage,
};
use ledger_app::{App, AppError, Caller, IdempotencyKey, Refusal, Reply, Role, Sources, Status};
use ledger_core::OrganisationId;
use ledger_core::limits::ContributionLimits;
use ledger_store::{Store, StoreOptions};
use uuid::Uuid;

const TARGET: &str = "POST\n/v1/fee-coverage/deposits";

fn instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn app(store: Store) -> App {
    App::new(
        store,
        Sources::new(
            Arc::new(FixedClock(instant())),
            Arc::new(SequentialIds::new(16)),
        ),
        ContributionLimits::default(),
    )
}

fn caller(role: Role) -> Caller {
    Caller::with_token(
        "treasurer".to_owned(),
        OrganisationId::from_uuid(Uuid::from_u128(1)),
        role,
    )
}

async fn deposit(
    app: &App,
    caller: &Caller,
    key: &str,
    body: &str,
) -> Result<Reply<DepositView>, AppError> {
    let request: CreateDeposit = serde_json::from_str(body).unwrap();
    let key = IdempotencyKey::new(key, TARGET, body.as_bytes().to_vec()).unwrap();
    app.run(caller, &key, DepositFeeCoverage(request)).await
}

async fn deposits_are_booked_at_the_injected_time_and_replayed(store: Store) {
    // Proves the deposit command runs without HTTP: its ids and dates come from the injected
    // sources, its journal transaction is the fee-coverage deposit, a replay answers the first
    // response and writes nothing, a reused key with another body is a conflict, an invalid
    // amount names its field, an auditor may read but not deposit.
    let app = app(store);
    let admin = caller(Role::Admin);
    let body = r#"{"amount": "500.00", "reference": "Fondation X"}"#;
    let Reply::Done { status, output, .. } = deposit(&app, &admin, "d-1", body).await.unwrap()
    else {
        panic!("the first deposit was answered as a replay");
    };
    assert_eq!(status, Status::Created);
    assert_eq!(output.transaction_id, Uuid::from_u64_pair(16, 1));
    assert_eq!(output.id, Uuid::from_u64_pair(16, 2));
    assert_eq!(output.amount.amount, "500.00");
    let journal = app.store.journal_after(0, 10).await.unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].kind, "fee_coverage_deposit");
    assert_eq!(journal[0].effective_date, "2026-11-30");
    assert!(journal[0].recorded_at.starts_with("2026-11-30T10:00:00"));
    assert_eq!(journal[0].memo, "Fee coverage deposit: Fondation X");

    // The same request again (other whitespace): the first answer, nothing written.
    let replay = deposit(
        &app,
        &admin,
        "d-1",
        r#"{"amount":"500.00","reference":"Fondation X"}"#,
    )
    .await
    .unwrap();
    assert!(matches!(replay, Reply::Replayed(_)));
    let refused = deposit(
        &app,
        &admin,
        "d-1",
        r#"{"amount": "1.00", "reference": "Other"}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.refusal, Refusal::Conflict);
    let invalid = deposit(&app, &admin, "d-2", r#"{"amount": "0", "reference": "Y"}"#)
        .await
        .unwrap_err();
    assert_eq!(invalid.field(), Some("amount"));
    assert_eq!(app.store.journal_after(0, 10).await.unwrap().len(), 1);

    let auditor = caller(Role::Auditor);
    let forbidden = deposit(&app, &auditor, "d-3", body).await.unwrap_err();
    assert_eq!(forbidden.refusal, Refusal::Forbidden);
    let coverage = app.query(&auditor, ReadFeeCoverage).await.unwrap();
    assert_eq!(coverage.available.amount, "500.00");
    assert_eq!(coverage.reserved.amount, "0.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deposits_are_booked_at_the_injected_time_and_replayed() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    deposits_are_booked_at_the_injected_time_and_replayed(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deposits_are_booked_at_the_injected_time_and_replayed() {
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    deposits_are_booked_at_the_injected_time_and_replayed(store).await;
}
