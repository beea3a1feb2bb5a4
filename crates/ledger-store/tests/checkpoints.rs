//! Signed checkpoints in the store, on SQLite and PostgreSQL alike: stored once per sequence,
//! only when they verify and name the journal's hash, never changed or removed, read back in order;
//! and the chain links a witness checks.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::on_both_engines;
use ledger_testkit::store as support;

use ledger_core::checkpoint::{ChainLink, Checkpoint, EMPTY_HEAD, SigningKey, check_extension};
use ledger_core::{GENESIS_HASH, Timestamp};
use ledger_store::{Store, StoreError};
use support::{Fixture, open, transfer};

on_both_engines!(
    checkpoints_are_stored_once_per_sequence_and_read_back_in_order,
    checkpoints_that_do_not_verify_or_name_another_hash_are_refused,
    the_database_refuses_to_change_or_remove_a_checkpoint,
    chain_links_are_the_stored_hashes_in_order,
    a_journal_rewritten_after_signing_disagrees_with_its_checkpoints,
);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_796_000_000_000_000 + seconds * 1_000_000).unwrap()
}

/// Appends `count` transactions; returns the head.
async fn journal(store: &Store, count: i64) -> (u64, ledger_core::ChainHash) {
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    for minor in 1..=count {
        store.append(transfer(&cash, &pool, minor)).await.unwrap();
    }
    store.chain_head().await.unwrap()
}

async fn checkpoints_are_stored_once_per_sequence_and_read_back_in_order(fixture: Fixture) {
    // Proves a checkpoint reads back exactly as signed, a second one for the same sequence is
    // not stored (the first stays), and reads page and pick "at or before" by sequence.
    let store = &fixture.store;
    let public = key().verifying_key();
    assert_eq!(store.latest_checkpoint().await.unwrap(), None);
    let empty = Checkpoint::sign(&key(), 0, GENESIS_HASH, at(0));
    assert!(store.record_checkpoint(&empty, &public).await.unwrap());
    let (head, hash) = journal(store, 3).await;
    let signed = Checkpoint::sign(&key(), head, hash, at(1));
    assert!(store.record_checkpoint(&signed, &public).await.unwrap());
    let again = Checkpoint::sign(&key(), head, hash, at(2));
    assert!(!store.record_checkpoint(&again, &public).await.unwrap());

    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.checkpoint, signed);
    assert_eq!(latest.public_key, public);
    let all: Vec<Checkpoint> = store
        .checkpoints_after(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|stored| stored.checkpoint)
        .collect();
    assert_eq!(all, vec![empty.clone(), signed.clone()]);
    let after_first = store.checkpoints_after(Some(0), 10).await.unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(store.checkpoints_after(None, 1).await.unwrap().len(), 1);
    let before = store
        .checkpoint_at_or_before(head - 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.checkpoint, empty);
}

async fn checkpoints_that_do_not_verify_or_name_another_hash_are_refused(fixture: Fixture) {
    // Proves the store asserts before writing: a signature that does not verify, a hash that is
    // not the journal's at that sequence, or a sequence past the head is refused, nothing stored.
    let store = &fixture.store;
    let public = key().verifying_key();
    let (head, hash) = journal(store, 2).await;
    let mut tampered = Checkpoint::sign(&key(), head, hash, at(0));
    tampered.signature[5] ^= 1;
    let other_hash = Checkpoint::sign(&key(), head, GENESIS_HASH, at(0));
    let past_head = Checkpoint::sign(&key(), head + 1, hash, at(0));
    let other_key = SigningKey::from_bytes(&[4; 32]).verifying_key();
    let valid = Checkpoint::sign(&key(), head, hash, at(0));
    for (checkpoint, public_key) in [
        (&tampered, &public),
        (&other_hash, &public),
        (&past_head, &public),
        (&valid, &other_key),
    ] {
        let refused = store.record_checkpoint(checkpoint, public_key).await;
        assert!(
            matches!(refused, Err(StoreError::Corrupt(_))),
            "{refused:?}"
        );
    }
    assert_eq!(store.latest_checkpoint().await.unwrap(), None);
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

async fn the_database_refuses_to_change_or_remove_a_checkpoint(fixture: Fixture) {
    // Proves published checkpoints are history: the database itself refuses UPDATE and DELETE.
    let store = &fixture.store;
    let signed = Checkpoint::sign(&key(), 0, GENESIS_HASH, at(0));
    store
        .record_checkpoint(&signed, &key().verifying_key())
        .await
        .unwrap();
    for sql in [
        "UPDATE checkpoints SET signed_at = '2030-01-01T00:00:00Z'",
        "UPDATE checkpoints SET sequence = 1",
        "DELETE FROM checkpoints",
    ] {
        let error = execute_raw(store, sql).await.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.checkpoint, signed);
}

async fn chain_links_are_the_stored_hashes_in_order(fixture: Fixture) {
    // Proves the links between two heads are the journal's stored hashes, in order, bounded by
    // the range and the limit, and that they link the empty head to the current one.
    let store = &fixture.store;
    assert!(store.chain_links(0, 10, 10).await.unwrap().is_empty());
    let head = journal(store, 5).await;
    let links = store.chain_links(0, 5, 100).await.unwrap();
    let sequences: Vec<u64> = links.iter().map(|link| link.sequence).collect();
    assert_eq!(sequences, vec![1, 2, 3, 4, 5]);
    assert_eq!(check_extension(EMPTY_HEAD, head, &links), Ok(()));
    let records = store.journal_after(0, 10).await.unwrap();
    for (link, record) in links.iter().zip(&records) {
        assert_eq!(
            *link,
            ChainLink {
                sequence: record.sequence,
                previous_hash: record.previous_hash,
                hash: record.hash,
            }
        );
    }
    let middle = store.chain_links(1, 4, 2).await.unwrap();
    assert_eq!(
        middle.iter().map(|link| link.sequence).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(store.chain_hash_at(3).await.unwrap(), Some(records[2].hash));
    assert_eq!(store.chain_hash_at(6).await.unwrap(), None);
}

async fn a_journal_rewritten_after_signing_disagrees_with_its_checkpoints(fixture: Fixture) {
    // Proves the database's own check against its signed heads: a stored hash recomputed behind
    // the ledger's back, or the last transactions removed, is named with its sequence.
    let store = &fixture.store;
    let public = key().verifying_key();
    let empty = Checkpoint::sign(&key(), 0, GENESIS_HASH, at(0));
    store.record_checkpoint(&empty, &public).await.unwrap();
    let (head, hash) = journal(store, 3).await;
    let two = store.chain_hash_at(2).await.unwrap().unwrap();
    store
        .record_checkpoint(&Checkpoint::sign(&key(), 2, two, at(1)), &public)
        .await
        .unwrap();
    store
        .record_checkpoint(&Checkpoint::sign(&key(), head, hash, at(2)), &public)
        .await
        .unwrap();
    assert_eq!(store.checkpoint_mismatches().await.unwrap(), vec![]);

    let disable: [&'static str; 2] = if store.sqlite_pool().is_some() {
        [
            "DROP TRIGGER journal_transactions_no_update",
            "DROP TRIGGER journal_transactions_no_delete",
        ]
    } else {
        [
            "ALTER TABLE journal_transactions DISABLE TRIGGER journal_transactions_append_only",
            "ALTER TABLE journal_postings DISABLE TRIGGER journal_postings_append_only",
        ]
    };
    for sql in disable {
        execute_raw(store, sql).await.unwrap();
    }
    if store.sqlite_pool().is_some() {
        execute_raw(store, "DROP TRIGGER journal_postings_no_delete")
            .await
            .unwrap();
    }
    execute_raw(
        store,
        "UPDATE journal_transactions SET hash = previous_hash WHERE sequence = 2",
    )
    .await
    .unwrap();
    execute_raw(store, "DELETE FROM journal_postings WHERE sequence = 3")
        .await
        .unwrap();
    execute_raw(store, "DELETE FROM journal_transactions WHERE sequence = 3")
        .await
        .unwrap();
    let mismatches = store.checkpoint_mismatches().await.unwrap();
    let found: Vec<(u64, bool)> = mismatches
        .iter()
        .map(|mismatch| (mismatch.sequence, mismatch.journal_hash.is_some()))
        .collect();
    assert_eq!(found, vec![(2, true), (3, false)]);
    assert_eq!(mismatches[0].signed_hash, two);
}
