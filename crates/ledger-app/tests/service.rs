//! Readiness, on SQLite and PostgreSQL alike: ready only once every migration is applied, and
//! `not_ready` (unavailable) saying why otherwise.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_app::{App, Refusal, Sources};
use ledger_core::limits::ContributionLimits;
use ledger_store::{Store, StoreOptions};

async fn ready_only_when_migrated_and_answering(url: &str) {
    // Proves the three answers of readiness: not migrated, ready, and a database that does not
    // answer, the last two unavailable with their own detail.
    let store = Store::connect(url, StoreOptions::default()).await.unwrap();
    let app = App::new(
        store.clone(),
        Sources::default(),
        ContributionLimits::default(),
    );
    let unmigrated = app.ready().await.unwrap_err();
    assert_eq!(unmigrated.refusal, Refusal::Unavailable);
    assert_eq!(unmigrated.code, "not_ready");
    assert_eq!(unmigrated.detail, "the database is not migrated");
    store.migrate().await.unwrap();
    app.ready().await.unwrap();
    store.close().await;
    let closed = app.ready().await.unwrap_err();
    assert_eq!(closed.refusal, Refusal::Unavailable);
    assert_eq!(closed.detail, "the database does not answer");
}

#[tokio::test]
async fn sqlite_is_ready_only_when_migrated_and_answering() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    ready_only_when_migrated_and_answering(&url).await;
}

#[tokio::test]
async fn postgres_is_ready_only_when_migrated_and_answering() {
    let database = ledger_testkit::postgres_database().await;
    ready_only_when_migrated_and_answering(&database.url).await;
}
