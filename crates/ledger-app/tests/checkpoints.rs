//! The checkpoint signer and the public checkpoint reads of the application, on SQLite and
//! PostgreSQL alike: a checkpoint is signed at the application's (injected) time, once per head,
//! and read back by the public reads.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ledger_app::checkpoints::{self, CheckpointSigner, CheckpointsQuery};
use ledger_app::clock::{FixedClock, SequentialIds};
use ledger_app::{App, Refusal, Sources};
use ledger_core::checkpoint::{SigningKey, key_id};
use ledger_core::limits::ContributionLimits;
use ledger_store::{Store, StoreOptions};

async fn signs_at_the_applications_time_once_per_head(store: Store) {
    // Proves the signer takes its time from the application's clock (not the system's), signs a
    // head once, and that the public reads answer what it stored (404s before and without one).
    let instant = DateTime::parse_from_rfc3339("2031-05-04T03:02:01.999Z")
        .unwrap()
        .with_timezone(&Utc);
    let sources = Sources::new(
        Arc::new(FixedClock(instant)),
        Arc::new(SequentialIds::new(9)),
    );
    let app = App::new(store, sources, ContributionLimits::default());
    let unsigned = checkpoints::latest(&app).await.unwrap_err();
    assert_eq!(unsigned.refusal, Refusal::NotFound);
    assert_eq!(
        checkpoints::public_key(app.checkpoints.as_ref())
            .unwrap_err()
            .refusal,
        Refusal::NotFound
    );

    let key = SigningKey::from_bytes(&[5; 32]);
    let app = app.with_checkpoint_signer(Some(CheckpointSigner::new(key.clone())));
    let signer = app.checkpoints.clone().unwrap();
    let signed = signer.sign_head(&app).await.unwrap().unwrap();
    assert_eq!(signed.signed_at, "2031-05-04T03:02:01Z");
    assert_eq!(signed.sequence, 0);
    assert!(signer.sign_head(&app).await.unwrap().is_none());

    let latest = checkpoints::latest(&app).await.unwrap();
    assert_eq!(latest.signed_at, "2031-05-04T03:02:01Z");
    assert_eq!(latest.key_id, key_id(&key.verifying_key()));
    let page = checkpoints::list(
        &app,
        &CheckpointsQuery {
            after_sequence: None,
            limit: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(page.checkpoints.len(), 1);
    assert_eq!(page.next_after_sequence, None);
    let public = checkpoints::public_key(app.checkpoints.as_ref()).unwrap();
    assert_eq!(public.key_id, latest.key_id);
}

#[tokio::test]
async fn sqlite_signs_at_the_applications_time_once_per_head() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    signs_at_the_applications_time_once_per_head(store).await;
}

#[tokio::test]
async fn postgres_signs_at_the_applications_time_once_per_head() {
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    signs_at_the_applications_time_once_per_head(store).await;
}
