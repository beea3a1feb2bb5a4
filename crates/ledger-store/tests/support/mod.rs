//! Shared fixtures of the store tests: a migrated store on either engine, accounts and transactions.

#![allow(dead_code)] // each test binary uses a different part of the fixtures

use std::collections::HashMap;

use chrono::NaiveDate;
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, BalancedTransaction, Currency,
    Posting, Timestamp, TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions};
use uuid::Uuid;

/// A migrated store and whatever keeps its database alive.
pub struct Fixture {
    pub store: Store,
    pub url: String,
    _directory: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    Fixture {
        store,
        url,
        _directory: Some(directory),
    }
}

pub async fn postgres() -> Fixture {
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Fixture {
        store,
        url: database.url,
        _directory: None,
    }
}

pub fn now() -> Timestamp {
    Timestamp::from_unix_micros(1_795_404_316_123_456).unwrap()
}

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

/// Instantiates each listed `async fn(Fixture)` as one `#[tokio::test]` per engine, in modules
/// `sqlite` and `postgres`: a store test is written once and run on both.
#[allow(unused_macros)] // not every test binary has tests on both engines
macro_rules! on_both_engines {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::support::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::support::postgres().await).await;
                }
            )*
        }
    };
}
