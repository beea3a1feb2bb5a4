//! Reading batches: a contributor its own, the network and auditors every one.

use ledger_core::OrganisationId;
use ledger_store::registry::{BatchFilter, BatchSummary};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::checkpoints::checkpoint_before_read;

use super::views::{
    BatchDetail, BatchView, LineView, OriginalAmountView, ReceiptView, batch_currency, view_of,
};
use crate::error::AppError;
use crate::fields::{parse_id, parse_period_filter};
use crate::money::Money;
use crate::pagination::{ListOrder, Page, PageQuery, page};
use crate::payments::collection_account_for_batches;
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// Filters of the batch list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchListQuery {
    pub programme_id: Option<Uuid>,
    /// Only batches of this period (`2026-11`, `2026-Q4` or `2026`); a malformed period is a 422.
    pub period: Option<String>,
    /// Admins and auditors may list one contributor's batches.
    pub contributor_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `oldest_first` (default) or `newest_first`.
    pub order: Option<ListOrder>,
}

/// List batches: a contributor its own; admins and auditors all (or one contributor's).
#[derive(Debug)]
pub struct ListBatches(pub BatchListQuery);

impl Query for ListBatches {
    const OPERATION: Operation = Operation::ListBatches;
    type Output = Page<BatchView>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Page<BatchView>, AppError> {
        let query = self.0;
        let (limit, seek) = PageQuery {
            limit: query.limit,
            cursor: query.cursor.clone(),
        }
        .seek(query.order)?;
        let contributor_id = if caller.sees_everything() {
            query.contributor_id
        } else {
            Some(caller.organisation.as_uuid())
        };
        let filter = BatchFilter {
            contributor_id,
            programme_id: query.programme_id,
            period: parse_period_filter(query.period.as_deref(), "period")?,
        };
        let rows = app.store.batches(&filter, seek, limit + 1).await?;
        let listed = page(rows, limit, |row| row.id, |row| row);
        let collection = collection_account_for_batches(app).await?;
        let items = listed
            .items
            .iter()
            .map(|row| view_of(collection.as_ref(), row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }
}

/// A batch visible to the caller, or 404 (another contributor's batch is never disclosed).
pub(crate) async fn visible_batch(
    app: &App,
    caller: &Caller,
    id: &str,
) -> Result<BatchSummary, AppError> {
    let not_found = || AppError::not_found("no such contribution batch");
    let id = parse_id(id).ok_or_else(not_found)?;
    let batch = app.store.batch(id).await?.ok_or_else(not_found)?;
    if caller.may_see(OrganisationId::from_uuid(batch.contributor_id)) {
        Ok(batch)
    } else {
        Err(not_found())
    }
}

/// One batch with its lines and receipts; `id` as given in the path.
#[derive(Debug)]
pub struct ReadBatch(pub String);

impl Query for ReadBatch {
    const OPERATION: Operation = Operation::ReadBatch;
    type Output = BatchDetail;

    async fn read(self, app: &App, caller: &Caller) -> Result<BatchDetail, AppError> {
        let checkpoint = checkpoint_before_read(app).await?;
        let batch = visible_batch(app, caller, &self.0).await?;
        let view = view_of(collection_account_for_batches(app).await?.as_ref(), &batch)?;
        let currency = batch_currency(&batch)?;
        let lines = app
            .store
            .batch_lines(batch.id)
            .await?
            .into_iter()
            .map(|line| LineView {
                reference: line.reference,
                members: line.members,
                amount: Money::from_minor(line.amount_minor, currency),
                kind: line.kind,
            })
            .collect();
        let receipts = app
            .store
            .batch_receipts(batch.id)
            .await?
            .into_iter()
            .map(|receipt| {
                Ok(ReceiptView {
                    id: receipt.id,
                    batch_id: batch.id,
                    amount: Money::from_minor(receipt.amount_minor, currency),
                    applied: Money::from_minor(
                        receipt.amount_minor - receipt.overpayment_minor,
                        currency,
                    ),
                    overpayment: Money::from_minor(receipt.overpayment_minor, currency),
                    value_date: receipt.value_date.to_string(),
                    bank_reference: receipt.bank_reference,
                    transaction_id: receipt.transaction_id,
                    original: OriginalAmountView::of(
                        receipt.original_amount_minor,
                        receipt.original_currency.as_deref(),
                        receipt.original_rate.as_deref(),
                    )?,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(BatchDetail {
            batch: view,
            lines,
            receipts,
            checkpoint,
        })
    }
}
