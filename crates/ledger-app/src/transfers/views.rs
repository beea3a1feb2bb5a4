//! The views of transfers: a transfer with its confirmation or open dispute, and a rate as used.
//! Shared by a run's execution (the transfers it creates) and the transfers' reads and
//! confirmations.

use ledger_core::Timestamp;
use ledger_core::fx::ExchangeRate;
use ledger_core::transfer_run::recorded::RecordedRate;
use ledger_store::records::{TransferConfirmationRecord, TransferRecord};
use ledger_store::transfers::TransferRow;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::stored_currency;
use crate::error::AppError;
use crate::money::Money;

/// A rate as used.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct RateView {
    pub rate: String,
    /// `fixed_parity` or the recorded source.
    pub source: String,
}

impl From<&ExchangeRate> for RateView {
    fn from(rate: &ExchangeRate) -> Self {
        RateView::from(&RecordedRate::from(rate))
    }
}

impl From<&RecordedRate> for RateView {
    fn from(rate: &RecordedRate) -> Self {
        RateView {
            rate: rate.rate.clone(),
            source: rate.source.clone(),
        }
    }
}

/// A beneficiary's confirmation as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationView {
    pub received: Money,
    pub value_date: String,
    pub bank_reference: String,
    pub fees_deducted: Option<Money>,
    /// Still missing after this confirmation for the chain to hold what was expected.
    pub shortfall: Money,
    pub surplus: Money,
    pub top_up_transfer_id: Option<Uuid>,
    pub transaction_id: Uuid,
}

/// A transfer and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    pub id: Uuid,
    /// transfer | top_up
    pub kind: String,
    /// pending | disputed | settled | topped_up
    pub status: String,
    pub run_id: Option<Uuid>,
    pub root_transfer_id: Uuid,
    pub parent_transfer_id: Option<Uuid>,
    pub programme_id: Uuid,
    pub beneficiary_id: Uuid,
    pub period: String,
    pub amount: Money,
    pub expected_fee: Money,
    pub rate: Option<RateView>,
    pub expected_local: Money,
    pub rounding_residue_minor: String,
    /// ISO 20022 EndToEndId for the bank instruction (32 characters).
    pub end_to_end_id: String,
    pub transaction_id: Uuid,
    pub created_at: String,
    pub confirmation: Option<ConfirmationView>,
    /// The claim awaiting the network's review while the status is `disputed`; every claim with
    /// its resolution is at `GET /v1/transfers/{id}/disputes`.
    pub dispute: Option<OpenDisputeView>,
}

/// A claim awaiting the network's review.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenDisputeView {
    pub id: Uuid,
    /// What the beneficiary says arrived.
    pub claimed_received: Money,
    /// The top-up that claim would need, from fee coverage.
    pub top_up_needed: Money,
}

/// A transfer just recorded, as the store will read it back (not confirmed, no claim).
pub fn row_of(record: &TransferRecord) -> TransferRow {
    TransferRow {
        id: record.id,
        kind: record.kind.to_owned(),
        run_id: record.run_id,
        root_transfer_id: record.root_transfer_id,
        parent_transfer_id: record.parent_transfer_id,
        programme_id: record.programme_id,
        beneficiary_id: record.beneficiary_id.as_uuid(),
        period: record.period.clone(),
        amount_minor: record.amount_minor,
        currency: record.currency.clone(),
        fee_minor: record.fee_minor,
        local_currency: record.local_currency.clone(),
        rate: record.rate.clone(),
        rate_source: record.rate_source.clone(),
        expected_local_minor: record.expected_local_minor,
        residue_minor: record.residue_minor.clone(),
        end_to_end_id: record.end_to_end_id.clone(),
        in_transit_account_id: record.in_transit_account_id.as_uuid(),
        transaction_id: record.transaction_id.as_uuid(),
        created_at: record.created_at.to_datetime(),
        received_minor: None,
        value_date: None,
        bank_reference: None,
        fees_deducted_minor: None,
        shortfall_minor: None,
        surplus_minor: None,
        top_up_transfer_id: None,
        confirmation_transaction_id: None,
        dispute_id: None,
        disputed_received_minor: None,
        disputed_top_up_minor: None,
    }
}

/// The view of a stored transfer; `confirmation` is one being recorded now (the row's own
/// confirmation otherwise).
pub fn transfer_view(
    row: &TransferRow,
    confirmation: Option<&TransferConfirmationRecord>,
) -> Result<TransferView, AppError> {
    let currency = stored_currency(&row.currency)?;
    let local = stored_currency(&row.local_currency)?;
    let confirmation = match confirmation {
        Some(record) => Some(ConfirmationView {
            received: Money::from_minor(record.received_minor, local),
            value_date: record.value_date.to_string(),
            bank_reference: record.bank_reference.clone(),
            fees_deducted: record
                .fees_deducted_minor
                .map(|minor| Money::from_minor(minor, local)),
            shortfall: Money::from_minor(record.shortfall_minor, local),
            surplus: Money::from_minor(record.surplus_minor, local),
            top_up_transfer_id: record.top_up_transfer_id,
            transaction_id: record.transaction_id.as_uuid(),
        }),
        None => match (
            row.received_minor,
            row.value_date,
            &row.bank_reference,
            row.confirmation_transaction_id,
        ) {
            (Some(received), Some(value_date), Some(bank_reference), Some(transaction)) => {
                Some(ConfirmationView {
                    received: Money::from_minor(received, local),
                    value_date: value_date.to_string(),
                    bank_reference: bank_reference.clone(),
                    fees_deducted: row
                        .fees_deducted_minor
                        .map(|minor| Money::from_minor(minor, local)),
                    shortfall: Money::from_minor(row.shortfall_minor.unwrap_or(0), local),
                    surplus: Money::from_minor(row.surplus_minor.unwrap_or(0), local),
                    top_up_transfer_id: row.top_up_transfer_id,
                    transaction_id: transaction,
                })
            }
            _ => None,
        },
    };
    let dispute = match (
        &confirmation,
        row.dispute_id,
        row.disputed_received_minor,
        row.disputed_top_up_minor,
    ) {
        (None, Some(id), Some(received), Some(top_up)) => Some(OpenDisputeView {
            id,
            claimed_received: Money::from_minor(received, local),
            top_up_needed: Money::from_minor(top_up, currency),
        }),
        _ => None,
    };
    let status = match &confirmation {
        None if dispute.is_some() => "disputed",
        None => "pending",
        Some(confirmed) if confirmed.top_up_transfer_id.is_some() => "topped_up",
        Some(_) => "settled",
    };
    Ok(TransferView {
        id: row.id,
        kind: row.kind.clone(),
        status: status.to_owned(),
        run_id: row.run_id,
        root_transfer_id: row.root_transfer_id,
        parent_transfer_id: row.parent_transfer_id,
        programme_id: row.programme_id,
        beneficiary_id: row.beneficiary_id,
        period: row.period.clone(),
        amount: Money::from_minor(row.amount_minor, currency),
        expected_fee: Money::from_minor(row.fee_minor, currency),
        rate: row.rate.as_ref().map(|rate| RateView {
            rate: rate.clone(),
            source: row.rate_source.clone().unwrap_or_default(),
        }),
        expected_local: Money::from_minor(row.expected_local_minor, local),
        rounding_residue_minor: row.residue_minor.clone(),
        end_to_end_id: row.end_to_end_id.clone(),
        transaction_id: row.transaction_id,
        created_at: Timestamp::from_datetime(row.created_at).to_canonical_string(),
        confirmation,
        dispute,
    })
}
