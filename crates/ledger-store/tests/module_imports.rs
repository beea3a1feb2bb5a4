//! The store's modules import one another one way only: no module imports a module that imports
//! it back, directly or through others (issue 16: rows.rs and writer.rs used to).

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn no_module_of_the_store_imports_one_that_imports_it_back() {
    // Proves the layering of crates/ledger-store/src (see its lib.rs): it fails naming the
    // modules of any circle, such as `rows` importing `writer::StoredResponse` while the writer
    // imports `rows`.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let circles = ledger_testkit::imports::import_circles(&src).unwrap();
    assert!(
        circles.is_empty(),
        "modules importing each other: {circles:?}"
    );
}
