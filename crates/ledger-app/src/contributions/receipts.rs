//! Recording a bank receipt for a batch: the money enters the pool or the earmarked fund.

use ledger_core::postings::contributions::{self, ReceiptSplit};
use ledger_core::text::TextKind;
use ledger_core::{Amount, Currency, OrganisationId, Period};
use ledger_store::WriteRequest;
use ledger_store::records::{BatchReceiptRecord, Record};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use super::reads::visible_batch;
use super::views::{OriginalAmountView, ReceiptView, RecordedReceiptView, batch_currency};
use crate::checkpoints::checkpoint_before_read;
use crate::error::{AppError, FieldError};
use crate::fields::{parse_date, text_field};
use crate::money::DecimalText;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

pub use crate::fields::MAX_BANK_REFERENCE_LENGTH;

/// A bank receipt for a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReceipt {
    /// Decimal string in the programme's currency.
    #[schema(value_type = String)]
    pub amount: DecimalText,
    /// The bank's value date, `YYYY-MM-DD` between 2000-01-01 and 2099-12-31, not after today.
    #[schema(format = Date)]
    pub value_date: String,
    /// The bank's reference for the credit (statement reference or EndToEndId).
    pub bank_reference: String,
    /// Accept an amount above what is still due; the excess is recorded as a donation.
    #[serde(default)]
    pub overpayment: bool,
    /// What the contributor actually sent when it paid from another currency (e.g.
    /// `{"amount": "1650.00", "currency": "CAD"}`); `amount` above, credited, is what counts.
    pub original: Option<OriginalAmountBody>,
    /// With `original`: the bank's rate, units of the original currency per unit credited,
    /// decimal string (e.g. `"1.4667"`).
    #[schema(value_type = Option<String>)]
    pub rate: Option<DecimalText>,
}

/// Money as sent, in another currency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginalAmountBody {
    /// Decimal string in `currency`.
    #[schema(value_type = String)]
    pub amount: DecimalText,
    /// ISO 4217, not the programme's own.
    pub currency: String,
}

/// The most digits after the point of a bank's rate.
pub const MAX_RATE_SCALE: u32 = 10;

/// Record a bank receipt for a batch (the network); `batch` is the id as given in the path.
#[derive(Debug)]
pub struct RecordReceipt {
    pub batch: String,
    pub body: CreateReceipt,
}

impl Command for RecordReceipt {
    const OPERATION: Operation = Operation::RecordReceipt;
    type Output = RecordedReceiptView;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<RecordedReceiptView>, AppError> {
        let checkpoint = checkpoint_before_read(app).await?;
        let batch = visible_batch(app, caller, &self.batch).await?;
        if batch.reversal_reason.is_some() {
            return Err(AppError::conflict(
                "batch_reversed",
                "this batch was reversed; it takes no receipts",
            ));
        }
        let currency = batch_currency(&batch)?;
        let body = &self.body;
        let mut errors = Vec::new();
        let amount = body.amount.positive_amount("amount", currency, &mut errors);
        // Money cannot have reached the bank after today.
        let today = app.sources.today()?;
        let value_date = parse_date(&body.value_date, "value_date", &mut errors).and_then(|date| {
            date.not_after(today)
                .map_err(|error| errors.push(FieldError::new("value_date", error.to_string())))
                .ok()
        });
        let bank_reference = text_field(
            "bank_reference",
            &body.bank_reference,
            MAX_BANK_REFERENCE_LENGTH,
            TextKind::Identifier,
            &mut errors,
        )
        .unwrap_or_default();
        let outstanding = Amount::from_minor(batch.outstanding_minor.max(0), currency)
            .map_err(AppError::internal_message)?;
        if let Some(amount) = amount
            && amount.minor() > outstanding.minor()
            && !body.overpayment
        {
            errors.push(FieldError::new(
                "amount",
                format!(
                    "exceeds what is still due ({}); mark the receipt as an overpayment to record the excess as a donation",
                    outstanding.to_decimal_string()
                ),
            ));
        }
        let original = original_of(body, currency, &mut errors);
        let (Some(amount), Some(value_date), true) = (amount, value_date, errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        let split = ReceiptSplit::of(amount, outstanding).map_err(AppError::internal_message)?;
        let period = Period::parse_any(&batch.period).map_err(AppError::internal_message)?;
        let receipt_id = app.sources.id();
        let mut header = app.sources.header(caller.actor());
        header.effective_date = value_date.naive();
        let (transaction_id, now) = (header.id, header.recorded_at);
        let contributor = OrganisationId::from_uuid(batch.contributor_id);
        let booked = contributions::receipt(
            header,
            &contributions::Receipt {
                batch_id: batch.id,
                receipt_id,
                programme_id: batch.programme_id,
                contributor,
                earmark: batch.earmark_beneficiary_id.map(OrganisationId::from_uuid),
                period: &period,
                split,
                value_date,
                bank_reference,
            },
        )?;
        let view = RecordedReceiptView {
            receipt: ReceiptView {
                id: receipt_id,
                batch_id: batch.id,
                amount: amount.into(),
                applied: split.applied().into(),
                overpayment: split.overpayment().into(),
                value_date: value_date.to_string(),
                bank_reference: bank_reference.to_owned(),
                transaction_id: transaction_id.as_uuid(),
                original: original.as_ref().map(|(sent, rate)| OriginalAmountView {
                    amount: (*sent).into(),
                    rate: rate.to_string(),
                }),
            },
            checkpoint,
        };
        let mut records: Vec<Record> = booked.opens.into_iter().map(Record::Account).collect();
        records.push(Record::BatchReceipt(BatchReceiptRecord {
            id: receipt_id,
            batch_id: batch.id,
            amount_minor: amount.minor(),
            overpayment_minor: split.overpayment().minor(),
            value_date,
            bank_reference: bank_reference.to_owned(),
            transaction_id,
            recorded_by: caller.subject.clone(),
            created_at: now,
            original: original.map(|(sent, rate)| {
                (
                    sent.minor(),
                    sent.currency().code().to_owned(),
                    rate.to_string(),
                )
            }),
        }));
        let write = WriteRequest {
            transactions: vec![booked.transaction],
            // A concurrent receipt may have settled part of the batch since it was read: the
            // receivable's guard refuses to receive more than is due.
            guards: booked.guards,
            records,
            ..WriteRequest::default()
        };
        Ok(
            Planned::new(Status::Created, view, write).on_guard(|_, _| {
                AppError::conflict(
                    "receipt_exceeds_outstanding",
                    "another receipt settled part of this batch meanwhile; the amount now exceeds what is still due",
                )
            }),
        )
    }
}

/// The amount sent in another currency and the bank's rate, checked together: both or neither,
/// another currency than the one credited, a positive amount and a positive rate.
fn original_of(
    body: &CreateReceipt,
    credited: Currency,
    errors: &mut Vec<FieldError>,
) -> Option<(Amount, Decimal)> {
    match (&body.original, &body.rate) {
        (None, None) => None,
        (Some(_), None) => {
            errors.push(FieldError::new(
                "rate",
                "is required with `original`: the bank's rate",
            ));
            None
        }
        (None, Some(_)) => {
            errors.push(FieldError::new("original", "is required with `rate`"));
            None
        }
        (Some(original), Some(rate)) => {
            let currency = match Currency::from_code(&original.currency) {
                Ok(currency) if currency == credited => {
                    errors.push(FieldError::new(
                        "original.currency",
                        "is the currency credited: give `original` only for money sent in another currency",
                    ));
                    None
                }
                Ok(currency) => Some(currency),
                Err(error) => {
                    errors.push(FieldError::new("original.currency", error.to_string()));
                    None
                }
            };
            let sent = currency.and_then(|currency| {
                original
                    .amount
                    .positive_amount("original.amount", currency, errors)
            });
            let rate = rate.decimal("rate", errors).and_then(|rate| {
                if rate <= Decimal::ZERO || rate.scale() > MAX_RATE_SCALE {
                    errors.push(FieldError::new(
                        "rate",
                        format!("must be positive, with at most {MAX_RATE_SCALE} decimals"),
                    ));
                    None
                } else {
                    Some(rate.normalize())
                }
            });
            sent.zip(rate)
        }
    }
}
