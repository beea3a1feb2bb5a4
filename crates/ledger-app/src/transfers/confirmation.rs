//! A beneficiary confirms what a transfer delivered. A shortfall against what was expected creates
//! a top-up paid by fee coverage at once while it stays within the transfer's expected fee plus
//! the tolerance (`ledger_core::settlement::review_top_up`); beyond that, the claim is recorded as
//! a disputed settlement (no money moves) for the network to resolve with the bank statement
//! ([`crate::disputes`]). A surplus is recorded as such.

use ledger_core::postings::settlement::claim_guard;
use ledger_core::settlement::{
    TopUpReview, check_value_date, immediate_top_up_allowance, review_top_up, top_up_for,
};
use ledger_core::{AccountId, Amount};
use ledger_store::WriteRequest;
use ledger_store::records::{Record, TransferDisputeRecord};
use ledger_store::transfers::TransferRow;
use serde::Deserialize;
use utoipa::ToSchema;

use super::listing::{transfer_view, visible_transfer};
use super::settlement::{
    Chain, Claim, ConfirmationResult, MoneyBody, already_confirmed, book_settlement, chain_of,
    chain_outcome, disputed_conflict, settlement_guard_failed, stored_rate,
};
use super::stored_currency;
use crate::error::{AppError, FieldError};
use crate::fields::{MAX_BANK_REFERENCE_LENGTH, parse_date, text_field};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

/// What reached the beneficiary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTransfer {
    /// In the beneficiary's own currency.
    pub received: MoneyBody,
    /// The value date on the beneficiary's bank statement, `YYYY-MM-DD` between 2000-01-01 and
    /// 2099-12-31.
    #[schema(format = Date)]
    pub value_date: String,
    pub bank_reference: String,
    /// What the statement shows as deducted on the way, if it says.
    pub fees_deducted: Option<MoneyBody>,
}

/// Confirm what a transfer delivered (the beneficiary, for its own transfer): settled with any
/// top-up sent at once (created), or a claim recorded for review (accepted, no money moved).
#[derive(Debug)]
pub struct ConfirmReceipt {
    /// As given in the path (an id that is not one answers 404).
    pub transfer_id: String,
    pub body: ConfirmTransfer,
}

impl Command for ConfirmReceipt {
    const OPERATION: Operation = Operation::ConfirmTransfer;
    type Output = ConfirmationResult;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<ConfirmationResult>, AppError> {
        let transfer = visible_transfer(app, caller, &self.transfer_id).await?;
        if transfer.received_minor.is_some() {
            return Err(already_confirmed());
        }
        if transfer.dispute_id.is_some() {
            return Err(disputed_conflict());
        }
        let body = &self.body;
        let claim = checked_claim(app, &transfer, body)?;
        let chain = chain_of(app, &transfer).await?;
        let outcome = chain_outcome(app, &chain, &transfer, claim.received).await?;
        if outcome.shortfall.is_positive() {
            let rate = stored_rate(&transfer, chain.local)?;
            let top_up = top_up_for(outcome.shortfall, chain.currency, rate.as_ref())
                .map_err(AppError::internal_message)?;
            let already_paid = chain.amount(
                app.store
                    .chain_top_ups_paid(transfer.root_transfer_id)
                    .await?,
            )?;
            let expected_fee = chain.amount(chain.root.fee_minor)?;
            let review = review_top_up(top_up, already_paid, expected_fee)
                .map_err(AppError::internal_message)?;
            if review == TopUpReview::Disputed {
                let allowance =
                    immediate_top_up_allowance(expected_fee).map_err(AppError::internal_message)?;
                return record_claim(
                    app,
                    caller,
                    &transfer,
                    &chain,
                    &claim,
                    ClaimReview {
                        shortfall: outcome.shortfall,
                        top_up,
                        already_paid,
                        allowance,
                    },
                )
                .await;
            }
        }
        let booked = book_settlement(app, caller, &transfer, &chain, &claim, outcome, None).await?;
        let in_transit_id = booked.in_transit_id;
        Ok(Planned::new(Status::Created, booked.view, booked.write)
            .on_guard(move |account, _| settlement_guard_failed(account, in_transit_id)))
    }
}

/// Checks a confirmation's fields against the transfer (every problem at once, 422).
fn checked_claim<'a>(
    app: &App,
    transfer: &TransferRow,
    body: &'a ConfirmTransfer,
) -> Result<Claim<'a>, AppError> {
    let local = stored_currency(&transfer.local_currency)?;
    let mut errors = Vec::new();
    if body.received.currency != local.code() {
        errors.push(FieldError::new(
            "received.currency",
            format!("must be {local}, the beneficiary's currency"),
        ));
    }
    let received = body
        .received
        .amount
        .positive_amount("received.amount", local, &mut errors);
    let value_date = parse_date(&body.value_date, "value_date", &mut errors);
    if let Some(date) = value_date
        && let Err(error) = check_value_date(
            date.naive(),
            transfer.created_at.date_naive(),
            app.sources.now().date_naive(),
        )
    {
        errors.push(FieldError::new("value_date", error.to_string()));
    }
    let bank_reference = text_field(
        "bank_reference",
        &body.bank_reference,
        MAX_BANK_REFERENCE_LENGTH,
        ledger_core::text::TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let fees_deducted = match &body.fees_deducted {
        None => None,
        Some(fees) => {
            if fees.currency != local.code() {
                errors.push(FieldError::new(
                    "fees_deducted.currency",
                    format!("must be {local}, the beneficiary's currency"),
                ));
                None
            } else {
                let amount = fees
                    .amount
                    .amount("fees_deducted.amount", local, &mut errors);
                if amount.is_some_and(|amount| amount.is_negative()) {
                    errors.push(FieldError::new(
                        "fees_deducted.amount",
                        "must not be negative",
                    ));
                }
                amount
            }
        }
    };
    let (Some(received), Some(value_date), true) = (received, value_date, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    Ok(Claim {
        received,
        value_date,
        bank_reference,
        fees_deducted,
    })
}

/// Why a claim was not paid at once: the figures `review_top_up` compared.
#[derive(Debug)]
struct ClaimReview {
    /// The chain's shortfall if the claim were true (local currency).
    shortfall: Amount,
    /// The top-up it would need (EUR).
    top_up: Amount,
    /// What fee coverage already paid for the chain's earlier top-ups, fees included (EUR).
    already_paid: Amount,
    /// What fee coverage may pay without review for the chain (EUR).
    allowance: Amount,
}

/// A claim beyond the allowance, recorded as a disputed settlement (accepted): no money moves.
async fn record_claim(
    app: &App,
    caller: &Caller,
    transfer: &TransferRow,
    chain: &Chain,
    claim: &Claim<'_>,
    review: ClaimReview,
) -> Result<Planned<ConfirmationResult>, AppError> {
    let earlier = app.store.transfer_disputes(transfer.id).await?;
    // Openness and the claim number come from the same read: a claim recorded since the transfer
    // was read is seen here, and two claims that both read before either was written take the
    // same number, which is unique per transfer, so one of them is refused.
    if earlier.iter().any(|claim| claim.decision.is_none()) {
        return Err(disputed_conflict());
    }
    let claim_number = i32::try_from(earlier.len() + 1)
        .map_err(|_| AppError::internal_message("too many claims on one transfer"))?;
    let id = app.sources.id();
    let record = TransferDisputeRecord {
        id,
        transfer_id: transfer.id,
        claim_number,
        received_minor: claim.received.minor(),
        received_currency: claim.received.currency().code().to_owned(),
        value_date: claim.value_date,
        bank_reference: claim.bank_reference.to_owned(),
        fees_deducted_minor: claim.fees_deducted.map(|amount| amount.minor()),
        shortfall_minor: review.shortfall.minor(),
        top_up_minor: review.top_up.minor(),
        already_paid_minor: review.already_paid.minor(),
        allowance_minor: review.allowance.minor(),
        currency: review.top_up.currency().code().to_owned(),
        claimed_by: caller.subject.clone(),
        created_at: app.sources.timestamp(),
    };
    let mut disputed = transfer.clone();
    disputed.dispute_id = Some(id);
    disputed.disputed_received_minor = Some(record.received_minor);
    disputed.disputed_top_up_minor = Some(record.top_up_minor);
    let view = ConfirmationResult {
        transfer: transfer_view(&disputed, None)?,
        top_up: None,
    };
    let write = WriteRequest {
        records: vec![Record::TransferDispute(Box::new(record))],
        // The transfer must still be in transit (unconfirmed) when the claim is recorded.
        guards: vec![claim_guard(
            AccountId::from_uuid(transfer.in_transit_account_id),
            chain.amount(transfer.amount_minor)?,
        )],
        ..WriteRequest::default()
    };
    Ok(Planned::new(Status::Accepted, view, write).on_guard(|_, _| already_confirmed()))
}
