//! Fixtures of the store's tests: a migrated store on either engine, accounts and transactions.

// Test support: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use chrono::NaiveDate;
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, BalancedTransaction, Currency,
    Posting, Timestamp, TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions};
use uuid::Uuid;

use crate::engines::{Engine, OnEngine, fresh_database};

/// A migrated store and whatever keeps its database alive.
#[derive(Debug)]
pub struct Fixture {
    pub store: Store,
    pub url: String,
    _directory: Option<tempfile::TempDir>,
}

/// A migrated store on a fresh SQLite database.
pub async fn sqlite() -> Fixture {
    Fixture::start(Engine::Sqlite).await
}

/// A migrated store on a fresh PostgreSQL database.
pub async fn postgres() -> Fixture {
    Fixture::start(Engine::Postgres).await
}

impl OnEngine for Fixture {
    async fn start(engine: Engine) -> Fixture {
        let database = fresh_database(engine).await;
        let store = Store::connect(&database.url, StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Fixture {
            store,
            url: database.url.clone(),
            _directory: database.into_directory(),
        }
    }
}

/// A fixed moment, 2026-11-23T03:25:16.123456Z.
pub fn now() -> Timestamp {
    Timestamp::from_unix_micros(1_795_404_316_123_456).unwrap()
}

/// Opens an asset account with this code and currency.
pub async fn open(store: &Store, code: &str, currency: &str) -> Account {
    let account = Account {
        id: AccountId::from_uuid(Uuid::new_v4()),
        code: AccountCode::parse(code).unwrap(),
        name: format!("test account {code}"),
        kind: AccountKind::Asset,
        currency: Currency::from_code(currency).unwrap(),
        owner_organisation: None,
    };
    store.open_account(&account, now()).await.unwrap();
    account
}

/// A validated transaction moving `minor` from `credit` to `debit`.
pub fn transfer(debit: &Account, credit: &Account, minor: i64) -> BalancedTransaction {
    transfer_at(debit, credit, minor, now())
}

/// [`transfer`] recorded at another moment.
pub fn transfer_at(
    debit: &Account,
    credit: &Account,
    minor: i64,
    recorded_at: Timestamp,
) -> BalancedTransaction {
    transfer_dated(
        debit,
        credit,
        minor,
        recorded_at,
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    )
}

/// [`transfer_at`] with another accounting (effective) date.
pub fn transfer_dated(
    debit: &Account,
    credit: &Account,
    minor: i64,
    recorded_at: Timestamp,
    effective_date: NaiveDate,
) -> BalancedTransaction {
    let chart: HashMap<AccountId, Account> =
        [(debit.id, debit.clone()), (credit.id, credit.clone())].into();
    TransactionDraft {
        id: TransactionId::from_uuid(Uuid::new_v4()),
        kind: TransactionKind::Adjustment,
        effective_date,
        recorded_at,
        actor: Actor::system(),
        memo: format!("move {minor}"),
        metadata: serde_json::Map::from_iter([("test".to_owned(), serde_json::json!(true))]),
        postings: vec![
            Posting {
                account_id: debit.id,
                amount: Amount::from_minor(minor, debit.currency).unwrap(),
            },
            Posting {
                account_id: credit.id,
                amount: Amount::from_minor(-minor, credit.currency).unwrap(),
            },
        ],
    }
    .validate(&chart)
    .unwrap()
}

/// Waits until `count` statements of `pool`'s database wait on a lock, as `pg_stat_activity`
/// shows them (at most 20 s; then fails naming `what`): how a test knows a write it started is
/// blocked where it meant it to be.
pub async fn wait_for_lock_waiters(pool: &sqlx::PgPool, count: i64, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting >= count {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {waiting} of {count}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
