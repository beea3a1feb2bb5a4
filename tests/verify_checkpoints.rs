//! `solidarity-ledger verify` compares the journal with the heads the service signed: the last
//! transactions removed behind the ledger's back are named by the checkpoint they break.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Command;

use chrono::NaiveDate;
use ledger_core::checkpoint::{Checkpoint, SigningKey};
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions};

#[tokio::test]
async fn verify_names_a_signed_head_the_journal_no_longer_reaches() {
    // Proves `verify` reads the stored checkpoints: with the last transaction deleted (triggers
    // dropped), it exits 1 and names the checkpoint at sequence 3 the journal no longer reaches.
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let now = Timestamp::from_unix_micros(1_795_404_316_000_000).unwrap();
    let mut chart = HashMap::new();
    for code in ["bank", "pool"] {
        let account = Account {
            id: AccountId::from_uuid(uuid::Uuid::new_v4()),
            code: AccountCode::parse(code).unwrap(),
            name: code.into(),
            kind: AccountKind::Asset,
            currency: Currency::eur(),
            owner_organisation: None,
        };
        store.open_account(&account, now).await.unwrap();
        chart.insert(account.id, account);
    }
    let ids: Vec<AccountId> = chart.keys().copied().collect();
    for minor in [100, 250, 400] {
        let amount = Amount::from_minor(minor, Currency::eur()).unwrap();
        let transaction = TransactionDraft {
            id: TransactionId::from_uuid(uuid::Uuid::new_v4()),
            kind: TransactionKind::Adjustment,
            effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            recorded_at: now,
            actor: Actor::system(),
            memo: "test".into(),
            metadata: serde_json::Map::new(),
            postings: vec![
                Posting {
                    account_id: ids[0],
                    amount,
                },
                Posting {
                    account_id: ids[1],
                    amount: amount.negated(),
                },
            ],
        }
        .validate(&chart)
        .unwrap();
        store.append(transaction).await.unwrap();
    }
    let key = SigningKey::from_bytes(&[5; 32]);
    let (head, hash) = store.chain_head().await.unwrap();
    store
        .record_checkpoint(
            &Checkpoint::sign(&key, head, hash, now),
            &key.verifying_key(),
        )
        .await
        .unwrap();
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
            .args(["verify", "--data-dir"])
            .arg(directory.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let intact = verify();
    assert!(intact.status.success(), "{intact:?}");

    let pool = store.sqlite_pool().unwrap();
    for sql in [
        "DROP TRIGGER journal_postings_no_delete",
        "DROP TRIGGER journal_transactions_no_delete",
        "DELETE FROM journal_postings WHERE sequence = 3",
        "DELETE FROM journal_transactions WHERE sequence = 3",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    let broken = verify();
    let printed = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(&format!(
            "checkpoint MISMATCH at sequence 3: the signed head is {hash}, the journal no longer reaches it"
        )),
        "{printed}"
    );
}
