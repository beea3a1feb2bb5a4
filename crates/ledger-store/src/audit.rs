//! Reads for auditors: the trial balance (every account's debit and credit totals per currency,
//! as of a moment of recording or as at an accounting date). Exports page through [`Store::journal_after`]; verification is [`Store::verify`].

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::{AccountId, Timestamp};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::store::Store;

/// One account's totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrialBalanceLine {
    pub account_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub currency: String,
    /// Sum of the account's debit postings (positive).
    pub debit_minor: i64,
    /// Sum of the account's credit postings (negative).
    pub credit_minor: i64,
}

// Both engines: BIGINT sums (PostgreSQL's SUM(bigint) is NUMERIC, hence the casts). The SQLite
// column holds RFC 3339 UTC text of one offset (`+00:00`), whose text order is time order; the
// bound parameter is encoded the same way by sqlx.
macro_rules! trial_balance_query {
    ($condition:literal) => {
        concat!(
            "SELECT p.account_id, a.code, a.name, a.kind, p.currency, \
             CAST(COALESCE(SUM(CASE WHEN p.amount_minor > 0 THEN p.amount_minor ELSE 0 END), 0) AS BIGINT) AS debit_minor, \
             CAST(COALESCE(SUM(CASE WHEN p.amount_minor < 0 THEN p.amount_minor ELSE 0 END), 0) AS BIGINT) AS credit_minor \
             FROM journal_postings p \
             JOIN journal_transactions t ON t.sequence = p.sequence \
             JOIN accounts a ON a.id = p.account_id ",
            $condition,
            " GROUP BY p.account_id, a.code, a.name, a.kind, p.currency ORDER BY a.code, p.currency"
        )
    };
}

impl Store {
    /// Every account with postings recorded up to `at` (inclusive; everything when `None`), with
    /// its debit and credit totals per currency, ordered by account code.
    pub async fn trial_balance(
        &self,
        at: Option<Timestamp>,
    ) -> Result<Vec<TrialBalanceLine>, StoreError> {
        let lines = match at {
            None => on_pool!(self.backend(), pool => {
                sqlx::query_as(trial_balance_query!(""))
                    .fetch_all(pool)
                    .await?
            }),
            Some(at) => {
                let at: DateTime<Utc> = at.to_datetime();
                on_pool!(self.backend(), pool => {
                    sqlx::query_as(trial_balance_query!("WHERE t.recorded_at <= $1"))
                        .bind(at)
                        .fetch_all(pool)
                        .await?
                })
            }
        };
        Ok(lines)
    }

    /// An account's balance (signed minor units, debit positive) over the transactions whose
    /// accounting (effective) date is on or before `date`, whenever they were recorded.
    pub async fn balance_as_of_date(
        &self,
        id: AccountId,
        date: NaiveDate,
    ) -> Result<i64, StoreError> {
        let balance: Option<i64> = on_pool!(self.backend(), pool => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) FROM journal_postings p \
                 JOIN journal_transactions t ON t.sequence = p.sequence \
                 WHERE p.account_id = $1 AND t.effective_date <= $2",
            )
            .bind(id.as_uuid())
            .bind(date)
            .fetch_optional(pool)
            .await?
        });
        Ok(balance.unwrap_or(0))
    }

    /// Every account with postings of transactions whose accounting (effective) date is on or
    /// before `date`, whenever they were recorded, with its debit and credit totals per currency,
    /// ordered by account code. SQLite keeps the date as `YYYY-MM-DD` text, whose text order is
    /// date order; sqlx binds a `NaiveDate` the same way.
    pub async fn trial_balance_as_of_date(
        &self,
        date: NaiveDate,
    ) -> Result<Vec<TrialBalanceLine>, StoreError> {
        let lines = on_pool!(self.backend(), pool => {
            sqlx::query_as(trial_balance_query!("WHERE t.effective_date <= $1"))
                .bind(date)
                .fetch_all(pool)
                .await?
        });
        Ok(lines)
    }
}
