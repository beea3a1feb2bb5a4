//! Reads for the IATI files (`ledger_core::iati`): a programme's pledges and receipts (batches not
//! reversed), its run transfers with their confirmation dates, accepted redistribution lines, and
//! which programme paid each beneficiary first. Static SQL, the same on both engines.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::store::Store;

/// A batch not reversed: (batch, contributor, submitted at, amount, currency).
pub type PledgeRow = (Uuid, Uuid, DateTime<Utc>, i64, String);
/// A receipt of a batch not reversed: (receipt, contributor, value date, amount, currency).
pub type ReceiptRow = (Uuid, Uuid, NaiveDate, i64, String);
/// A run transfer: (transfer, beneficiary, executed at, amount, currency, confirmation value date).
pub type RunTransferRow = (Uuid, Uuid, DateTime<Utc>, i64, String, Option<NaiveDate>);
/// An accepted line: (report, line index, beneficiary, accepted at, currency, purpose, amount).
pub type ExpenditureRow = (Uuid, i32, Uuid, DateTime<Utc>, String, String, i64);

impl Store {
    /// When a programme was created.
    pub async fn programme_created_at(
        &self,
        programme_id: Uuid,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_scalar("SELECT created_at FROM programmes WHERE id = $1")
                .bind(programme_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A programme's batches not reversed, in submission order.
    pub async fn iati_pledges(&self, programme_id: Uuid) -> Result<Vec<PledgeRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT b.id, b.contributor_id, b.created_at, b.amount_minor, b.currency \
                 FROM contribution_batches b WHERE b.programme_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM batch_reversals v WHERE v.batch_id = b.id) \
                 ORDER BY b.created_at, b.id",
            )
            .bind(programme_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The receipts of a programme's batches not reversed, by value date.
    pub async fn iati_receipts(&self, programme_id: Uuid) -> Result<Vec<ReceiptRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.id, b.contributor_id, r.value_date, r.amount_minor, b.currency \
                 FROM batch_receipts r JOIN contribution_batches b ON b.id = r.batch_id \
                 WHERE b.programme_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM batch_reversals v WHERE v.batch_id = b.id) \
                 ORDER BY r.value_date, r.id",
            )
            .bind(programme_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// A programme's run transfers (no top-ups) with their confirmation's value date.
    pub async fn iati_transfers(
        &self,
        programme_id: Uuid,
    ) -> Result<Vec<RunTransferRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT t.id, t.beneficiary_id, t.created_at, t.amount_minor, t.currency, c.value_date \
                 FROM transfers t LEFT JOIN transfer_confirmations c ON c.transfer_id = t.id \
                 WHERE t.programme_id = $1 AND t.kind = 'transfer' ORDER BY t.created_at, t.id",
            )
            .bind(programme_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Every line of every accepted report not reversed, by acceptance.
    pub async fn iati_expenditures(&self) -> Result<Vec<ExpenditureRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.id, l.line_index, r.beneficiary_id, d.created_at, r.currency, l.purpose, l.amount_minor \
                 FROM redistribution_reports r \
                 JOIN redistribution_report_decisions d ON d.report_id = r.id AND d.decision = 'accepted' \
                 JOIN redistribution_report_lines l ON l.report_id = r.id \
                 WHERE NOT EXISTS (SELECT 1 FROM redistribution_report_reversals v WHERE v.report_id = r.id) \
                 ORDER BY d.created_at, r.id, l.line_index",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Each beneficiary's first paying programme: (beneficiary, programme) of every run transfer,
    /// oldest first (the caller keeps the first per beneficiary).
    pub async fn iati_paying_programmes(&self) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT beneficiary_id, programme_id FROM transfers WHERE kind = 'transfer' \
                 ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
