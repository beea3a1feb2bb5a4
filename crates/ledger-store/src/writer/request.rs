//! What a caller asks the writer for, and what became of it.

use chrono::{DateTime, Utc};
use ledger_core::{AccountId, BalancedTransaction, ChainHash, TransactionId};
use uuid::Uuid;

use crate::idempotency::{IdempotencyEntry, StoredResponse};
use crate::records::Record;

/// One unit of work: transactions to append, an optional idempotency record and balance guards,
/// committed together or not at all.
#[derive(Debug, Clone, Default)]
pub struct WriteRequest {
    /// Appended in this order, with consecutive sequence numbers within the request.
    pub transactions: Vec<BalancedTransaction>,
    /// Stored with the effect; if the key was already used in its scope, nothing is written and the
    /// outcome is [`WriteOutcome::Replayed`] or [`WriteOutcome::IdempotencyConflict`].
    pub idempotency: Option<IdempotencyEntry>,
    /// Bounds the accounts' balances must respect after this request's transactions.
    pub guards: Vec<BalanceGuard>,
    /// Domain rows written with the transactions.
    pub records: Vec<Record>,
    /// The API key the request was made with, when its liveness was not read before planning
    /// (a key this instance knew already): checked by the writer inside the write's own
    /// transaction, so a key revoked (or expired, or whose creator was disabled) on any instance
    /// sharing the database refuses the write with [`WriteOutcome::KeyRefused`].
    pub key: Option<KeyGuard>,
}

/// An API key that must still be live when its request commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGuard {
    pub key_id: Uuid,
    /// The request's time: a key whose `expires_at` is at or before it is refused.
    pub at: DateTime<Utc>,
}

/// What the writer reads of a guarded key, in the write's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct KeyState {
    pub(crate) id: Uuid,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) creator_disabled_at: Option<DateTime<Utc>>,
}

impl KeyState {
    /// Whether the key may act at `at`: not revoked, not expired, its creator not disabled.
    pub(crate) fn is_live(&self, at: DateTime<Utc>) -> bool {
        self.revoked_at.is_none()
            && self.creator_disabled_at.is_none()
            && self.expires_at.is_none_or(|expires_at| expires_at > at)
    }
}

impl WriteRequest {
    /// A request that appends one transaction.
    pub fn transaction(transaction: BalancedTransaction) -> WriteRequest {
        WriteRequest {
            transactions: vec![transaction],
            ..WriteRequest::default()
        }
    }

    /// How many rows the request writes, as far as group size is concerned.
    pub(super) fn rows_count(&self) -> usize {
        let postings: usize = self
            .transactions
            .iter()
            .map(|transaction| transaction.postings().len())
            .sum();
        let lines: usize = self
            .records
            .iter()
            .map(|record| match record {
                Record::ContributionBatch(batch) => batch.lines.len(),
                _ => 1,
            })
            .sum();
        postings + lines
    }
}

use ledger_core::postings::BalanceGuard;

/// Where a committed transaction sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedTransaction {
    pub transaction_id: TransactionId,
    pub sequence: u64,
    pub hash: ChainHash,
}

/// What became of a write request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// Written and durable.
    Committed(Vec<CommittedTransaction>),
    /// The key was used before with the same request: here is the first response; nothing written.
    Replayed(StoredResponse),
    /// The key was used before with another request; nothing written.
    IdempotencyConflict,
    /// A guard did not hold; nothing written.
    GuardFailed {
        account_id: AccountId,
        balance_minor: i64,
    },
    /// The request's API key ([`WriteRequest::key`]) was no longer live; nothing written.
    KeyRefused,
}
