//! The rules between a programme's versions and its recorded runs, held by the database itself
//! (migrations 0025) and written straight through the writer, past the application's reads: a
//! version may not take effect in or before a period that has a recorded run, and a run may not
//! be recorded with a version that a later one superseded for its period. On SQLite and
//! PostgreSQL alike; the last two tests show, on PostgreSQL, that the check waits for a run being
//! recorded by another transaction (another service instance) for the same programme, and that
//! the writer takes the chain-head lock before the programme's row, as the careful path does, so
//! two instances cannot deadlock on the pair.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use chrono::NaiveDate;
use ledger_core::organisation::{AllocationPolicy, Programme};
use ledger_core::{Amount, Currency, FundDate, Period, PeriodKind};
use ledger_store::records::{ProgrammeVersionRecord, Record, TransferRunRecord};
use ledger_store::{IdempotencyEntry, Store, StoreError, WriteOutcome, WriteRequest};
use ledger_testkit::on_both_engines;
use ledger_testkit::store::{Fixture, now, wait_for_lock_waiters};
use uuid::Uuid;

on_both_engines!(
    a_version_is_refused_in_or_before_a_recorded_run_s_period,
    a_run_is_refused_when_a_later_version_governs_its_period,
    a_refused_request_in_a_group_writes_nothing_and_the_others_commit,
);

/// A monthly programme named `name` in the registry.
async fn programme(store: &Store, name: &str) -> Uuid {
    let currency = Currency::eur();
    let programme = Programme {
        id: Uuid::now_v7(),
        name: name.into(),
        currency,
        rate_per_member: Amount::from_minor(100, currency).unwrap(),
        period: PeriodKind::Month,
        allocation: AllocationPolicy::ProRataCoveredMembers,
        conditions: vec![],
        minimum_transfer: Amount::zero(currency),
        admin_cost_cap_percent: "10".parse().unwrap(),
    };
    let id = programme.id;
    assert_committed(write(store, Record::Programme(programme)).await);
    id
}

/// Version `number` of the programme's rules, from `period` (a month) on.
fn version(programme: Uuid, number: i32, period: &str) -> Record {
    let start = Period::parse(period, PeriodKind::Month).unwrap().start();
    Record::ProgrammeVersion(ProgrammeVersionRecord {
        programme_id: programme,
        version_number: number,
        effective_period: period.into(),
        effective_from: FundDate::from_naive(start).unwrap(),
        allocation: AllocationPolicy::ProRataCoveredMembers,
        conditions: vec![],
        minimum_transfer_minor: 1_000 * i64::from(number),
        admin_cost_cap_percent: "10".into(),
        changed_fields: vec!["minimum_transfer"],
        changed_by: "admin (network)".into(),
        created_at: now(),
    })
}

/// A planned run of the programme for `period` (a month) that used version `programme_version`.
fn run(programme: Uuid, period: &str, programme_version: i32) -> (Uuid, Record) {
    let id = Uuid::now_v7();
    let as_of: NaiveDate = Period::parse(period, PeriodKind::Month).unwrap().end();
    let record = Record::TransferRun(Box::new(TransferRunRecord {
        id,
        programme_id: programme,
        period: period.into(),
        as_of,
        plan: "{}".into(),
        fingerprint: "balances".into(),
        planned_by: "admin".into(),
        created_at: now(),
        programme_version,
    }));
    (id, record)
}

async fn write(store: &Store, record: Record) -> Result<WriteOutcome, StoreError> {
    store
        .write(WriteRequest {
            records: vec![record],
            ..WriteRequest::default()
        })
        .await
}

fn assert_committed(outcome: Result<WriteOutcome, StoreError>) {
    assert!(
        matches!(outcome, Ok(WriteOutcome::Committed(_))),
        "{outcome:?}"
    );
}

/// The programme's versions, as (number, effective period).
async fn versions(store: &Store, programme: Uuid) -> Vec<(i32, String)> {
    store
        .programme_versions(programme)
        .await
        .unwrap()
        .into_iter()
        .map(|version| (version.version_number, version.effective_period))
        .collect()
}

/// The programme's recorded runs.
async fn runs(store: &Store, programme: Uuid) -> HashSet<Uuid> {
    store
        .programme_runs(programme)
        .await
        .unwrap()
        .into_iter()
        .map(|run| run.id)
        .collect()
}

async fn a_version_is_refused_in_or_before_a_recorded_run_s_period(fixture: Fixture) {
    // Proves a version taking effect in the period of a recorded run (September) or before it
    // (August) is refused by the database as PeriodAlreadyPlanned and writes nothing, while a
    // version from the period after the run (October) is recorded; another programme's run
    // refuses nothing.
    let store = &fixture.store;
    let health = programme(store, "Health").await;
    let other = programme(store, "Education").await;
    let (september, record) = run(health, "2026-09", 0);
    assert_committed(write(store, record).await);
    assert_committed(write(store, run(other, "2026-11", 0).1).await);

    for period in ["2026-09", "2026-08"] {
        let refused = write(store, version(health, 1, period)).await;
        assert!(
            matches!(refused, Err(StoreError::PeriodAlreadyPlanned)),
            "{period}: {refused:?}"
        );
    }
    assert!(versions(store, health).await.is_empty());

    assert_committed(write(store, version(health, 1, "2026-10")).await);
    assert_eq!(versions(store, health).await, vec![(1, "2026-10".into())]);
    assert_eq!(runs(store, health).await, HashSet::from([september]));
}

async fn a_run_is_refused_when_a_later_version_governs_its_period(fixture: Fixture) {
    // Proves a run recorded with version 0 for a period that version 1 governs (September, the
    // version's first period, or October after it) is refused by the database as
    // ProgrammeRulesChanged and writes nothing; a run with version 0 for August (before version
    // 1) and a run with version 1 for September (the version in force) are recorded.
    let store = &fixture.store;
    let health = programme(store, "Health").await;
    assert_committed(write(store, version(health, 1, "2026-09")).await);

    for period in ["2026-09", "2026-10"] {
        let refused = write(store, run(health, period, 0).1).await;
        assert!(
            matches!(refused, Err(StoreError::ProgrammeRulesChanged)),
            "{period}: {refused:?}"
        );
    }
    assert!(runs(store, health).await.is_empty());

    let (august, record) = run(health, "2026-08", 0);
    assert_committed(write(store, record).await);
    let (september, record) = run(health, "2026-09", 1);
    assert_committed(write(store, record).await);
    assert_eq!(
        runs(store, health).await,
        HashSet::from([august, september])
    );
}

async fn a_refused_request_in_a_group_writes_nothing_and_the_others_commit(fixture: Fixture) {
    // Proves requests sent at once (grouped by the writer in one database transaction when they
    // queue together) keep their own outcomes: a version queued before a run of its first period
    // that used the version before it is recorded and the run is refused with its idempotency key
    // left unused; a run of an earlier period and a version of another programme commit.
    let store = &fixture.store;
    let health = programme(store, "Health").await;
    let other = programme(store, "Education").await;
    let (september, september_run) = run(health, "2026-09", 0);
    let (october, october_run) = run(health, "2026-10", 0);
    let keyed_october = WriteRequest {
        records: vec![october_run],
        idempotency: Some(IdempotencyEntry {
            scope: "org-a".into(),
            key: "october-run".into(),
            fingerprint: [7; 32],
            response_status: 201,
            response_body: "{}".into(),
            created_at: now(),
        }),
        ..WriteRequest::default()
    };
    let records = |record: Record| WriteRequest {
        records: vec![record],
        ..WriteRequest::default()
    };
    let outcomes = futures::future::join_all([
        store.write(records(september_run)),
        store.write(records(version(health, 1, "2026-10"))),
        store.write(keyed_october),
        store.write(records(version(other, 1, "2026-10"))),
    ])
    .await;
    assert!(
        matches!(outcomes[2], Err(StoreError::ProgrammeRulesChanged)),
        "{outcomes:?}"
    );
    for index in [0, 1, 3] {
        assert!(
            matches!(outcomes[index], Ok(WriteOutcome::Committed(_))),
            "{index}: {outcomes:?}"
        );
    }
    assert_eq!(runs(store, health).await, HashSet::from([september]));
    assert!(!runs(store, health).await.contains(&october));
    assert_eq!(versions(store, health).await, vec![(1, "2026-10".into())]);
    assert_eq!(versions(store, other).await, vec![(1, "2026-10".into())]);
    assert!(
        store
            .idempotency_record("org-a", "october-run")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_version_waits_for_a_run_being_recorded_and_is_then_refused() {
    // Proves the PostgreSQL triggers serialise one programme's versions and runs across
    // transactions (as two service instances would write them): while another transaction has
    // recorded a run for September but not committed, the writer's version from September waits
    // on the programme's row (visibly, in pg_stat_activity) instead of passing its check, and is
    // refused once the run commits; meanwhile the programme's row still takes the foreign-key
    // checks' FOR KEY SHARE lock without waiting (contribution batches keep flowing). PostgreSQL
    // only: SQLite has one writer at a time, which the tests above cover on both engines.
    let fixture = ledger_testkit::store::postgres().await;
    let store = &fixture.store;
    let pool = store.postgres_pool().unwrap().clone();
    let health = programme(store, "Health").await;

    let mut other_instance = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO transfer_runs (id, programme_id, period, as_of, plan, fingerprint, \
         planned_by, created_at, programme_version) \
         VALUES ($1, $2, '2026-09', '2026-09-30', '{}', 'balances', 'admin', now(), 0)",
    )
    .bind(Uuid::now_v7())
    .bind(health)
    .execute(&mut *other_instance)
    .await
    .unwrap();

    let version_write = {
        let store = store.clone();
        tokio::spawn(async move { write(&store, version(health, 1, "2026-09")).await })
    };
    wait_for_lock_waiters(&pool, 1, "the version waits for the run's transaction").await;
    let mut foreign_key_check = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM programmes WHERE id = $1 FOR KEY SHARE NOWAIT")
        .bind(health)
        .execute(&mut *foreign_key_check)
        .await
        .unwrap();
    foreign_key_check.rollback().await.unwrap();
    assert!(!version_write.is_finished());

    other_instance.commit().await.unwrap();
    let refused = version_write.await.unwrap();
    assert!(
        matches!(refused, Err(StoreError::PeriodAlreadyPlanned)),
        "{refused:?}"
    );
    assert!(versions(store, health).await.is_empty());
    assert_eq!(runs(store, health).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_run_locks_the_chain_head_before_the_programme() {
    // Proves the lock order on PostgreSQL's optimistic path: while another instance holds the
    // chain-head row (as its careful path does before writing), a run sent by this writer waits
    // on the chain head without having locked the programme's row yet, so the other instance can
    // still lock the programme and record a version from the run's period (no deadlock); the run,
    // planned with version 0, is then refused when it gets the lock, and writes nothing.
    let fixture = ledger_testkit::store::postgres().await;
    let store = &fixture.store;
    let pool = store.postgres_pool().unwrap().clone();
    // The programme's write teaches the writer the chain head: the run takes the optimistic path.
    let health = programme(store, "Health").await;

    let mut other_instance = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM chain_head WHERE id = 1 FOR UPDATE")
        .execute(&mut *other_instance)
        .await
        .unwrap();
    let run_write = {
        let store = store.clone();
        tokio::spawn(async move { write(&store, run(health, "2026-09", 0).1).await })
    };
    wait_for_lock_waiters(&pool, 1, "the run waits on the chain head").await;
    sqlx::query("SELECT 1 FROM programmes WHERE id = $1 FOR NO KEY UPDATE NOWAIT")
        .bind(health)
        .execute(&mut *other_instance)
        .await
        .expect("the waiting run holds no lock on the programme's row");
    sqlx::query(
        "INSERT INTO programme_versions (programme_id, version_number, effective_period, \
         effective_from, allocation, conditions, minimum_transfer_minor, admin_cost_cap_percent, \
         changed_fields, changed_by, created_at) \
         VALUES ($1, 1, '2026-09', '2026-09-01', '{\"policy\":\"pro_rata_covered_members\"}', \
         '[]', 500, '10', 'minimum_transfer', 'admin (network)', now())",
    )
    .bind(health)
    .execute(&mut *other_instance)
    .await
    .unwrap();
    other_instance.commit().await.unwrap();

    let refused = run_write.await.unwrap();
    assert!(
        matches!(refused, Err(StoreError::ProgrammeRulesChanged)),
        "{refused:?}"
    );
    assert!(runs(store, health).await.is_empty());
    assert_eq!(versions(store, health).await, vec![(1, "2026-09".into())]);
}
