//! The command runner without HTTP: policy, replay, conflict, guard refusal, the refused-plan
//! replay of hot commands, and the injected clock and ids, on an embedded SQLite store.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_app::clock::{FixedClock, SequentialIds};
use ledger_app::{
    App, AppError, Caller, Command, IdempotencyKey, Operation, Planned, Refusal, Reply, Role,
    Sources, Status,
};
use ledger_core::limits::ContributionLimits;
use ledger_core::postings::{BalanceBound, BalanceGuard, entry, leg};
use ledger_core::{Amount, Currency, OrganisationId, Timestamp, TransactionKind, chart};
use ledger_store::{Store, StoreOptions, WriteRequest};
use serde::Serialize;

/// What the test command answers.
#[derive(Debug, Serialize)]
struct Deposited {
    amount: String,
    transaction_id: String,
}

/// A fee-coverage deposit of `amount` minor units, optionally guarded so that the guard fails,
/// optionally refused at planning.
struct TestDeposit {
    amount_minor: i64,
    guard_fails: bool,
    refuse: bool,
}

impl TestDeposit {
    fn of(amount_minor: i64) -> TestDeposit {
        TestDeposit {
            amount_minor,
            guard_fails: false,
            refuse: false,
        }
    }
}

impl Command for TestDeposit {
    const OPERATION: Operation = Operation::DepositFeeCoverage;
    type Output = Deposited;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<Deposited>, AppError> {
        if self.refuse {
            return Err(AppError::invalid_field("amount", "refused by the test"));
        }
        let bank = chart::fund_bank(Currency::eur());
        let coverage = chart::fee_coverage(Currency::eur());
        let amount = Amount::from_minor(self.amount_minor, Currency::eur())
            .map_err(AppError::internal_message)?;
        let header = app.sources.header(caller.actor());
        let transaction_id = header.id;
        let transaction = entry(
            header,
            TransactionKind::FeeCoverageDeposit,
            "test deposit".to_owned(),
            &serde_json::json!({"test": true}),
            vec![leg(&bank, amount), leg(&coverage, amount.negated())],
            &[&bank, &coverage],
        )
        .map_err(AppError::internal)?;
        let guards = if self.guard_fails {
            vec![BalanceGuard {
                account_id: bank.id,
                bound: BalanceBound::AtMost(0),
            }]
        } else {
            Vec::new()
        };
        let output = Deposited {
            amount: amount.to_decimal_string(),
            transaction_id: transaction_id.to_string(),
        };
        let write = WriteRequest {
            transactions: vec![transaction],
            guards,
            ..WriteRequest::default()
        };
        Ok(
            Planned::new(Status::Created, output, write).on_guard(|_, balance| {
                AppError::conflict("test_guard", format!("the bank would hold {balance}"))
            }),
        )
    }
}

/// The same deposit, run as a hot command: its key is looked up only when its plan is refused.
struct HotDeposit(TestDeposit);

impl Command for HotDeposit {
    const OPERATION: Operation = Operation::DepositFeeCoverage;
    const REPLAY_BEFORE_PLAN: bool = false;
    type Output = Deposited;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<Deposited>, AppError> {
        self.0.plan(app, caller).await
    }
}

fn instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:15:00Z")
        .map(|instant| instant.with_timezone(&Utc))
        .unwrap_or_default()
}

async fn app(directory: &tempfile::TempDir) -> App {
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    for account in [
        chart::fund_bank(Currency::eur()),
        chart::fee_coverage(Currency::eur()),
    ] {
        store
            .open_account(&account, Timestamp::from_datetime(instant()))
            .await
            .unwrap();
    }
    App::new(
        store,
        Sources::new(
            Arc::new(FixedClock(instant())),
            Arc::new(SequentialIds::new(42)),
        ),
        ContributionLimits::default(),
    )
}

fn caller(role: Role) -> Caller {
    Caller::with_token(
        "secretariat".to_owned(),
        OrganisationId::from_uuid(uuid::Uuid::from_u128(7)),
        role,
    )
}

fn key(name: &str, body: &str) -> IdempotencyKey {
    IdempotencyKey::new(name, "POST\n/test", body.as_bytes().to_vec()).unwrap()
}

async fn journal_length(app: &App) -> u64 {
    app.store.chain_head().await.unwrap().0
}

fn refusal<O: std::fmt::Debug>(result: Result<Reply<O>, AppError>) -> AppError {
    result.expect_err("the command must be refused")
}

#[tokio::test]
async fn a_replayed_key_answers_the_first_response_and_writes_nothing() {
    // Proves the runner commits once per key: the same key and request (in another JSON layout)
    // answers the stored status and body, and the journal does not grow.
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    let treasurer = caller(Role::Admin);
    let first = app
        .run(
            &treasurer,
            &key("k1", r#"{"amount":"5.00"}"#),
            TestDeposit::of(500),
        )
        .await
        .unwrap();
    let (status, body) = first.http();
    assert_eq!(status, 201);
    let body = body.to_owned();
    assert!(matches!(first, Reply::Done { .. }));
    assert_eq!(journal_length(&app).await, 1);
    let again = app
        .run(
            &treasurer,
            &key("k1", "{ \"amount\" : \"5.00\" }"),
            TestDeposit::of(500),
        )
        .await
        .unwrap();
    assert!(matches!(again, Reply::Replayed(_)));
    assert_eq!(again.http(), (201, body.as_str()));
    assert_eq!(journal_length(&app).await, 1);
}

#[tokio::test]
async fn a_key_reused_with_another_request_is_a_conflict() {
    // Proves the same key with another body is refused (idempotency_conflict) and writes nothing.
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    let treasurer = caller(Role::Admin);
    app.run(
        &treasurer,
        &key("k1", r#"{"amount":"5.00"}"#),
        TestDeposit::of(500),
    )
    .await
    .unwrap();
    let error = refusal(
        app.run(
            &treasurer,
            &key("k1", r#"{"amount":"6.00"}"#),
            TestDeposit::of(600),
        )
        .await,
    );
    assert_eq!(
        (error.refusal, error.code),
        (Refusal::Conflict, "idempotency_conflict")
    );
    assert_eq!(journal_length(&app).await, 1);
}

#[tokio::test]
async fn a_failed_guard_is_the_commands_refusal_and_nothing_is_written() {
    // Proves a guard failing under the writer's lock becomes the refusal the command named, with
    // the balance the store saw, and that neither the transaction nor the key is kept: the same
    // key then runs a corrected request.
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    let treasurer = caller(Role::Admin);
    let error = refusal(
        app.run(
            &treasurer,
            &key("k1", r#"{"amount":"5.00"}"#),
            TestDeposit {
                guard_fails: true,
                ..TestDeposit::of(500)
            },
        )
        .await,
    );
    assert_eq!(
        (error.refusal, error.code),
        (Refusal::Conflict, "test_guard")
    );
    assert!(error.detail.contains("500"), "{}", error.detail);
    assert_eq!(journal_length(&app).await, 0);
    assert!(
        app.store
            .idempotency_record(&treasurer.organisation.to_string(), "k1")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_policy_is_checked_before_anything_is_read_or_written() {
    // Proves a role the policy table does not list for the operation is refused (forbidden), and
    // that an auditor, who reads everything, writes nothing.
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    for role in [Role::Auditor, Role::Contributor, Role::Beneficiary] {
        let error = refusal(
            app.run(&caller(role), &key("k1", "{}"), TestDeposit::of(500))
                .await,
        );
        assert_eq!(
            (error.refusal, error.code),
            (Refusal::Forbidden, "forbidden")
        );
    }
    assert_eq!(journal_length(&app).await, 0);
}

#[tokio::test]
async fn a_hot_command_refused_at_planning_still_answers_its_first_response() {
    // Proves the replay of a command that skips the lookup before planning: when its plan is
    // refused (here: the test refuses every second plan), a key already used answers the first
    // response instead of the new refusal; an unused key answers the refusal.
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    let contributor = caller(Role::Admin);
    let first = app
        .run(
            &contributor,
            &key("k1", "{}"),
            HotDeposit(TestDeposit::of(500)),
        )
        .await
        .unwrap();
    let body = first.http().1.to_owned();
    let refused_plan = || {
        HotDeposit(TestDeposit {
            refuse: true,
            ..TestDeposit::of(500)
        })
    };
    let replayed = app
        .run(&contributor, &key("k1", "{}"), refused_plan())
        .await
        .unwrap();
    assert_eq!(replayed.http(), (201, body.as_str()));
    let error = refusal(
        app.run(&contributor, &key("k2", "{}"), refused_plan())
            .await,
    );
    assert_eq!(
        (error.refusal, error.field()),
        (Refusal::Invalid, Some("amount"))
    );
    // A hot command accepted again with a used key is answered by the writer: still one write.
    let accepted_again = app
        .run(
            &contributor,
            &key("k1", "{}"),
            HotDeposit(TestDeposit::of(500)),
        )
        .await
        .unwrap();
    assert!(matches!(accepted_again, Reply::Replayed(_)));
    assert_eq!(journal_length(&app).await, 1);
}

#[tokio::test]
async fn commands_take_time_and_ids_from_the_injected_sources() {
    // Proves no command reads the system clock or mints its own ids: with a fixed clock and
    // sequential ids, the journal records exactly those.
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    let reply = app
        .run(&caller(Role::Admin), &key("k1", "{}"), TestDeposit::of(500))
        .await
        .unwrap();
    let Reply::Done { output, .. } = reply else {
        panic!("a first run is done, not replayed");
    };
    assert_eq!(
        output.transaction_id,
        uuid::Uuid::from_u64_pair(42, 1).to_string()
    );
    let records = app.store.journal_after(0, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].recorded_at, "2026-11-30T09:15:00.000000Z");
    assert_eq!(records[0].effective_date, "2026-11-30");
}

/// Runs a proposal of the test's four-eyes operation: a deposit of the proposed amount.
struct DepositDispatch;

impl ledger_app::approvals::Dispatch for DepositDispatch {
    async fn run(
        &self,
        app: &App,
        caller: &Caller,
        operation: &str,
        _targets: &[String],
        key: &IdempotencyKey,
    ) -> Result<(u16, String), AppError> {
        assert_eq!(operation, "reverse_batch");
        let body: serde_json::Value = serde_json::from_slice(key.body()).unwrap();
        let amount = body["amount_minor"].as_i64().unwrap();
        let reply = app
            .run(caller, key, FourEyesDeposit(TestDeposit::of(amount)))
            .await?;
        let (status, body) = reply.http();
        Ok((status, body.to_owned()))
    }
}

/// The test deposit, as one of the operations that need a second admin.
struct FourEyesDeposit(TestDeposit);

impl Command for FourEyesDeposit {
    const OPERATION: Operation = Operation::ReverseBatch;
    type Output = Deposited;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<Deposited>, AppError> {
        self.0.plan(app, caller).await
    }
}

#[tokio::test]
async fn a_proposal_runs_only_when_another_admin_approves_it_and_records_both() {
    // Proves four eyes without HTTP: a proposal is kept (and answered again for the same key),
    // its proposer cannot approve it, another admin's approval runs it once with both names in
    // the transaction's metadata, and a decided proposal cannot be approved again.
    use ledger_app::approvals::{approve, propose, reject};
    let directory = tempfile::tempdir().unwrap();
    let app = app(&directory).await;
    assert!(app.needs_approval(Operation::ReverseBatch));
    assert!(!app.needs_approval(Operation::DepositFeeCoverage));
    let alice = Caller::with_token(
        "alice@ens.example".to_owned(),
        OrganisationId::from_uuid(uuid::Uuid::from_u128(7)),
        Role::Admin,
    );
    let bob = Caller {
        subject: "bob@ens.example".to_owned(),
        ..alice.clone()
    };
    let body = r#"{"amount_minor": 700}"#;
    let proposed = propose(
        &app,
        &alice,
        &["b1"],
        &key("p1", body),
        FourEyesDeposit(TestDeposit::of(700)),
    )
    .await
    .unwrap();
    assert_eq!(proposed.status, "awaiting_approval");
    let again = propose(
        &app,
        &alice,
        &["b1"],
        &key("p1", body),
        FourEyesDeposit(TestDeposit::of(700)),
    )
    .await
    .unwrap();
    assert_eq!(again.id, proposed.id);
    let conflicting = propose(
        &app,
        &alice,
        &["b1"],
        &key("p1", r#"{"amount_minor": 800}"#),
        FourEyesDeposit(TestDeposit::of(800)),
    )
    .await
    .unwrap_err();
    assert_eq!(conflicting.code, "idempotency_conflict");
    assert_eq!(journal_length(&app).await, 0);

    let id = proposed.id.to_string();
    let own = approve(&app, &alice, &id, &DepositDispatch)
        .await
        .unwrap_err();
    assert_eq!(own.code, "approval_by_proposer");
    let auditor = Caller {
        role: Role::Auditor,
        ..bob.clone()
    };
    let refused = approve(&app, &auditor, &id, &DepositDispatch)
        .await
        .unwrap_err();
    assert_eq!(refused.code, "forbidden");
    assert_eq!(journal_length(&app).await, 0);

    let approved = approve(&app, &bob, &id, &DepositDispatch).await.unwrap();
    assert_eq!(approved.status, "approved");
    assert_eq!(approved.result_status, Some(201));
    let records = app.store.journal_after(0, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let metadata: serde_json::Value = serde_json::from_str(&records[0].metadata).unwrap();
    assert_eq!(metadata["approval"]["proposed_by"], "alice@ens.example");
    assert_eq!(metadata["approval"]["approved_by"], "bob@ens.example");
    assert_eq!(metadata["approval"]["proposal_id"], id.as_str());
    let twice = approve(&app, &bob, &id, &DepositDispatch)
        .await
        .unwrap_err();
    assert_eq!(twice.code, "proposal_decided");
    let late = reject(&app, &bob, &id).await.unwrap_err();
    assert_eq!(late.code, "proposal_decided");
    assert_eq!(journal_length(&app).await, 1);

    // A rejected proposal never runs.
    let withdrawn = propose(
        &app,
        &alice,
        &["b2"],
        &key("p2", body),
        FourEyesDeposit(TestDeposit::of(700)),
    )
    .await
    .unwrap();
    let rejected = reject(&app, &alice, &withdrawn.id.to_string())
        .await
        .unwrap();
    assert_eq!(rejected.status, "rejected");
    let after = approve(&app, &bob, &withdrawn.id.to_string(), &DepositDispatch)
        .await
        .unwrap_err();
    assert_eq!(after.code, "proposal_decided");
    assert_eq!(journal_length(&app).await, 1);
}
