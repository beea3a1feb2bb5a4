//! End-to-end: an `SLJ2` export names its accounts (issue 22.4), on SQLite and PostgreSQL — the
//! JSONL export streamed by the service and the one written by `solidarity-ledger export` carry
//! every account of the chart in their end record (id, code, name, kind, currency, owner), each
//! posting's account among them, and both verifiers check the section; the CSV export carries
//! the same section as rows, under the same section hash.

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
    the_jsonl_export_names_every_account_of_its_postings,
    the_csv_export_names_the_same_accounts_under_the_same_hash,
);

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

async fn the_jsonl_export_names_every_account_of_its_postings(server: TestServer) {
    // Proves the service's JSONL export ends with an SLJ2 accounts section naming, with code,
    // name, kind, currency and owner, every account its postings use (the contributor's own
    // accounts owned by it), and that both verifiers check it and say so.
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(&union, Role::Contributor),
            "batch-accounts",
            &json!({
                "programme_id": programme,
                "period": "2026-03",
                "lines": [{"reference": "section", "members": 10, "amount": "10.00", "kind": "solidarity"}]
            }),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let auditor = token(NETWORK_ID, Role::Auditor);
    let bytes = server
        .client
        .get(server.url("/v1/audit/export?format=jsonl"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (end, records) = lines.split_last().unwrap();
    let end = &end["export_end"];
    assert_eq!(end["encoding"], "SLJ2", "{end}");
    assert_eq!(end["accounts_hash"].as_str().unwrap().len(), 64);
    let accounts = end["accounts"].as_array().unwrap();
    let mut owned_by_union = 0;
    for record in records {
        for posting in record["postings"].as_array().unwrap() {
            let account = accounts
                .iter()
                .find(|account| account["id"] == posting["account_id"])
                .unwrap_or_else(|| panic!("{posting} names no account of {end}"));
            assert_eq!(account["currency"], posting["currency"]);
            assert!(!account["code"].as_str().unwrap().is_empty());
            assert!(!account["name"].as_str().unwrap().is_empty());
            assert!(!account["kind"].as_str().unwrap().is_empty());
            owned_by_union += usize::from(account["owner"] == union.as_str());
        }
    }
    assert!(owned_by_union > 0, "no posting on the union's own accounts");
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("journal.jsonl");
    std::fs::write(&file, &bytes).unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py");
    for mut command in [Command::new(BINARY), Command::new("python3")] {
        if command.get_program() == "python3" {
            command.arg(&python);
        } else {
            command.args(["verify", "--file"]);
        }
        let output = command.arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "accounts section (SLJ2): {} accounts",
                accounts.len()
            )) && stdout.contains(&format!(
                "{0} of {0} ids derived from their codes",
                accounts.len()
            )),
            "{stdout}"
        );
    }
}

/// Runs both verifiers on `file` with `arguments`: (exit status, stdout) of Rust, then Python.
fn verify_both(file: &Path, arguments: &[&str]) -> [(i32, String); 2] {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py");
    let run = |mut command: Command| {
        let output = command.arg(file).args(arguments).output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let mut rust = Command::new(BINARY);
    rust.args(["verify", "--file"]);
    let mut python_command = Command::new("python3");
    python_command.arg(&python);
    [run(rust), run(python_command)]
}

async fn the_csv_export_names_the_same_accounts_under_the_same_hash(server: TestServer) {
    // Proves the service's CSV export is SLJ2: its accounts section (account rows, then the
    // `accounts` row) names as many accounts as the JSONL export of the same journal under the
    // same section hash (one definition of the hashed bytes for both formats); both verifiers
    // pass it with --expect-accounts and refuse it once the section's rows are deleted.
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(&union, Role::Contributor),
            "batch-accounts-csv",
            &json!({
                "programme_id": programme,
                "period": "2026-03",
                "lines": [{"reference": "section", "members": 10, "amount": "10.00", "kind": "solidarity"}]
            }),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let auditor = token(NETWORK_ID, Role::Auditor);
    let download = |format: &'static str| {
        let request = server
            .client
            .get(server.url(&format!("/v1/audit/export?format={format}")))
            .bearer_auth(&auditor);
        async move { request.send().await.unwrap().bytes().await.unwrap() }
    };
    let jsonl = String::from_utf8(download("jsonl").await.to_vec()).unwrap();
    let end: Value = serde_json::from_str(jsonl.lines().last().unwrap()).unwrap();
    let jsonl_hash = end["export_end"]["accounts_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let accounts_count = end["export_end"]["accounts"].as_array().unwrap().len();
    let csv = download("csv").await.to_vec();
    let text = String::from_utf8(csv.clone()).unwrap();
    let rows: Vec<&str> = text.split_inclusive("\r\n").collect();
    let account_rows = rows
        .iter()
        .filter(|row| row.starts_with("account,"))
        .count();
    let closing: Vec<&&str> = rows
        .iter()
        .filter(|row| row.starts_with("accounts,"))
        .collect();
    assert_eq!(account_rows, accounts_count, "{text}");
    assert_eq!(closing.len(), 1, "{text}");
    assert!(
        closing[0].starts_with("accounts,,,SLJ2,") && closing[0].trim_end().ends_with(&jsonl_hash),
        "the CSV section's hash must be the JSONL one, {jsonl_hash}: {}",
        closing[0]
    );
    assert!(rows.last().unwrap().starts_with("end,"), "{text}");

    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("journal.csv");
    std::fs::write(&file, &csv).unwrap();
    for (code, output) in verify_both(&file, &["--expect-accounts"]) {
        assert_eq!(code, 0, "{output}");
        assert!(
            output.contains(&format!(
                "accounts section (SLJ2): {accounts_count} accounts"
            )),
            "{output}"
        );
    }
    let stripped: String = rows
        .iter()
        .filter(|row| !row.starts_with("account,") && !row.starts_with("accounts,"))
        .copied()
        .collect();
    let file = directory.path().join("stripped.csv");
    std::fs::write(&file, stripped).unwrap();
    for (code, output) in verify_both(&file, &[]) {
        assert_eq!(code, 0, "a stripped file reads as SLJ1: {output}");
    }
    for (code, output) in verify_both(&file, &["--expect-accounts"]) {
        assert_eq!(code, 1, "{output}");
        assert!(output.contains("no accounts section"), "{output}");
    }
}
