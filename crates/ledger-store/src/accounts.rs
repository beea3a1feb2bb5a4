//! Reads of the chart of accounts for auditors and the network: accounts in id order with their
//! balances, and the chain position at a moment (for balances "as at" a timestamp).

use ledger_core::{Account, Timestamp};
use uuid::Uuid;

use crate::rows::{self, AccountRow};
use crate::{Backend, Store, StoreError, on_pool, sequence_from_db};

impl Store {
    /// Accounts in id order after `after`, each with its current balance (signed minor units).
    pub async fn accounts_page(
        &self,
        owner: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Account, i64)>, StoreError> {
        let rows: Vec<AccountRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                rows::select_account!(),
                " WHERE ($1 IS NULL OR owner_organisation_id = $1) AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
            ))
            .bind(owner)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        let accounts = rows
            .into_iter()
            .map(Account::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<Uuid> = accounts
            .iter()
            .map(|account| account.id.as_uuid())
            .collect();
        let balances = self.balances(&ids).await?;
        Ok(accounts
            .into_iter()
            .map(|account| {
                let balance = balances
                    .get(&account.id.as_uuid())
                    .copied()
                    .unwrap_or_default();
                (account, balance)
            })
            .collect())
    }

    /// The last sequence recorded at or before `at` (0 before the first transaction).
    pub async fn sequence_at(&self, at: Timestamp) -> Result<u64, StoreError> {
        let sequence: i64 = on_pool!(self.backend(), pool => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(sequence), 0) AS BIGINT) FROM journal_transactions WHERE recorded_at <= $1",
            )
            .bind(at.to_datetime())
            .fetch_one(pool)
            .await?
        });
        sequence_from_db(sequence)
    }
}
