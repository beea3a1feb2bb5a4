//! What the contribution operations answer: a batch and where it stands, its lines, its receipts.

use ledger_core::contribution::BatchStatus;
use ledger_core::payment_reference::CreditorReference;
use ledger_core::{Currency, Timestamp};
use ledger_store::registry::BatchSummary;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::checkpoints::CheckpointView;
use crate::error::AppError;
use crate::money::Money;
use crate::payments::{CollectionAccount, PaymentInstructions, payment_instructions};

/// Totals of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchTotalsView {
    /// Members on solidarity lines.
    pub members: u64,
    pub amount: Money,
    pub solidarity: Money,
    pub donations: Money,
}

/// A contribution batch and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub id: Uuid,
    /// pledged | partially_received | received | reversed
    pub status: String,
    pub programme_id: Uuid,
    pub contributor_id: Uuid,
    pub period: String,
    pub earmark_beneficiary_id: Option<Uuid>,
    pub totals: BatchTotalsView,
    pub received: Money,
    pub outstanding: Money,
    pub line_count: u32,
    /// The pledge's journal transaction.
    pub transaction_id: Uuid,
    /// True when the contributor had already submitted a batch for this programme and period
    /// (late sections): both count.
    pub supplementary: bool,
    pub reversal_reason: Option<String>,
    pub submitted_by: String,
    pub created_at: String,
    /// How to pay it: the network's collection account and the batch's ISO 11649 creditor
    /// reference; `null` for batches submitted before creditor references existed.
    pub payment_instructions: Option<PaymentInstructions>,
}

/// A batch with its lines and receipts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: BatchView,
    pub lines: Vec<LineView>,
    pub receipts: Vec<ReceiptView>,
    /// The latest signed checkpoint when this was read (`null` before the first): every receipt
    /// booked up to its sequence is listed here (later ones may be too).
    pub checkpoint: Option<CheckpointView>,
}

/// A line as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub reference: String,
    pub members: i64,
    pub amount: Money,
    pub kind: String,
}

/// A recorded receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub amount: Money,
    /// The part that settled what was due.
    pub applied: Money,
    /// The part above what was due, recorded as a donation.
    pub overpayment: Money,
    pub value_date: String,
    pub bank_reference: String,
    pub transaction_id: Uuid,
    /// What the contributor actually sent, in another currency, and the bank's rate; `amount`
    /// (credited) is what counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalAmountView>,
}

/// Money as sent in another currency, with the bank's rate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OriginalAmountView {
    pub amount: Money,
    /// Units of the original currency per unit credited, decimal string.
    pub rate: String,
}

impl OriginalAmountView {
    /// From stored columns; `None` unless all three are there.
    pub fn of(
        minor: Option<i64>,
        currency: Option<&str>,
        rate: Option<&str>,
    ) -> Result<Option<OriginalAmountView>, AppError> {
        let (Some(minor), Some(currency), Some(rate)) = (minor, currency, rate) else {
            return Ok(None);
        };
        let currency = Currency::from_code(currency).map_err(AppError::internal_message)?;
        Ok(Some(OriginalAmountView {
            amount: Money::from_minor(minor, currency),
            rate: rate.to_owned(),
        }))
    }
}

/// The answer of recording a receipt: the receipt, and the checkpoint it was computed at.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedReceiptView {
    #[serde(flatten)]
    pub receipt: ReceiptView,
    /// The latest signed checkpoint when the receipt was checked against the batch (`null` before
    /// the first): what was due was read after its head; the receipt's own transaction comes
    /// after it, and is covered by the first checkpoint at or after its sequence.
    pub checkpoint: Option<CheckpointView>,
}

/// The currency a stored batch is kept in (always valid: it was checked when written).
pub(crate) fn batch_currency(summary: &BatchSummary) -> Result<Currency, AppError> {
    Currency::from_code(&summary.currency).map_err(AppError::internal_message)
}

/// A stored batch as its view; its status derived from what was received and reversed.
/// `collection_account` is [`crate::payments::collection_account`]'s answer, read once per request.
pub(crate) fn view_of(
    collection_account: Option<&CollectionAccount>,
    summary: &BatchSummary,
) -> Result<BatchView, AppError> {
    let currency = batch_currency(summary)?;
    let money = |minor| Money::from_minor(minor, currency);
    Ok(BatchView {
        id: summary.id,
        status: BatchStatus::derive(
            summary.amount_minor,
            summary.outstanding_minor,
            summary.reversal_reason.is_some(),
        )
        .as_str()
        .to_owned(),
        programme_id: summary.programme_id,
        contributor_id: summary.contributor_id,
        period: summary.period.clone(),
        earmark_beneficiary_id: summary.earmark_beneficiary_id,
        totals: BatchTotalsView {
            members: u64::try_from(summary.members_total).unwrap_or(0),
            amount: money(summary.amount_minor),
            solidarity: money(summary.solidarity_minor),
            donations: money(summary.donation_minor),
        },
        received: money(summary.received_minor),
        outstanding: money(summary.outstanding_minor),
        line_count: u32::try_from(summary.line_count).unwrap_or(0),
        transaction_id: summary.pledge_transaction_id,
        supplementary: summary.earlier_in_period > 0,
        reversal_reason: summary.reversal_reason.clone(),
        submitted_by: summary.submitted_by.clone(),
        created_at: Timestamp::from_datetime(summary.created_at).to_canonical_string(),
        payment_instructions: summary
            .creditor_reference
            .as_deref()
            .map(|stored| {
                CreditorReference::parse(stored)
                    .map(|reference| payment_instructions(collection_account, &reference))
                    .map_err(|error| {
                        AppError::internal_message(format!(
                            "the stored creditor reference {stored} {error}"
                        ))
                    })
            })
            .transpose()?,
    })
}
