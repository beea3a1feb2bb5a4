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

#[test]
fn every_schema_the_document_refers_to_is_in_it() {
    // Proves no `$ref` of the served document points at a schema it does not define (a type used
    // only as a parameter must still be registered as a component).
    let document = serde_json::to_value(ledger_api::openapi_document()).unwrap();
    let defined = document["components"]["schemas"].as_object().unwrap();
    let mut missing = Vec::new();
    let mut stack = vec![&document];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(reference)) = map.get("$ref")
                    && let Some(name) = reference.strip_prefix("#/components/schemas/")
                    && !defined.contains_key(name)
                {
                    missing.push(reference.clone());
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    assert!(missing.is_empty(), "undefined schemas: {missing:?}");
}
