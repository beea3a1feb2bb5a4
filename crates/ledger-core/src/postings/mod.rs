//! The postings of every flow of `docs/accounts.md`, one named function per row: typed inputs in,
//! a balanced transaction, the accounts it opens and the balance guards it needs out. Each kind's
//! metadata is a typed struct, serialised in one place ([`entry`]). The application layer decides
//! *whether* a flow may happen and supplies the header (id, dates, actor); these functions decide
//! *what* it writes, so every door books the same flow the same way.
//!
//! | row of `docs/accounts.md` | function |
//! |---|---|
//! | Pledge | [`contributions::pledge`] |
//! | Receipt (and its overpayment) | [`contributions::receipt`] ([`contributions::ReceiptSplit`]) |
//! | Reversal (of a batch, and its refund) | [`contributions::batch_reversal`] |
//! | Fee-coverage deposit | [`transfers::fee_coverage_deposit`] |
//! | Hold | [`transfers::hold`] |
//! | Transfer (and the top-up's transfer) | [`transfers::transfer`], guards [`transfers::ExactBalances`] |
//! | Settlement | [`settlement::settlement`] |
//! | Top-up | [`settlement::top_up`] |
//! | Disputed settlement | [`settlement::resolved_settlement`], [`settlement::claim_guard`] |
//! | Return of held funds | [`settlement::held_funds_return`] |
//! | Report acceptance | [`reports::report_acceptance`] |
//! | Report reversal | [`reports::report_reversal`] |

pub mod contributions;
pub mod reports;
pub mod settlement;
pub mod transfers;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::{
    Account, AccountId, Actor, Amount, BalancedTransaction, JournalViolation, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind,
};

/// A bound on an account's balance (signed minor units, debit positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceBound {
    AtLeast(i64),
    AtMost(i64),
}

/// A condition on an account's balance after a write's transactions, checked by the store under
/// its writer's lock: if it fails, nothing is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceGuard {
    pub account_id: AccountId,
    pub bound: BalanceBound,
}

/// What every transaction takes from outside the rules: its id, its accounting date, when it is
/// recorded and who makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub id: TransactionId,
    pub effective_date: NaiveDate,
    pub recorded_at: Timestamp,
    pub actor: Actor,
}

/// One flow's booking: the balanced transaction, the accounts it opens (new per-batch or
/// per-transfer accounts; opening an existing one is harmless) and the guards it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub transaction: BalancedTransaction,
    pub opens: Vec<Account>,
    pub guards: Vec<BalanceGuard>,
}

/// A flow that cannot be booked as asked: a defect of the caller (the application checks inputs
/// first), reported with every violation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("built an invalid transaction: {0:?}")]
pub struct PostingError(pub Vec<JournalViolation>);

/// A leg: `amount` (debit positive) on `account`.
pub fn leg(account: &Account, amount: Amount) -> Posting {
    Posting {
        account_id: account.id,
        amount,
    }
}

/// Builds a balanced transaction of `kind` from its legs over `accounts`, with `metadata`
/// serialised as the journal keeps it (a JSON object, keys sorted).
pub fn entry(
    header: Header,
    kind: TransactionKind,
    memo: String,
    metadata: &impl Serialize,
    legs: Vec<Posting>,
    accounts: &[&Account],
) -> Result<BalancedTransaction, PostingError> {
    let metadata = match serde_json::to_value(metadata) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let chart: HashMap<AccountId, Account> = accounts
        .iter()
        .map(|account| (account.id, (*account).clone()))
        .collect();
    TransactionDraft {
        id: header.id,
        kind,
        effective_date: header.effective_date,
        recorded_at: header.recorded_at,
        actor: header.actor,
        memo,
        metadata,
        postings: legs,
    }
    .validate(&chart)
    .map_err(PostingError)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::OrganisationId;

    /// A header for unit tests.
    pub fn header() -> Header {
        Header {
            id: TransactionId::from_uuid(uuid::Uuid::from_u128(1)),
            effective_date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            recorded_at: Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH),
            actor: Actor {
                subject: "treasurer".to_owned(),
                organisation: Some(OrganisationId::from_uuid(uuid::Uuid::from_u128(2))),
            },
        }
    }

    /// The sum of the legs per currency is zero (what `validate` guarantees, checked again).
    pub fn assert_balanced(transaction: &BalancedTransaction) {
        let mut sums: HashMap<&str, i128> = HashMap::new();
        for posting in transaction.postings() {
            *sums.entry(posting.amount.currency().code()).or_default() +=
                i128::from(posting.amount.minor());
        }
        assert!(sums.values().all(|sum| *sum == 0), "{sums:?}");
    }
}
