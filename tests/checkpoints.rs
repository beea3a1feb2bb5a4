//! End-to-end: signed checkpoints over HTTP, on SQLite and PostgreSQL — public without sign-in,
//! signed with the service's key, the head signed at once after a transfer run execution and on
//! the schedule only when it moved, a paged history, the chain links between two heads, bad
//! parameters refused by name; and `solidarity-ledger witness` following the real service.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use ledger_core::checkpoint::{
    ChainLink, Checkpoint, EMPTY_HEAD, check_extension, key_id, public_key_hex,
};
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::southern::{burkina_paid_for_september, fund, store};
use support::{TestServer, checkpoint_key};

on_both_engines!(
    checkpoints_are_public_signed_and_follow_run_executions,
    checkpoint_parameters_are_checked_by_name,
    the_witness_follows_the_real_service,
    statements_and_tracing_carry_the_checkpoint_they_were_read_at,
    receipts_carry_the_checkpoint_they_were_computed_at,
    exports_name_the_checkpoint_they_can_be_verified_against,
);

/// GETs without any credentials.
async fn public_get(server: &TestServer, path: &str) -> (u16, Value) {
    let response = server.client.get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The latest checkpoint, once there is one (the service signs its head when it starts).
async fn latest(server: &TestServer) -> Checkpoint {
    for _ in 0..100 {
        let (status, body) = public_get(server, "/v1/checkpoints/latest").await;
        if status == 200 {
            let checkpoint: Checkpoint = serde_json::from_value(body).unwrap();
            checkpoint
                .verify(&checkpoint_key().verifying_key())
                .unwrap();
            return checkpoint;
        }
        assert_eq!(status, 404, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint was signed");
}

async fn checkpoints_are_public_signed_and_follow_run_executions(server: TestServer) {
    // Proves the key and checkpoints are served without sign-in, each checkpoint verifies with the
    // published key and names the journal's hash, an execution's head is signed at once (the
    // schedule's next turn is an hour away), and history pages and links connect the heads.
    let (status, key) = public_get(&server, "/v1/checkpoints/public-key").await;
    assert_eq!(status, 200, "{key}");
    let public = checkpoint_key().verifying_key();
    assert_eq!(key["public_key"], public_key_hex(&public));
    assert_eq!(key["key_id"], key_id(&public));
    assert_eq!(key["algorithm"], "Ed25519");
    let first = latest(&server).await;
    assert_eq!(first.key_id, key_id(&public));

    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let ledger = store(&server).await;
    let head = ledger.chain_head().await.unwrap();
    assert!(head.0 > first.sequence);
    let after_execution = latest(&server).await;
    assert_eq!(
        after_execution.head(),
        head,
        "the execution's head is signed"
    );

    let (status, page) = public_get(&server, "/v1/checkpoints?limit=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["checkpoints"].as_array().unwrap().len(), 1);
    assert_eq!(page["checkpoints"][0]["sequence"], first.sequence);
    assert_eq!(page["next_after_sequence"], first.sequence);
    let (status, rest) = public_get(
        &server,
        &format!("/v1/checkpoints?after_sequence={}", first.sequence),
    )
    .await;
    assert_eq!(status, 200, "{rest}");
    let rest: Vec<Checkpoint> = serde_json::from_value(rest["checkpoints"].clone()).unwrap();
    assert_eq!(rest, vec![after_execution.clone()]);

    let (status, segment) = public_get(
        &server,
        &format!(
            "/v1/checkpoints/consistency?from_sequence={}&to_sequence={}",
            first.sequence, after_execution.sequence
        ),
    )
    .await;
    assert_eq!(status, 200, "{segment}");
    let links: Vec<ChainLink> = serde_json::from_value(segment["links"].clone()).unwrap();
    assert_eq!(
        check_extension(first.head(), after_execution.head(), &links),
        Ok(())
    );
    if first.sequence == 0 {
        assert_eq!(first.head(), EMPTY_HEAD);
    }
}

async fn checkpoint_parameters_are_checked_by_name(server: TestServer) {
    // Proves bad paging and segment parameters are 422 problems naming the field.
    latest(&server).await;
    for (path, field) in [
        ("/v1/checkpoints?limit=0", "limit"),
        ("/v1/checkpoints?limit=1001", "limit"),
        ("/v1/checkpoints?after_sequence=-1", "after_sequence"),
        ("/v1/checkpoints?after_sequence=%2B1", "after_sequence"),
        ("/v1/checkpoints/consistency?to_sequence=0", "from_sequence"),
        ("/v1/checkpoints/consistency?from_sequence=0", "to_sequence"),
        (
            "/v1/checkpoints/consistency?from_sequence=1&to_sequence=0",
            "to_sequence",
        ),
        (
            "/v1/checkpoints/consistency?from_sequence=0&to_sequence=10001",
            "to_sequence",
        ),
        (
            "/v1/checkpoints/consistency?from_sequence=0&to_sequence=1",
            "to_sequence",
        ),
        (
            "/v1/checkpoints/consistency?from_sequence=x&to_sequence=0",
            "from_sequence",
        ),
    ] {
        let (status, problem) = public_get(&server, path).await;
        assert_eq!(status, 422, "{path}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    let (status, empty) = public_get(
        &server,
        "/v1/checkpoints/consistency?from_sequence=0&to_sequence=0",
    )
    .await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty["links"], json!([]));
}

async fn statements_and_tracing_carry_the_checkpoint_they_were_read_at(server: TestServer) {
    // Proves a statement and both tracing answers name the latest checkpoint when they were read,
    // in the checkpoint's own JSON form, so a partner can tie them to a head it keeps.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let head = latest(&server).await;
    let expected = serde_json::to_value(&head).unwrap();
    for path in [
        format!("/v1/organisations/{}/statement?currency=EUR", fund.burkina),
        format!("/v1/tracing/contributors/{}", fund.csq),
        format!("/v1/tracing/beneficiaries/{}", fund.burkina),
    ] {
        let (status, view) = server.get(&path, &fund.admin).await;
        assert_eq!(status, 200, "{path}: {view}");
        assert_eq!(view["checkpoint"], expected, "{path}: {view}");
    }
}

async fn receipts_carry_the_checkpoint_they_were_computed_at(server: TestServer) {
    // Proves recording a receipt answers the latest checkpoint when it was computed (and a replay
    // the same answer), and reading the batch with its receipts names the latest checkpoint when
    // it was read, each in the checkpoint's own JSON form.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let head = latest(&server).await;
    let expected = serde_json::to_value(&head).unwrap();
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &support::token(&fund.mgen, ledger_api::auth::Role::Contributor),
            "batch-receipt-checkpoint",
            &json!({"programme_id": fund.programme, "period": "2026-10", "lines": [
                {"reference": "all", "members": 10, "amount": "10.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let receipts = format!(
        "/v1/contribution-batches/{}/receipts",
        batch["id"].as_str().unwrap()
    );
    let body = json!({"amount": "10.00", "value_date": "2026-10-05", "bank_reference": "CAMT-1"});
    let (status, receipt) = server
        .post(&receipts, &fund.admin, "receipt-checkpoint", &body)
        .await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["checkpoint"], expected, "{receipt}");
    assert!(receipt["transaction_id"].is_string(), "{receipt}");
    let (status, replayed) = server
        .post(&receipts, &fund.admin, "receipt-checkpoint", &body)
        .await;
    assert_eq!((status, &replayed), (201, &receipt));
    let (status, read) = server
        .get(
            &format!("/v1/contribution-batches/{}", batch["id"].as_str().unwrap()),
            &fund.admin,
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["checkpoint"], expected, "{read}");
    assert_eq!(read["receipts"][0]["id"], receipt["id"], "{read}");
}

/// `solidarity-ledger verify --file FILE --checkpoint CHECKPOINT`: exit status and output.
fn verify_against(file: &std::path::Path, checkpoint: &std::path::Path) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
        .args(["verify", "--file"])
        .arg(file)
        .arg("--checkpoint")
        .arg(checkpoint)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

async fn exports_name_the_checkpoint_they_can_be_verified_against(server: TestServer) {
    // Proves an export names the signed checkpoint it can be verified against: over HTTP in the
    // `Ledger-Checkpoint` header (the latest at or before the export's end; an earlier one for a
    // range that ends before it), from the CLI in `<file>.checkpoint.json`; and that each file
    // verifies against the checkpoint it names.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let head = latest(&server).await;
    assert!(head.sequence > 2, "{head:?}");
    let expected = serde_json::to_value(&head).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let export = |query: &str| {
        server
            .client
            .get(server.url(&format!("/v1/audit/export?{query}")))
            .bearer_auth(&fund.admin)
            .send()
    };
    let response = export("format=jsonl").await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let named: Value =
        serde_json::from_str(response.headers()["ledger-checkpoint"].to_str().unwrap()).unwrap();
    assert_eq!(named, expected);
    let file = directory.path().join("journal.jsonl");
    std::fs::write(&file, response.bytes().await.unwrap()).unwrap();
    let checkpoint = directory.path().join("checkpoint.json");
    std::fs::write(&checkpoint, named.to_string()).unwrap();
    let (code, output) = verify_against(&file, &checkpoint);
    assert_eq!(code, 0, "{output}");
    // The JSONL export names its accounts (SLJ2); both verifiers say the signature does not
    // cover them.
    assert!(
        output.contains(ledger_verify::verifier::CHECKPOINT_LEAVES_ACCOUNTS),
        "{output}"
    );
    let python = std::process::Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
        .arg(&file)
        .arg("--checkpoint")
        .arg(&checkpoint)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&python.stdout);
    assert_eq!(python.status.code(), Some(0), "{said}");
    assert!(
        said.contains(ledger_verify::verifier::CHECKPOINT_LEAVES_ACCOUNTS),
        "{said}"
    );
    // A range that ends before the latest head names an earlier checkpoint, within the range.
    let end = head.sequence - 1;
    let response = export(&format!("format=csv&to_sequence={end}"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    if let Some(earlier) = response.headers().get("ledger-checkpoint") {
        let earlier: Value = serde_json::from_str(earlier.to_str().unwrap()).unwrap();
        assert!(earlier["sequence"].as_u64().unwrap() <= end, "{earlier}");
    }
    // The CLI writes the checkpoint beside the file.
    let file = directory.path().join("journal.csv");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
        .args(["export", "--format", "csv", "--output"])
        .arg(&file)
        .env("DATABASE_URL", &server.database_url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let beside = directory.path().join("journal.csv.checkpoint.json");
    let written: Value = serde_json::from_slice(&std::fs::read(&beside).unwrap()).unwrap();
    assert_eq!(written, expected);
    let (code, output) = verify_against(&file, &beside);
    assert_eq!(code, 0, "{output}");
}

async fn witness(url: &str, store: &std::path::Path) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
        .args(["witness", "--url", url, "--store"])
        .arg(store)
        .output()
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap(), printed)
}

async fn the_witness_follows_the_real_service(server: TestServer) {
    // Proves the witness and the service agree on the format and the segment: a first head kept,
    // then the head after a run execution accepted as its extension.
    let first = latest(&server).await;
    let store = tempfile::tempdir().unwrap();
    let (code, printed) = witness(&server.base_url, store.path()).await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains(&format!("first head kept: sequence {}", first.sequence)),
        "{printed}"
    );
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let head = latest(&server).await;
    let (code, printed) = witness(&server.base_url, store.path()).await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains(&format!("ok: head at sequence {}", head.sequence)),
        "{printed}"
    );
}

/// The schedule, on each engine: a server signing every second.
mod schedule {
    use super::*;

    async fn the_schedule_signs_only_when_the_head_moved(server: TestServer) {
        // Proves the schedule signs a moved head by itself, and signs nothing while it stands.
        let first = latest(&server).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (_, page) = public_get(&server, "/v1/checkpoints").await;
        assert_eq!(page["checkpoints"].as_array().unwrap().len(), 1, "{page}");
        let fund = fund(&server).await;
        let (status, deposit) = server
            .post(
                "/v1/fee-coverage/deposits",
                &fund.admin,
                "coverage-schedule",
                &json!({"amount": "10.00", "reference": "sponsor"}),
            )
            .await;
        assert_eq!(status, 201, "{deposit}");
        let head = store(&server).await.chain_head().await.unwrap();
        assert!(head.0 > first.sequence);
        for _ in 0..100 {
            if latest(&server).await.head() == head {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the schedule did not sign the moved head {head:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        the_schedule_signs_only_when_the_head_moved(
            support::sqlite_server_signing_every(Duration::from_secs(1)).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        the_schedule_signs_only_when_the_head_moved(
            support::postgres_server_signing_every(Duration::from_secs(1)).await,
        )
        .await;
    }
}
