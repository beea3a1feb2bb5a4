//! Domain rows written beside journal transactions in the same database transaction: organisations,
//! programmes, contribution batches with their lines, receipts and reversals, and accounts opened on
//! the way. Each is inserted by the writer only when its request commits.

use ledger_core::contribution::{BatchLine, LineKind};
use ledger_core::organisation::{Organisation, Programme};
use ledger_core::{Account, AccountId, OrganisationId, Period, Timestamp, TransactionId};
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use crate::StoreError;

/// A row to insert with a write request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Record {
    /// Opened unless an account with the same code exists (account ids derive from their codes, so
    /// two requests opening the same account agree on it).
    Account(Account),
    Organisation(Organisation),
    Programme(Programme),
    ContributionBatch(Box<ContributionBatchRecord>),
    BatchReceipt(BatchReceiptRecord),
    BatchReversal(BatchReversalRecord),
}

impl Record {
    /// Rows that journal postings or later rows refer to are inserted before the journal.
    fn before_journal(&self) -> bool {
        matches!(
            self,
            Record::Account(_) | Record::Organisation(_) | Record::Programme(_)
        )
    }
}

/// A contribution batch and its lines.
#[derive(Debug, Clone)]
pub struct ContributionBatchRecord {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub contributor_id: OrganisationId,
    pub period: Period,
    pub earmark_beneficiary_id: Option<OrganisationId>,
    pub currency: String,
    pub members_total: u64,
    pub amount_minor: i64,
    pub solidarity_minor: i64,
    pub donation_minor: i64,
    pub lines: Vec<BatchLine>,
    pub receivable_account_id: AccountId,
    pub pledge_transaction_id: TransactionId,
    pub submitted_by: String,
    pub created_at: Timestamp,
}

/// A bank receipt matched to a batch.
#[derive(Debug, Clone)]
pub struct BatchReceiptRecord {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub amount_minor: i64,
    pub overpayment_minor: i64,
    pub value_date: chrono::NaiveDate,
    pub bank_reference: String,
    pub transaction_id: TransactionId,
    pub recorded_by: String,
    pub created_at: Timestamp,
}

/// The reversal of a batch.
#[derive(Debug, Clone)]
pub struct BatchReversalRecord {
    pub batch_id: Uuid,
    pub reason: String,
    pub transaction_id: TransactionId,
    pub recorded_by: String,
    pub created_at: Timestamp,
}

pub use ledger_core::chart::account_id_for_code;

fn i64_of(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} out of range")))
}

pub(crate) fn line_kind(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Solidarity => "solidarity",
        LineKind::Donation => "donation",
    }
}

/// Inserts the records that must precede (`before_journal`) or follow the journal rows.
macro_rules! insert_records {
    ($name:ident, $connection:ty, $insert_lines:ident, $now:literal) => {
        pub(crate) async fn $name(
            connection: &mut $connection,
            records: &[&Record],
            before_journal: bool,
        ) -> Result<(), StoreError> {
            for record in records.iter().filter(|record| record.before_journal() == before_journal) {
                match record {
                    Record::Account(account) => {
                        sqlx::query(
                            concat!("INSERT INTO accounts (id, code, name, kind, currency, owner_organisation_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, ", $now, ") ON CONFLICT (code) DO NOTHING"),
                        )
                        .bind(account.id.as_uuid())
                        .bind(account.code.as_str())
                        .bind(&account.name)
                        .bind(account.kind.as_str())
                        .bind(account.currency.code())
                        .bind(account.owner_organisation.map(|organisation| organisation.as_uuid()))
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::Organisation(organisation) => {
                        sqlx::query(
                            concat!("INSERT INTO organisations (id, slug, name, kind, country, currency, covered_members, \
                             registry_identifier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ", $now, ")"),
                        )
                        .bind(organisation.id.as_uuid())
                        .bind(organisation.slug.as_str())
                        .bind(&organisation.name)
                        .bind(organisation.kind.as_str())
                        .bind(&organisation.country)
                        .bind(organisation.currency.code())
                        .bind(organisation.covered_members.map(|members| i64_of(members, "covered members")).transpose()?)
                        .bind(&organisation.registry_identifier)
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::Programme(programme) => {
                        let allocation = serde_json::to_string(&programme.allocation)
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        let conditions = serde_json::to_string(&programme.conditions)
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        sqlx::query(
                            concat!("INSERT INTO programmes (id, name, currency, rate_per_member_minor, period_kind, allocation, \
                             conditions, minimum_transfer_minor, admin_cost_cap_percent, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ", $now, ")"),
                        )
                        .bind(programme.id)
                        .bind(&programme.name)
                        .bind(programme.currency.code())
                        .bind(programme.rate_per_member.minor())
                        .bind(programme.period.as_str())
                        .bind(allocation)
                        .bind(conditions)
                        .bind(programme.minimum_transfer.minor())
                        .bind(programme.admin_cost_cap_percent.to_string())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::ContributionBatch(batch) => {
                        sqlx::query(
                            "INSERT INTO contribution_batches (id, programme_id, contributor_id, period, \
                             earmark_beneficiary_id, currency, members_total, amount_minor, solidarity_minor, \
                             donation_minor, line_count, receivable_account_id, pledge_transaction_id, submitted_by, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                        )
                        .bind(batch.id)
                        .bind(batch.programme_id)
                        .bind(batch.contributor_id.as_uuid())
                        .bind(batch.period.to_string())
                        .bind(batch.earmark_beneficiary_id.map(|organisation| organisation.as_uuid()))
                        .bind(&batch.currency)
                        .bind(i64_of(batch.members_total, "members")?)
                        .bind(batch.amount_minor)
                        .bind(batch.solidarity_minor)
                        .bind(batch.donation_minor)
                        .bind(i32::try_from(batch.lines.len()).map_err(|_| StoreError::Corrupt("too many lines".into()))?)
                        .bind(batch.receivable_account_id.as_uuid())
                        .bind(batch.pledge_transaction_id.as_uuid())
                        .bind(&batch.submitted_by)
                        .bind(batch.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                        $insert_lines(connection, batch).await?;
                    }
                    Record::BatchReceipt(receipt) => {
                        sqlx::query(
                            "INSERT INTO batch_receipts (id, batch_id, amount_minor, overpayment_minor, value_date, \
                             bank_reference, transaction_id, recorded_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(receipt.id)
                        .bind(receipt.batch_id)
                        .bind(receipt.amount_minor)
                        .bind(receipt.overpayment_minor)
                        .bind(receipt.value_date)
                        .bind(&receipt.bank_reference)
                        .bind(receipt.transaction_id.as_uuid())
                        .bind(&receipt.recorded_by)
                        .bind(receipt.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                    Record::BatchReversal(reversal) => {
                        sqlx::query(
                            "INSERT INTO batch_reversals (batch_id, reason, transaction_id, recorded_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(reversal.batch_id)
                        .bind(&reversal.reason)
                        .bind(reversal.transaction_id.as_uuid())
                        .bind(&reversal.recorded_by)
                        .bind(reversal.created_at.to_datetime())
                        .execute(&mut *connection)
                        .await?;
                    }
                }
            }
            Ok(())
        }
    };
}

// Registry rows take the database's clock: their creation time is informative, never hashed.
insert_records!(
    insert_records_sqlite,
    SqliteConnection,
    insert_lines_sqlite,
    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
);
insert_records!(
    insert_records_postgres,
    PgConnection,
    insert_lines_postgres,
    "CURRENT_TIMESTAMP"
);

/// SQLite runs in-process: one prepared statement per line costs microseconds.
async fn insert_lines_sqlite(
    connection: &mut SqliteConnection,
    batch: &ContributionBatchRecord,
) -> Result<(), StoreError> {
    for (index, line) in batch.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO contribution_lines (batch_id, line_index, reference, members, amount_minor, kind) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(batch.id)
        .bind(i32::try_from(index).map_err(|_| StoreError::Corrupt("too many lines".into()))?)
        .bind(&line.reference)
        .bind(i64_of(line.members, "members")?)
        .bind(line.amount.minor())
        .bind(line_kind(line.kind))
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// PostgreSQL is a round trip away: all lines go in one statement, as arrays.
async fn insert_lines_postgres(
    connection: &mut PgConnection,
    batch: &ContributionBatchRecord,
) -> Result<(), StoreError> {
    let count = batch.lines.len();
    let mut indexes = Vec::with_capacity(count);
    let mut references = Vec::with_capacity(count);
    let mut members = Vec::with_capacity(count);
    let mut amounts = Vec::with_capacity(count);
    let mut kinds = Vec::with_capacity(count);
    for (index, line) in batch.lines.iter().enumerate() {
        indexes
            .push(i32::try_from(index).map_err(|_| StoreError::Corrupt("too many lines".into()))?);
        references.push(line.reference.as_str());
        members.push(i64_of(line.members, "members")?);
        amounts.push(line.amount.minor());
        kinds.push(line_kind(line.kind));
    }
    sqlx::query(
        "INSERT INTO contribution_lines (batch_id, line_index, reference, members, amount_minor, kind) \
         SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])",
    )
    .bind(batch.id)
    .bind(&indexes)
    .bind(&references)
    .bind(&members)
    .bind(&amounts)
    .bind(&kinds)
    .execute(&mut *connection)
    .await?;
    Ok(())
}
