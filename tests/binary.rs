//! End-to-end tests of the `solidarity-ledger` binary itself: `serve` on a random port stops
//! cleanly on SIGTERM; `migrate` and `verify` work on a fresh data directory; `verify` names the
//! sequence of a posting changed behind the ledger's back, and the signed checkpoint a journal cut
//! short no longer reaches.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::NaiveDate;
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions};

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

fn ledger(data_dir: &std::path::Path, arguments: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .args(arguments)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

#[tokio::test]
async fn serve_listens_on_a_random_port_and_stops_on_sigterm() {
    // Proves the README's run command works with no setup and shuts down gracefully.
    let directory = tempfile::tempdir().unwrap();
    let mut child = Command::new(BINARY)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(directory.path())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = stderr
            .next()
            .expect("serve exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let health = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(directory.path().join("ledger.db").exists());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(exit) = child.try_wait().unwrap() {
            status = Some(exit);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.expect("serve did not stop after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn migrate_then_verify_on_a_fresh_data_directory() {
    // Proves migrate creates the database and says what it did (applied, then nothing left to
    // apply), and verify accepts an empty, untouched ledger with a summary.
    let directory = tempfile::tempdir().unwrap();
    let migrated = ledger(directory.path(), &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(directory.path().join("ledger.db").exists());
    let output = String::from_utf8_lossy(&migrated.stdout);
    assert!(output.contains("pending migrations applied"), "{output}");
    let again = ledger(directory.path(), &["migrate"]);
    assert!(again.status.success(), "{again:?}");
    let output = String::from_utf8_lossy(&again.stdout);
    assert!(output.contains("already up to date"), "{output}");
    let verified = ledger(directory.path(), &["verify"]);
    assert!(verified.status.success(), "{verified:?}");
    let summary = String::from_utf8_lossy(&verified.stdout);
    assert!(
        summary.contains("chain valid: 0 transactions, 0 postings, head hash "),
        "{summary}"
    );
}

#[test]
fn serve_refuses_a_zero_request_timeout() {
    // Proves a timeout that would answer every request with 408 is a usage error, not a service.
    let directory = tempfile::tempdir().unwrap();
    let refused = ledger(
        directory.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--request-timeout-seconds",
            "0",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--request-timeout-seconds"));
}

#[tokio::test]
async fn verify_reports_the_sequence_of_a_changed_posting() {
    // Proves `verify` exits 0 on an intact ledger and 1, naming sequence 2, once one byte of one
    // posting of transaction 2 is changed with the append-only trigger removed.
    let (directory, store) = three_transfers_on_sqlite().await;
    let intact = ledger(directory.path(), &["verify"]);
    assert!(intact.status.success(), "{intact:?}");

    let pool = store.sqlite_pool().unwrap();
    sqlx::query("DROP TRIGGER journal_postings_no_update")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE journal_postings SET amount_minor = 251 WHERE sequence = 2 AND posting_index = 0",
    )
    .execute(pool)
    .await
    .unwrap();
    store.close().await;

    let tampered = ledger(directory.path(), &["verify"]);
    assert_eq!(tampered.status.code(), Some(1), "{tampered:?}");
    let output = String::from_utf8_lossy(&tampered.stdout);
    assert!(output.contains("chain BROKEN at sequence 2"), "{output}");
}

#[test]
fn the_database_files_are_private_to_their_owner() {
    // Proves the SQLite database (and its -wal and -shm files) is created 0600, like jwt-secret,
    // and that an existing world-readable one is made private when opened.
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().unwrap();
    let migrated = ledger(directory.path(), &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let database = directory.path().join("ledger.db");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&database), 0o600);
    for suffix in ["-wal", "-shm"] {
        let sibling = directory.path().join(format!("ledger.db{suffix}"));
        if sibling.exists() {
            assert_eq!(mode(&sibling), 0o600, "{suffix}");
        }
    }
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let verified = ledger(directory.path(), &["verify"]);
    assert!(verified.status.success(), "{verified:?}");
    assert_eq!(mode(&database), 0o600);
}

#[test]
fn verify_and_export_report_a_missing_database_instead_of_creating_one() {
    // Proves `verify --data-dir typo` (and export) say there is no database, exit 1, and leave
    // nothing behind.
    let directory = tempfile::tempdir().unwrap();
    let typo = directory.path().join("typo");
    let verified = ledger(&typo, &["verify"]);
    assert_eq!(verified.status.code(), Some(1), "{verified:?}");
    let message = String::from_utf8_lossy(&verified.stderr);
    assert!(message.contains("there is no database at"), "{message}");
    assert!(message.contains("ledger.db"), "{message}");
    let output = directory.path().join("export.jsonl");
    let exported = ledger(
        &typo,
        &[
            "export",
            "--format",
            "jsonl",
            "--output",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(exported.status.code(), Some(1), "{exported:?}");
    assert!(String::from_utf8_lossy(&exported.stderr).contains("there is no database at"));
    assert!(!typo.exists(), "no directory or database was created");
}

#[test]
fn an_unreachable_postgresql_fails_fast_with_its_cause() {
    // Proves a PostgreSQL URL whose port refuses connections is reported at once, naming the
    // refusal, instead of after the pool's 30 s "pool timed out".
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let directory = tempfile::tempdir().unwrap();
    let verified = Command::new(BINARY)
        .args([
            "verify",
            "--database-connect-timeout-seconds",
            "5",
            "--database-url",
        ])
        .arg(format!(
            "postgres://ledger:secret@127.0.0.1:{closed_port}/ledger"
        ))
        .arg("--data-dir")
        .arg(directory.path())
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(1), "{verified:?}");
    let message = String::from_utf8_lossy(&verified.stderr);
    assert!(message.contains("cannot be reached"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[test]
fn token_refuses_a_lifetime_the_service_would_refuse() {
    // Proves `token` does not mint what `serve` would reject: a --ttl over --max-token-lifetime
    // is refused, one within it is printed.
    let directory = tempfile::tempdir().unwrap();
    let secret = "a-test-secret-of-at-least-thirty-two-bytes";
    let mint = |ttl: &str| {
        Command::new(BINARY)
            .args(["token", "--org", "00000000-0000-0000-0000-000000000001"])
            .args([
                "--role",
                "admin",
                "--ttl",
                ttl,
                "--max-token-lifetime",
                "12h",
            ])
            .arg("--data-dir")
            .arg(directory.path())
            .env("SOLIDARITY_JWT_SECRET", secret)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let refused = mint("13h");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("longer than the 43200 s"));
    let minted = mint("12h");
    assert!(minted.status.success(), "{minted:?}");
    assert_eq!(
        String::from_utf8_lossy(&minted.stdout).matches('.').count(),
        2
    );
}

/// A fresh SQLite ledger in a temporary data directory, migrated, with two accounts and three
/// transfers between them (sequences 1 to 3), recorded at a fixed time.
async fn three_transfers_on_sqlite() -> (tempfile::TempDir, Store) {
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
    (directory, store)
}

#[tokio::test]
async fn verify_names_a_signed_head_the_journal_no_longer_reaches() {
    // Proves `verify` reads the stored checkpoints: with the last transaction deleted (triggers
    // dropped), it exits 1 and names the checkpoint at sequence 3 the journal no longer reaches.
    use ledger_core::checkpoint::{Checkpoint, SigningKey};
    let (directory, store) = three_transfers_on_sqlite().await;
    let now = Timestamp::from_unix_micros(1_795_404_316_000_000).unwrap();
    let key = SigningKey::from_bytes(&[5; 32]);
    let (head, hash) = store.chain_head().await.unwrap();
    store
        .record_checkpoint(
            &Checkpoint::sign(&key, head, hash, now),
            &key.verifying_key(),
        )
        .await
        .unwrap();
    let intact = ledger(directory.path(), &["verify"]);
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
    let broken = ledger(directory.path(), &["verify"]);
    let printed = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(&format!(
            "checkpoint MISMATCH at sequence 3: the signed head is {hash}, the journal no longer reaches it"
        )),
        "{printed}"
    );
}

#[test]
fn verify_help_names_its_exit_statuses() {
    // Proves `verify --help` tells an auditor what each exit status means (0 valid, 1 broken,
    // 2 not an export), as docs/hash-chain.md defines them.
    let help = Command::new(BINARY)
        .args(["verify", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    for line in [
        "Exit status:",
        "  0  valid",
        "  1  broken",
        "  2  not an export",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}
