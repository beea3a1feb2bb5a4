//! Offline verification of auditors' export files (`docs/hash-chain.md`, "Reading a file: one
//! reading"): what `solidarity-ledger verify --file` runs, with no database and no network. The
//! format itself (its encoding, the writer the service uses, the one spelling of each value) is
//! `ledger_core::export`'s; this crate reads whole files back and checks them.
//!
//! Layers, each using only those listed before it: [`verifier`] (the checks, in file order),
//! [`jsonl_scan`] and [`csv_scan`] (fast readers of files as the ledger writes them, and the strict
//! CSV row reader), [`csv_rows`] (CSV rows grouped into transactions), `blocks` (the fast readers
//! on every core), [`file`] (a file on disk: the fast path, else the general reader).

mod blocks;
pub mod csv_rows;
pub mod csv_scan;
pub mod file;
pub mod jsonl_scan;
pub mod verifier;

#[cfg(test)]
mod test_journal;

pub use file::{ReadError, VerifyOptions, format_of, verify_bytes, verify_file, verify_file_with};
pub use verifier::{CurrencyTotals, ExportSummary, ExportVerifier, FileProblem, HeadMismatch};
