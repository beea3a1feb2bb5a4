//! Verification of the books from the database: the whole chain recomputed, and every stored
//! balance compared with the sum of its postings.

use std::collections::HashMap;

use ledger_core::{ChainHash, ChainVerifier};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::journal::MAX_JOURNAL_PAGE;
use crate::store::Store;

/// The outcome of recomputing the chain and every balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub transactions_count: u64,
    pub postings_count: u64,
    /// Hash of the last transaction that verified.
    pub head_hash: ChainHash,
    /// The first place where the chain breaks, if any.
    pub first_break: Option<ledger_core::ChainBreak>,
    /// Accounts whose stored balance differs from the sum of their postings.
    pub balance_mismatches: Vec<BalanceMismatch>,
    /// Set when the chain-head row does not point at the last transaction.
    pub head_mismatch: Option<String>,
}

impl VerifyReport {
    pub fn is_valid(&self) -> bool {
        self.first_break.is_none()
            && self.balance_mismatches.is_empty()
            && self.head_mismatch.is_none()
    }
}

/// A stored balance that disagrees with the postings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BalanceMismatch {
    pub account_id: Uuid,
    pub stored_minor: i64,
    pub postings_minor: i128,
}

impl Store {
    /// Recomputes the whole chain and every account balance from the postings, and compares them
    /// with what the database keeps.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        const PAGE: u32 = MAX_JOURNAL_PAGE;
        let mut verifier = ChainVerifier::new();
        let mut first_break = None;
        let mut after = 0;
        'pages: loop {
            let page = self.journal_after(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.sequence;
            for record in &page {
                if let Err(broken) = verifier.push(record) {
                    first_break = Some(broken);
                    break 'pages;
                }
            }
        }
        let mut balance_mismatches = Vec::new();
        let mut head_mismatch = None;
        if first_break.is_none() {
            let stored: Vec<(Uuid, i64)> = on_pool!(self.backend(), pool => {
                sqlx::query_as("SELECT account_id, balance_minor FROM account_balances ORDER BY account_id")
                    .fetch_all(pool)
                    .await?
            });
            let mut computed: HashMap<Uuid, i128> = HashMap::new();
            for ((account_id, _currency), balance) in verifier.balances() {
                *computed.entry(account_id).or_default() += balance;
            }
            for (account_id, stored_minor) in &stored {
                let postings_minor = computed.remove(account_id).unwrap_or(0);
                if i128::from(*stored_minor) != postings_minor {
                    balance_mismatches.push(BalanceMismatch {
                        account_id: *account_id,
                        stored_minor: *stored_minor,
                        postings_minor,
                    });
                }
            }
            for (account_id, postings_minor) in computed {
                balance_mismatches.push(BalanceMismatch {
                    account_id,
                    stored_minor: 0,
                    postings_minor,
                });
            }
            let (head_sequence, head_hash) = self.chain_head().await?;
            let last_verified = verifier.next_sequence() - 1;
            if head_sequence != last_verified || head_hash != verifier.head_hash() {
                head_mismatch = Some(format!(
                    "chain head says sequence {head_sequence} ({head_hash}), the journal ends at {last_verified} ({})",
                    verifier.head_hash()
                ));
            }
        }
        Ok(VerifyReport {
            transactions_count: verifier.transactions_count(),
            postings_count: verifier.postings_count(),
            head_hash: verifier.head_hash(),
            first_break,
            balance_mismatches,
            head_mismatch,
        })
    }
}
