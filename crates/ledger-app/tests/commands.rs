//! Commands and queries run without HTTP, on both engines: the clock and the id source are the
//! application's (injected); a receipt and a reversal book what `docs/accounts.md` says; a
//! verdict is judged as of the application's today and scoped to the caller; a programme version
//! and a run planned from the same state cannot both commit.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_app::clock::{FixedClock, SequentialIds};
use ledger_app::contributions::{
    CreateBatch, CreateReceipt, CreateReversal, RecordReceipt, ReverseBatch, SubmitBatch,
};
use ledger_app::eligibility::{CreateFact, EligibilityQuery, ReadEligibility, RecordFact};
use ledger_app::fact_review::VerifyFact;
use ledger_app::registry::{
    ChangeProgramme, ChangeProgrammeBody, CreateOrganisation, CreateProgramme, OpenProgramme,
    RegisterOrganisation,
};
use ledger_app::transfers::runs::{CreateRun, PlanTransferRun};
use ledger_app::{App, AppError, Caller, Command, IdempotencyKey, Refusal, Reply, Role, Sources};
use ledger_core::limits::ContributionLimits;
use ledger_core::{Currency, OrganisationId, chart};
use ledger_store::{Store, StoreOptions};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// The ids the application mints start with this prefix.
const ID_PREFIX: u64 = 0x5017_da41;

/// A migrated store and what keeps its database alive.
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

/// An application whose clock stands still at 2026-11-30 10:00 UTC.
fn app(fixture: &Fixture) -> App {
    let instant: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
    App::new(
        fixture.store.clone(),
        Sources::new(
            Arc::new(FixedClock(instant)),
            Arc::new(SequentialIds::new(ID_PREFIX)),
        ),
        ContributionLimits::default(),
    )
}

fn body<T: DeserializeOwned>(json: serde_json::Value) -> T {
    serde_json::from_value(json).unwrap()
}

fn fresh_key() -> IdempotencyKey {
    IdempotencyKey::new(&Uuid::new_v4().to_string(), "test", b"{}".to_vec()).unwrap()
}

/// The output of a write answered for the first time.
fn done<O>(reply: Reply<O>) -> O {
    match reply {
        Reply::Done { output, .. } => output,
        Reply::Replayed(stored) => panic!("a fresh key was replayed: {stored:?}"),
    }
}

/// Runs `command` under a fresh key and answers its output.
async fn run<C: Command>(app: &App, caller: &Caller, command: C) -> Result<C::Output, AppError> {
    app.run(caller, &fresh_key(), command).await.map(done)
}

fn caller(organisation: Uuid, role: Role) -> Caller {
    Caller::with_token(
        format!("{} test", role.as_str()),
        OrganisationId::from_uuid(organisation),
        role,
    )
}

async fn a_receipt_and_a_reversal_run_as_commands_with_the_injected_clock(fixture: Fixture) {
    let app = app(&fixture);
    let admin = caller(Uuid::new_v4(), Role::Admin);
    let union = run(
        &app,
        &admin,
        RegisterOrganisation(body::<CreateOrganisation>(serde_json::json!({
            "slug": "union", "name": "A union", "kind": "contributor", "country": "FR",
            "currency": "EUR", "covered_members": 100
        }))),
    )
    .await
    .unwrap();
    let programme = run(
        &app,
        &admin,
        OpenProgramme(body::<CreateProgramme>(serde_json::json!({
            "name": "Health", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
            "allocation": {"policy": "pro_rata_covered_members"},
            "minimum_transfer": "0.00", "admin_cost_cap_percent": "15"
        }))),
    )
    .await
    .unwrap();
    // Ids come from the application's source.
    assert_eq!(programme.id.as_u64_pair().0, ID_PREFIX);
    let contributor = caller(union.id, Role::Contributor);
    let batch = run(
        &app,
        &contributor,
        SubmitBatch(body::<CreateBatch>(serde_json::json!({
            "programme_id": programme.id.to_string(), "period": "2026-11",
            "lines": [{"reference": "s1", "members": 100, "amount": "100.00", "kind": "solidarity"}]
        }))),
    )
    .await
    .unwrap();

    // The day after the application's today is refused, whatever the system clock says.
    let receipt = |amount: &str, value_date: &str| RecordReceipt {
        batch: batch.id.to_string(),
        body: body::<CreateReceipt>(serde_json::json!({
            "amount": amount, "value_date": value_date, "bank_reference": "E2E-1",
            "overpayment": true
        })),
    };
    let refused = run(&app, &admin, receipt("120.00", "2026-12-01"))
        .await
        .unwrap_err();
    assert_eq!(refused.field(), Some("value_date"), "{refused:?}");

    // 120.00 against 100.00 due: 100.00 applied, 20.00 an overpayment.
    let received = run(&app, &admin, receipt("120.00", "2026-11-30"))
        .await
        .unwrap();
    assert_eq!(received.receipt.applied.amount, "100.00");
    assert_eq!(received.receipt.overpayment.amount, "20.00");
    assert_eq!(received.receipt.id.as_u64_pair().0, ID_PREFIX);
    let eur = Currency::eur();
    let pool = chart::programme_pool(programme.id, eur);
    let receivable = chart::batch_receivable(batch.id, OrganisationId::from_uuid(union.id), eur);
    assert_eq!(fixture.store.balance(pool.id, None).await.unwrap(), -12_000);
    assert_eq!(fixture.store.balance(receivable.id, None).await.unwrap(), 0);

    // The reversal refunds all that was received and cancels nothing (nothing is due).
    let reverse = || ReverseBatch {
        batch: batch.id.to_string(),
        body: body::<CreateReversal>(serde_json::json!({"reason": "sent twice"})),
    };
    let reversed = run(&app, &admin, reverse()).await.unwrap();
    assert_eq!(reversed.refunded.amount, "120.00");
    assert_eq!(reversed.cancelled.amount, "0.00");
    assert_eq!(fixture.store.balance(pool.id, None).await.unwrap(), 0);
    let again = run(&app, &admin, reverse()).await.unwrap_err();
    assert_eq!(again.code, "already_reversed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_receipt_and_a_reversal_run_as_commands_with_the_injected_clock() {
    a_receipt_and_a_reversal_run_as_commands_with_the_injected_clock(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_receipt_and_a_reversal_run_as_commands_with_the_injected_clock() {
    a_receipt_and_a_reversal_run_as_commands_with_the_injected_clock(postgres().await).await;
}

async fn a_verdict_is_judged_as_of_the_applications_today_for_visible_beneficiaries(
    fixture: Fixture,
) {
    // Proves a verdict is judged as of the injected clock's today, for visible beneficiaries only,
    // and that a mutual's own fact counts only once an admin verified it.
    let app = app(&fixture);
    let admin = caller(Uuid::new_v4(), Role::Admin);
    let register = |slug: &str| {
        RegisterOrganisation(body::<CreateOrganisation>(serde_json::json!({
            "slug": slug, "name": slug, "kind": "beneficiary", "country": "SN",
            "currency": "XOF", "covered_members": 10
        })))
    };
    let mutual = run(&app, &admin, register("mutual")).await.unwrap();
    let other = run(&app, &admin, register("other")).await.unwrap();
    let programme = run(
        &app,
        &admin,
        OpenProgramme(body::<CreateProgramme>(serde_json::json!({
            "name": "Health", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
            "allocation": {"policy": "pro_rata_covered_members"},
            "conditions": [{"code": "mutual_operational"}],
            "minimum_transfer": "0.00", "admin_cost_cap_percent": "15"
        }))),
    )
    .await
    .unwrap();
    let beneficiary = caller(mutual.id, Role::Beneficiary);
    // Holds from the application's today: a fact dated later would not count yet.
    let fact = run(
        &app,
        &beneficiary,
        RecordFact {
            beneficiary: mutual.id.to_string(),
            body: body::<CreateFact>(serde_json::json!({
                "code": "mutual_operational", "value": true, "as_of": "2026-11-30",
                "evidence_reference": "minutes 2026-11"
            })),
        },
    )
    .await
    .unwrap();
    assert_eq!(fact.id.as_u64_pair().0, ID_PREFIX);
    let verdict = |who: &Caller, of: Uuid| {
        let app = app.clone();
        let who = who.clone();
        let query = ReadEligibility {
            beneficiary: of.to_string(),
            query: EligibilityQuery {
                programme_id: programme.id.to_string(),
                as_of: None,
            },
        };
        async move { app.query(&who, query).await }
    };
    // The mutual's own declaration waits for the network: the verdict names it as pending.
    assert_eq!(fact.status, "submitted");
    let judged = verdict(&beneficiary, mutual.id).await.unwrap();
    assert!(!judged.eligible, "{judged:?}");
    assert_eq!(judged.conditions[0].pending_facts[0].id, fact.id);
    let verified = run(
        &app,
        &admin,
        VerifyFact {
            beneficiary: mutual.id.to_string(),
            fact: fact.id.to_string(),
        },
    )
    .await
    .unwrap();
    assert_eq!(verified.status, "verified");
    let judged = verdict(&beneficiary, mutual.id).await.unwrap();
    assert_eq!(judged.as_of, "2026-11-30");
    assert!(judged.eligible, "{judged:?}");
    // Another beneficiary's verdict is not disclosed; a contributor may not ask.
    let hidden = verdict(&beneficiary, other.id).await.unwrap_err();
    assert_eq!(hidden.refusal, Refusal::NotFound);
    let contributor = caller(Uuid::new_v4(), Role::Contributor);
    let refused = verdict(&contributor, mutual.id).await.unwrap_err();
    assert_eq!(refused.refusal, Refusal::Forbidden);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_verdict_is_judged_as_of_the_applications_today_for_visible_beneficiaries() {
    a_verdict_is_judged_as_of_the_applications_today_for_visible_beneficiaries(sqlite().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_verdict_is_judged_as_of_the_applications_today_for_visible_beneficiaries() {
    a_verdict_is_judged_as_of_the_applications_today_for_visible_beneficiaries(postgres().await)
        .await;
}

async fn a_version_and_a_run_planned_from_the_same_state_cannot_both_commit(fixture: Fixture) {
    // Proves the database decides what the plans' reads could not: new rules from October planned
    // before October's run was recorded are refused at commit with the read check's own 409
    // period_already_planned (field effective_period), and a run of October planned with version
    // 0 before rules from October were recorded is refused at commit with 409
    // programme_rules_changed; neither writes anything, and the run planned again
    // uses the new version.
    let app = app(&fixture);
    let admin = caller(Uuid::new_v4(), Role::Admin);
    let open = |name: &str| {
        OpenProgramme(body::<CreateProgramme>(serde_json::json!({
            "name": name, "currency": "EUR", "rate_per_member": "1.00", "period": "month",
            "allocation": {"policy": "pro_rata_covered_members"},
            "minimum_transfer": "0.00", "admin_cost_cap_percent": "15"
        })))
    };
    let change = |programme: Uuid| ChangeProgramme {
        id: programme.to_string(),
        body: body::<ChangeProgrammeBody>(serde_json::json!({
            "effective_period": "2026-10", "minimum_transfer": "5.00"
        })),
    };
    let plan_run = |programme: Uuid| {
        PlanTransferRun(body::<CreateRun>(serde_json::json!({
            "programme_id": programme.to_string(), "period": "2026-10", "dry_run": false
        })))
    };

    // The version is planned, then October's run is recorded, then the version commits.
    let health = run(&app, &admin, open("Health")).await.unwrap().id;
    let version = change(health).plan(&app, &admin).await.unwrap();
    let recorded = run(&app, &admin, plan_run(health)).await.unwrap();
    assert_eq!(recorded.programme_version, 0);
    let refused = app.commit(&admin, &fresh_key(), version).await.unwrap_err();
    assert_eq!(refused.refusal, Refusal::Conflict, "{refused:?}");
    assert_eq!(refused.code, "period_already_planned", "{refused:?}");
    assert_eq!(refused.field(), Some("effective_period"), "{refused:?}");
    assert!(
        fixture
            .store
            .programme_versions(health)
            .await
            .unwrap()
            .is_empty()
    );

    // The run is planned with version 0, then rules from October are recorded, then the run
    // commits.
    let education = run(&app, &admin, open("Education")).await.unwrap().id;
    let stale_run = plan_run(education).plan(&app, &admin).await.unwrap();
    assert_eq!(stale_run.output.programme_version, 0);
    let version = run(&app, &admin, change(education)).await.unwrap();
    assert_eq!(version.version, 1);
    let refused = app
        .commit(&admin, &fresh_key(), stale_run)
        .await
        .unwrap_err();
    assert_eq!(refused.refusal, Refusal::Conflict, "{refused:?}");
    assert_eq!(refused.code, "programme_rules_changed", "{refused:?}");
    assert!(refused.errors.is_empty(), "{refused:?}");
    assert!(
        fixture
            .store
            .programme_runs(education)
            .await
            .unwrap()
            .is_empty()
    );
    let again = run(&app, &admin, plan_run(education)).await.unwrap();
    assert_eq!(again.programme_version, 1);
    assert_eq!(
        fixture.store.programme_runs(education).await.unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_version_and_a_run_planned_from_the_same_state_cannot_both_commit() {
    a_version_and_a_run_planned_from_the_same_state_cannot_both_commit(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_version_and_a_run_planned_from_the_same_state_cannot_both_commit() {
    a_version_and_a_run_planned_from_the_same_state_cannot_both_commit(postgres().await).await;
}
