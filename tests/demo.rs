//! End-to-end tests of `solidarity-ledger demo` on SQLite and PostgreSQL: it fills an empty database
//! with a year of the fund through the API's own code, prints where each contributor's euros are
//! (including a share held for a failing condition and money in transit), leaves a journal that
//! verifies, and refuses a database that is not empty. Issue 7's "done when": the demo, exported
//! and verified offline by both verifiers, agrees on the final hash, and one edited posting amount
//! is reported by both at its sequence.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

fn ledger(arguments: &[&str], data_dir: &std::path::Path, database_url: Option<&str>) -> Output {
    let mut command = Command::new(BINARY);
    command.args(arguments).arg("--data-dir").arg(data_dir);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    command.output().unwrap()
}

fn demo_fills_verifies_and_refuses_a_second_run(database_url: Option<&str>) {
    let directory = tempfile::tempdir().unwrap();
    let demo = ledger(&["demo"], directory.path(), database_url);
    let printed = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    for contributor in [
        "csq:",
        "mgen:",
        "teachers-federation-health:",
        "lararforsakringar:",
    ] {
        assert!(
            printed.contains(contributor),
            "{contributor} missing from\n{printed}"
        );
    }
    assert!(printed.contains("premium subsidy"), "{printed}");
    assert!(
        printed.contains("(failing: public_cofinancing)"),
        "{printed}"
    );
    assert!(printed.contains("1500000.00 EUR received"), "{printed}");
    // The partners change: a covered-members version, a rule version, a bank change, facts decided.
    assert!(
        printed.contains("partners: MESP covers 32000 members"),
        "{printed}"
    );
    assert!(
        !printed.contains(" 0.00 in transit, 0.00 with"),
        "{printed}"
    );
    let verify = ledger(&["verify"], directory.path(), database_url);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let again = ledger(&["demo"], directory.path(), database_url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("only fills an empty database"));
}

#[test]
fn the_demo_on_sqlite() {
    // Proves the README's demo command on the embedded database.
    demo_fills_verifies_and_refuses_a_second_run(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_on_postgres() {
    // Proves the same on PostgreSQL.
    let database = ledger_testkit::postgres_database().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || demo_fills_verifies_and_refuses_a_second_run(Some(&url)))
        .await
        .unwrap();
}

fn final_hash(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("final hash: "))
        .unwrap_or_else(|| {
            panic!(
                "no final hash in {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
        .to_owned()
}

fn python_verify(file: &std::path::Path) -> Output {
    Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn the_demo_exports_and_both_verifiers_agree_and_catch_an_edited_amount() {
    // Proves issue 7's walk-through: demo, export, verify --file in Rust and Python agree on the
    // final hash; changing one posting's amount in the file makes both name that sequence.
    let directory = tempfile::tempdir().unwrap();
    assert!(ledger(&["demo"], directory.path(), None).status.success());
    let file = directory.path().join("books.jsonl");
    let export = ledger(
        &[
            "export",
            "--format",
            "jsonl",
            "--output",
            file.to_str().unwrap(),
        ],
        directory.path(),
        None,
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let rust = Command::new(BINARY)
        .args(["verify", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    let python = python_verify(&file);
    assert!(rust.status.success() && python.status.success());
    assert_eq!(final_hash(&rust), final_hash(&python));

    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut record: serde_json::Value = serde_json::from_str(&lines[9]).unwrap();
    assert_eq!(record["sequence"], 10);
    let amount = record["postings"][0]["amount_minor"].as_i64().unwrap();
    record["postings"][0]["amount_minor"] = (amount + 1).into();
    lines[9] = serde_json::to_string(&record).unwrap();
    let edited = directory.path().join("edited.jsonl");
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let rust = Command::new(BINARY)
        .args(["verify", "--file"])
        .arg(&edited)
        .output()
        .unwrap();
    let python = python_verify(&edited);
    for output in [&rust, &python] {
        assert_eq!(output.status.code(), Some(1));
        let said = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("sequence 10"), "{said}");
    }
}
