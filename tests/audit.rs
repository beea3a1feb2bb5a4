//! End-to-end: the auditors' side over HTTP and the command line, on SQLite and PostgreSQL — the
//! streamed export in both formats, verified offline by `verify --file` and by the independent
//! Python verifier (they agree on the final hash with the database's own check); range exports;
//! `export` on the command line writing the same bytes as the API; the database check and the
//! trial balance; who may call them and what bad parameters get.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::{NETWORK_ID, TestServer, token};

on_both_engines!(
    exports_stream_and_verify_offline_with_both_verifiers,
    range_exports_verify_from_their_first_previous_hash,
    the_command_line_export_writes_what_the_api_streams,
    verify_and_trial_balance_report_the_books,
    audit_endpoints_are_for_auditors_and_admins_and_check_their_parameters,
    a_real_export_is_checked_against_a_signed_head_and_rewrites_are_refused,
);

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

fn python_verifier() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py")
}

/// Runs `solidarity-ledger verify --file` and the Python verifier on a file; returns both outputs.
pub fn verify_both(file: &Path, extra: &[&str]) -> [(i32, String); 2] {
    let rust = Command::new(BINARY)
        .args(["verify", "--file"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    let python = Command::new("python3")
        .arg(python_verifier())
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    [rust, python].map(|output| {
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    })
}

fn final_hash(summary: &str) -> String {
    summary
        .lines()
        .find_map(|line| line.strip_prefix("final hash: "))
        .unwrap_or_else(|| panic!("no final hash in {summary}"))
        .trim()
        .to_owned()
}

/// Pledges and receipts for a few months: a dozen journal transactions with metadata.
async fn books(server: &TestServer) {
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let union_token = token(&union, Role::Contributor);
    let admin = token(NETWORK_ID, Role::Admin);
    for month in 1..=4 {
        let (status, batch) = server
            .post(
                "/v1/contribution-batches",
                &union_token,
                &format!("batch-{month}"),
                &json!({
                    "programme_id": programme,
                    "period": format!("2026-{month:02}"),
                    "lines": [
                        {"reference": "section, \"montréal\"", "members": 1200, "amount": "1200.00", "kind": "solidarity"},
                        {"reference": "gala", "members": 0, "amount": "50.00", "kind": "donation"}
                    ]
                }),
            )
            .await;
        assert_eq!(status, 201, "{batch}");
        let (status, receipt) = server
            .post(
                &format!("/v1/contribution-batches/{}/receipts", batch["id"].as_str().unwrap()),
                &admin,
                &format!("receipt-{month}"),
                &json!({"amount": "1250.00", "value_date": format!("2026-{month:02}-20"), "bank_reference": format!("CAMT-{month}")}),
            )
            .await;
        assert_eq!(status, 201, "{receipt}");
    }
}

async fn download(server: &TestServer, query: &str, role_token: &str) -> (u16, String, Vec<u8>) {
    let response = server
        .client
        .get(server.url(&format!("/v1/audit/export?{query}")))
        .bearer_auth(role_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn exports_stream_and_verify_offline_with_both_verifiers(server: TestServer) {
    // Proves both formats stream from the API with their media types, and both verifiers accept
    // them and agree with the database's own check on the final hash and the counts.
    books(&server).await;
    let auditor = token(NETWORK_ID, Role::Auditor);
    let (status, database) = server.get("/v1/audit/verify", &auditor).await;
    assert_eq!(status, 200, "{database}");
    assert_eq!(database["valid"], true);
    let head = database["head_hash"].as_str().unwrap().to_owned();
    let transactions = database["transactions_count"].as_u64().unwrap();
    assert!(transactions >= 8);
    let directory = tempfile::tempdir().unwrap();
    for (format, media_type) in [("jsonl", "application/jsonl"), ("csv", "text/csv")] {
        let (status, content_type, bytes) =
            download(&server, &format!("format={format}"), &auditor).await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with(media_type), "{content_type}");
        let file = directory.path().join(format!("journal.{format}"));
        std::fs::write(&file, &bytes).unwrap();
        for (code, output) in verify_both(&file, &[]) {
            assert_eq!(code, 0, "{format}: {output}");
            assert_eq!(final_hash(&output), head, "{format}: {output}");
            assert!(
                output.contains(&format!("export valid: {transactions} transactions")),
                "{output}"
            );
            assert!(
                output.contains("EUR:") && output.contains("net 0"),
                "{output}"
            );
        }
        // An auditor who expects the whole chain can require it.
        for (code, output) in verify_both(&file, &["--from-sequence", "1"]) {
            assert_eq!(code, 0, "{output}");
        }
    }
}

/// Re-renders JSONL export bytes after `edit` changed their records, every hash recomputed from
/// the first record on (what a forger holding the database would do).
fn forged(bytes: &[u8], edit: impl FnOnce(&mut Vec<ledger_core::JournalRecord>)) -> Vec<u8> {
    use ledger_core::export::{ExportFormat, ExportItem, ExportWriter, parse_jsonl_line};
    let mut records: Vec<ledger_core::JournalRecord> = bytes
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(|line| match parse_jsonl_line(line).unwrap() {
            ExportItem::Record(record) => Some(record),
            ExportItem::End(_) => None,
        })
        .collect();
    edit(&mut records);
    let mut previous = records
        .first()
        .map_or(ledger_core::GENESIS_HASH, |record| record.previous_hash);
    for record in &mut records {
        record.previous_hash = previous;
        record.hash = record.compute_hash();
        previous = record.hash;
    }
    let mut writer = ExportWriter::new(ExportFormat::Jsonl);
    let mut out = Vec::new();
    for record in &records {
        writer.write_record(record, &mut out);
    }
    writer.write_end(&mut out);
    out
}

async fn a_real_export_is_checked_against_a_signed_head_and_rewrites_are_refused(
    server: TestServer,
) {
    // Proves, on an export streamed from the service, the three tampered files a chain alone
    // accepts (last transactions deleted and the end rewritten; one cent moved early with every
    // later hash recomputed; the first transaction deleted) are each refused by both verifiers
    // given a head signed over the real journal, while the real export verifies against it with
    // its signature checked.
    use ledger_core::checkpoint::{Checkpoint, parse_signing_key_hex, public_key_hex};
    books(&server).await;
    let auditor = token(NETWORK_ID, Role::Auditor);
    let (status, database) = server.get("/v1/audit/verify", &auditor).await;
    assert_eq!(status, 200, "{database}");
    let head: ledger_core::ChainHash = database["head_hash"].as_str().unwrap().parse().unwrap();
    let sequence = database["transactions_count"].as_u64().unwrap();
    let key = parse_signing_key_hex(&"07".repeat(32)).unwrap();
    let signed_at = ledger_core::Timestamp::from_unix_micros(1_796_630_400_000_000).unwrap();
    let checkpoint = Checkpoint::sign(&key, sequence, head, signed_at);
    let directory = tempfile::tempdir().unwrap();
    let checkpoint_file = directory.path().join("checkpoint.json");
    std::fs::write(&checkpoint_file, serde_json::to_vec(&checkpoint).unwrap()).unwrap();
    let public_key = public_key_hex(&key.verifying_key());
    let arguments = [
        "--checkpoint",
        checkpoint_file.to_str().unwrap(),
        "--public-key",
        &public_key,
    ];

    let (status, _, bytes) = download(&server, "format=jsonl", &auditor).await;
    assert_eq!(status, 200);
    let real = directory.path().join("real.jsonl");
    std::fs::write(&real, &bytes).unwrap();
    for (code, output) in verify_both(&real, &arguments) {
        assert_eq!(code, 0, "{output}");
        assert!(output.contains("signature: verified"), "{output}");
    }

    let shortened = forged(&bytes, |records| {
        records.pop();
    });
    let moved = forged(&bytes, |records| {
        records[1].postings[0].amount_minor -= 1;
        records[1].postings[1].amount_minor += 1;
    });
    let first_deleted: Vec<u8> = bytes
        .split_inclusive(|byte| *byte == b'\n')
        .skip(1)
        .flatten()
        .copied()
        .collect();
    for (name, tampered, refusal) in [
        ("shortened", shortened, "does not reach the checkpoint"),
        (
            "moved",
            moved,
            "not the history the checkpoint was signed over",
        ),
        ("first-deleted", first_deleted, "starts at sequence 2"),
    ] {
        let file = directory.path().join(format!("{name}.jsonl"));
        std::fs::write(&file, tampered).unwrap();
        if name != "first-deleted" {
            // Consistent with itself: without a head, only self-consistency is proven.
            for (code, output) in verify_both(&file, &[]) {
                assert_eq!(code, 0, "{name}: {output}");
                assert!(output.contains("NOT PROVEN"), "{name}: {output}");
            }
        }
        for (code, output) in verify_both(&file, &arguments) {
            assert_eq!(code, 1, "{name}: {output}");
            assert!(output.contains(refusal), "{name}: {output}");
        }
    }
}

async fn range_exports_verify_from_their_first_previous_hash(server: TestServer) {
    // Proves an export of a range is refused as a whole chain (it does not start at sequence 1),
    // verifies as the range it is (`--from-sequence`) from the previous hash in its first record,
    // can be pinned to the end of the export before it, and that a range past the end is an
    // empty, valid export in both formats.
    books(&server).await;
    let auditor = token(NETWORK_ID, Role::Auditor);
    let directory = tempfile::tempdir().unwrap();
    let first = directory.path().join("first.jsonl");
    let (status, _, bytes) = download(&server, "format=jsonl&to_sequence=3", &auditor).await;
    assert_eq!(status, 200);
    std::fs::write(&first, bytes).unwrap();
    let [(code, output), _] = verify_both(&first, &[]);
    assert_eq!(code, 0, "{output}");
    let first_end = final_hash(&output);
    assert!(output.contains("export valid: 3 transactions"), "{output}");

    for format in ["jsonl", "csv"] {
        let second = directory.path().join(format!("second.{format}"));
        let (status, _, bytes) = download(
            &server,
            &format!("format={format}&from_sequence=4&to_sequence=6"),
            &auditor,
        )
        .await;
        assert_eq!(status, 200);
        std::fs::write(&second, bytes).unwrap();
        for (code, output) in verify_both(&second, &[]) {
            assert_eq!(code, 1, "{output}");
            assert!(output.contains("starts at sequence 4"), "{output}");
        }
        for (code, output) in verify_both(&second, &["--from-sequence", "4"]) {
            assert_eq!(code, 0, "{output}");
            assert!(output.contains("export valid: 3 transactions"), "{output}");
            assert!(output.contains(&first_end), "{output}");
        }
        // Continuing the first export: it must chain onto its final hash.
        for (code, output) in verify_both(
            &second,
            &["--from-sequence", "4", "--previous-hash", &first_end],
        ) {
            assert_eq!(code, 0, "{output}");
        }
        let elsewhere = "ab".repeat(32);
        for (code, output) in verify_both(
            &second,
            &["--from-sequence", "4", "--previous-hash", &elsewhere],
        ) {
            assert_eq!(code, 1, "{output}");
            assert!(output.contains("sequence 4"), "{output}");
        }

        let empty = directory.path().join(format!("empty.{format}"));
        let (status, _, bytes) = download(
            &server,
            &format!("format={format}&from_sequence=1000000"),
            &auditor,
        )
        .await;
        assert_eq!(status, 200);
        std::fs::write(&empty, bytes).unwrap();
        for (code, output) in verify_both(&empty, &[]) {
            assert_eq!(code, 0, "{output}");
            assert!(output.contains("export valid: 0 transactions"), "{output}");
        }
    }
}

async fn the_command_line_export_writes_what_the_api_streams(server: TestServer) {
    // Proves `solidarity-ledger export` reads the database directly (no progress bar when not on
    // a terminal) and writes byte for byte what the API streams, whole and as a range.
    books(&server).await;
    let auditor = token(NETWORK_ID, Role::Auditor);
    let directory = tempfile::tempdir().unwrap();
    for (format, range) in [("jsonl", ""), ("csv", ""), ("csv", "2-5"), ("jsonl", "5-")] {
        let file = directory.path().join(format!("cli-{range}.{format}"));
        let mut command = Command::new(BINARY);
        command
            .args(["export", "--format", format, "--output"])
            .arg(&file)
            .env("DATABASE_URL", &server.database_url);
        let mut query = format!("format={format}");
        if let Some((from, to)) = range.split_once('-') {
            command.args(["--from-sequence", from]);
            query.push_str(&format!("&from_sequence={from}"));
            if !to.is_empty() {
                command.args(["--to-sequence", to]);
                query.push_str(&format!("&to_sequence={to}"));
            }
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("exported"), "{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "no progress bar when piped: {stderr}"
        );
        let (status, _, streamed) = download(&server, &query, &auditor).await;
        assert_eq!(status, 200);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            streamed,
            "{format} {range}: the file differs from the API's stream"
        );
    }
}

async fn verify_and_trial_balance_report_the_books(server: TestServer) {
    // Proves the database check reports a valid chain, and the trial balance lists every account
    // with debits and credits per currency that net to zero, now and as of a moment before
    // anything was recorded.
    books(&server).await;
    let auditor = token(NETWORK_ID, Role::Auditor);
    let (status, verified) = server.get("/v1/audit/verify", &auditor).await;
    assert_eq!(status, 200);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["first_break"], Value::Null);
    assert_eq!(verified["balance_mismatches"], json!([]));

    let (status, trial) = server.get("/v1/audit/trial-balance", &auditor).await;
    assert_eq!(status, 200, "{trial}");
    assert_eq!(trial["balanced"], true, "{trial}");
    let euro = trial["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|total| total["currency"] == "EUR")
        .unwrap();
    assert_eq!(euro["net"]["amount"], "0.00", "{trial}");
    assert_eq!(euro["debit"], euro["credit"]);
    let accounts = trial["accounts"].as_array().unwrap();
    assert!(accounts.len() >= 3, "{trial}");
    for account in accounts {
        assert!(account["code"].is_string() && account["debit"]["amount"].is_string());
    }

    let (status, before) = server
        .get("/v1/audit/trial-balance?at=2000-01-01T00:00:00Z", &auditor)
        .await;
    assert_eq!(status, 200);
    assert_eq!(before["accounts"], json!([]));
    assert_eq!(before["balanced"], true);
    assert_eq!(before["at"], "2000-01-01T00:00:00.000000Z");
    let (status, _) = server
        .get(
            "/v1/audit/trial-balance?at=2999-01-01T00:00:00%2B02:00",
            &auditor,
        )
        .await;
    assert_eq!(status, 200);
}

async fn audit_endpoints_are_for_auditors_and_admins_and_check_their_parameters(
    server: TestServer,
) {
    // Proves auditors and admins may call the audit endpoints, contributors may not, a missing
    // token is a 401, and bad parameters are 422 problems naming the field.
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let paths = [
        "/v1/audit/export?format=jsonl",
        "/v1/audit/verify",
        "/v1/audit/trial-balance",
    ];
    for path in paths {
        for (role_token, expected) in [
            (token(NETWORK_ID, Role::Auditor), 200),
            (token(NETWORK_ID, Role::Admin), 200),
            (token(&union, Role::Contributor), 403),
        ] {
            let response = server
                .client
                .get(server.url(path))
                .bearer_auth(&role_token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), expected, "{path}");
        }
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{path}");
    }
    let auditor = token(NETWORK_ID, Role::Auditor);
    for (query, field) in [
        ("", "format"),
        ("format=xml", "format"),
        ("format=csv&from_sequence=0", "from_sequence"),
        ("format=csv&from_sequence=x", "from_sequence"),
        ("format=csv&to_sequence=-1", "to_sequence"),
        ("format=csv&from_sequence=5&to_sequence=4", "to_sequence"),
    ] {
        let (status, problem) = server
            .get(&format!("/v1/audit/export?{query}"), &auditor)
            .await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["code"], "validation_failed");
        assert!(problem.to_string().contains(field), "{query}: {problem}");
    }
    let (status, problem) = server
        .get("/v1/audit/trial-balance?at=yesterday", &auditor)
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["field"], "at");
}
