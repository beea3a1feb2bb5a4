//! Reads of imported bank statements (migration 0017): a statement by its bank identifier and
//! account (what makes an import idempotent), statements in order, a statement's entries, and
//! entries by what became of them, each with the network's decision when there is one.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::seek::{Seek, seek_sql};
use crate::store::Store;

/// An imported statement.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BankStatementRow {
    pub id: Uuid,
    pub statement_id: String,
    pub account: String,
    pub account_kind: String,
    pub camt_version: String,
    pub message_id: Option<String>,
    pub currency: String,
    pub entries_count: i32,
    pub document_sha256: String,
    pub imported_by: String,
    pub created_at: DateTime<Utc>,
}

/// An entry of an imported statement, with the network's decision when it was unmatched.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BankStatementEntryRow {
    pub id: Uuid,
    pub bank_statement_id: Uuid,
    /// The bank's id of the statement (Stmt/Id).
    pub statement_id: String,
    pub line_number: i32,
    pub direction: String,
    pub amount_minor: i64,
    pub currency: String,
    pub entry_status: String,
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    pub entry_reference: Option<String>,
    pub account_servicer_reference: Option<String>,
    pub bank_transaction_code: Option<String>,
    pub charges_minor: Option<i64>,
    /// Every transaction's details, as JSON.
    pub transactions: String,
    pub end_to_end_id: Option<String>,
    pub creditor_reference: Option<String>,
    pub debtor_name: Option<String>,
    pub outcome: String,
    pub outcome_detail: Option<String>,
    /// Why, as a code (the words are `outcome_detail`); none before migration 0024.
    pub outcome_code: Option<String>,
    pub batch_receipt_id: Option<Uuid>,
    /// The batch of the receipt (the import's or the assignment's).
    pub batch_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub charge_transaction_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// `assigned` or `not_ours`, once the network decided.
    pub decision: Option<String>,
    pub decision_receipt_id: Option<Uuid>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl BankStatementEntryRow {
    /// What the entry is now: its outcome, or the network's decision on an unmatched one
    /// (`assigned`, `not_ours`).
    pub fn status(&self) -> &str {
        self.decision.as_deref().unwrap_or(&self.outcome)
    }
}

macro_rules! select_statement {
    () => {
        "SELECT id, statement_id, account, account_kind, camt_version, message_id, currency, entries_count, \
         document_sha256, imported_by, created_at FROM bank_statements"
    };
}

macro_rules! select_entry {
    () => {
        "SELECT e.id, e.bank_statement_id, s.statement_id, e.line_number, e.direction, e.amount_minor, e.currency, \
         e.entry_status, e.booking_date, e.value_date, e.entry_reference, e.account_servicer_reference, \
         e.bank_transaction_code, e.charges_minor, e.transactions, e.end_to_end_id, e.creditor_reference, \
         e.debtor_name, e.outcome, e.outcome_detail, e.outcome_code, e.batch_receipt_id, \
         (SELECT r.batch_id FROM batch_receipts r WHERE r.id = COALESCE(e.batch_receipt_id, d.batch_receipt_id)) AS batch_id, \
         e.transfer_id, e.charge_transaction_id, e.created_at, d.decision, d.batch_receipt_id AS decision_receipt_id, \
         d.reason AS decision_reason, d.decided_by, d.created_at AS decided_at \
         FROM bank_statement_entries e JOIN bank_statements s ON s.id = e.bank_statement_id \
         LEFT JOIN bank_statement_entry_decisions d ON d.entry_id = e.id"
    };
}

impl Store {
    /// The statement imported with this bank id for this account, if any.
    pub async fn bank_statement_by_key(
        &self,
        statement_id: &str,
        account: &str,
    ) -> Result<Option<BankStatementRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_statement!(), " WHERE statement_id = $1 AND account = $2"))
                .bind(statement_id)
                .bind(account)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// One imported statement by our id.
    pub async fn bank_statement(&self, id: Uuid) -> Result<Option<BankStatementRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_statement!(), " WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A page of the imported statements, in id (import) order from `seek`.
    pub async fn bank_statements(
        &self,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<BankStatementRow>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!("id", "$1", "$2", select_statement!(), " WHERE TRUE");
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(seek.pick(&QUERIES))
                .bind(seek.id())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// How many entries of each statement are unmatched (status `unmatched`: no outcome and no
    /// decision yet), for the statements that have any: one row per statement, not per entry.
    pub async fn unmatched_entries_by_statement(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT e.bank_statement_id, COUNT(*) FROM bank_statement_entries e \
                 LEFT JOIN bank_statement_entry_decisions d ON d.entry_id = e.id \
                 WHERE COALESCE(d.decision, e.outcome) = 'unmatched' GROUP BY e.bank_statement_id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// The entries of a statement, in statement order.
    pub async fn bank_statement_entries(
        &self,
        bank_statement_id: Uuid,
    ) -> Result<Vec<BankStatementEntryRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_entry!(), " WHERE e.bank_statement_id = $1 ORDER BY e.line_number"))
                .bind(bank_statement_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// One statement entry by our id.
    pub async fn bank_statement_entry(
        &self,
        id: Uuid,
    ) -> Result<Option<BankStatementEntryRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_entry!(), " WHERE e.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A page of the entries whose status ([`BankStatementEntryRow::status`]) is `status`, or of
    /// every entry when `None`, in id (import) order from `seek`.
    pub async fn bank_statement_entries_by_status(
        &self,
        status: Option<&str>,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<BankStatementEntryRow>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!(
            "e.id",
            "$2",
            "$3",
            select_entry!(),
            " WHERE ($1 IS NULL OR COALESCE(d.decision, e.outcome) = $1)"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(seek.pick(&QUERIES))
            .bind(status)
            .bind(seek.id())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// The statement entry a transfer's debit was matched to, if any (at most one: migration 0023).
    pub async fn bank_statement_entry_of_transfer(
        &self,
        transfer_id: Uuid,
    ) -> Result<Option<BankStatementEntryRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_entry!(), " WHERE e.transfer_id = $1"))
                .bind(transfer_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The statement entry a receipt was booked from (by the import or an assignment), if any.
    pub async fn bank_statement_entry_of_receipt(
        &self,
        batch_receipt_id: Uuid,
    ) -> Result<Option<BankStatementEntryRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                select_entry!(),
                " WHERE e.batch_receipt_id = $1 OR d.batch_receipt_id = $1"
            ))
            .bind(batch_receipt_id)
            .fetch_optional(pool)
            .await?
        }))
    }
}
