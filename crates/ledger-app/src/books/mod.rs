//! The books themselves, for auditors and the network: accounts and the journal
//! ([`accounts`]), the export, the verification and the trial balance ([`audit`]), an uploaded
//! export verified ([`export_check`]).

pub mod accounts;
pub mod audit;
pub mod export_check;

use serde::Serialize;
use utoipa::ToSchema;

/// Which transactions a balance or a trial balance covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BalanceBasis {
    /// Transactions by the moment they were recorded (`at`, or everything recorded so far).
    RecordedAt,
    /// Transactions by their accounting (effective) date (`as_of`).
    EffectiveDate,
}
