//! The store's contract, run against SQLite and PostgreSQL alike: a behaviour only one engine has is
//! a bug. Each test is written once and instantiated for both engines by
//! `ledger_testkit::on_both_engines!`.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::on_both_engines;
use ledger_testkit::store as support;

use std::collections::{HashMap, HashSet};

use ledger_core::{AccountCode, Timestamp};
use ledger_store::{
    BalanceBound, BalanceGuard, IdempotencyEntry, Seek, Store, StoreError, StoreOptions,
    WriteOutcome, WriteRequest,
};
use support::{Fixture, open, transfer};

on_both_engines!(
    appends_get_gapless_sequences_and_a_verifiable_chain,
    balances_are_current_and_as_of_a_sequence,
    journal_reads_page_in_chain_order,
    database_refuses_update_and_delete_of_history,
    database_refuses_update_and_delete_of_programmes,
    verify_names_the_sequence_of_a_changed_posting,
    journal_pages_show_stored_postings_exactly,
    verify_notices_a_stored_balance_that_drifted,
    idempotent_writes_replay_and_conflict,
    concurrent_duplicate_keys_have_one_effect,
    a_failed_guard_writes_nothing_and_spares_the_others,
    a_failed_append_leaves_no_gap_and_no_partial_rows,
    two_instances_appending_at_once_keep_the_chain,
    account_codes_are_unique_and_accounts_read_back,
    readiness_follows_migrations,
    trial_balance_totals_debits_and_credits_as_of_a_moment,
    trial_balance_as_of_an_accounting_date_reads_effective_dates,
    records_commit_with_their_group_and_a_refused_one_writes_nothing,
    closing_after_writes_returns_and_the_data_stays,
    two_instances_writing_keyed_batches_at_once_have_one_effect_per_key,
    receipt_value_dates_compare_as_dates,
    the_database_refuses_dates_and_periods_outside_the_fund_life,
    batches_keep_their_place_and_running_total_in_their_period,
    the_database_holds_the_contributor_period_limit,
    balances_stop_at_the_account_limit,
    batches_keep_a_unique_well_formed_creditor_reference,
);

async fn closing_after_writes_returns_and_the_data_stays(fixture: Fixture) {
    // Proves a store that has written can be closed (graceful shutdown does not hang on the
    // writer's own connection) and what it wrote is there for the next store.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    store.append(transfer(&cash, &pool, 100)).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), store.close())
        .await
        .expect("close returned");
    let reopened = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(reopened.chain_head().await.unwrap().0, 1);
}

async fn appends_get_gapless_sequences_and_a_verifiable_chain(fixture: Fixture) {
    // Proves appends are numbered 1, 2, 3, chained from genesis, and verify end to end.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let mut previous = ledger_core::GENESIS_HASH;
    for expected in 1..=3_u64 {
        let committed = store.append(transfer(&cash, &pool, 100)).await.unwrap();
        assert_eq!(committed.sequence, expected);
        let record = &store.journal_after(expected - 1, 1).await.unwrap()[0];
        assert_eq!(record.previous_hash, previous);
        assert_eq!(record.hash, committed.hash);
        assert_eq!(record.compute_hash(), committed.hash);
        previous = committed.hash;
    }
    assert_eq!(store.chain_head().await.unwrap(), (3, previous));
    let report = store.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!((report.transactions_count, report.postings_count), (3, 6));
    assert_eq!(report.head_hash, previous);
}

async fn balances_are_current_and_as_of_a_sequence(fixture: Fixture) {
    // Proves current balances and balances at a past sequence are the sums of postings.
    let store = &fixture.store;
    let cash = open(store, "cash", "XOF").await;
    let pool = open(store, "pool", "XOF").await;
    store.append(transfer(&cash, &pool, 655_957)).await.unwrap();
    store.append(transfer(&cash, &pool, 43)).await.unwrap();
    store.append(transfer(&pool, &cash, 1_000)).await.unwrap();
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 655_000);
    assert_eq!(store.balance(pool.id, None).await.unwrap(), -655_000);
    assert_eq!(store.balance(cash.id, Some(1)).await.unwrap(), 655_957);
    assert_eq!(store.balance(cash.id, Some(2)).await.unwrap(), 656_000);
    assert_eq!(store.balance(cash.id, Some(0)).await.unwrap(), 0);
    let untouched = open(store, "untouched", "XOF").await;
    assert_eq!(store.balance(untouched.id, None).await.unwrap(), 0);
}

async fn journal_reads_page_in_chain_order(fixture: Fixture) {
    // Proves the journal reads back every transaction exactly once, in order, with its postings.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let mut ids = Vec::new();
    for minor in 1..=7 {
        let transaction = transfer(&cash, &pool, minor);
        ids.push(transaction.id().as_uuid());
        store.append(transaction).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = store.journal_after(after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.sequence;
        seen.extend(page);
    }
    assert_eq!(
        seen.iter().map(|r| r.transaction_id).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        seen.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(seen[4].postings[0].amount_minor, 5);
    assert_eq!(seen[4].postings[1].amount_minor, -5);
    assert_eq!(seen[4].recorded_at, "2026-11-23T03:25:16.123456Z");
    assert_eq!(seen[4].metadata, r#"{"test":true}"#);
}

/// Runs raw SQL against whichever engine the store uses.
async fn execute_raw(store: &Store, sql: &'static str) -> Result<u64, sqlx::Error> {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    } else {
        let pool = store.postgres_pool().unwrap();
        sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    }
}

async fn database_refuses_update_and_delete_of_history(fixture: Fixture) {
    // Proves the database itself, not only the application, refuses to rewrite history.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    store
        .write(keyed(transfer(&cash, &pool, 100), "k", 1))
        .await
        .unwrap();
    for sql in [
        "UPDATE journal_postings SET amount_minor = 101 WHERE sequence = 1 AND posting_index = 0",
        "DELETE FROM journal_postings WHERE sequence = 1",
        "UPDATE journal_transactions SET memo = 'rewritten' WHERE sequence = 1",
        "DELETE FROM journal_transactions WHERE sequence = 1",
        "UPDATE accounts SET currency = 'USD'",
        "DELETE FROM accounts",
        "DELETE FROM idempotency_records",
        "UPDATE idempotency_records SET response_status = 200",
    ] {
        let error = execute_raw(store, sql).await.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    assert!(store.verify().await.unwrap().is_valid());
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 100);
}

async fn database_refuses_update_and_delete_of_programmes(fixture: Fixture) {
    // Proves a programme's rules are history like the journal: the database itself refuses to
    // rewrite or remove a programme on both engines (PostgreSQL refused DELETE only before 0011),
    // and the row stays as written.
    let store = &fixture.store;
    let (_, programme, _) = pledge_registry(store).await;
    for sql in [
        "UPDATE programmes SET name = 'rewritten'",
        "UPDATE programmes SET rate_per_member_minor = 1",
        "DELETE FROM programmes",
    ] {
        let error = execute_raw(store, sql).await.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    let names: Vec<String> = if let Some(pool) = store.sqlite_pool() {
        sqlx::query_scalar("SELECT name FROM programmes")
            .fetch_all(pool)
            .await
            .unwrap()
    } else {
        sqlx::query_scalar("SELECT name FROM programmes")
            .fetch_all(store.postgres_pool().unwrap())
            .await
            .unwrap()
    };
    assert_eq!(names, vec!["Programme".to_owned()]);
    assert_eq!(
        store.programme(programme).await.unwrap().unwrap().name,
        "Programme"
    );
}

/// Lifts the append-only guard on `journal_postings`, as someone tampering behind the
/// application's back would.
async fn allow_posting_updates(store: &Store) {
    if store.sqlite_pool().is_some() {
        execute_raw(store, "DROP TRIGGER journal_postings_no_update")
            .await
            .unwrap();
    } else {
        execute_raw(
            store,
            "ALTER TABLE journal_postings DISABLE TRIGGER journal_postings_append_only",
        )
        .await
        .unwrap();
    }
}

async fn verify_names_the_sequence_of_a_changed_posting(fixture: Fixture) {
    // Proves that one byte of one posting changed behind the application's back (trigger disabled)
    // is found, at its exact sequence.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    for minor in [100, 200, 300, 400] {
        store.append(transfer(&cash, &pool, minor)).await.unwrap();
    }
    assert!(store.verify().await.unwrap().is_valid());
    allow_posting_updates(store).await;
    // 300 → 301 changes a single byte of the stored amount.
    let changed = execute_raw(
        store,
        "UPDATE journal_postings SET amount_minor = 301 WHERE sequence = 3 AND posting_index = 0",
    )
    .await
    .unwrap();
    assert_eq!(changed, 1);
    let report = store.verify().await.unwrap();
    assert!(!report.is_valid());
    let broken = report.first_break.expect("the change must be found");
    assert_eq!(broken.sequence, 3);
    assert!(
        matches!(
            broken.kind,
            ledger_core::chain::BreakKind::HashMismatch { .. }
        ),
        "{broken:?}"
    );
}

async fn journal_pages_show_stored_postings_exactly(fixture: Fixture) {
    // Proves the journal's pages (what exports and verification read) carry every posting as
    // stored, in order, whatever its text: a currency changed behind the application's back to
    // text with separators and non-ASCII letters comes out byte for byte.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    for minor in [100, 200] {
        store.append(transfer(&cash, &pool, minor)).await.unwrap();
    }
    let before = store.journal_after(0, 10).await.unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before[1].postings[0].amount_minor, 200);
    assert_eq!(before[1].postings[1].amount_minor, -200);
    assert_eq!(before[1].postings[1].account_id, pool.id.as_uuid());
    allow_posting_updates(store).await;
    let odd = "E, R 1 é";
    execute_raw(
        store,
        "UPDATE journal_postings SET currency = 'E, R 1 é' WHERE sequence = 2 AND posting_index = 1",
    )
    .await
    .unwrap();
    let after = store.journal_after(1, 10).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].postings.len(), 2);
    assert_eq!(after[0].postings[0], before[1].postings[0]);
    assert_eq!(after[0].postings[1].currency, odd);
    assert_eq!(after[0].postings[1].amount_minor, -200);
    assert_eq!(after[0].postings[1].account_id, pool.id.as_uuid());

    // A stored instant in another form the engine reads (SQLite's own, not RFC 3339) still comes
    // out in the canonical form, on a page of its neighbours (SQLite reads such a page row by row).
    let disable = if store.sqlite_pool().is_some() {
        "DROP TRIGGER journal_transactions_no_update"
    } else {
        "ALTER TABLE journal_transactions DISABLE TRIGGER journal_transactions_append_only"
    };
    execute_raw(store, disable).await.unwrap();
    execute_raw(
        store,
        "UPDATE journal_transactions SET recorded_at = '2026-11-24 05:06:07.5' WHERE sequence = 1",
    )
    .await
    .unwrap();
    let reread = store.journal_after(0, 10).await.unwrap();
    assert_eq!(reread.len(), 2);
    assert_eq!(reread[0].recorded_at, "2026-11-24T05:06:07.500000Z");
    assert_eq!(reread[1], after[0]);
    assert_eq!(
        store
            .verify()
            .await
            .unwrap()
            .first_break
            .map(|broken| broken.sequence),
        Some(1)
    );
}

async fn verify_notices_a_stored_balance_that_drifted(fixture: Fixture) {
    // Proves verify recomputes balances from postings rather than trusting the stored ones.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    store.append(transfer(&cash, &pool, 100)).await.unwrap();
    execute_raw(
        store,
        "UPDATE account_balances SET balance_minor = balance_minor + 1 WHERE balance_minor > 0",
    )
    .await
    .unwrap();
    let report = store.verify().await.unwrap();
    assert!(report.first_break.is_none());
    assert_eq!(report.balance_mismatches.len(), 1);
    assert_eq!(report.balance_mismatches[0].account_id, cash.id.as_uuid());
    assert_eq!(report.balance_mismatches[0].stored_minor, 101);
    assert_eq!(report.balance_mismatches[0].postings_minor, 100);
}

fn keyed(
    transaction: ledger_core::BalancedTransaction,
    key: &str,
    fingerprint: u8,
) -> WriteRequest {
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

async fn idempotent_writes_replay_and_conflict(fixture: Fixture) {
    // Proves a reused key returns the first response and writes nothing; another body conflicts;
    // the same key in another scope is independent.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let first = store
        .write(keyed(transfer(&cash, &pool, 100), "k1", 1))
        .await
        .unwrap();
    assert!(matches!(first, WriteOutcome::Committed(ref c) if c.len() == 1));
    let replay = store
        .write(keyed(transfer(&cash, &pool, 100), "k1", 1))
        .await
        .unwrap();
    match replay {
        WriteOutcome::Replayed(stored) => {
            assert_eq!(stored.response_status, 201);
            assert_eq!(stored.response_body, "{\"first\":1}");
        }
        other => panic!("expected a replay, got {other:?}"),
    }
    let conflict = store
        .write(keyed(transfer(&cash, &pool, 999), "k1", 2))
        .await
        .unwrap();
    assert_eq!(conflict, WriteOutcome::IdempotencyConflict);
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 100);
    assert_eq!(store.chain_head().await.unwrap().0, 1);
    let stored = store
        .idempotency_record("org-a", "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fingerprint, [1; 32]);
    assert!(
        store
            .idempotency_record("org-b", "k1")
            .await
            .unwrap()
            .is_none()
    );
    let mut other_scope = keyed(transfer(&cash, &pool, 5), "k1", 1);
    other_scope.idempotency.as_mut().unwrap().scope = "org-b".into();
    assert!(matches!(
        store.write(other_scope).await.unwrap(),
        WriteOutcome::Committed(_)
    ));
}

async fn concurrent_duplicate_keys_have_one_effect(fixture: Fixture) {
    // Proves that many simultaneous submissions with one key commit exactly once.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let second = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for attempt in 0..16 {
        let instance = if attempt % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        let request = keyed(transfer(&cash, &pool, 100), "same-key", 7);
        tasks.push(tokio::spawn(async move {
            instance.write(request).await.unwrap()
        }));
    }
    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            WriteOutcome::Committed(_) => committed += 1,
            WriteOutcome::Replayed(stored) => assert_eq!(stored.response_body, "{\"first\":7}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 100);
}

async fn a_failed_guard_writes_nothing_and_spares_the_others(fixture: Fixture) {
    // Proves a request refused by its guard writes nothing while the requests around it commit.
    let store = &fixture.store;
    let fees = open(store, "fee-coverage", "EUR").await;
    let bank = open(store, "bank", "EUR").await;
    store.append(transfer(&bank, &fees, 500)).await.unwrap();
    // fee coverage holds a credit balance of -500; paying 600 out would leave +100: refused.
    let guarded = |minor| WriteRequest {
        transactions: vec![transfer(&fees, &bank, minor)],
        idempotency: None,
        guards: vec![BalanceGuard {
            account_id: fees.id,
            bound: BalanceBound::AtMost(0),
        }],
        records: vec![],
        key: None,
    };
    let (small, large, other) = tokio::join!(
        store.write(guarded(300)),
        store.write(guarded(600)),
        store.append(transfer(&bank, &fees, 1)),
    );
    assert!(matches!(small.unwrap(), WriteOutcome::Committed(_)));
    other.unwrap();
    match large.unwrap() {
        WriteOutcome::GuardFailed {
            account_id,
            balance_minor,
        } => {
            assert_eq!(account_id, fees.id);
            assert!(balance_minor > 0);
        }
        outcome => panic!("expected the guard to fail, got {outcome:?}"),
    }
    assert_eq!(store.balance(fees.id, None).await.unwrap(), -201);
    assert_eq!(store.chain_head().await.unwrap().0, 3);
    assert!(store.verify().await.unwrap().is_valid());
}

async fn a_failed_append_leaves_no_gap_and_no_partial_rows(fixture: Fixture) {
    // Proves an append the database rejects writes nothing and costs no sequence number, and that
    // the requests grouped with it still commit.
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    // An account that validates in memory but was never opened: the foreign key refuses it.
    let mut ghost = cash.clone();
    ghost.id = ledger_core::AccountId::from_uuid(uuid::Uuid::new_v4());
    ghost.code = AccountCode::parse("ghost").unwrap();
    let duplicate = transfer(&cash, &pool, 7);
    store.append(duplicate.clone()).await.unwrap();
    let (bad, good, repeated) = tokio::join!(
        store.append(transfer(&ghost, &pool, 50)),
        store.append(transfer(&cash, &pool, 10)),
        store.append(duplicate),
    );
    assert!(matches!(bad, Err(StoreError::Database(_))), "{bad:?}");
    assert!(repeated.is_err(), "a transaction id is committed once");
    let good = good.unwrap();
    assert_eq!(good.sequence, 2);
    let next = store.append(transfer(&cash, &pool, 1)).await.unwrap();
    assert_eq!(next.sequence, 3);
    assert_eq!(store.balance(pool.id, None).await.unwrap(), -18);
    let report = store.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.postings_count, 6);
}

async fn two_instances_appending_at_once_keep_the_chain(fixture: Fixture) {
    // Proves that two processes' worth of pools, each with many concurrent writers, produce one
    // gapless chain whose balances equal the sums of postings.
    let first = fixture.store.clone();
    let second = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    let accounts = [
        open(&first, "a", "EUR").await,
        open(&first, "b", "EUR").await,
        open(&first, "c", "EUR").await,
    ];
    const WRITERS: usize = 8;
    const APPENDS_PER_WRITER: i64 = 40;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = if writer % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let accounts = accounts.clone();
        tasks.push(tokio::spawn(async move {
            let mut sequences = Vec::new();
            for step in 0..APPENDS_PER_WRITER {
                let debit = &accounts[(writer + step as usize) % 3];
                let credit = &accounts[(writer + step as usize + 1) % 3];
                sequences.push(
                    store
                        .append(transfer(debit, credit, step + 1))
                        .await
                        .unwrap()
                        .sequence,
                );
            }
            sequences
        }));
    }
    let mut all: Vec<u64> = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let total = WRITERS as u64 * APPENDS_PER_WRITER as u64;
    assert_eq!(all, (1..=total).collect::<Vec<_>>());
    assert_eq!(
        all.iter().copied().collect::<HashSet<_>>().len() as u64,
        total
    );
    let report = second.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.transactions_count, total);
    let sum: i64 = futures_sum(&first, &accounts).await;
    assert_eq!(sum, 0);
}

async fn futures_sum(store: &Store, accounts: &[ledger_core::Account]) -> i64 {
    let mut sum = 0;
    for account in accounts {
        sum += store.balance(account.id, None).await.unwrap();
    }
    sum
}

async fn account_codes_are_unique_and_accounts_read_back(fixture: Fixture) {
    // Proves accounts round-trip and a code cannot be opened twice.
    let store = &fixture.store;
    let account = open(store, "programme:x:pool", "CDF").await;
    assert_eq!(
        store.account(account.id).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(
        store.account_by_code(&account.code).await.unwrap(),
        Some(account.clone())
    );
    let mut again = account.clone();
    again.id = ledger_core::AccountId::from_uuid(uuid::Uuid::new_v4());
    let error = store
        .open_account(&again, Timestamp::from_unix_micros(0).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::AccountCodeTaken(ref code) if code == "programme:x:pool"),
        "{error:?}"
    );
    let found = store.accounts(&[account.id, again.id]).await.unwrap();
    assert_eq!(found.len(), 1);
}

async fn readiness_follows_migrations(fixture: Fixture) {
    // Proves readiness is true on a migrated database (the fixture migrates).
    assert!(fixture.store.is_ready().await.unwrap());
}

async fn trial_balance_totals_debits_and_credits_as_of_a_moment(fixture: Fixture) {
    // Proves the trial balance lists every account's debit and credit totals per currency, that
    // they net to zero, and that `at` includes exactly the transactions recorded up to it (to the
    // microsecond, across whole and fractional seconds).
    let store = &fixture.store;
    let bank = open(store, "trial:bank", "EUR").await;
    let pool = open(store, "trial:pool", "EUR").await;
    let local = open(store, "trial:local", "XOF").await;
    let residue = open(store, "trial:residue", "XOF").await;
    let whole_second = 1_795_404_316_000_000;
    let at = |micros: i64| Timestamp::from_unix_micros(micros).unwrap();
    for (debit, credit, minor, micros) in [
        (&bank, &pool, 1_000, whole_second),
        (&pool, &bank, 300, whole_second + 500_000),
        (&local, &residue, 655_957, whole_second + 1_000_000),
    ] {
        store
            .append(support::transfer_at(debit, credit, minor, at(micros)))
            .await
            .unwrap();
    }
    let everything = store.trial_balance(None).await.unwrap();
    let totals: Vec<(&str, &str, i64, i64)> = everything
        .iter()
        .map(|line| {
            (
                line.code.as_str(),
                line.currency.as_str(),
                line.debit_minor,
                line.credit_minor,
            )
        })
        .collect();
    assert_eq!(
        totals,
        vec![
            ("trial:bank", "EUR", 1_000, -300),
            ("trial:local", "XOF", 655_957, 0),
            ("trial:pool", "EUR", 300, -1_000),
            ("trial:residue", "XOF", 0, -655_957),
        ]
    );
    for currency in ["EUR", "XOF"] {
        let net: i64 = everything
            .iter()
            .filter(|line| line.currency == currency)
            .map(|line| line.debit_minor + line.credit_minor)
            .sum();
        assert_eq!(net, 0, "{currency}");
    }
    let first_two = store
        .trial_balance(Some(at(whole_second + 500_000)))
        .await
        .unwrap();
    assert_eq!(first_two.len(), 2);
    assert_eq!(
        (first_two[0].debit_minor, first_two[0].credit_minor),
        (1_000, -300)
    );
    let first_only = store
        .trial_balance(Some(at(whole_second + 499_999)))
        .await
        .unwrap();
    assert_eq!(
        (first_only[0].debit_minor, first_only[0].credit_minor),
        (1_000, 0)
    );
    assert!(
        store
            .trial_balance(Some(at(whole_second - 1)))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The reference of a test batch's line: with characters JSON and SQL quote, and non-ASCII ones.
fn line_reference(key: &str, index: usize) -> String {
    format!("{key}-section-{index} \"Montréal\" \\ 'a,b'")
}

/// A pledge of `lines` one-euro solidarity lines by `contributor` to `programme`, with the
/// records the API writes beside it (the batch's receivable account, the batch and its lines).
fn pledge(
    contributor: ledger_core::OrganisationId,
    programme: uuid::Uuid,
    period: &ledger_core::Period,
    lines: usize,
    key: &str,
) -> (uuid::Uuid, WriteRequest) {
    pledge_of(contributor, programme, period, lines, 100, key)
}

/// [`pledge`] with lines of `line_minor` each.
fn pledge_of(
    contributor: ledger_core::OrganisationId,
    programme: uuid::Uuid,
    period: &ledger_core::Period,
    lines: usize,
    line_minor: i64,
    key: &str,
) -> (uuid::Uuid, WriteRequest) {
    use ledger_core::contribution::{BatchLine, LineKind};
    use ledger_core::{Actor, Amount, Currency, Posting, TransactionDraft, TransactionId, chart};
    use ledger_store::records::{ContributionBatchRecord, Record};
    let currency = Currency::eur();
    let batch_id = uuid::Uuid::now_v7();
    let receivable = chart::batch_receivable(batch_id, contributor, currency);
    let pledged = chart::programme_pledged(programme, currency);
    let amount = Amount::from_minor(line_minor * lines as i64, currency).unwrap();
    let transaction_id = TransactionId::from_uuid(uuid::Uuid::now_v7());
    let transaction = TransactionDraft {
        id: transaction_id,
        kind: ledger_core::TransactionKind::Pledge,
        effective_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        recorded_at: support::now(),
        actor: Actor::system(),
        memo: format!("pledge {key}"),
        metadata: serde_json::Map::new(),
        postings: vec![
            Posting {
                account_id: receivable.id,
                amount,
            },
            Posting {
                account_id: pledged.id,
                amount: amount.negated(),
            },
        ],
    }
    .validate(&[(receivable.id, receivable.clone()), (pledged.id, pledged)].into())
    .unwrap();
    let batch = ContributionBatchRecord {
        id: batch_id,
        programme_id: programme,
        contributor_id: contributor,
        period: *period,
        earmark_beneficiary_id: None,
        currency: "EUR".into(),
        members_total: lines as u64,
        amount_minor: amount.minor(),
        solidarity_minor: amount.minor(),
        donation_minor: 0,
        lines: (0..lines)
            .map(|index| BatchLine {
                reference: line_reference(key, index),
                members: 1,
                amount: Amount::from_minor(line_minor, currency).unwrap(),
                kind: LineKind::Solidarity,
            })
            .collect(),
        receivable_account_id: receivable.id,
        pledge_transaction_id: transaction_id,
        submitted_by: "treasurer".into(),
        created_at: support::now(),
        creditor_reference: ledger_core::payment_reference::CreditorReference::for_batch(batch_id)
            .as_str()
            .to_owned(),
    };
    let mut request = keyed(transaction, key, 7);
    request.records = vec![
        Record::Account(receivable),
        Record::ContributionBatch(Box::new(batch)),
    ];
    (batch_id, request)
}

async fn records_commit_with_their_group_and_a_refused_one_writes_nothing(fixture: Fixture) {
    // Proves registry rows, accounts, batches and lines are written with their request whether
    // requests arrive alone or grouped; a request whose batch breaks a foreign key (an unknown
    // programme) fails alone and leaves no batch, line, account or journal row; and a period is
    // known to hold batches once one is written.
    use ledger_core::organisation::{
        AllocationPolicy, Organisation, OrganisationKind, Programme, Slug,
    };
    use ledger_core::{Amount, Currency, OrganisationId, Period, PeriodKind, chart};
    use ledger_store::records::Record;
    use ledger_store::registry::BatchFilter;
    let store = &fixture.store;
    let currency = Currency::eur();
    let union = Organisation {
        id: OrganisationId::from_uuid(uuid::Uuid::now_v7()),
        slug: Slug::parse("union").unwrap(),
        name: "A union".into(),
        kind: OrganisationKind::Contributor,
        country: "FR".into(),
        currency,
        covered_members: Some(10),
        registry_identifier: None,
    };
    let programme = Programme {
        id: uuid::Uuid::now_v7(),
        name: "Programme".into(),
        currency,
        rate_per_member: Amount::from_minor(100, currency).unwrap(),
        period: PeriodKind::Month,
        allocation: AllocationPolicy::ProRataCoveredMembers,
        conditions: vec![],
        minimum_transfer: Amount::zero(currency),
        admin_cost_cap_percent: "10".parse().unwrap(),
    };
    // Generic rows (organisation, programme) and hot ones (accounts) in one request.
    let registry = WriteRequest {
        records: vec![
            Record::Organisation(union.clone()),
            Record::Programme(programme.clone()),
            Record::Account(chart::fund_bank(currency)),
            Record::Account(chart::programme_pledged(programme.id, currency)),
        ],
        ..WriteRequest::default()
    };
    assert!(matches!(
        store.write(registry).await.unwrap(),
        WriteOutcome::Committed(_)
    ));
    assert_eq!(
        store.organisation(union.id).await.unwrap(),
        Some(union.clone())
    );
    assert_eq!(
        store.programme(programme.id).await.unwrap(),
        Some(programme.clone())
    );
    let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
    assert!(
        !store
            .has_batch_in_period(union.id, programme.id, &period)
            .await
            .unwrap()
    );

    // One alone, then several at once (grouped by the writer), one of them refused.
    let (first, request) = pledge(union.id, programme.id, &period, 3, "first");
    assert!(matches!(
        store.write(request).await.unwrap(),
        WriteOutcome::Committed(_)
    ));
    let mut writes = Vec::new();
    let mut accepted = vec![first];
    // Each accepted batch's line references, in order: each batch must get its own lines back.
    let references = |key: &str, lines: usize| -> Vec<String> {
        (0..lines).map(|index| line_reference(key, index)).collect()
    };
    let mut expected_references = HashMap::from([(first, references("first", 3))]);
    for index in 0..6 {
        let key = format!("b{index}");
        let (id, request) = pledge(union.id, programme.id, &period, 2 + index, &key);
        accepted.push(id);
        expected_references.insert(id, references(&key, 2 + index));
        writes.push(store.write(request));
    }
    let (refused, refused_request) = pledge(
        union.id,
        uuid::Uuid::now_v7(),
        &period,
        4,
        "unknown-programme",
    );
    writes.insert(3, store.write(refused_request));
    let outcomes = futures::future::join_all(writes).await;
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_err()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes[3].is_err(), "{outcomes:?}");

    let listed = store
        .batches(
            &BatchFilter {
                contributor_id: Some(union.id.as_uuid()),
                ..BatchFilter::default()
            },
            Seek::After(None),
            100,
        )
        .await
        .unwrap();
    let listed_ids: HashSet<uuid::Uuid> = listed.iter().map(|batch| batch.id).collect();
    assert_eq!(listed_ids, accepted.iter().copied().collect());
    for batch in &listed {
        let lines = store.batch_lines(batch.id).await.unwrap();
        assert_eq!(lines.len(), usize::try_from(batch.line_count).unwrap());
        assert_eq!(
            lines.iter().map(|line| line.amount_minor).sum::<i64>(),
            batch.amount_minor
        );
        assert_eq!(batch.outstanding_minor, batch.amount_minor);
        assert_eq!(
            lines.iter().map(|line| line.line_index).collect::<Vec<_>>(),
            (0..batch.line_count).collect::<Vec<_>>()
        );
        assert_eq!(
            lines
                .iter()
                .map(|line| line.reference.clone())
                .collect::<Vec<_>>(),
            expected_references[&batch.id]
        );
    }
    assert!(store.batch(refused).await.unwrap().is_none());
    assert!(store.batch_lines(refused).await.unwrap().is_empty());
    let refused_receivable = chart::batch_receivable(refused, union.id, currency);
    assert!(
        store
            .account(refused_receivable.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .idempotency_record("org-a", "unknown-programme")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .has_batch_in_period(union.id, programme.id, &period)
            .await
            .unwrap()
    );
    let report = store.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.transactions_count, 7);
}

/// A contributor and a programme in the registry, with the programme's pledged account, for
/// pledges of the period returned.
async fn pledge_registry(
    store: &Store,
) -> (ledger_core::OrganisationId, uuid::Uuid, ledger_core::Period) {
    use ledger_core::organisation::{
        AllocationPolicy, Organisation, OrganisationKind, Programme, Slug,
    };
    use ledger_core::{Amount, Currency, OrganisationId, Period, PeriodKind, chart};
    use ledger_store::records::Record;
    let currency = Currency::eur();
    let union = Organisation {
        id: OrganisationId::from_uuid(uuid::Uuid::now_v7()),
        slug: Slug::parse("union").unwrap(),
        name: "A union".into(),
        kind: OrganisationKind::Contributor,
        country: "FR".into(),
        currency,
        covered_members: Some(10),
        registry_identifier: None,
    };
    let programme = Programme {
        id: uuid::Uuid::now_v7(),
        name: "Programme".into(),
        currency,
        rate_per_member: Amount::from_minor(100, currency).unwrap(),
        period: PeriodKind::Month,
        allocation: AllocationPolicy::ProRataCoveredMembers,
        conditions: vec![],
        minimum_transfer: Amount::zero(currency),
        admin_cost_cap_percent: "10".parse().unwrap(),
    };
    let registry = WriteRequest {
        records: vec![
            Record::Organisation(union.clone()),
            Record::Programme(programme.clone()),
            Record::Account(chart::programme_pledged(programme.id, currency)),
        ],
        ..WriteRequest::default()
    };
    assert!(matches!(
        store.write(registry).await.unwrap(),
        WriteOutcome::Committed(_)
    ));
    let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
    (union.id, programme.id, period)
}

async fn two_instances_writing_keyed_batches_at_once_have_one_effect_per_key(fixture: Fixture) {
    // Proves that under load from two service instances (each writer grouping, and on PostgreSQL
    // pipelining, its requests), pledges with their accounts, batches and lines commit exactly once
    // per idempotency key even when the same request is sent to both instances at once; a pledge
    // that breaks a foreign key fails alone and leaves nothing; the chain stays gapless and every
    // balance equals its postings.
    use ledger_store::registry::BatchFilter;
    let first = fixture.store.clone();
    let second = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    let (union, programme, period) = pledge_registry(&first).await;
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 15;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (first, second) = (first.clone(), second.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for step in 0..PER_CLIENT {
                let key = format!("c{client}-{step}");
                let refused = step % 7 == 3;
                let target = if refused {
                    uuid::Uuid::now_v7()
                } else {
                    programme
                };
                let (batch_id, request) = pledge(union, target, &period, 1 + step % 4, &key);
                let duplicated = step % 3 == 0;
                let (mine, other) = if client % 2 == 0 {
                    (&first, &second)
                } else {
                    (&second, &first)
                };
                let outcomes = if duplicated {
                    // The same request (same key, same batch) to both instances at once.
                    let (a, b) = tokio::join!(mine.write(request.clone()), other.write(request));
                    vec![a, b]
                } else {
                    vec![mine.write(request).await]
                };
                answers.push((key, batch_id, refused, outcomes));
            }
            answers
        }));
    }
    let mut sequences = Vec::new();
    let mut accepted = HashSet::new();
    for task in tasks {
        for (key, batch_id, refused, outcomes) in task.await.unwrap() {
            if refused {
                assert!(outcomes.iter().all(Result::is_err), "{key}: {outcomes:?}");
                assert!(first.batch(batch_id).await.unwrap().is_none(), "{key}");
                assert!(
                    first
                        .idempotency_record("org-a", &key)
                        .await
                        .unwrap()
                        .is_none()
                );
                continue;
            }
            let mut committed = 0;
            for outcome in outcomes {
                match outcome.unwrap() {
                    WriteOutcome::Committed(transactions) => {
                        committed += 1;
                        sequences.extend(transactions.iter().map(|t| t.sequence));
                    }
                    WriteOutcome::Replayed(stored) => {
                        assert_eq!(stored.response_body, "{\"first\":7}")
                    }
                    other => panic!("{key}: unexpected {other:?}"),
                }
            }
            assert_eq!(committed, 1, "{key}");
            accepted.insert(batch_id);
        }
    }
    sequences.sort_unstable();
    // The registry request wrote no transaction: the pledges hold sequences 1, 2, 3…
    assert_eq!(sequences, (1..=accepted.len() as u64).collect::<Vec<_>>());
    let listed = second
        .batches(
            &BatchFilter {
                contributor_id: Some(union.as_uuid()),
                ..BatchFilter::default()
            },
            Seek::After(None),
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|batch| batch.id).collect::<HashSet<_>>(),
        accepted
    );
    for batch in &listed {
        let lines = second.batch_lines(batch.id).await.unwrap();
        assert_eq!(lines.len(), usize::try_from(batch.line_count).unwrap());
    }
    let report = second.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.transactions_count, accepted.len() as u64);
}

/// Records a receipt of `minor` for `batch`, dated `value_date`, with a transaction of its own.
async fn receive(
    store: &Store,
    batch: uuid::Uuid,
    (bank, pool): (&ledger_core::Account, &ledger_core::Account),
    minor: i64,
    value_date: &str,
) -> ledger_core::TransactionId {
    use ledger_store::records::{BatchReceiptRecord, Record};
    let transaction = transfer(bank, pool, minor);
    let transaction_id = transaction.id();
    let request = WriteRequest {
        transactions: vec![transaction],
        records: vec![Record::BatchReceipt(BatchReceiptRecord {
            id: uuid::Uuid::now_v7(),
            batch_id: batch,
            amount_minor: minor,
            overpayment_minor: 0,
            value_date: ledger_core::FundDate::parse(value_date).unwrap(),
            bank_reference: format!("CAMT-{value_date}"),
            transaction_id,
            recorded_by: "test".into(),
            created_at: support::now(),
            original: None,
        })],
        ..WriteRequest::default()
    };
    assert!(matches!(
        store.write(request).await.unwrap(),
        WriteOutcome::Committed(_)
    ));
    transaction_id
}

async fn receipt_value_dates_compare_as_dates(fixture: Fixture) {
    // Proves the store compares value dates as dates: receipts on each side of a year boundary and
    // at the end of the fund's life count as "after" a period's end exactly when they are later.
    let store = &fixture.store;
    let (union, programme, period) = pledge_registry(store).await;
    let (batch, request) = pledge(union, programme, &period, 1, "dated");
    store.write(request).await.unwrap();
    let bank = open(store, "bank", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    for (minor, value_date) in [
        (1, "2026-11-30"),
        (10, "2026-12-31"),
        (100, "2027-01-01"),
        (1000, "2099-12-31"),
    ] {
        receive(store, batch, (&bank, &pool), minor, value_date).await;
    }
    for (after, expected) in [
        ("2026-11-29", vec![(None, 1111)]),
        ("2026-11-30", vec![(None, 1110)]),
        ("2026-12-31", vec![(None, 1100)]),
        ("2027-01-01", vec![(None, 1000)]),
        ("2099-12-31", vec![]),
    ] {
        let after = ledger_core::FundDate::parse(after).unwrap().naive();
        assert_eq!(
            store.receipts_after(programme, after).await.unwrap(),
            expected,
            "after {after}"
        );
    }
}

async fn the_database_refuses_dates_and_periods_outside_the_fund_life(fixture: Fixture) {
    // Proves that, whatever path writes them, the database stores no date outside 2000-01-01 to
    // 2099-12-31 (on SQLite none in another text form, which would sort wrongly: `+99999-12-31`
    // before `2026-11-30`) and no period outside the three forms; an in-range row is accepted.
    let store = &fixture.store;
    let (union, programme, period) = pledge_registry(store).await;
    let (batch, request) = pledge(union, programme, &period, 1, "bounded");
    store.write(request).await.unwrap();
    let bank = open(store, "bank", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let transaction = receive(store, batch, (&bank, &pool), 1, "2026-11-30").await;
    let insert_receipt = |value_date: &'static str| async move {
        if let Some(pool) = store.sqlite_pool() {
            sqlx::query(
                "INSERT INTO batch_receipts (id, batch_id, amount_minor, overpayment_minor, value_date, \
                 bank_reference, transaction_id, recorded_by, created_at) \
                 VALUES ($1, $2, 1, 0, $3, 'raw', $4, 'test', '2026-11-23T00:00:00Z')",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(batch)
            .bind(value_date)
            .bind(transaction.as_uuid())
            .execute(pool)
            .await
            .map(|_| ())
        } else {
            sqlx::query(
                "INSERT INTO batch_receipts (id, batch_id, amount_minor, overpayment_minor, value_date, \
                 bank_reference, transaction_id, recorded_by, created_at) \
                 VALUES ($1, $2, 1, 0, $3::date, 'raw', $4, 'test', CURRENT_TIMESTAMP)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(batch)
            .bind(value_date)
            .bind(transaction.as_uuid())
            .execute(store.postgres_pool().unwrap())
            .await
            .map(|_| ())
        }
    };
    let insert_run = |period: &'static str, as_of: &'static str| async move {
        let cast = if store.sqlite_pool().is_some() {
            ""
        } else {
            "::date"
        };
        let sql = format!(
            "INSERT INTO transfer_runs (id, programme_id, period, as_of, plan, fingerprint, planned_by, created_at) \
             VALUES ($1, $2, $3, $4{cast}, '{{}}', '', 'test', '2026-11-23T00:00:00Z')"
        );
        if let Some(pool) = store.sqlite_pool() {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(uuid::Uuid::now_v7())
                .bind(programme)
                .bind(period)
                .bind(as_of)
                .execute(pool)
                .await
                .map(|_| ())
        } else {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(uuid::Uuid::now_v7())
                .bind(programme)
                .bind(period)
                .bind(as_of)
                .execute(store.postgres_pool().unwrap())
                .await
                .map(|_| ())
        }
    };
    // PostgreSQL parses dates itself, so a malformed text never becomes a date there; SQLite
    // stores text, so its triggers also refuse every other form.
    let mut bad_dates = vec!["1999-12-31", "2100-01-01", "0001-01-01"];
    if store.sqlite_pool().is_some() {
        bad_dates.extend([
            "+99999-12-31",
            "0000-01-01",
            "-0001-01-01",
            "2026-2-3",
            "2026-02-30",
            "2026-11-30 ",
        ]);
    } else {
        bad_dates.extend(["99999-12-31", "0001-01-01 BC"]);
    }
    for value_date in bad_dates {
        let error = insert_receipt(value_date).await.expect_err(value_date);
        assert!(
            error.to_string().contains("fund_date"),
            "{value_date}: {error}"
        );
        let error = insert_run("2026-11", value_date)
            .await
            .expect_err(value_date);
        assert!(
            error.to_string().contains("fund_date"),
            "{value_date}: {error}"
        );
    }
    for period in [
        "20266", "2026-13", "2026-00", "2026-1", "2026-Q5", "2100", "1999-12", "garbage",
    ] {
        let error = insert_run(period, "2026-11-30").await.expect_err(period);
        assert!(
            error.to_string().contains("fund_period"),
            "{period}: {error}"
        );
    }
    insert_receipt("2099-12-31").await.unwrap();
    for period in ["2026-11", "2026-Q4", "2026", "2099-12"] {
        insert_run(period, "2026-12-31").await.unwrap();
    }
}

async fn trial_balance_as_of_an_accounting_date_reads_effective_dates(fixture: Fixture) {
    // Proves the trial balance and an account's balance as at an accounting date take the
    // transactions whose effective date is on or before it (the last day included), whatever
    // their recording order: a
    // November receipt recorded after a December one counts in November, and a December one
    // recorded first does not.
    use chrono::NaiveDate;
    let store = &fixture.store;
    let bank = open(store, "dated:bank", "EUR").await;
    let pool = open(store, "dated:pool", "EUR").await;
    let day = |month: u32, day: u32| NaiveDate::from_ymd_opt(2026, month, day).unwrap();
    let recorded = Timestamp::from_unix_micros(1_795_404_316_000_000).unwrap();
    for (minor, effective) in [(700, day(12, 1)), (1_000, day(11, 30)), (20, day(10, 31))] {
        store
            .append(support::transfer_dated(
                &bank, &pool, minor, recorded, effective,
            ))
            .await
            .unwrap();
    }
    let totals = |lines: Vec<ledger_store::audit::TrialBalanceLine>| -> Vec<(String, i64, i64)> {
        lines
            .into_iter()
            .map(|line| (line.code, line.debit_minor, line.credit_minor))
            .collect()
    };
    assert_eq!(
        totals(store.trial_balance_as_of_date(day(11, 30)).await.unwrap()),
        vec![
            ("dated:bank".to_owned(), 1_020, 0),
            ("dated:pool".to_owned(), 0, -1_020)
        ]
    );
    assert_eq!(
        totals(store.trial_balance_as_of_date(day(12, 1)).await.unwrap()),
        vec![
            ("dated:bank".to_owned(), 1_720, 0),
            ("dated:pool".to_owned(), 0, -1_720)
        ]
    );
    assert_eq!(
        totals(store.trial_balance_as_of_date(day(10, 31)).await.unwrap())[0],
        ("dated:bank".to_owned(), 20, 0)
    );
    assert!(
        store
            .trial_balance_as_of_date(day(10, 30))
            .await
            .unwrap()
            .is_empty()
    );
    // One account's balance as at a date reads the same transactions.
    for (date, expected) in [
        (day(10, 30), 0),
        (day(10, 31), 20),
        (day(11, 30), 1_020),
        (day(12, 1), 1_720),
    ] {
        assert_eq!(
            store.balance_as_of_date(bank.id, date).await.unwrap(),
            expected,
            "{date}"
        );
        assert_eq!(
            store.balance_as_of_date(pool.id, date).await.unwrap(),
            -expected,
            "{date}"
        );
    }
}

async fn batches_keep_their_place_and_running_total_in_their_period(fixture: Fixture) {
    // Proves each batch stores its place among its contributor's batches for the programme and
    // period, and their running total, whether written alone or grouped with others of the same
    // period; the list reads it from the row (0, 1, 2 earlier batches), and another period starts
    // again from the first place.
    let store = &fixture.store;
    let (union, programme, period) = pledge_registry(store).await;
    let committed = |outcome: Result<WriteOutcome, StoreError>| {
        assert!(
            matches!(outcome, Ok(WriteOutcome::Committed(_))),
            "{outcome:?}"
        );
    };
    let (first, request) = pledge(union, programme, &period, 2, "place-1");
    committed(store.write(request).await);
    let (second, second_request) = pledge(union, programme, &period, 3, "place-2");
    let (third, third_request) = pledge(union, programme, &period, 4, "place-3");
    let (second_outcome, third_outcome) =
        tokio::join!(store.write(second_request), store.write(third_request));
    committed(second_outcome);
    committed(third_outcome);
    let december = ledger_core::Period::parse("2026-12", ledger_core::PeriodKind::Month).unwrap();
    let (other, request) = pledge(union, programme, &december, 1, "place-4");
    committed(store.write(request).await);

    let earlier = |id| async move { store.batch(id).await.unwrap().unwrap().earlier_in_period };
    assert_eq!(earlier(first).await, 0);
    let mut later = vec![earlier(second).await, earlier(third).await];
    later.sort_unstable();
    assert_eq!(later, [1, 2]);
    assert_eq!(earlier(other).await, 0);
    assert_eq!(
        store
            .contributor_period_total(union, programme, &period)
            .await
            .unwrap(),
        900
    );
    assert_eq!(
        store
            .contributor_period_total(union, programme, &december)
            .await
            .unwrap(),
        100
    );
    let filter = ledger_store::registry::BatchFilter {
        contributor_id: Some(union.as_uuid()),
        programme_id: Some(programme),
        period: Some(period.to_string()),
    };
    let mut listed: Vec<i64> = store
        .batches(&filter, Seek::After(None), 10)
        .await
        .unwrap()
        .iter()
        .map(|batch| batch.earlier_in_period)
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, [0, 1, 2]);
}

async fn batches_keep_a_unique_well_formed_creditor_reference(fixture: Fixture) {
    // Proves a batch's ISO 11649 creditor reference is stored with it and read back, and that the
    // database refuses (writing nothing) a second batch with the same reference and a reference
    // that is not of the RF form (migration 0015).
    use ledger_core::payment_reference::CreditorReference;
    use ledger_store::records::Record;
    let store = &fixture.store;
    let (union, programme, period) = pledge_registry(store).await;
    let (first, request) = pledge(union, programme, &period, 1, "reference-1");
    assert!(matches!(
        store.write(request).await,
        Ok(WriteOutcome::Committed(_))
    ));
    let stored = store
        .batch(first)
        .await
        .unwrap()
        .unwrap()
        .creditor_reference;
    assert_eq!(
        stored.as_deref(),
        Some(CreditorReference::for_batch(first).as_str())
    );
    for (key, reference) in [
        ("reference-2", stored.clone().unwrap()),
        ("reference-3", "RF18 5390-0754".to_owned()),
    ] {
        let (second, mut request) = pledge(union, programme, &period, 1, key);
        for record in &mut request.records {
            if let Record::ContributionBatch(batch) = record {
                batch.creditor_reference = reference.clone();
            }
        }
        assert!(store.write(request).await.is_err(), "{reference}");
        assert!(store.batch(second).await.unwrap().is_none());
    }
}

async fn the_database_holds_the_contributor_period_limit(fixture: Fixture) {
    // Proves the database itself refuses a batch that would carry its contributor's period total
    // past MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR, on both engines and whatever the API checked
    // before (two racing batches): the limit itself is reachable, the batch past it writes nothing
    // and is reported as that limit, not as a database failure.
    use ledger_core::limits::MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR;
    let store = &fixture.store;
    let (union, programme, period) = pledge_registry(store).await;
    let (_, request) = pledge_of(
        union,
        programme,
        &period,
        1,
        MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR - 100,
        "big",
    );
    assert!(matches!(
        store.write(request).await,
        Ok(WriteOutcome::Committed(_))
    ));
    let (_, request) = pledge_of(union, programme, &period, 1, 100, "to-the-limit");
    assert!(matches!(
        store.write(request).await,
        Ok(WriteOutcome::Committed(_))
    ));
    let (over, request) = pledge_of(union, programme, &period, 1, 1, "past-the-limit");
    let refused = store.write(request).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::LimitExceeded("max_contributor_period_amount"))
        ),
        "{refused:?}"
    );
    assert!(store.batch(over).await.unwrap().is_none());
    assert_eq!(
        store
            .contributor_period_total(union, programme, &period)
            .await
            .unwrap(),
        MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR
    );
}

async fn balances_stop_at_the_account_limit(fixture: Fixture) {
    // Proves no balance passes MAX_ACCOUNT_BALANCE_MINOR on either engine (on PostgreSQL on the
    // writer's optimistic path, where the database refuses it, as on its locked one): the limit
    // itself is reachable, the request that would cross it is refused as BalanceLimit and writes
    // nothing, a request moving back is accepted, and the database refuses a balance past the limit
    // written by any other path.
    use ledger_core::MAX_AMOUNT_MINOR;
    use ledger_core::limits::MAX_ACCOUNT_BALANCE_MINOR;
    let store = &fixture.store;
    let bank = open(store, "bank", "EUR").await;
    let source = open(store, "source", "EUR").await;
    for _ in 0..MAX_ACCOUNT_BALANCE_MINOR / MAX_AMOUNT_MINOR {
        store
            .append(transfer(&bank, &source, MAX_AMOUNT_MINOR))
            .await
            .unwrap();
    }
    assert_eq!(
        store.balance(bank.id, None).await.unwrap(),
        MAX_ACCOUNT_BALANCE_MINOR
    );
    let refused = store.append(transfer(&bank, &source, 1)).await;
    assert!(
        matches!(refused, Err(StoreError::BalanceLimit(account)) if account == bank.id || account == source.id),
        "{refused:?}"
    );
    assert_eq!(
        store.balance(bank.id, None).await.unwrap(),
        MAX_ACCOUNT_BALANCE_MINOR
    );
    store.append(transfer(&source, &bank, 1)).await.unwrap();
    assert_eq!(
        store.balance(bank.id, None).await.unwrap(),
        MAX_ACCOUNT_BALANCE_MINOR - 1
    );
    let forced = execute_raw(
        store,
        "UPDATE account_balances SET balance_minor = 100000000000000001 \
         WHERE balance_minor = 99999999999999999",
    )
    .await;
    assert!(forced.is_err(), "{forced:?}");
    assert_eq!(
        StoreError::from(forced.unwrap_err()).to_string(),
        StoreError::LimitExceeded("max_account_balance").to_string()
    );
}
