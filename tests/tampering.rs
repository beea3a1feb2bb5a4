//! Tampered and malformed export files: one changed byte in each field the hash covers, a
//! deleted line, two swapped lines and a truncated file are each reported by `verify --file` and by
//! the independent Python verifier, naming the sequence; malformed files are clear errors (exit 2),
//! never panics. The export is written by `solidarity-ledger export` from a real database.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, OrganisationId, Posting,
    Timestamp, TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions};

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

/// The transaction every field change is made in (of five, each with two postings).
const TARGET: u64 = 3;

fn verify_both(file: &Path) -> [(i32, String); 2] {
    let rust = Command::new(BINARY)
        .args(["verify", "--file"])
        .arg(file)
        .output()
        .unwrap();
    let python = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
        .arg(file)
        .output()
        .unwrap();
    [rust, python].map(|output| {
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(
            !text.contains("panicked") && !text.contains("Traceback"),
            "{text}"
        );
        (output.status.code().unwrap_or(-1), text)
    })
}

/// Five transactions in EUR and XOF with everything the encoding has: an actor organisation,
/// memos with a comma, quotes and non-ASCII, metadata; exported in both formats.
async fn exported() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    let now = Timestamp::from_unix_micros(1_795_404_316_123_456).unwrap();
    let mut chart = HashMap::new();
    let mut accounts = Vec::new();
    for (code, currency) in [
        ("bank", "EUR"),
        ("pool", "EUR"),
        ("mutual", "XOF"),
        ("fx", "XOF"),
    ] {
        let account = Account {
            id: AccountId::from_uuid(uuid::Uuid::new_v4()),
            code: AccountCode::parse(code).unwrap(),
            name: code.into(),
            kind: AccountKind::Asset,
            currency: Currency::from_code(currency).unwrap(),
            owner_organisation: None,
        };
        store.open_account(&account, now).await.unwrap();
        chart.insert(account.id, account.clone());
        accounts.push(account);
    }
    for step in 1..=5_i64 {
        let (debit, credit) = if step % 2 == 0 {
            (&accounts[2], &accounts[3])
        } else {
            (&accounts[0], &accounts[1])
        };
        let amount = Amount::from_minor(1000 * step + 7, debit.currency).unwrap();
        let transaction = TransactionDraft {
            id: TransactionId::from_uuid(uuid::Uuid::new_v4()),
            kind: TransactionKind::Adjustment,
            effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            recorded_at: Timestamp::from_unix_micros(1_795_404_316_123_456 + step).unwrap(),
            actor: Actor {
                subject: format!("treasurer-{step}@csq"),
                organisation: Some(OrganisationId::from_uuid(uuid::Uuid::new_v4())),
            },
            memo: format!("step {step}, \"quoted\", Lärarförsäkringar"),
            metadata: serde_json::Map::from_iter([
                (
                    "batch".to_owned(),
                    serde_json::json!(format!("batch-{step}")),
                ),
                ("members".to_owned(), serde_json::json!(1200)),
            ]),
            postings: vec![
                Posting {
                    account_id: debit.id,
                    amount,
                },
                Posting {
                    account_id: credit.id,
                    amount: amount.negated(),
                },
            ],
        }
        .validate(&chart)
        .unwrap();
        store.append(transaction).await.unwrap();
    }
    store.close().await;
    let mut files = Vec::new();
    for format in ["jsonl", "csv"] {
        let file = directory.path().join(format!("journal.{format}"));
        let output = Command::new(BINARY)
            .args(["export", "--format", format, "--output"])
            .arg(&file)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        files.push(file);
    }
    let csv = files.pop().unwrap();
    (directory, files.pop().unwrap(), csv)
}

/// Changes one character to another of the same class (digit, hex letter, letter), so the file
/// stays well formed and only the checks can notice.
fn changed(character: u8) -> u8 {
    match character {
        b'0'..=b'8' | b'a'..=b'e' | b'A'..=b'E' => character + 1,
        b'9' => b'0',
        b'f' => b'a',
        b'F' => b'A',
        b'g'..=b'y' | b'G'..=b'Y' => character + 1,
        b'z' => b'a',
        b'Z' => b'A',
        other => panic!("no same-class change for {:?}", other as char),
    }
}

/// The byte range of every field of a CSV line without embedded line breaks (quotes included).
fn csv_field_ranges(line: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (index, byte) in line.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                ranges.push((start, index));
                start = index + 1;
            }
            _ => {}
        }
    }
    ranges.push((start, line.len()));
    ranges
}

fn first_alphanumeric(bytes: &[u8], from: usize, to: usize) -> usize {
    (from..to)
        .find(|index| bytes[*index].is_ascii_alphanumeric())
        .unwrap()
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|byte| *byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn assert_reported(file: &Path, what: &str, expected_sequence: u64) {
    for (verifier, (code, output)) in ["rust", "python"].iter().zip(verify_both(file)) {
        assert_eq!(code, 1, "{verifier}, {what}: {output}");
        assert!(
            output.contains(&format!("sequence {expected_sequence}")),
            "{verifier}, {what}: the report must name sequence {expected_sequence}: {output}"
        );
    }
}

#[tokio::test]
async fn one_changed_byte_in_any_hashed_field_is_reported_at_its_sequence() {
    // Proves, in both formats and with both verifiers, that changing one byte of the target
    // transaction in each field the hash covers (and in its previous hash and hash) is reported
    // naming that sequence, while the untouched file verifies.
    let (directory, jsonl, csv) = exported().await;
    for file in [&jsonl, &csv] {
        for (code, output) in verify_both(file) {
            assert_eq!(code, 0, "{output}");
        }
    }

    let original = std::fs::read(&jsonl).unwrap();
    let lines = lines_of(&original);
    let target_line = usize::try_from(TARGET - 1).unwrap();
    let fields = [
        "sequence",
        "transaction_id",
        "kind",
        "effective_date",
        "recorded_at",
        "actor_subject",
        "actor_organisation",
        "memo",
        "metadata",
        "account_id",
        "currency",
        "amount_minor",
        "previous_hash",
        "\"hash",
    ];
    for field in fields {
        let mut line = lines[target_line].clone();
        let key = if field.starts_with('"') {
            format!("{field}\":")
        } else {
            format!("\"{field}\":")
        };
        let at = line
            .windows(key.len())
            .position(|window| window == key.as_bytes())
            .unwrap_or_else(|| panic!("{field} not in the line"))
            + key.len();
        let index = first_alphanumeric(&line, at, line.len());
        line[index] = changed(line[index]);
        let mut tampered = lines.clone();
        tampered[target_line] = line;
        let file = directory.path().join("tampered.jsonl");
        std::fs::write(&file, tampered.concat()).unwrap();
        assert_reported(&file, &format!("jsonl {field}"), TARGET);
    }

    let original = std::fs::read(&csv).unwrap();
    let lines = lines_of(&original);
    let header = String::from_utf8(lines[0].clone()).unwrap();
    let columns: Vec<&str> = header.trim_end().split(',').collect();
    // Posting rows of the target transaction: lines 1 + 2 × (TARGET − 1) and the next.
    let target_row = 1 + 2 * target_line;
    for (column_index, column) in columns.iter().enumerate().skip(1) {
        for row in [target_row, target_row + 1] {
            let mut line = lines[row].clone();
            let (start, end) = csv_field_ranges(&line)[column_index];
            let index = first_alphanumeric(&line, start, end);
            line[index] = changed(line[index]);
            let mut tampered = lines.clone();
            tampered[row] = line;
            let file = directory.path().join("tampered.csv");
            std::fs::write(&file, tampered.concat()).unwrap();
            assert_reported(&file, &format!("csv {column} on row {row}"), TARGET);
        }
    }
    // The posting count on every row of the transaction (the hash covers the count).
    let mut tampered = lines.clone();
    for row in [target_row, target_row + 1] {
        let (start, _) = csv_field_ranges(&tampered[row])[10];
        tampered[row][start] = b'3';
    }
    let file = directory.path().join("tampered.csv");
    std::fs::write(&file, tampered.concat()).unwrap();
    assert_reported(&file, "csv posting_count on every row", TARGET);
}

#[tokio::test]
async fn deleted_swapped_and_truncated_lines_are_reported_at_their_sequence() {
    // Proves a deleted line, two swapped lines, a file cut in the middle of a line, and a file
    // whose last transaction or end record was removed are each reported naming the sequence.
    let (directory, jsonl, csv) = exported().await;
    for (file, first_row, rows_per_transaction) in [(&jsonl, 0, 1), (&csv, 1, 2)] {
        let extension = file.extension().unwrap().to_str().unwrap().to_owned();
        let lines = lines_of(&std::fs::read(file).unwrap());
        let target_row = first_row + rows_per_transaction * usize::try_from(TARGET - 1).unwrap();
        let write = |name: &str, lines: &[Vec<u8>]| {
            let path = directory.path().join(format!("{name}.{extension}"));
            std::fs::write(&path, lines.concat()).unwrap();
            path
        };

        let mut deleted = lines.clone();
        deleted.remove(target_row);
        assert_reported(&write("deleted", &deleted), "a deleted line", TARGET);

        let mut swapped = lines.clone();
        swapped.swap(target_row, target_row + rows_per_transaction);
        assert_reported(&write("swapped", &swapped), "two swapped lines", TARGET);

        // Cut in the middle of the target transaction's first row: the file stops after the one
        // before it.
        let mut cut = lines[..target_row].to_vec();
        cut.push(lines[target_row][..20].to_vec());
        assert_reported(&write("cut", &cut), "a file cut mid-line", TARGET - 1);

        // Cut cleanly after the target transaction: no end record.
        let cut_clean = lines[..target_row + rows_per_transaction].to_vec();
        assert_reported(
            &write("cut-clean", &cut_clean),
            "a file cut at a line",
            TARGET,
        );

        // The last transaction removed, the end record (and a CSV file's accounts section
        // before it) kept.
        let last = lines.len() - 1;
        let after_transactions = lines
            .iter()
            .position(|line| line.starts_with(b"account,") || line.starts_with(b"accounts,"))
            .unwrap_or(last);
        let mut dropped = lines[..after_transactions - rows_per_transaction].to_vec();
        dropped.extend_from_slice(&lines[after_transactions..]);
        assert_reported(
            &write("dropped", &dropped),
            "the last transaction removed",
            5,
        );
    }
}

#[tokio::test]
async fn malformed_files_are_clear_errors_never_panics() {
    // Proves garbage, binary bytes, a wrong CSV header, a broken hash and an unknown format are
    // reported as not being an export (exit 2) by both verifiers, naming the line, and that a
    // missing file is an error, not a crash.
    let (directory, jsonl, csv) = exported().await;
    let jsonl_lines = lines_of(&std::fs::read(&jsonl).unwrap());
    let csv_lines = lines_of(&std::fs::read(&csv).unwrap());
    let mut broken_hash = jsonl_lines.clone();
    let text = String::from_utf8(broken_hash[1].clone()).unwrap();
    broken_hash[1] = text
        .replacen("\"hash\":\"", "\"hash\":\"zz", 1)
        .into_bytes();
    let mut bad_header = csv_lines.clone();
    bad_header[0] = b"row,sequence\r\n".to_vec();
    let mut short_row = csv_lines.clone();
    short_row[2] = b"posting,2,x\r\n".to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("garbage.jsonl", b"hello\nworld\n".to_vec(), "line 1"),
        ("binary.jsonl", vec![0xff, 0xfe, 0x00, b'\n'], "line 1"),
        ("array.jsonl", b"[1,2,3]\n".to_vec(), "line 1"),
        ("hash.jsonl", broken_hash.concat(), "line 2"),
        ("header.csv", bad_header.concat(), "line 1"),
        ("short.csv", short_row.concat(), "line 3"),
        ("binary.csv", vec![0xff, 0xfe, b'\n'], "line 1"),
        // Longer than the Rust verifier's read block: it must grow, not loop or split the line.
        (
            "long.jsonl",
            [vec![b'x'; 5 * 1024 * 1024], b"\n".to_vec()].concat(),
            "line 1",
        ),
    ];
    for (name, bytes, line) in cases {
        let file = directory.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        for (verifier, (code, output)) in ["rust", "python"].iter().zip(verify_both(&file)) {
            assert_eq!(code, 2, "{verifier} {name}: {output}");
            assert!(output.contains("MALFORMED"), "{verifier} {name}: {output}");
            if *verifier == "rust" || !name.starts_with("binary") {
                assert!(output.contains(line), "{verifier} {name}: {output}");
            }
        }
    }
    let missing = Command::new(BINARY)
        .args(["verify", "--file", "/nonexistent/journal.jsonl"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("opening /nonexistent"));
    let unknown = Command::new(BINARY)
        .args(["verify", "--file"])
        .arg(directory.path().join("journal.txt"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--format"));
}
