//! End-to-end tests of `solidarity-ledger demo` on SQLite and PostgreSQL: it fills an empty database
//! with a year of the fund through the API's own code, prints where each contributor's euros are
//! (including a share held for a failing condition and money in transit), leaves a journal that
//! verifies, and refuses a database that is not empty.

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
