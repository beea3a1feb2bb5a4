//! The application layer of the solidarity ledger. Every operation a door offers (the HTTP API,
//! the demo, web pages, imported files) is one command or query here, run by one runner with one
//! policy table, so every door runs the same rules:
//!
//! - [`policy`]: who may run what;
//! - [`runner`]: require → replay → plan → commit → guard refusal;
//! - [`clock`]: the injected clock and id source (no command reads the time itself);
//! - [`idempotency`]: what makes two requests the same;
//! - [`error`]: why an operation was refused;
//! - one module per resource, each holding its commands, queries and views;
//! - [`bank_statements`]: camt.053 statements imported, matched and decided;
//! - [`spreadsheets`]: batches read from CSV and `.xlsx` files into the JSON batch, and templates.
//!
//! The rules themselves (postings, conditions, limits, text) live in `ledger-core`; what is stored
//! and how, in `ledger-store`.

pub mod approvals;
pub mod bank_accounts;
pub mod bank_statements;
pub mod books;
pub mod caller;
pub mod checkpoints;
pub mod clock;
pub mod contributions;
pub mod disputes;
pub mod eligibility;
pub mod error;
pub mod fact_review;
pub mod fields;
pub mod iati;
pub mod idempotency;
pub mod lot_tracing;
pub mod money;
pub mod pagination;
pub mod payment_files;
pub mod payments;
pub mod people;
pub mod policy;
pub mod public;
pub mod registry;
pub mod reports;
pub mod runner;
pub mod service;
pub mod spreadsheets;
pub mod statements;
pub mod transfers;

pub use caller::{Caller, Role, Via};
pub use clock::Sources;
pub use error::{AppError, FieldError, Refusal};
pub use idempotency::IdempotencyKey;
pub use policy::Operation;
pub use runner::{Action, Command, Planned, Query, Reply, Status};

use ledger_core::limits::ContributionLimits;
use ledger_store::Store;

/// The application: the store, the clock and id source, the configured limits and rules, and
/// the checkpoint signer.
#[derive(Debug, Clone)]
pub struct App {
    pub store: Store,
    pub sources: Sources,
    pub limits: ContributionLimits,
    /// How many admins an operation of [`approvals::FOUR_EYES`] needs: 2 (the default: a proposer
    /// and another admin who approves), or 1 for a one-person test setup.
    pub approvals_required: u8,
    /// The approval an operation runs under, when it runs because a second admin approved it: it
    /// is written into the metadata of every transaction the operation books.
    pub approval: Option<approvals::Approval>,
    /// Signs checkpoints of the chain head, when this service does.
    pub checkpoints: Option<checkpoints::CheckpointSigner>,
    /// The API keys this instance has read (never trusted to be live: see
    /// [`people::authenticate`]).
    pub keys: people::authenticate::KeyCache,
    /// The bank account contributors pay into, as configured: used while the books record none for
    /// the network (read it through [`payments::collection_account`], the one rule).
    pub collection_account: Option<payments::CollectionAccount>,
    /// The network's recorded account as this instance last read it, for batches' payment
    /// instructions ([`payments::collection_account_for_batches`]).
    pub collection_accounts: payments::CollectionAccountCache,
    /// The network's IATI organisation identifier as configured (checked by
    /// `ledger_core::iati::checked_organisation_identifier`), used while the network organisation
    /// records none ([`iati`]).
    pub iati_organisation_identifier: Option<String>,
}

impl App {
    pub fn new(store: Store, sources: Sources, limits: ContributionLimits) -> App {
        App {
            store,
            sources,
            limits,
            approvals_required: approvals::DEFAULT_APPROVALS_REQUIRED,
            approval: None,
            checkpoints: None,
            keys: people::authenticate::KeyCache::default(),
            collection_accounts: payments::CollectionAccountCache::default(),
            collection_account: None,
            iati_organisation_identifier: None,
        }
    }

    /// The same application, publishing IATI files under the network's `identifier`.
    pub fn with_iati_organisation_identifier(self, identifier: Option<String>) -> App {
        App {
            iati_organisation_identifier: identifier,
            ..self
        }
    }

    /// The same application, with contributors paying into `account`.
    pub fn with_collection_account(self, account: Option<payments::CollectionAccount>) -> App {
        App {
            collection_account: account,
            ..self
        }
    }

    /// The same application, signing checkpoints with `signer` (none: it signs none).
    pub fn with_checkpoint_signer(self, signer: Option<checkpoints::CheckpointSigner>) -> App {
        App {
            checkpoints: signer,
            ..self
        }
    }

    /// The same application with another number of approvals required (1 or 2).
    pub fn with_approvals_required(mut self, approvals_required: u8) -> App {
        self.approvals_required = approvals_required.clamp(1, 2);
        self
    }
}
