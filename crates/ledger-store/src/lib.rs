//! Persistence of the solidarity ledger: one interface over SQLite (the embedded default) and
//! PostgreSQL (production), with migrations embedded in the binary.
//!
//! Reads go straight to a connection pool. Every write goes through the [`writer`]: a task that
//! groups queued write requests into one database transaction (group commit), serialised across
//! processes by the chain-head lock, while each request keeps its own outcome.
//!
//! The modules, lowest first (none imports a module that imports it back): `error`, `backend` (the
//! two engines), `rows` (row types and column conversions), `idempotency` (stored keys),
//! `records` and `hot_rows` (domain rows written with the journal), `memo`, `lots` (the lot
//! book), [`writer`] (the group commit, one file per engine), `store` (the [`Store`] handle:
//! opening, migrating, writing), then the reads of each topic as `impl Store` blocks: `accounts`,
//! `journal`, `verify`, [`audit`], [`checkpoints`], [`facts`], [`iati`], [`registry`], [`reports`],
//! [`transfers`], [`versions`].

mod accounts;
pub mod audit;
mod backend;
pub mod bank_statements;
pub mod checkpoints;
mod error;
pub mod facts;
mod hot_rows;
pub mod iati;
mod idempotency;
mod journal;
pub mod lots;
mod memo;
pub mod people;
pub mod proposals;
mod publication;
pub mod records;
pub mod registry;
pub mod reports;
mod rows;
mod seek;
mod store;
pub mod transfers;
mod verify;
pub mod versions;
pub mod writer;

pub use backend::BackendKind;
pub use error::StoreError;
pub use journal::{JournalPagesAhead, MAX_JOURNAL_PAGE};
pub use seek::Seek;
pub use store::{DEFAULT_CONNECT_TIMEOUT, Store, StoreOptions};
pub use verify::{BalanceMismatch, VerifyReport};
pub use writer::{
    BalanceBound, BalanceGuard, CommittedTransaction, IdempotencyEntry, KeyGuard, StoredResponse,
    WriteOutcome, WriteRequest,
};
