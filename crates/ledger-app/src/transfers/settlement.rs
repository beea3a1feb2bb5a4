//! Settling a transfer with what arrived, shared by the beneficiary's confirmation and the
//! network's resolution of a disputed claim: where the transfer's chain stands, and the write that
//! books the settlement with the top-up its shortfall needs (postings:
//! [`ledger_core::postings::settlement`]).

use ledger_core::fx::ExchangeRate;
use ledger_core::organisation::{Organisation, Programme};
use ledger_core::postings::settlement::{self as postings, Resolution};
use ledger_core::settlement::{SettlementOutcome, expected_local, settle, top_up_for};
use ledger_core::{AccountId, Amount, Currency, FundDate, OrganisationId, TransactionId, chart};
use ledger_store::WriteRequest;
use ledger_store::records::{Record, TransferConfirmationRecord, TransferRecord};
use ledger_store::transfers::TransferRow;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fee_schedule;
use super::listing::{RateView, TransferView, row_of, transfer_view};
use super::stored_currency;
use crate::error::AppError;
use crate::money::DecimalText;
use crate::{App, Caller};

/// An amount with its currency, as received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    #[schema(value_type = String)]
    pub amount: DecimalText,
    pub currency: String,
}

/// The confirmed transfer and the top-up it caused, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationResult {
    pub transfer: TransferView,
    pub top_up: Option<TransferView>,
}

/// The rate a stored transfer used.
pub fn stored_rate(row: &TransferRow, local: Currency) -> Result<Option<ExchangeRate>, AppError> {
    let Some(rate) = &row.rate else {
        return Ok(None);
    };
    let eur = Currency::eur();
    if let Some(fixed) = ExchangeRate::fixed(eur, local) {
        return Ok(Some(fixed));
    }
    let value: Decimal = rate.parse().map_err(AppError::internal_message)?;
    ExchangeRate::recorded(
        eur,
        local,
        value,
        row.rate_source.as_deref().unwrap_or_default(),
    )
    .map(Some)
    .map_err(AppError::internal_message)
}

/// The 409 of a transfer whose claim awaits the network's review.
pub fn disputed_conflict() -> AppError {
    AppError::conflict(
        "disputed",
        "a claim on this transfer awaits the network's review of the bank statement; nothing can be confirmed until it is resolved",
    )
}

/// The 409 of a transfer confirmed already.
pub fn already_confirmed() -> AppError {
    AppError::conflict("already_confirmed", "this transfer was already confirmed")
}

/// The refusal of a settlement's failed balance guard: the transfer was confirmed meanwhile, or
/// fee coverage cannot pay the top-up.
pub fn settlement_guard_failed(account: AccountId, in_transit: AccountId) -> AppError {
    if account == in_transit {
        already_confirmed()
    } else {
        AppError::conflict(
            "fee_coverage_insufficient",
            "fee coverage cannot pay the top-up this shortfall needs; deposit into fee coverage, then confirm again",
        )
    }
}

/// What a confirmation says arrived (the beneficiary's, or as the network established it).
#[derive(Debug)]
pub struct Claim<'a> {
    pub received: Amount,
    pub value_date: FundDate,
    pub bank_reference: &'a str,
    pub fees_deducted: Option<Amount>,
}

/// What a confirmation is judged against: the beneficiary, the programme, and the chain's original
/// transfer (whose expected local amount and expected fee bound the chain).
#[derive(Debug)]
pub struct Chain {
    pub beneficiary: Organisation,
    pub programme: Programme,
    pub root: TransferRow,
    /// The transfers' currency (EUR).
    pub currency: Currency,
    /// The beneficiary's currency.
    pub local: Currency,
}

impl Chain {
    /// An amount in the transfers' currency.
    pub fn amount(&self, minor: i64) -> Result<Amount, AppError> {
        Amount::from_minor(minor, self.currency).map_err(AppError::internal_message)
    }
}

/// The chain `transfer` belongs to.
pub async fn chain_of(app: &App, transfer: &TransferRow) -> Result<Chain, AppError> {
    let beneficiary = app
        .store
        .organisation(OrganisationId::from_uuid(transfer.beneficiary_id))
        .await?
        .ok_or_else(|| AppError::internal_message("a transfer names an unknown beneficiary"))?;
    let programme = app
        .store
        .programme(transfer.programme_id)
        .await?
        .ok_or_else(|| AppError::internal_message("a transfer names an unknown programme"))?;
    let root = if transfer.root_transfer_id == transfer.id {
        transfer.clone()
    } else {
        app.store
            .transfer(transfer.root_transfer_id)
            .await?
            .ok_or_else(|| AppError::internal_message("a top-up names an unknown transfer"))?
    };
    Ok(Chain {
        beneficiary,
        programme,
        root,
        currency: stored_currency(&transfer.currency)?,
        local: stored_currency(&transfer.local_currency)?,
    })
}

/// Where the chain stands if `received` is what this transfer delivered.
pub async fn chain_outcome(
    app: &App,
    chain: &Chain,
    transfer: &TransferRow,
    received: Amount,
) -> Result<SettlementOutcome, AppError> {
    let already = app.store.chain_received(transfer.root_transfer_id).await?;
    let amount_of =
        |minor: i64| Amount::from_minor(minor, chain.local).map_err(AppError::internal_message);
    settle(
        amount_of(chain.root.expected_local_minor)?,
        amount_of(
            already
                .checked_add(received.minor())
                .ok_or_else(|| AppError::internal_message("overflow"))?,
        )?,
    )
    .map_err(AppError::internal_message)
}

/// A settlement ready to write: its transactions, guards and records, and the answer.
#[derive(Debug)]
pub struct BookedSettlement {
    pub write: WriteRequest,
    pub view: ConfirmationResult,
    pub in_transit_id: AccountId,
    pub transaction_id: TransactionId,
    pub top_up_id: Option<Uuid>,
}

/// The settlement of `transfer` with what `claim` says arrived, and the top-up the chain's
/// shortfall needs, if any (the caller decided it may be paid). A dispute's `resolution` goes into
/// the settlement's journal metadata.
#[allow(clippy::too_many_arguments)]
pub async fn book_settlement(
    app: &App,
    caller: &Caller,
    transfer: &TransferRow,
    chain: &Chain,
    claim: &Claim<'_>,
    outcome: SettlementOutcome,
    resolution: Option<&Resolution<'_>>,
) -> Result<BookedSettlement, AppError> {
    let (currency, local) = (chain.currency, chain.local);
    let (beneficiary, programme) = (&chain.beneficiary, &chain.programme);
    let received = claim.received;
    let header = app.sources.header(caller.actor());
    let (now, transaction_id) = (header.recorded_at, header.id);
    let settling = postings::Settlement {
        transfer_id: transfer.id,
        beneficiary: beneficiary.id,
        beneficiary_slug: &beneficiary.slug,
        end_to_end_id: &transfer.end_to_end_id,
        sent: chain.amount(transfer.amount_minor)?,
        fee: chain.amount(transfer.fee_minor)?,
        received,
        value_date: claim.value_date,
        bank_reference: claim.bank_reference,
    };
    let settlement = match resolution {
        None => postings::settlement(header, &settling),
        Some(resolution) => postings::resolved_settlement(header, &settling, resolution),
    }
    .map_err(AppError::internal)?;
    let in_transit_id = chart::transfer_in_transit(transfer.id, beneficiary.id, currency).id;
    let mut transactions = vec![settlement.transaction];
    let mut records: Vec<Record> = settlement.opens.into_iter().map(Record::Account).collect();
    let mut guards = settlement.guards;
    let mut top_up = None;
    if outcome.shortfall.is_positive() {
        let rate = stored_rate(transfer, local)?;
        let amount = top_up_for(outcome.shortfall, currency, rate.as_ref())
            .map_err(AppError::internal_message)?;
        let schedule =
            fee_schedule::for_beneficiary(app, beneficiary, programme, &transfer.period, currency)
                .await?;
        let fee = schedule
            .expected_fee(amount)
            .map_err(AppError::internal_message)?;
        let (booked, record) = book_top_up(app, caller, transfer, chain, amount, fee, rate)?;
        records.extend(booked.opens.into_iter().map(Record::Account));
        transactions.push(booked.transaction);
        guards.extend(booked.guards);
        top_up = Some(record);
    }
    let confirmation = TransferConfirmationRecord {
        transfer_id: transfer.id,
        received_minor: received.minor(),
        received_currency: local.code().to_owned(),
        value_date: claim.value_date,
        bank_reference: claim.bank_reference.to_owned(),
        fees_deducted_minor: claim.fees_deducted.map(|amount| amount.minor()),
        shortfall_minor: outcome.shortfall.minor(),
        surplus_minor: outcome.surplus.minor(),
        top_up_transfer_id: top_up.as_ref().map(|record| record.id),
        transaction_id,
        confirmed_by: caller.subject.clone(),
        created_at: now,
    };
    let mut settled = transfer.clone();
    // The claim, if there was one, is resolved by this settlement.
    settled.dispute_id = None;
    settled.disputed_received_minor = None;
    settled.disputed_top_up_minor = None;
    let view = ConfirmationResult {
        transfer: transfer_view(&settled, Some(&confirmation))?,
        top_up: top_up
            .as_ref()
            .map(|record| transfer_view(&row_of(record), None))
            .transpose()?,
    };
    let top_up_id = top_up.as_ref().map(|record| record.id);
    if let Some(record) = top_up {
        records.push(Record::Transfer(Box::new(record)));
    }
    records.push(Record::TransferConfirmation(confirmation));
    Ok(BookedSettlement {
        write: WriteRequest {
            transactions,
            guards,
            records,
            ..WriteRequest::default()
        },
        view,
        in_transit_id,
        transaction_id,
        top_up_id,
    })
}

/// The top-up of `amount` (fee `fee`) that makes good the shortfall of `transfer`'s chain: its
/// booking and its transfer record (a child of `transfer`, in the chain's run and period).
fn book_top_up(
    app: &App,
    caller: &Caller,
    transfer: &TransferRow,
    chain: &Chain,
    amount: Amount,
    fee: Amount,
    rate: Option<ExchangeRate>,
) -> Result<(ledger_core::postings::Entry, TransferRecord), AppError> {
    let beneficiary = &chain.beneficiary;
    let id = app.sources.id();
    let header = app.sources.header(caller.actor());
    let (now, transaction_id) = (header.recorded_at, header.id);
    let end_to_end_id = id.simple().to_string();
    let expected = expected_local(amount, beneficiary.currency, rate.as_ref())
        .map_err(AppError::internal_message)?;
    let booked = postings::top_up(
        header,
        &postings::TopUp {
            transfer_id: id,
            beneficiary: beneficiary.id,
            beneficiary_slug: &beneficiary.slug,
            period: &transfer.period,
            run_id: transfer.run_id,
            end_to_end_id: &end_to_end_id,
            amount,
            fee,
        },
    )?;
    let record = TransferRecord {
        id,
        kind: "top_up",
        run_id: transfer.run_id,
        root_transfer_id: transfer.root_transfer_id,
        parent_transfer_id: Some(transfer.id),
        programme_id: chain.programme.id,
        beneficiary_id: beneficiary.id,
        period: transfer.period.clone(),
        amount_minor: amount.minor(),
        currency: amount.currency().code().to_owned(),
        fee_minor: fee.minor(),
        local_currency: beneficiary.currency.code().to_owned(),
        rate: expected.rate.as_ref().map(|rate| rate.rate().to_string()),
        rate_source: expected
            .rate
            .as_ref()
            .map(|rate| RateView::from(rate).source),
        expected_local_minor: expected.amount.minor(),
        residue_minor: expected.residue_minor.to_string(),
        end_to_end_id,
        in_transit_account_id: chart::transfer_in_transit(id, beneficiary.id, amount.currency()).id,
        transaction_id,
        created_by: caller.subject.clone(),
        created_at: now,
    };
    Ok((booked, record))
}
