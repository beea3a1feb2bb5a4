//! What a caller asks the writer for, and what became of it.

use ledger_core::{AccountId, BalancedTransaction, ChainHash, TransactionId};

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
}
