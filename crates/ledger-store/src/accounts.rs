//! The chart of accounts: opening an account, finding accounts by id or code, and the reads for
//! auditors and the network: accounts in id order with their balances, and the chain position at a
//! moment (for balances "as at" a timestamp).

use std::collections::HashMap;

use ledger_core::{Account, AccountCode, AccountId, Timestamp};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::rows::{self, AccountRow, sequence_from_db};
use crate::store::Store;

impl Store {
    /// Opens an account; its code must be new.
    pub async fn open_account(&self, account: &Account, now: Timestamp) -> Result<(), StoreError> {
        let result = on_pool!(self.backend(), pool => {
            sqlx::query(
                "INSERT INTO accounts (id, code, name, kind, currency, owner_organisation_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(account.id.as_uuid())
            .bind(account.code.as_str())
            .bind(&account.name)
            .bind(account.kind.as_str())
            .bind(account.currency.code())
            .bind(account.owner_organisation.map(|organisation| organisation.as_uuid()))
            .bind(now.to_datetime())
            .execute(pool)
            .await
            .map(|_| ())
        });
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(error))
                if error.constraint() == Some("accounts_code_unique")
                    || error.message().contains("accounts.code") =>
            {
                Err(StoreError::AccountCodeTaken(account.code.to_string()))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// One account by id.
    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(rows::select_account!(), " WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// One account by code.
    pub async fn account_by_code(&self, code: &AccountCode) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(rows::select_account!(), " WHERE code = $1"))
                .bind(code.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// The accounts among `ids` that exist, keyed by id: what journal validation needs.
    pub async fn accounts(
        &self,
        ids: &[AccountId],
    ) -> Result<HashMap<AccountId, Account>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for id in ids {
            if found.contains_key(id) {
                continue;
            }
            if let Some(account) = self.account(*id).await? {
                found.insert(*id, account);
            }
        }
        Ok(found)
    }

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

    /// Every account of the chart in id order: the accounts section of an `SLJ2` export. The chart
    /// is bounded by the organisations, programmes and currencies (a few accounts each), so it
    /// is read whole.
    pub async fn all_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(rows::select_account!(), " ORDER BY id"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Account::try_from).collect()
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

/// One transaction's net effect on an organisation's accounts in one currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MovementRow {
    pub sequence: i64,
    pub transaction_id: Uuid,
    pub kind: String,
    pub effective_date: chrono::NaiveDate,
    pub memo: String,
    /// Natural sign: for a beneficiary (net-asset accounts) positive is money for it; for a
    /// contributor (receivables) positive is what it owes.
    pub amount_minor: i64,
}

/// The natural-sign sum of postings on an organisation's accounts: assets count as they are
/// (debit positive), net assets and liabilities turned round (credit positive). `redistributed`
/// accounts are left out: they only reclassify the advance.
macro_rules! owned_postings {
    () => {
        " FROM journal_postings p JOIN accounts a ON a.id = p.account_id \
          JOIN journal_transactions t ON t.sequence = p.sequence \
          WHERE a.owner_organisation_id = $1 AND p.currency = $2 AND a.code NOT LIKE '%:redistributed:%' "
    };
}

impl Store {
    /// An organisation's balance before `from` and its movements from `from` to `to` (inclusive,
    /// value dates), in one currency, in value-date then chain order.
    pub async fn statement(
        &self,
        owner: Uuid,
        currency: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<(i64, Vec<MovementRow>), StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            let opening: i64 = sqlx::query_scalar(concat!(
                "SELECT CAST(COALESCE(SUM(CASE WHEN a.kind IN ('asset', 'expense') THEN p.amount_minor \
                 ELSE -p.amount_minor END), 0) AS BIGINT)",
                owned_postings!(),
                "AND t.effective_date < $3"
            ))
            .bind(owner)
            .bind(currency)
            .bind(from)
            .fetch_one(pool)
            .await?;
            let movements: Vec<MovementRow> = sqlx::query_as(concat!(
                "SELECT t.sequence, t.transaction_id, t.kind, t.effective_date, t.memo, \
                 CAST(SUM(CASE WHEN a.kind IN ('asset', 'expense') THEN p.amount_minor ELSE -p.amount_minor END) AS BIGINT) AS amount_minor",
                owned_postings!(),
                "AND t.effective_date >= $3 AND t.effective_date <= $4 \
                 GROUP BY t.sequence, t.transaction_id, t.kind, t.effective_date, t.memo \
                 HAVING SUM(p.amount_minor) <> 0 \
                 ORDER BY t.effective_date, t.sequence"
            ))
            .bind(owner)
            .bind(currency)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            (opening, movements)
        }))
    }
}
