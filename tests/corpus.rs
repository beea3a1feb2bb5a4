//! The corpus of edge-case export files (tests/corpus/): each ambiguity `docs/hash-chain.md`
//! resolves, control and separator characters in every text field, truncations, swaps, and the
//! three tampered files that are self-consistent but are not the ledger's history (refused with a
//! checkpoint). The files are generated here from a small chain, compared with the committed ones
//! (`UPDATE_CORPUS=1` rewrites them), and both verifiers — `solidarity-ledger verify --file` and
//! `tools/verify_export.py` — must give every file the exit status `expected.json` records.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ledger_core::chart::account_id_for_code;
use ledger_core::checkpoint::{Checkpoint, parse_signing_key_hex, public_key_hex};
use ledger_core::export::{ExportAccount, ExportFormat, ExportWriter, accounts_hash};
use ledger_core::{GENESIS_HASH, JournalRecord, RecordPosting, Timestamp};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");
/// Every character that could be taken for a separator or a line break by some reader.
const SPECIAL: &str =
    "\u{0}\t\n\r\u{b}\u{c}\u{1c}\u{1d}\u{1e}\u{1f}\u{7f}\u{85}\u{2028}\u{2029},\"\r\n;é";
/// The text fields of the encoding, and `currency` (a text of each posting).
const TEXT_FIELDS: [&str; 8] = [
    "kind",
    "effective_date",
    "recorded_at",
    "actor_subject",
    "actor_organisation",
    "memo",
    "metadata",
    "currency",
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Recomputes every hash from `from` (an index) on, as a forger would.
fn rechain(records: &mut [JournalRecord], from: usize) {
    for index in from..records.len() {
        records[index].previous_hash = if index == 0 {
            GENESIS_HASH
        } else {
            records[index - 1].hash
        };
        records[index].hash = records[index].compute_hash();
    }
}

/// Five transactions, two or three postings each, in EUR and XOF.
fn chain() -> Vec<JournalRecord> {
    let mut records: Vec<JournalRecord> = (1..=5_u64)
        .map(|sequence| {
            let amount = i64::try_from(sequence).unwrap() * 100;
            let currency = if sequence % 2 == 0 { "XOF" } else { "EUR" };
            let mut postings = vec![
                RecordPosting {
                    account_id: Uuid::from_u128(0xa1),
                    currency: currency.into(),
                    amount_minor: amount,
                },
                RecordPosting {
                    account_id: Uuid::from_u128(0xb2),
                    currency: currency.into(),
                    amount_minor: -amount,
                },
            ];
            if sequence == 3 {
                postings.push(RecordPosting {
                    account_id: Uuid::from_u128(0xc3),
                    currency: "EUR".into(),
                    amount_minor: 0,
                });
            }
            JournalRecord {
                sequence,
                transaction_id: Uuid::from_u128(0xabcd_0000 + u128::from(sequence)),
                kind: "pledge".into(),
                effective_date: "2026-11-23".into(),
                recorded_at: "2026-11-23T03:25:16.123456Z".into(),
                actor_subject: "treasurer@csq".into(),
                actor_organisation: Uuid::from_u128(0x0e).to_string(),
                memo: format!("batch {sequence}, \"Montréal\""),
                metadata: format!("{{\"batch\":\"{sequence}\"}}"),
                postings,
                previous_hash: GENESIS_HASH,
                hash: GENESIS_HASH,
            }
        })
        .collect();
    rechain(&mut records, 0);
    records
}

fn render(format: ExportFormat, records: &[JournalRecord]) -> Vec<u8> {
    let mut writer = ExportWriter::new(format);
    let mut bytes = Vec::new();
    writer.write_start(&mut bytes);
    for record in records {
        writer.write_record(record, &mut bytes);
    }
    writer.write_end(&mut bytes);
    bytes
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Replaces the first occurrence of `from` (which must be there).
fn replace_once(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let whole = text(bytes);
    assert!(whole.contains(from), "{from:?} not in the file");
    whole.replacen(from, to, 1).into_bytes()
}

/// The file's lines, each with its line feed.
fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|byte| *byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A file of the corpus: its name, bytes, the verifier's extra arguments and the expected exit
/// status (0 valid, 1 broken or not the checkpoint's history, 2 not an export).
struct Case {
    name: String,
    bytes: Vec<u8>,
    arguments: Vec<String>,
    exit: i32,
    why: String,
}

/// The signing key of the corpus's checkpoints: 32 bytes of 0x07 (the documented example key).
fn checkpoint_files() -> Vec<(String, Vec<u8>)> {
    let key = parse_signing_key_hex(&"07".repeat(32)).unwrap();
    let records = chain();
    let signed_at = Timestamp::from_unix_micros(1_796_630_400_000_000).unwrap();
    let head = Checkpoint::sign(&key, 5, records[4].hash, signed_at);
    let middle = Checkpoint::sign(&key, 3, records[2].hash, signed_at);
    let mut forged = head.clone();
    forged.signature[0] ^= 1;
    let other = parse_signing_key_hex(&"09".repeat(32)).unwrap();
    let slj2_head = Checkpoint::sign(&key, 5, slj2_chain().0[4].hash, signed_at);
    vec![
        (
            "checkpoint-head.json".into(),
            serde_json::to_vec(&head).unwrap(),
        ),
        (
            "checkpoint-slj2-head.json".into(),
            serde_json::to_vec(&slj2_head).unwrap(),
        ),
        (
            "checkpoint-3.json".into(),
            serde_json::to_vec(&middle).unwrap(),
        ),
        (
            "checkpoint-forged-signature.json".into(),
            serde_json::to_vec(&forged).unwrap(),
        ),
        (
            "public-key.txt".into(),
            format!("{}\n", public_key_hex(&key.verifying_key())).into_bytes(),
        ),
        (
            "other-public-key.txt".into(),
            format!("{}\n", public_key_hex(&other.verifying_key())).into_bytes(),
        ),
    ]
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>, arguments: &[&str], exit: i32, why: &str| {
        cases.push(Case {
            name,
            bytes,
            arguments: arguments.iter().map(|a| (*a).to_owned()).collect(),
            exit,
            why: why.to_owned(),
        });
    };
    let records = chain();
    let head = ["--checkpoint", "checkpoint-head.json"];
    let head_and_key = [
        "--checkpoint",
        "checkpoint-head.json",
        "--public-key",
        "public-key.txt",
    ];
    for format in [ExportFormat::Jsonl, ExportFormat::Csv] {
        let extension = format.as_str();
        let name = |what: &str| format!("{what}.{extension}");
        let valid = render(format, &records);
        add(name("valid"), valid.clone(), &[], 0, "an intact export");
        add(
            name("valid"),
            valid.clone(),
            &head_and_key,
            0,
            "an intact export, checked against the signed head with the public key",
        );
        add(
            name("valid"),
            valid.clone(),
            &head,
            0,
            "against the head without a key: valid, the signature reported unchecked",
        );
        add(
            name("valid"),
            valid.clone(),
            &[
                "--checkpoint",
                "checkpoint-3.json",
                "--public-key",
                "public-key.txt",
            ],
            0,
            "a checkpoint older than the file's end: the hash after its sequence matches",
        );
        add(
            name("valid"),
            valid.clone(),
            &[
                "--checkpoint",
                "checkpoint-forged-signature.json",
                "--public-key",
                "public-key.txt",
            ],
            1,
            "a checkpoint whose signature was changed",
        );
        add(
            name("valid"),
            valid.clone(),
            &[
                "--checkpoint",
                "checkpoint-head.json",
                "--public-key",
                "other-public-key.txt",
            ],
            1,
            "a checkpoint checked with another key (its key id differs)",
        );

        // The three tampered files that are consistent with themselves.
        let mut shortened = records[..3].to_vec();
        rechain(&mut shortened, 0);
        let shortened = render(format, &shortened);
        add(
            name("last-deleted-end-rewritten"),
            shortened.clone(),
            &[],
            0,
            "self-consistent: only a checkpoint tells it from the real history",
        );
        add(
            name("last-deleted-end-rewritten"),
            shortened,
            &head_and_key,
            1,
            "the file does not reach the checkpoint's sequence",
        );
        let mut moved = records.clone();
        moved[1].postings[0].amount_minor -= 1;
        moved[1].postings[1].amount_minor += 1;
        rechain(&mut moved, 1);
        let moved = render(format, &moved);
        add(
            name("cent-moved-rehashed"),
            moved.clone(),
            &[],
            0,
            "self-consistent: only a checkpoint tells it from the real history",
        );
        add(
            name("cent-moved-rehashed"),
            moved,
            &head_and_key,
            1,
            "the chain hash at the checkpoint's sequence is another one",
        );
        let without_first = render(format, &records[1..]);
        add(
            name("first-deleted"),
            without_first.clone(),
            &[],
            1,
            "a file that does not start at sequence 1, without --from-sequence",
        );
        add(
            name("first-deleted"),
            without_first.clone(),
            &["--from-sequence", "2"],
            0,
            "the same file read as the range it claims to be",
        );
        add(
            name("first-deleted"),
            without_first.clone(),
            &["--from-sequence", "2", "--previous-hash", &"0".repeat(64)],
            1,
            "the range does not chain onto the hash given",
        );
        add(
            name("first-deleted"),
            without_first,
            &[
                "--from-sequence",
                "2",
                "--checkpoint",
                "checkpoint-head.json",
                "--public-key",
                "public-key.txt",
            ],
            0,
            "a range that reaches the checkpoint: its transactions up to the head are proven",
        );

        // Control and separator characters in every text field: valid, as stored.
        for field in TEXT_FIELDS {
            let mut changed = records.clone();
            let record = &mut changed[1];
            let special = format!("{field}:{SPECIAL}");
            match field {
                "kind" => record.kind = special,
                "effective_date" => record.effective_date = special,
                "recorded_at" => record.recorded_at = special,
                "actor_subject" => record.actor_subject = special,
                "actor_organisation" => record.actor_organisation = special,
                "memo" => record.memo = special,
                "metadata" => record.metadata = special,
                _ => {
                    for posting in &mut record.postings {
                        posting.currency.clone_from(&special);
                    }
                }
            }
            rechain(&mut changed, 1);
            add(
                name(&format!("special-characters-in-{field}")),
                render(format, &changed),
                &[],
                0,
                "control characters, U+0085, U+2028, U+2029, form feed, commas, quotes and line breaks in a text field are data",
            );
        }

        // Truncations.
        for (what, length) in [
            ("empty", 0),
            ("in-first-line", 20),
            ("in-the-middle", valid.len() / 2),
            ("in-the-end-record", valid.len() - 10),
        ] {
            add(
                name(&format!("truncated-{what}")),
                valid[..length].to_vec(),
                &[],
                1,
                "a file cut short",
            );
        }
        let mut without_end = lines(&valid);
        without_end.pop();
        add(
            name("truncated-end-record-removed"),
            without_end.concat(),
            &[],
            1,
            "a file whose end record is missing",
        );
        let mut after_end = lines(&valid);
        let first_record = if format == ExportFormat::Csv { 1 } else { 0 };
        after_end.push(after_end[first_record].clone());
        add(
            name("record-after-end"),
            after_end.concat(),
            &[],
            1,
            "a transaction after the end record",
        );
        let mut blank = lines(&valid);
        blank.insert(
            first_record + 1,
            if format == ExportFormat::Csv {
                b"\r\n".to_vec()
            } else {
                b"\n".to_vec()
            },
        );
        add(
            name("blank-line"),
            blank.concat(),
            &[],
            2,
            "a blank line is not a record",
        );
        let mut blank_at_end = lines(&valid);
        blank_at_end.push(if format == ExportFormat::Csv {
            b"\r\n".to_vec()
        } else {
            b"\n".to_vec()
        });
        add(
            name("blank-line-after-end"),
            blank_at_end.concat(),
            &[],
            2,
            "a blank line after the end record is not a record either",
        );
        let invalid_utf8 = {
            let mut bytes = replace_once(&valid, "Montréal", "Montr\u{1}al");
            let at = bytes.iter().position(|byte| *byte == 1).unwrap();
            bytes[at] = 0xff;
            bytes
        };
        add(
            name("not-utf8"),
            invalid_utf8,
            &[],
            2,
            "a byte that is not UTF-8",
        );

        // The spelling of values: one spelling each.
        let id = records[0].transaction_id.to_string();
        add(
            name("uuid-upper-case"),
            replace_once(&valid, &id, &id.to_uppercase()),
            &[],
            2,
            "an upper-case UUID (the same 16 bytes, another spelling)",
        );
        add(
            name("uuid-unhyphenated"),
            replace_once(&valid, &id, &id.replace('-', "")),
            &[],
            2,
            "a UUID without hyphens",
        );
        let account = Uuid::from_u128(0xb2).to_string();
        add(
            name("account-uuid-braced"),
            replace_once(&valid, &account, &format!("{{{account}}}")),
            &[],
            2,
            "a braced account UUID",
        );
        let hash = records[0].hash.to_hex();
        let upper = {
            let mut all = text(&valid);
            all = all.replace(&hash, &hash.to_uppercase());
            all.into_bytes()
        };
        add(
            name("hash-upper-case"),
            upper,
            &[],
            2,
            "upper-case hexadecimal in a hash",
        );

        match format {
            ExportFormat::Jsonl => {
                let first_line = text(&lines(&valid)[0]);
                let memo = "\"memo\":\"batch 1, \\\"Montréal\\\"\"";
                assert!(first_line.contains(memo), "{first_line}");
                add(
                    name("duplicate-key-same-value"),
                    replace_once(&valid, memo, &format!("{memo},{memo}")),
                    &[],
                    2,
                    "a key twice, even with the same value",
                );
                add(
                    name("duplicate-key-other-value"),
                    replace_once(&valid, memo, &format!("\"memo\":\"forged\",{memo}")),
                    &[],
                    2,
                    "a key twice: no reader may keep the first or the last",
                );
                add(
                    name("duplicate-key-in-posting"),
                    replace_once(
                        &valid,
                        "\"amount_minor\":100",
                        "\"amount_minor\":100,\"amount_minor\":100",
                    ),
                    &[],
                    2,
                    "a posting's key twice",
                );
                add(
                    name("extra-key"),
                    replace_once(&valid, memo, &format!("{memo},\"note\":\"x\"")),
                    &[],
                    2,
                    "a key the format does not have",
                );
                add(
                    name("extra-key-in-end"),
                    replace_once(&valid, "\"final_hash\"", "\"note\":1,\"final_hash\""),
                    &[],
                    2,
                    "a key the end record does not have",
                );
                add(
                    name("missing-key-in-end"),
                    replace_once(&valid, "\"last_sequence\":5,", ""),
                    &[],
                    2,
                    "the end record without last_sequence",
                );
                add(
                    name("keys-reordered"),
                    replace_once(
                        &valid,
                        "{\"sequence\":1,\"transaction_id\"",
                        "{\"transaction_id\"",
                    )
                    .into_iter()
                    .collect::<Vec<u8>>()
                    .pipe(|bytes| replace_once(&bytes, "\"hash\":", "\"sequence\":1,\"hash\":")),
                    &[],
                    0,
                    "JSON object keys in another order: the same record",
                );
                for (what, number) in [
                    ("plus", "+1"),
                    ("leading-zero", "01"),
                    ("fraction", "1.0"),
                    ("exponent", "1e0"),
                ] {
                    add(
                        name(&format!("integer-{what}")),
                        replace_once(
                            &valid,
                            "{\"sequence\":1,",
                            &format!("{{\"sequence\":{number},"),
                        ),
                        &[],
                        2,
                        "an integer is a JSON integer: no sign, leading zero, fraction or exponent",
                    );
                }
                add(
                    name("amount-as-string"),
                    replace_once(&valid, "\"amount_minor\":100", "\"amount_minor\":\"100\""),
                    &[],
                    2,
                    "amount_minor is a JSON integer, not a string",
                );
                add(
                    name("lone-surrogate"),
                    replace_once(&valid, "batch 1,", "batch \\ud800,"),
                    &[],
                    2,
                    "a \\u escape that is half a surrogate pair is not text",
                );
                add(
                    name("crlf-line-ends"),
                    text(&valid).replace('\n', "\r\n").into_bytes(),
                    &[],
                    0,
                    "a CR before the line feed is JSON white space",
                );
                add(
                    name("whitespace-between-tokens"),
                    replace_once(&valid, "{\"sequence\":1,", "{ \"sequence\" : 1 ,"),
                    &[],
                    0,
                    "JSON white space between tokens",
                );
                let all = lines(&valid);
                let mut swapped = all.clone();
                swapped.swap(1, 2);
                add(
                    name("swapped-lines"),
                    swapped.concat(),
                    &[],
                    1,
                    "two transactions swapped",
                );
                let mut deleted = all.clone();
                deleted.remove(2);
                add(
                    name("middle-line-deleted"),
                    deleted.concat(),
                    &[],
                    1,
                    "a transaction deleted",
                );
            }
            ExportFormat::Csv => {
                let all = lines(&valid);
                // Rows: header, 1a, 1b, 2a, 2b, 3a, 3b, 3c, 4a, 4b, 5a, 5b, end.
                for (what, from, to) in [
                    ("sequence-leading-zero", "posting,1,", "posting,01,"),
                    ("sequence-plus", "posting,1,", "posting,+1,"),
                    ("amount-plus", ",100,", ",+100,"),
                    ("amount-leading-zero", ",100,", ",0100,"),
                    ("amount-minus-zero", ",EUR,0,", ",EUR,-0,"),
                    ("posting-index-leading-zero", ",2,0,", ",2,00,"),
                    ("posting-count-leading-zero", ",2,0,", ",02,0,"),
                    ("sequence-space", "posting,1,", "posting, 1,"),
                ] {
                    add(
                        name(&format!("integer-{what}")),
                        replace_once(&valid, from, to),
                        &[],
                        2,
                        "integers are written one way: `0`, or digits without a leading zero, `-` only before a negative",
                    );
                }
                add(
                    name("lf-line-ends"),
                    text(&valid).replace("\r\n", "\n").into_bytes(),
                    &[],
                    2,
                    "rows end with CR LF; a bare LF is not a row end",
                );
                let mut one_lf = all.clone();
                one_lf[3] = text(&one_lf[3]).replace("\r\n", "\n").into_bytes();
                add(
                    name("one-lf-row-end"),
                    one_lf.concat(),
                    &[],
                    2,
                    "one row ends with a bare LF",
                );
                let mut lf_then_cut = all.clone();
                let last_posting = lf_then_cut.len() - 2;
                lf_then_cut[last_posting] = text(&lf_then_cut[last_posting])
                    .replace("\r\n", "\n")
                    .into_bytes();
                let end_row = lf_then_cut.len() - 1;
                lf_then_cut[end_row].truncate(5);
                add(
                    name("bare-lf-on-last-line-then-cut"),
                    lf_then_cut.concat(),
                    &[],
                    1,
                    "a file cut short: a problem on its last complete line is the cut",
                );
                add(
                    name("text-after-closing-quote"),
                    replace_once(&valid, "Montréal\"\"\",", "Montréal\"\"\"x,"),
                    &[],
                    2,
                    "text after a closing quote",
                );
                add(
                    name("quote-in-bare-field"),
                    replace_once(&valid, ",pledge,", ",ple\"dge,"),
                    &[],
                    2,
                    "a quote inside a field that is not quoted",
                );
                add(
                    name("unneeded-quotes"),
                    text(&valid)
                        .replace(",pledge,", ",\"pledge\",")
                        .into_bytes(),
                    &[],
                    0,
                    "quotes around a field that does not need them: the same value",
                );
                let end = text(all.last().unwrap());
                add(
                    name("end-row-extra-field"),
                    replace_once(&valid, &end, &end.replacen("end,5,,", "end,5,x,", 1)),
                    &[],
                    2,
                    "the end row has only sequence and hash",
                );
                add(
                    name("extra-column"),
                    replace_once(
                        &valid,
                        &text(&all[1]),
                        &text(&all[1]).replace("\r\n", ",\r\n"),
                    ),
                    &[],
                    2,
                    "a row with 18 fields",
                );
                let mut count_changed = all.clone();
                for row in &mut count_changed[1..3] {
                    *row = text(row)
                        .replacen(",2,0,", ",3,0,", 1)
                        .replacen(",2,1,", ",3,1,", 1)
                        .into_bytes();
                }
                add(
                    name("posting-count-column-changed"),
                    count_changed.concat(),
                    &[],
                    1,
                    "the hashed count is the number of posting rows; a column that disagrees is a finding",
                );
                let mut swapped_transactions = all.clone();
                swapped_transactions.swap(1, 3);
                swapped_transactions.swap(2, 4);
                add(
                    name("swapped-transactions"),
                    swapped_transactions.concat(),
                    &[],
                    1,
                    "two transactions' rows swapped",
                );
                let mut swapped_postings = all.clone();
                swapped_postings.swap(1, 2);
                add(
                    name("swapped-postings"),
                    swapped_postings.concat(),
                    &[],
                    1,
                    "two posting rows of one transaction swapped",
                );
                let mut row_deleted = all.clone();
                row_deleted.remove(6);
                add(
                    name("posting-row-deleted"),
                    row_deleted.concat(),
                    &[],
                    1,
                    "a posting row deleted",
                );
                let mut header_deleted = all.clone();
                header_deleted.remove(0);
                add(
                    name("header-deleted"),
                    header_deleted.concat(),
                    &[],
                    2,
                    "no header row",
                );
                let mut empty_row = all.clone();
                empty_row[1] = text(&empty_row[1])
                    .replacen("posting,", "transaction,", 1)
                    .into_bytes();
                add(
                    name("transaction-row-with-posting"),
                    empty_row.concat(),
                    &[],
                    2,
                    "a `transaction` row (no postings) with posting columns",
                );
            }
        }
    }
    slj2_cases(&mut cases);
    slj2_csv_cases(&mut cases);
    cases
}

/// The corpus's chain with account ids derived from codes (one code per account and currency),
/// and its accounts section: what an `SLJ2` export of it names.
fn slj2_chain() -> (Vec<JournalRecord>, Vec<ExportAccount>) {
    let mut records = chain();
    let mut accounts: Vec<ExportAccount> = Vec::new();
    for record in &mut records {
        for posting in &mut record.postings {
            let code = format!(
                "corpus:{:x}:{}",
                posting.account_id.as_u128(),
                posting.currency.to_lowercase()
            );
            let id = account_id_for_code(&code).as_uuid();
            if !accounts.iter().any(|account| account.id == id) {
                accounts.push(ExportAccount {
                    id,
                    code: code.clone(),
                    name: format!("Corpus account {code}, \"quoted\"\u{2028}é"),
                    kind: "asset".into(),
                    currency: posting.currency.clone(),
                    owner: if accounts.len().is_multiple_of(2) {
                        String::new()
                    } else {
                        Uuid::from_u128(0x0e).to_string()
                    },
                });
            }
            posting.account_id = id;
        }
    }
    rechain(&mut records, 0);
    accounts.sort_by_key(|account| account.id);
    (records, accounts)
}

/// An `SLJ2` JSONL export of `records` whose end record names `accounts` (in the given order) with
/// the hash `hash` (the right one when `None`).
fn render_slj2(
    records: &[JournalRecord],
    accounts: &[ExportAccount],
    hash: Option<ledger_core::ChainHash>,
) -> Vec<u8> {
    let mut bytes = render(ExportFormat::Jsonl, records);
    let end_line = lines(&bytes).pop().unwrap();
    bytes.truncate(bytes.len() - end_line.len());
    let final_hash = records.last().map(|record| record.hash);
    let quote = |text: &str| serde_json::to_string(text).unwrap();
    let section: Vec<String> = accounts
        .iter()
        .map(|account| {
            format!(
                r#"{{"id":{},"code":{},"name":{},"kind":{},"currency":{},"owner":{}}}"#,
                quote(&account.id.to_string()),
                quote(&account.code),
                quote(&account.name),
                quote(&account.kind),
                quote(&account.currency),
                quote(&account.owner)
            )
        })
        .collect();
    let end = format!(
        r#"{{"export_end":{{"last_sequence":{},"final_hash":{},"encoding":"SLJ2","accounts":[{}],"accounts_hash":"{}"}}}}"#,
        records
            .last()
            .map_or("null".to_owned(), |record| record.sequence.to_string()),
        final_hash.map_or("null".to_owned(), |hash| format!("\"{hash}\"")),
        section.join(","),
        hash.unwrap_or_else(|| accounts_hash(final_hash, accounts))
            .to_hex(),
    );
    bytes.extend_from_slice(end.as_bytes());
    bytes.push(b'\n');
    bytes
}

/// The `SLJ2` cases (JSON Lines: an end record naming the accounts, hashed onto the final hash).
fn slj2_cases(cases: &mut Vec<Case>) {
    let mut add = |what: &str, bytes: Vec<u8>, exit: i32, why: &str| {
        cases.push(Case {
            name: format!("slj2-{what}.jsonl"),
            bytes,
            arguments: Vec::new(),
            exit,
            why: why.to_owned(),
        });
    };
    let (records, accounts) = slj2_chain();
    let written = {
        let mut writer = ExportWriter::new(ExportFormat::Jsonl).with_section(accounts.clone());
        let mut bytes = Vec::new();
        for record in &records {
            writer.write_record(record, &mut bytes);
        }
        writer.write_end(&mut bytes);
        bytes
    };
    assert_eq!(
        written,
        render_slj2(&records, &accounts, None),
        "the writer's SLJ2 end record is the documented one"
    );
    add(
        "valid",
        written.clone(),
        0,
        "an intact SLJ2 export naming its accounts",
    );
    let mut altered = accounts.clone();
    altered[1].name.push_str(" (renamed)");
    add(
        "account-altered",
        render_slj2(
            &records,
            &altered,
            Some(accounts_hash(records.last().map(|r| r.hash), &accounts)),
        ),
        1,
        "an account's name changed in the section, the section hash left as it was",
    );
    let mut missing = accounts.clone();
    missing.remove(0);
    add(
        "account-missing",
        render_slj2(
            &records,
            &missing,
            Some(accounts_hash(records.last().map(|r| r.hash), &accounts)),
        ),
        1,
        "an account removed from the section, the section hash left as it was",
    );
    add(
        "account-absent-rehashed",
        render_slj2(&records, &missing, None),
        1,
        "a posting names an account absent from the section (removed, the section hash recomputed)",
    );
    let mut recoded = accounts.clone();
    recoded[2].code.push_str(":other");
    add(
        "account-code-changed-rehashed",
        render_slj2(&records, &recoded, None),
        0,
        "an account's code changed and the section hash recomputed: valid (a store may hold ids not derived from codes), the summary counts 4 of 5 ids derived",
    );
    let mut currency = accounts.clone();
    currency[0].currency = if currency[0].currency == "EUR" {
        "XOF"
    } else {
        "EUR"
    }
    .into();
    add(
        "account-currency-changed-rehashed",
        render_slj2(&records, &currency, None),
        1,
        "an account's currency changed and the section hash recomputed: its postings are in another",
    );
    let mut reversed = accounts.clone();
    reversed.reverse();
    add(
        "accounts-out-of-order",
        render_slj2(&records, &reversed, None),
        1,
        "the section not in ascending id order (the hash recomputed)",
    );
    let valid = render_slj2(&records, &accounts, None);
    add(
        "extra-key-in-account",
        replace_once(&valid, "\"owner\":", "\"note\":\"x\",\"owner\":"),
        2,
        "an account with a key the format does not have",
    );
    add(
        "encoding-without-accounts",
        replace_once(&valid, "\"encoding\":\"SLJ2\",", "")
            .pipe(|bytes| replace_once(&bytes, "\"accounts_hash\":", "\"accounts_hash_\":")),
        2,
        "an SLJ2 end record lacking its `encoding` (and with an unknown key)",
    );
    add(
        "encoding-unknown",
        replace_once(&valid, "\"encoding\":\"SLJ2\"", "\"encoding\":\"SLJ3\""),
        2,
        "an end record naming an encoding the verifiers do not know",
    );
    let mut null_section = lines(&render(ExportFormat::Jsonl, &records));
    let end_line = null_section.pop().unwrap();
    null_section.push(replace_once(
        &end_line,
        "\"}}\n",
        "\",\"encoding\":null,\"accounts\":null,\"accounts_hash\":null}}\n",
    ));
    add(
        "section-null",
        null_section.concat(),
        2,
        "the three SLJ2 keys present but null: malformed (not read as an SLJ1 end record)",
    );
    add(
        "section-dropped",
        render(ExportFormat::Jsonl, &records),
        0,
        "the whole section dropped: an SLJ1 file, valid (a file says its own version; say so in the report)",
    );
    let expecting = |name: &str, bytes: Vec<u8>, exit: i32, why: &str| Case {
        name: name.to_owned(),
        bytes,
        arguments: vec!["--expect-accounts".to_owned()],
        exit,
        why: why.to_owned(),
    };
    cases.push(expecting(
        "slj2-section-dropped.jsonl",
        render(ExportFormat::Jsonl, &records),
        1,
        "the whole section dropped, verified by an auditor who expects accounts: broken",
    ));
    cases.push(expecting(
        "slj2-valid.jsonl",
        written,
        0,
        "an intact SLJ2 export, verified by an auditor who expects accounts",
    ));
    cases.push(expecting(
        "valid.csv",
        render(ExportFormat::Csv, &chain()),
        1,
        "an SLJ1 CSV export (no accounts section: written before CSV exports were SLJ2), verified by an auditor who expects accounts",
    ));
}

/// A CSV field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A CSV row of 17 fields, `filled` at their columns, every other field empty.
fn csv_row(filled: &[(usize, &str)]) -> Vec<u8> {
    let mut fields = vec![String::new(); 17];
    for (column, value) in filled {
        fields[*column] = csv_field(value);
    }
    (fields.join(",") + "\r\n").into_bytes()
}

/// An account row of a CSV SLJ2 section, as docs/hash-chain.md places its fields: `kind` the
/// kind, `actor_organisation` the owner, `memo` the name, `metadata` the code, `account_id` the
/// id, `currency` the currency.
fn csv_account_row(account: &ExportAccount) -> Vec<u8> {
    csv_row(&[
        (0, "account"),
        (3, &account.kind),
        (7, &account.owner),
        (8, &account.name),
        (9, &account.code),
        (12, &account.id.to_string()),
        (13, &account.currency),
    ])
}

/// An `SLJ2` CSV export of `records`, written here from the document (not by the ledger's
/// writer): the `SLJ1` rows, then one account row per account (in the given order), the
/// `accounts` row stating `SLJ2` and `hash` (the right section hash when `None`), then the end row.
fn render_slj2_csv(
    records: &[JournalRecord],
    accounts: &[ExportAccount],
    hash: Option<ledger_core::ChainHash>,
) -> Vec<u8> {
    let mut rows = lines(&render(ExportFormat::Csv, records));
    let end = rows.pop().unwrap();
    for account in accounts {
        rows.push(csv_account_row(account));
    }
    let final_hash = records.last().map(|record| record.hash);
    let hash = hash.unwrap_or_else(|| accounts_hash(final_hash, accounts));
    rows.push(csv_row(&[
        (0, "accounts"),
        (3, "SLJ2"),
        (16, &hash.to_hex()),
    ]));
    rows.push(end);
    rows.concat()
}

/// The `SLJ2` cases of CSV: the accounts section's rows deleted, changed, reordered, duplicated,
/// misplaced or cut short; control characters in its texts.
fn slj2_csv_cases(cases: &mut Vec<Case>) {
    let mut add = |what: &str, bytes: Vec<u8>, arguments: &[&str], exit: i32, why: &str| {
        cases.push(Case {
            name: format!("slj2-{what}.csv"),
            bytes,
            arguments: arguments.iter().map(|a| (*a).to_owned()).collect(),
            exit,
            why: why.to_owned(),
        });
    };
    let (records, accounts) = slj2_chain();
    let final_hash = records.last().map(|record| record.hash);
    let kept_hash = Some(accounts_hash(final_hash, &accounts));
    let written = {
        let mut writer = ExportWriter::new(ExportFormat::Csv).with_section(accounts.clone());
        let mut bytes = Vec::new();
        writer.write_start(&mut bytes);
        for record in &records {
            writer.write_record(record, &mut bytes);
        }
        writer.write_end(&mut bytes);
        bytes
    };
    assert_eq!(
        written,
        render_slj2_csv(&records, &accounts, None),
        "the writer's CSV SLJ2 section is the documented one"
    );
    // Rows: header, 11 posting rows, 5 account rows, the `accounts` row, the end row.
    let all = lines(&written);
    assert_eq!(all.len(), 19);
    let (first_account, accounts_row, end_row) = (12, 17, 18);
    let with_rows = |rows: Vec<Vec<u8>>| rows.concat();

    add(
        "valid",
        written.clone(),
        &[],
        0,
        "an intact CSV SLJ2 export naming its accounts",
    );
    add(
        "valid",
        written.clone(),
        &["--expect-accounts"],
        0,
        "an intact CSV SLJ2 export, verified by an auditor who expects accounts",
    );
    add(
        "valid",
        written.clone(),
        &[
            "--checkpoint",
            "checkpoint-slj2-head.json",
            "--public-key",
            "public-key.txt",
            "--expect-accounts",
        ],
        0,
        "an intact CSV SLJ2 export against its signed head (which does not cover the section)",
    );
    let empty_accounts = render_slj2_csv(&[], &accounts[..1], None);
    add(
        "empty-export",
        empty_accounts,
        &["--expect-accounts"],
        0,
        "an export without transactions: its section is hashed onto 32 zero bytes",
    );

    // The section deleted: an SLJ1 file, valid unless accounts are expected.
    let mut deleted = all.clone();
    deleted.drain(first_account..=accounts_row);
    assert_eq!(deleted.concat(), render(ExportFormat::Csv, &records));
    add(
        "section-deleted",
        deleted.concat(),
        &[],
        0,
        "the whole section deleted: an SLJ1 file, valid on its own (a file says its own version)",
    );
    add(
        "section-deleted",
        deleted.concat(),
        &["--expect-accounts"],
        1,
        "the whole section deleted, verified by an auditor who expects accounts: broken",
    );

    // Accounts changed, reordered, duplicated, removed.
    let mut renamed = accounts.clone();
    renamed[1].name.push_str(" (renamed)");
    add(
        "account-renamed",
        render_slj2_csv(&records, &renamed, kept_hash),
        &[],
        1,
        "an account renamed, the section hash left as it was",
    );
    add(
        "account-renamed-rehashed",
        render_slj2_csv(&records, &renamed, None),
        &[],
        0,
        "an account renamed and the section hash recomputed: valid, the section is the exporter's statement (docs/hash-chain.md, what it proves)",
    );
    let mut swapped = all.clone();
    swapped.swap(first_account, first_account + 1);
    add(
        "account-rows-swapped",
        with_rows(swapped),
        &[],
        1,
        "two account rows swapped: not in ascending id order",
    );
    let mut reordered = accounts.clone();
    reordered.reverse();
    add(
        "account-rows-reordered-rehashed",
        render_slj2_csv(&records, &reordered, None),
        &[],
        1,
        "the account rows in another order, the section hash recomputed: still not ascending",
    );
    let mut duplicated = all.clone();
    duplicated.insert(first_account + 2, all[first_account + 2].clone());
    add(
        "account-row-duplicated",
        with_rows(duplicated),
        &[],
        1,
        "an account row twice: not strictly ascending (each account once)",
    );
    let mut twice = accounts.clone();
    twice.insert(2, accounts[2].clone());
    add(
        "account-row-duplicated-rehashed",
        render_slj2_csv(&records, &twice, None),
        &[],
        1,
        "an account row twice, the section hash recomputed: still not strictly ascending",
    );
    let mut row_deleted = all.clone();
    row_deleted.remove(first_account + 1);
    add(
        "account-row-deleted",
        with_rows(row_deleted),
        &[],
        1,
        "an account row deleted, the section hash left as it was",
    );
    let mut missing = accounts.clone();
    missing.remove(1);
    add(
        "account-row-deleted-rehashed",
        render_slj2_csv(&records, &missing, None),
        &[],
        1,
        "an account row deleted and the section hash recomputed: a posting names an absent account",
    );
    let mut rows_deleted = all.clone();
    rows_deleted.drain(first_account..accounts_row);
    add(
        "account-rows-deleted-accounts-row-kept",
        with_rows(rows_deleted),
        &[],
        1,
        "every account row deleted, the `accounts` row kept: the hash is of the full section",
    );
    let mut currency = accounts.clone();
    currency[0].currency = if currency[0].currency == "EUR" {
        "XOF"
    } else {
        "EUR"
    }
    .into();
    add(
        "account-currency-changed-rehashed",
        render_slj2_csv(&records, &currency, None),
        &[],
        1,
        "an account's currency changed and the section hash recomputed: its postings are in another",
    );

    // Control and separator characters in the section's texts: data, hashed as stored.
    for field in ["code", "name", "kind"] {
        let mut special = accounts.clone();
        let text = format!("{field}:{SPECIAL}");
        match field {
            "code" => special[3].code = text,
            "name" => special[3].name = text,
            _ => special[3].kind = text,
        }
        add(
            &format!("special-characters-in-account-{field}"),
            render_slj2_csv(&records, &special, None),
            &["--expect-accounts"],
            0,
            "control characters, U+0085, U+2028, U+2029, form feed, commas, quotes and line breaks in an account's text are data",
        );
    }

    // The section's rows misplaced or malformed: not an export.
    let mut closing_deleted = all.clone();
    closing_deleted.remove(accounts_row);
    add(
        "accounts-row-deleted",
        with_rows(closing_deleted),
        &[],
        2,
        "account rows without the `accounts` row that closes them",
    );
    let mut after_closing = all.clone();
    let moved = after_closing.remove(first_account);
    after_closing.insert(accounts_row, moved);
    add(
        "account-row-after-accounts-row",
        with_rows(after_closing),
        &[],
        2,
        "an account row after the `accounts` row",
    );
    let mut transaction_after = all.clone();
    let last_rows: Vec<Vec<u8>> = transaction_after.drain(10..12).collect();
    for (offset, row) in last_rows.into_iter().enumerate() {
        transaction_after.insert(accounts_row - 2 + offset, row);
    }
    add(
        "transaction-after-section",
        with_rows(transaction_after),
        &[],
        2,
        "a transaction's rows inside the accounts section",
    );
    add(
        "encoding-unknown",
        replace_once(&written, ",SLJ2,", ",SLJ3,"),
        &[],
        2,
        "an `accounts` row naming an encoding the verifiers do not know",
    );
    let mut filled = all.clone();
    filled[first_account] = text(&filled[first_account])
        .replacen("account,,", "account,5,", 1)
        .into_bytes();
    add(
        "account-row-extra-field",
        with_rows(filled),
        &[],
        2,
        "an account row with a column that is not the account's filled",
    );
    let id = accounts[0].id.to_string();
    add(
        "account-id-upper-case",
        replace_once(
            &written,
            &format!(",{id},"),
            &format!(",{},", id.to_uppercase()),
        ),
        &[],
        2,
        "an account id upper case (the same bytes, another spelling)",
    );
    let owner = Uuid::from_u128(0x0e).to_string();
    let owned_row = all[first_account..accounts_row]
        .iter()
        .position(|row| text(row).contains(&format!(",{owner},")))
        .unwrap()
        + first_account;
    let mut upper_owner = all.clone();
    upper_owner[owned_row] = text(&upper_owner[owned_row])
        .replacen(&owner, &owner.to_uppercase(), 1)
        .into_bytes();
    add(
        "account-owner-upper-case",
        with_rows(upper_owner),
        &[],
        2,
        "an account owner upper case",
    );
    let mut after_end = all.clone();
    after_end.push(all[first_account].clone());
    add(
        "account-row-after-end",
        with_rows(after_end),
        &[],
        1,
        "an account row after the end row",
    );

    // Truncations inside the section.
    let section_start: usize = all[..first_account].iter().map(Vec::len).sum();
    for (what, length) in [
        ("in-an-account-row", section_start + 30),
        (
            "after-an-account-row",
            section_start + all[first_account].len(),
        ),
        ("after-the-accounts-row", written.len() - all[end_row].len()),
        ("in-the-end-row", written.len() - 10),
    ] {
        add(
            &format!("truncated-{what}"),
            written[..length].to_vec(),
            &[],
            1,
            "a file cut short in or after its accounts section",
        );
    }
}

/// `value.pipe(f)` = `f(value)`: keeps a chain of edits readable.
trait Pipe: Sized {
    fn pipe<T>(self, function: impl FnOnce(Self) -> T) -> T {
        function(self)
    }
}
impl<S> Pipe for S {}

fn run(
    program: &str,
    first: &[&str],
    file: &str,
    arguments: &[String],
    envs: &[(&str, &str)],
) -> (i32, String) {
    let output = Command::new(program)
        .args(first)
        .arg(file)
        .args(arguments)
        .current_dir(corpus_dir())
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        !text.contains("panicked") && !text.contains("Traceback"),
        "{text}"
    );
    (output.status.code().unwrap_or(-1), text)
}

/// The Python that runs the verifier: `python3` when it has the `cryptography` package (so the
/// tests check signatures in Python too), else the spec-check environment's
/// (`scripts/check-specs.sh` installs it there).
fn python_interpreter() -> String {
    let has_cryptography = |program: &str| {
        Command::new(program)
            .args(["-c", "import cryptography"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if has_cryptography("python3") {
        return "python3".into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/spec-venv/bin/python3");
    let venv = venv.display().to_string();
    assert!(
        has_cryptography(&venv),
        "these tests check checkpoint signatures in Python too: `pip install cryptography`, or run scripts/check-specs.sh"
    );
    venv
}

fn python_verifier() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tools/verify_export.py")
        .display()
        .to_string()
}

#[test]
fn the_committed_corpus_is_the_generated_one_and_both_verifiers_give_its_verdicts() {
    // Proves the corpus files are exactly what this generator writes (so they cannot drift), and
    // that both verifiers give every file the exit status expected.json records: the Rust and the
    // Python reading of docs/hash-chain.md agree on every edge case, valid or not.
    let directory = corpus_dir();
    let update = std::env::var_os("UPDATE_CORPUS").is_some();
    let cases = cases();
    let mut files: Vec<(String, Vec<u8>)> = checkpoint_files();
    for case in &cases {
        if let Some((_, bytes)) = files.iter().find(|(name, _)| *name == case.name) {
            assert_eq!(*bytes, case.bytes, "two cases named {} differ", case.name);
        } else {
            files.push((case.name.clone(), case.bytes.clone()));
        }
    }
    let expected: Vec<serde_json::Value> = cases
        .iter()
        .map(|case| {
            serde_json::json!({
                "file": case.name,
                "arguments": case.arguments,
                "exit": case.exit,
                "why": case.why,
            })
        })
        .collect();
    let mut expected_text = serde_json::to_string_pretty(&expected).unwrap();
    expected_text.push('\n');
    files.push(("expected.json".into(), expected_text.into_bytes()));
    if update {
        std::fs::create_dir_all(&directory).unwrap();
        for entry in std::fs::read_dir(&directory).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, bytes) in &files {
            std::fs::write(directory.join(name), bytes).unwrap();
        }
    }
    let mut committed: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    let mut generated: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    generated.sort();
    assert_eq!(
        committed, generated,
        "run with UPDATE_CORPUS=1 to rewrite tests/corpus"
    );
    for (name, bytes) in &files {
        assert_eq!(
            std::fs::read(directory.join(name)).unwrap(),
            *bytes,
            "{name} differs from the generator's; run with UPDATE_CORPUS=1"
        );
    }

    let python = python_verifier();
    let interpreter = python_interpreter();
    let mut disagreements = Vec::new();
    for case in &cases {
        let rust = run(
            BINARY,
            &["verify", "--file"],
            &case.name,
            &case.arguments,
            &[],
        );
        let python = run(
            &interpreter,
            &[python.as_str()],
            &case.name,
            &case.arguments,
            &[],
        );
        for (verifier, (code, output)) in [("rust", rust), ("python", python)] {
            if code != case.exit {
                disagreements.push(format!(
                    "{verifier} {} {:?}: exit {code}, expected {} ({})\n{output}",
                    case.name, case.arguments, case.exit, case.why
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn without_a_checkpoint_both_verifiers_say_they_proved_only_self_consistency() {
    // Proves a valid file verified without a checkpoint is not passed off as the ledger's
    // history: both verifiers say plainly what they did not prove (and, word for word alike, that
    // a file without an accounts section does not name its accounts); and with a checkpoint but
    // no key, that the signature was not checked.
    let python = python_verifier();
    let interpreter = python_interpreter();
    for file in ["valid.jsonl", "valid.csv"] {
        for (program, first) in [
            (BINARY, vec!["verify", "--file"]),
            (interpreter.as_str(), vec![python.as_str()]),
        ] {
            let (code, output) = run(program, &first, file, &[], &[]);
            assert_eq!(code, 0, "{output}");
            assert!(
                output.contains(
                    "NOT PROVEN: this proves only that the file is consistent with itself"
                ),
                "{output}"
            );
            // These files have no accounts section: both say what that leaves open.
            assert!(
                output.contains(ledger_verify::verifier::NO_ACCOUNTS_SECTION),
                "{output}"
            );
            let arguments = ["--checkpoint".to_owned(), "checkpoint-head.json".to_owned()];
            let (code, output) = run(program, &first, file, &arguments, &[]);
            assert_eq!(code, 0, "{output}");
            assert!(output.contains("signature NOT CHECKED"), "{output}");
            assert!(!output.contains("NOT PROVEN"), "{output}");
        }
    }
}

#[test]
fn the_python_verifier_reads_csv_the_same_in_any_reads() {
    // Proves the Python verifier's streaming: reading the file a few bytes at a time (so rows,
    // quoted fields and CR LF pairs are cut between two reads) gives every CSV file of the corpus
    // the same verdict, word for word, as reading it at once.
    let python = python_verifier();
    let interpreter = python_interpreter();
    let mut checked = 0;
    for case in cases() {
        if !case.name.ends_with(".csv") || !case.arguments.is_empty() {
            continue;
        }
        let whole = run(&interpreter, &[python.as_str()], &case.name, &[], &[]);
        for read_bytes in ["1", "7"] {
            let arguments = ["--read-bytes".to_owned(), read_bytes.to_owned()];
            let small = run(
                &interpreter,
                &[python.as_str()],
                &case.name,
                &arguments,
                &[],
            );
            assert_eq!(
                small, whole,
                "{} read {read_bytes} bytes at a time",
                case.name
            );
        }
        checked += 1;
    }
    assert!(checked > 30, "only {checked} files");
}

#[test]
fn the_python_verifier_says_loudly_when_it_cannot_check_a_signature() {
    // Proves that without the `cryptography` package the Python verifier never passes a
    // signature silently: it exits 3 and says the signature was not checked (a stand-in package
    // that fails to import hides the real one).
    let hidden = tempfile::tempdir().unwrap();
    std::fs::create_dir(hidden.path().join("cryptography")).unwrap();
    std::fs::write(
        hidden.path().join("cryptography/__init__.py"),
        "raise ImportError('hidden by the test')\n",
    )
    .unwrap();
    let python = python_verifier();
    let arguments: Vec<String> = [
        "--checkpoint",
        "checkpoint-head.json",
        "--public-key",
        "public-key.txt",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let path = hidden.path().display().to_string();
    let (code, output) = run(
        "python3",
        &[python.as_str()],
        "valid.jsonl",
        &arguments,
        &[("PYTHONPATH", &path)],
    );
    assert_eq!(code, 3, "{output}");
    assert!(output.contains("SIGNATURE NOT CHECKED"), "{output}");
    // A wrong key is still refused without the package: the key id is checked with SHA-256.
    let mut other = arguments.clone();
    other[3] = "other-public-key.txt".into();
    let (code, output) = run(
        "python3",
        &[python.as_str()],
        "valid.jsonl",
        &other,
        &[("PYTHONPATH", &path)],
    );
    assert_eq!(code, 1, "{output}");
}

#[test]
fn account_ids_are_recomputed_from_their_codes_with_the_documented_namespace() {
    // Proves the UUIDv5 namespace written in docs/hash-chain.md is the one the ledger uses: an
    // account's id recomputed from its code with that namespace, in Rust and in Python's standard
    // library, is the ledger's id for it.
    let document =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hash-chain.md"))
            .unwrap();
    let marker = "UUIDv5 namespace `";
    let at = document.find(marker).expect("the namespace is documented") + marker.len();
    let namespace_text = &document[at..at + 36];
    let namespace = Uuid::parse_str(namespace_text).unwrap();
    for code in ["fund:bank:eur", "fund:pool", "fee_coverage:eur"] {
        let ledger = ledger_core::chart::account_id_for_code(code).as_uuid();
        assert_eq!(Uuid::new_v5(&namespace, code.as_bytes()), ledger, "{code}");
        let output = Command::new("python3")
            .args([
                "-c",
                "import sys, uuid; print(uuid.uuid5(uuid.UUID(sys.argv[1]), sys.argv[2]))",
                namespace_text,
                code,
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            ledger.to_string()
        );
    }
}

#[test]
fn the_documented_csv_slj2_example_is_what_the_writer_writes() {
    // Proves the CSV SLJ2 rows shown in docs/hash-chain.md ("Version 2", In CSV) are byte for
    // byte what the ledger's writer ends the worked example's export with: the account row, the
    // `accounts` row with the same section hash as the JSONL worked example, and the end row.
    let mut record = JournalRecord {
        sequence: 1,
        transaction_id: Uuid::parse_str("01234567-89ab-cdef-0123-456789abcdef").unwrap(),
        kind: "adjustment".into(),
        effective_date: "2026-11-23".into(),
        recorded_at: "2026-11-23T03:25:16.000000Z".into(),
        actor_subject: "system".into(),
        actor_organisation: String::new(),
        memo: "opening".into(),
        metadata: "{}".into(),
        postings: [(1, 100), (2, -100)]
            .into_iter()
            .map(|(account, amount_minor)| RecordPosting {
                account_id: Uuid::from_u128(account),
                currency: "EUR".into(),
                amount_minor,
            })
            .collect(),
        previous_hash: GENESIS_HASH,
        hash: GENESIS_HASH,
    };
    record.hash = record.compute_hash();
    let bank = ExportAccount {
        id: account_id_for_code("fund:bank:eur").as_uuid(),
        code: "fund:bank:eur".into(),
        name: "Fund bank account (EUR)".into(),
        kind: "asset".into(),
        currency: "EUR".into(),
        owner: String::new(),
    };
    let mut writer = ExportWriter::new(ExportFormat::Csv).with_section(vec![bank]);
    let mut bytes = Vec::new();
    writer.write_record(&record, &mut bytes);
    writer.write_end(&mut bytes);
    let written = text(&bytes);
    let section: Vec<&str> = written.split("\r\n").skip(2).take(3).collect();
    let document =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hash-chain.md"))
            .unwrap();
    let example = section.join("\n");
    assert!(example.starts_with("account,,,asset,"), "{written}");
    assert!(
        document.contains(&format!("\n{example}\n```")),
        "docs/hash-chain.md must show:\n{example}"
    );
}
