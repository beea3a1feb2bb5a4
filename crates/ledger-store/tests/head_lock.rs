//! The PostgreSQL writer's optimistic path (one autocommit statement chained from the head the
//! writer last committed) when its group fails or finds the head moved, made deterministic by
//! holding the chain-head row lock from a test connection: a statement sent meanwhile waits at its
//! head update, visibly, in `pg_stat_activity`, while later requests queue behind it. PostgreSQL
//! only: SQLite takes its write lock with `BEGIN IMMEDIATE` and has no optimistic path (the same
//! outcomes under load are checked on both engines by the conformance tests).

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::store as support;

use std::time::Duration;

use ledger_core::{Account, AccountCode, AccountId, BalancedTransaction};
use ledger_store::{IdempotencyEntry, Store, StoreError, StoreOptions, WriteOutcome, WriteRequest};
use sqlx::{PgPool, Postgres, Transaction};
use support::{Fixture, open, transfer, wait_for_lock_waiters};
use tokio::task::JoinHandle;

type Answer = JoinHandle<Result<WriteOutcome, StoreError>>;

fn keyed(transaction: BalancedTransaction, key: &str, fingerprint: u8) -> WriteRequest {
    WriteRequest {
        transactions: vec![transaction],
        idempotency: Some(IdempotencyEntry {
            scope: "org-a".into(),
            key: key.into(),
            fingerprint: [fingerprint; 32],
            response_status: 201,
            response_body: format!("{{\"first\":{fingerprint}}}"),
            created_at: support::now(),
        }),
        guards: vec![],
        records: vec![],
        key: None,
    }
}

fn submit(store: &Store, request: WriteRequest) -> Answer {
    let store = store.clone();
    tokio::spawn(async move { store.write(request).await })
}

/// Takes the chain-head row lock, as another instance appending would.
async fn hold_head(pool: &PgPool) -> Transaction<'static, Postgres> {
    let mut transaction = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM chain_head WHERE id = 1 FOR UPDATE")
        .execute(&mut *transaction)
        .await
        .unwrap();
    transaction
}

/// A store whose writer knows the chain head (it has committed once), so its groups take the
/// optimistic, pipelined path; with two accounts.
async fn started() -> (Fixture, PgPool, Account, Account) {
    let fixture = support::postgres().await;
    let pool = fixture.store.postgres_pool().unwrap().clone();
    let cash = open(&fixture.store, "cash", "EUR").await;
    let bank = open(&fixture.store, "bank", "EUR").await;
    fixture
        .store
        .append(transfer(&cash, &bank, 1))
        .await
        .unwrap();
    (fixture, pool, cash, bank)
}

fn committed_sequences(outcome: &WriteOutcome) -> Vec<u64> {
    match outcome {
        WriteOutcome::Committed(committed) => committed.iter().map(|c| c.sequence).collect(),
        other => panic!("expected a commit, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optimistic_group_that_fails_writes_nothing_and_the_requests_behind_it_keep_the_chain() {
    // Proves: nobody is answered before their group commits; when the group on its way fails in
    // the database (a posting to an account that does not exist) it writes nothing and costs no
    // sequence; the bad request fails alone and the requests queued behind it commit with gapless
    // sequences right after the last committed one.
    let (fixture, pool, cash, bank) = started().await;
    let store = &fixture.store;
    let mut ghost = cash.clone();
    ghost.id = AccountId::from_uuid(uuid::Uuid::new_v4());
    ghost.code = AccountCode::parse("ghost").unwrap();

    let lock = hold_head(&pool).await;
    let bad = submit(
        store,
        WriteRequest::transaction(transfer(&ghost, &bank, 50)),
    );
    wait_for_lock_waiters(&pool, 1, "the first group waits on the head lock").await;
    let good = submit(store, keyed(transfer(&cash, &bank, 10), "good", 1));
    let queued = submit(
        store,
        WriteRequest::transaction(transfer(&cash, &bank, 100)),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !bad.is_finished() && !good.is_finished() && !queued.is_finished(),
        "no caller is answered before its group commits"
    );
    lock.commit().await.unwrap();

    let bad = bad.await.unwrap();
    assert!(matches!(bad, Err(StoreError::Database(_))), "{bad:?}");
    let mut sequences = committed_sequences(&good.await.unwrap().unwrap());
    sequences.extend(committed_sequences(&queued.await.unwrap().unwrap()));
    sequences.sort_unstable();
    assert_eq!(sequences, vec![2, 3]);
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 111);
    assert_eq!(store.balance(bank.id, None).await.unwrap(), -111);
    assert!(
        store
            .idempotency_record("org-a", "good")
            .await
            .unwrap()
            .is_some()
    );
    let report = store.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!((report.transactions_count, report.postings_count), (3, 6));
    let next = store.append(transfer(&cash, &bank, 1)).await.unwrap();
    assert_eq!(next.sequence, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_committed_by_the_group_ahead_replays_in_the_group_behind() {
    // Proves one key in two consecutive optimistic groups has one effect: the first commits; the
    // second's key insert finds the first's, so it writes nothing and is redone under the lock,
    // answering with the first response; a third use with another request is a conflict.
    let (fixture, pool, cash, bank) = started().await;
    let store = &fixture.store;
    let lock = hold_head(&pool).await;
    let first = submit(store, keyed(transfer(&cash, &bank, 10), "same", 7));
    wait_for_lock_waiters(&pool, 1, "the first group waits on the head lock").await;
    let retry = submit(store, keyed(transfer(&cash, &bank, 10), "same", 7));
    tokio::time::sleep(Duration::from_millis(50)).await;
    lock.commit().await.unwrap();

    assert_eq!(committed_sequences(&first.await.unwrap().unwrap()), vec![2]);
    match retry.await.unwrap().unwrap() {
        WriteOutcome::Replayed(stored) => assert_eq!(stored.response_body, "{\"first\":7}"),
        other => panic!("expected a replay, got {other:?}"),
    }
    let conflict = store
        .write(keyed(transfer(&cash, &bank, 99), "same", 8))
        .await
        .unwrap();
    assert_eq!(conflict, WriteOutcome::IdempotencyConflict);
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 11);
    assert_eq!(store.chain_head().await.unwrap().0, 2);
    assert!(store.verify().await.unwrap().is_valid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_moving_the_head_under_an_optimistic_group() {
    // Proves that when another service instance appends first (it queued on the head lock before
    // the group), the group finds the head moved, writes nothing, and is redone after it, with the
    // requests queued behind it: one gapless chain, every request committed once.
    let (fixture, pool, cash, bank) = started().await;
    let store = &fixture.store;
    let other = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    let lock = hold_head(&pool).await;
    let elsewhere = submit(&other, WriteRequest::transaction(transfer(&bank, &cash, 5)));
    wait_for_lock_waiters(&pool, 1, "the other instance waits on the head lock").await;
    let first = submit(store, WriteRequest::transaction(transfer(&cash, &bank, 10)));
    wait_for_lock_waiters(&pool, 2, "the group waits on the head lock").await;
    let second = submit(store, WriteRequest::transaction(transfer(&cash, &bank, 20)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    lock.commit().await.unwrap();

    let mut sequences = Vec::new();
    for answer in [elsewhere, first, second] {
        sequences.extend(committed_sequences(&answer.await.unwrap().unwrap()));
    }
    sequences.sort_unstable();
    assert_eq!(sequences, vec![2, 3, 4]);
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 1 - 5 + 10 + 20);
    let report = other.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.transactions_count, 4);
    // Both instances go on appending to the same chain.
    let (a, b) = tokio::join!(
        store.append(transfer(&cash, &bank, 1)),
        other.append(transfer(&cash, &bank, 1)),
    );
    let mut last = [a.unwrap().sequence, b.unwrap().sequence];
    last.sort_unstable();
    assert_eq!(last, [5, 6]);
    assert!(store.verify().await.unwrap().is_valid());
}
