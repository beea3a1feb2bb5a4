//! Killing a process in the middle of appending loses nothing it acknowledged and leaves a valid
//! chain, on both engines. The test re-runs its own binary as the child that gets SIGKILLed.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::store as support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;

use ledger_core::{Account, AccountCode, AccountId, AccountKind, Currency};
use ledger_store::{Store, StoreOptions};
use uuid::Uuid;

const CHILD_URL: &str = "LEDGER_CRASH_CHILD_URL";
const CHILD_ACCOUNTS: &str = "LEDGER_CRASH_CHILD_ACCOUNTS";
/// Acknowledgements to wait for before the kill: enough that appends are in full flow.
const ACKS_BEFORE_KILL: usize = 150;

/// Not a test on its own: the body of the child process, run only by `killed_writer_*` below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by the crash tests"]
async fn crash_child_appends_until_killed() {
    let url = std::env::var(CHILD_URL).expect("child needs a database URL");
    let ids = std::env::var(CHILD_ACCOUNTS).expect("child needs account ids");
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    let accounts: Vec<Account> = ids
        .split(',')
        .map(|id| AccountId::from_str(id).unwrap())
        .map(account_stub)
        .collect();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Uuid>();
    for writer in 0..8 {
        let store = store.clone();
        let accounts = accounts.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            for step in 0.. {
                let transaction =
                    support::transfer(&accounts[writer % 2], &accounts[(writer + 1) % 2], step + 1);
                let id = transaction.id().as_uuid();
                store.append(transaction).await.unwrap();
                sender.send(id).unwrap();
            }
        });
    }
    let mut stdout = std::io::stdout();
    while let Some(id) = receiver.recv().await {
        // Printed only after the store acknowledged the append as durable.
        writeln!(stdout, "ACK {id}").unwrap();
        stdout.flush().unwrap();
    }
}

fn account_stub(id: AccountId) -> Account {
    Account {
        id,
        code: AccountCode::parse("stub").unwrap(),
        name: String::new(),
        kind: AccountKind::Asset,
        currency: Currency::eur(),
        owner_organisation: None,
    }
}

async fn killed_writer_loses_nothing_acknowledged(fixture: support::Fixture) {
    // Proves that SIGKILL during a stream of appends leaves every acknowledged transaction in a valid chain.
    let store = &fixture.store;
    let first = support::open(store, "first", "EUR").await;
    let second = support::open(store, "second", "EUR").await;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_appends_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, &fixture.url)
        .env(CHILD_ACCOUNTS, format!("{},{}", first.id, second.id))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = HashSet::new();
    while acknowledged.len() < ACKS_BEFORE_KILL {
        let line = lines
            .next()
            .expect("child stopped before enough appends")
            .unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acknowledged.insert(Uuid::parse_str(id).unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no chance to clean up.
    // Acknowledgements already written to the pipe before the kill count too.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("ACK ") {
            acknowledged.insert(Uuid::parse_str(id).unwrap());
        }
    }
    child.wait().unwrap();

    let reopened = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    let report = reopened.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    let mut committed = HashSet::new();
    let mut after = 0;
    loop {
        let page = reopened.journal_after(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.sequence;
        committed.extend(page.iter().map(|record| record.transaction_id));
    }
    let lost: Vec<_> = acknowledged.difference(&committed).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(committed.len() >= acknowledged.len());
    // The chain keeps growing after the crash.
    reopened
        .append(support::transfer(&first, &second, 1))
        .await
        .unwrap();
    assert!(reopened.verify().await.unwrap().is_valid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_loses_nothing_acknowledged_sqlite() {
    killed_writer_loses_nothing_acknowledged(support::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_loses_nothing_acknowledged_postgres() {
    killed_writer_loses_nothing_acknowledged(support::postgres().await).await;
}
