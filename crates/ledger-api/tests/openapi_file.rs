//! `openapi/openapi.yaml` is the document the code serves: this test fails when they differ.
//! Regenerate the file with `UPDATE_OPENAPI=1 cargo test -p ledger-api --test openapi_file`.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

#[test]
fn the_committed_openapi_file_matches_the_code() {
    // Proves partners reading openapi/openapi.yaml read what the service implements.
    let generated = ledger_api::openapi_document().to_yaml().unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.yaml");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.yaml is out of date; run UPDATE_OPENAPI=1 cargo test -p ledger-api --test openapi_file"
    );
}
