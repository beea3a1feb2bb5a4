//! The books as they are (auditors and the network): the chart of accounts with balances, one
//! account's balance at a moment or as at an accounting date, and the journal in chain order with
//! every posting.

use ledger_core::{Account, AccountId, JournalRecord, Timestamp};
use ledger_store::MAX_JOURNAL_PAGE;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::BalanceBasis;
use crate::error::AppError;
use crate::fields::parse_id;
use crate::money::Money;
use crate::pagination::{Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// An account with its balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// asset | liability | net_assets | income | expense
    pub kind: String,
    pub currency: String,
    pub owner_organisation_id: Option<Uuid>,
    /// Signed: debit positive, credit negative (net-asset accounts normally hold credits).
    pub balance: Money,
    /// The chain position the balance is taken at, when asked for a moment (`at`).
    pub at_sequence: Option<u64>,
    /// Which transactions the balance covers: `recorded_at` (now, or recorded by `at`) or
    /// `effective_date` (accounting date on or before `as_of`).
    pub basis: BalanceBasis,
    /// The accounting date asked for (`YYYY-MM-DD`), when the basis is `effective_date`.
    pub as_of: Option<String>,
}

fn account_view(account: &Account, balance_minor: i64, at_sequence: Option<u64>) -> AccountView {
    AccountView {
        basis: BalanceBasis::RecordedAt,
        as_of: None,
        id: account.id.as_uuid(),
        code: account.code.to_string(),
        name: account.name.clone(),
        kind: account.kind.as_str().to_owned(),
        currency: account.currency.code().to_owned(),
        owner_organisation_id: account.owner_organisation.map(|owner| owner.as_uuid()),
        balance: Money::from_minor(balance_minor, account.currency),
        at_sequence,
    }
}

/// Filters of the account list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountListQuery {
    /// Only accounts owned by this organisation.
    pub owner_organisation_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The chart of accounts with current balances (auditor, admin).
#[derive(Debug)]
pub struct ListAccounts(pub AccountListQuery);

impl Query for ListAccounts {
    const OPERATION: Operation = Operation::ListAccounts;
    type Output = Page<AccountView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<AccountView>, AppError> {
        let query = self.0;
        let (limit, after) = PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        }
        .parse()?;
        let rows = app
            .store
            .accounts_page(query.owner_organisation_id, after, limit + 1)
            .await?;
        Ok(page(
            rows,
            limit,
            |(account, _)| account.id.as_uuid(),
            |(account, balance)| account_view(&account, balance, None),
        ))
    }
}

/// When to read a balance.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// RFC 3339 timestamp (`2026-11-30T23:59:59Z`): the balance after every transaction recorded
    /// at or before it. Now by default.
    pub at: Option<String>,
    /// Accounting date `YYYY-MM-DD`: the balance as at that date, over the transactions whose
    /// effective date is on or before it, whenever they were recorded. Not with `at`.
    pub as_of: Option<String>,
}

/// One account and its balance, now, at a moment, or as at an accounting date (auditor, admin).
#[derive(Debug)]
pub struct GetAccount {
    /// The account's id as given (one that does not parse names none: 404).
    pub id: String,
    pub query: AtQuery,
}

impl Query for GetAccount {
    const OPERATION: Operation = Operation::ReadAccount;
    type Output = AccountView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<AccountView, AppError> {
        let query = self.query;
        let not_found = || AppError::not_found("no such account");
        let id = AccountId::from_uuid(parse_id(&self.id).ok_or_else(not_found)?);
        let account = app.store.account(id).await?.ok_or_else(not_found)?;
        if let Some(text) = &query.as_of {
            if query.at.is_some() {
                return Err(AppError::invalid_field(
                    "as_of",
                    "give either `at` (a moment of recording) or `as_of` (an accounting date), not both",
                ));
            }
            let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                AppError::invalid_field(
                    "as_of",
                    "must be an accounting date YYYY-MM-DD, e.g. 2026-11-30",
                )
            })?;
            let balance = app.store.balance_as_of_date(id, date).await?;
            return Ok(AccountView {
                basis: BalanceBasis::EffectiveDate,
                as_of: Some(date.format("%Y-%m-%d").to_string()),
                ..account_view(&account, balance, None)
            });
        }
        let at_sequence = match &query.at {
            None => None,
            Some(text) => {
                let at = chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|_| {
                        AppError::invalid_field(
                            "at",
                            "must be an RFC 3339 timestamp such as 2026-11-30T23:59:59Z",
                        )
                    })?
                    .with_timezone(&chrono::Utc);
                Some(app.store.sequence_at(Timestamp::from_datetime(at)).await?)
            }
        };
        let balance = app.store.balance(id, at_sequence).await?;
        Ok(account_view(&account, balance, at_sequence))
    }
}

/// Where to read the journal from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Transactions after this sequence (0 by default: from the start).
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub after_sequence: Option<u64>,
    /// At most this many transactions (100 by default, at most 1000).
    pub limit: Option<u32>,
}

/// A page of the journal in chain order.
#[derive(Debug, Serialize, ToSchema)]
pub struct JournalPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<JournalRecord>,
    /// Pass as `after_sequence` for the next page; null at the end.
    pub next_after_sequence: Option<u64>,
}

/// The journal in chain order, every hashed field with the previous hash and the hash (auditor,
/// admin).
#[derive(Debug)]
pub struct ListJournal(pub JournalQuery);

impl Query for ListJournal {
    const OPERATION: Operation = Operation::ListJournal;
    type Output = JournalPage;

    async fn read(self, app: &App, _caller: &Caller) -> Result<JournalPage, AppError> {
        let query = self.0;
        let limit = query.limit.unwrap_or(100);
        if !(1..=MAX_JOURNAL_PAGE).contains(&limit) {
            return Err(AppError::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_JOURNAL_PAGE}"),
            ));
        }
        let after = query.after_sequence.unwrap_or(0);
        // Sequences are stored as signed 64-bit integers: a larger one names no transaction.
        if i64::try_from(after).is_err() {
            return Err(AppError::invalid_field(
                "after_sequence",
                format!("must be at most {}", i64::MAX),
            ));
        }
        let items = app.store.journal_after(after, limit).await?;
        let next_after_sequence = if items.len() == limit as usize {
            items.last().map(|record| record.sequence)
        } else {
            None
        };
        Ok(JournalPage {
            items,
            next_after_sequence,
        })
    }
}
