//! Loss-free transfers to southern mutuals: the beneficiaries' confirmations of their transfers,
//! with top-ups from fee coverage when an intermediary bank took part of the money. Fee coverage
//! and transfer runs (a recorded plan, then its execution into pending transfers) are commands of
//! [`ledger_app::transfers`], served by `fee_coverage.rs` and `transfer_runs.rs` (their routers are
//! merged here). The rules are the core's
//! ([`ledger_core::transfer_run`], [`ledger_core::settlement`]); this module gathers their inputs,
//! turns their decisions into balanced transactions and records them. Postings: `docs/accounts.md`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::FundDate;
use ledger_core::fx::ExchangeRate;
use ledger_core::organisation::{Organisation, Programme};
use ledger_core::settlement::{
    FeeSchedule, SettlementOutcome, TopUpReview, check_value_date, immediate_top_up_allowance,
    review_top_up, settle, top_up_for,
};
use ledger_core::{
    Account, Amount, Currency, OrganisationId, Timestamp, TransactionDraft, TransactionId,
    TransactionKind, chart,
};
use ledger_store::records::{Record, TransferConfirmationRecord};
use ledger_store::transfers::{TransferFilter, TransferRow};
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::batches::{MAX_BANK_REFERENCE_LENGTH, balanced, posting};
use crate::eligibility::parse_date;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::{DecimalText, Money};
use crate::organisations::parse_id;
use crate::pagination::{Page, PageQuery, page};
use crate::problem::{ApiError, FieldError};
use crate::query::Query;
use ledger_app::Operation;
use ledger_app::policy::require;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(crate::fee_coverage::router())
        .merge(crate::transfer_runs::router())
        .routes(routes!(list_transfers))
        .routes(routes!(get_transfer))
        .routes(routes!(confirm_transfer))
        .routes(routes!(return_held_funds))
        .merge(crate::disputes::router())
}

fn eur() -> Currency {
    Currency::eur()
}

pub(crate) fn stored_currency(code: &str) -> Result<Currency, ApiError> {
    Currency::from_code(code).map_err(ApiError::internal_message)
}

pub use ledger_app::transfers::TransferView;
pub(crate) use ledger_app::transfers::{row_of, transfer_view};

/// A net-asset account's balance, shown positive.
async fn credit_balance(state: &AppState, account: &Account) -> Result<i64, ApiError> {
    Ok(ledger_app::transfers::credit_balance(&state.app, account).await?)
}

// ---------------------------------------------------------------------------------------------
// Transfers and confirmations
// ---------------------------------------------------------------------------------------------

/// Filters of the transfer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferListQuery {
    /// pending | disputed | settled | topped_up
    pub status: Option<String>,
    /// Admins and auditors may list one beneficiary's transfers.
    pub beneficiary_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// List transfers: a beneficiary its own; admins and auditors all.
#[utoipa::path(
    get, path = "/v1/transfers", tag = "transfers", params(TransferListQuery),
    responses((status = 200, body = Page<TransferView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_transfers(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<TransferListQuery>,
) -> Result<AppJson<Page<TransferView>>, ApiError> {
    require(Operation::ListTransfers, &principal)?;
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    if let Some(status) = &query.status
        && !matches!(
            status.as_str(),
            "pending" | "disputed" | "settled" | "topped_up"
        )
    {
        return Err(ApiError::invalid_field(
            "status",
            "must be pending, disputed, settled or topped_up",
        ));
    }
    let filter = TransferFilter {
        beneficiary_id: if principal.sees_everything() {
            query.beneficiary_id
        } else {
            Some(principal.organisation.as_uuid())
        },
        run_id: query.run_id,
        status: query.status.clone(),
    };
    let rows = state.store.transfers(&filter, after, limit + 1).await?;
    let listed = page(rows, limit, |row| row.id, |row| row);
    let items = listed
        .items
        .iter()
        .map(|row| transfer_view(row, None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppJson(Page {
        items,
        next_cursor: listed.next_cursor,
    }))
}

/// A transfer the caller may see, or 404 (another beneficiary's transfer is never disclosed).
pub(crate) async fn visible_transfer(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<TransferRow, ApiError> {
    require(Operation::ReadTransfer, principal)?;
    let not_found = || ApiError::not_found("no such transfer");
    let id = parse_id(id).ok_or_else(not_found)?;
    let transfer = state.store.transfer(id).await?.ok_or_else(not_found)?;
    if principal.sees_everything() || transfer.beneficiary_id == principal.organisation.as_uuid() {
        Ok(transfer)
    } else {
        Err(not_found())
    }
}

/// One transfer with its confirmation.
#[utoipa::path(
    get, path = "/v1/transfers/{id}", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TransferView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<TransferView>, ApiError> {
    let transfer = visible_transfer(&state, &principal, &id).await?;
    Ok(AppJson(transfer_view(&transfer, None)?))
}

/// An amount with its currency, as received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    #[schema(value_type = String)]
    pub amount: DecimalText,
    pub currency: String,
}

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

/// The confirmed transfer and the top-up it caused, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationResult {
    pub transfer: TransferView,
    pub top_up: Option<TransferView>,
}

/// The rate a stored transfer used.
fn stored_rate(row: &TransferRow, local: Currency) -> Result<Option<ExchangeRate>, ApiError> {
    let Some(rate) = &row.rate else {
        return Ok(None);
    };
    if let Some(fixed) = ExchangeRate::fixed(eur(), local) {
        return Ok(Some(fixed));
    }
    let value: Decimal = rate.parse().map_err(ApiError::internal_message)?;
    ExchangeRate::recorded(
        eur(),
        local,
        value,
        row.rate_source.as_deref().unwrap_or_default(),
    )
    .map(Some)
    .map_err(ApiError::internal_message)
}

/// Confirm what a transfer delivered (the beneficiary, for its own transfer). A shortfall against
/// what was expected creates a top-up paid by fee coverage at once while it stays within the
/// transfer's expected fee plus the tolerance (`ledger_core::settlement::review_top_up`); beyond
/// that, the claim is recorded as a disputed settlement (202), no money moves, and an admin resolves
/// it with the bank statement. A surplus is recorded as such.
#[utoipa::path(
    post, path = "/v1/transfers/{id}/confirmation", tag = "transfers",
    request_body = ConfirmTransfer,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses(
        (status = 201, body = ConfirmationResult, description = "settled, with any top-up sent at once"),
        (status = 202, body = ConfirmationResult, description = "disputed: the claim waits for the network's review; no money moved"),
        (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "already confirmed, a claim is under review, or fee coverage cannot pay the top-up"),
        (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn confirm_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ConfirmTransfer>,
) -> Result<Response, ApiError> {
    require(Operation::ConfirmTransfer, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let transfer = visible_transfer(&state, &principal, &id).await?;
    if transfer.received_minor.is_some() {
        return Err(ApiError::conflict(
            "already_confirmed",
            "this transfer was already confirmed",
        ));
    }
    if transfer.dispute_id.is_some() {
        return Err(disputed_conflict());
    }
    let local = stored_currency(&transfer.local_currency)?;
    let body = &request.body;
    let mut errors = Vec::new();
    let received_currency_ok = body.received.currency == local.code();
    if !received_currency_ok {
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
            Utc::now().date_naive(),
        )
    {
        errors.push(FieldError::new("value_date", error.to_string()));
    }
    let bank_reference = crate::batches::text_field(
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
        return Err(ApiError::validation(errors));
    };
    let chain = chain_of(&state, &transfer).await?;
    let outcome = chain_outcome(&state, &chain, &transfer, received).await?;
    let claim = Claim {
        received,
        value_date,
        bank_reference,
        fees_deducted,
    };
    if outcome.shortfall.is_positive() {
        let rate = stored_rate(&transfer, local)?;
        let top_up = top_up_for(outcome.shortfall, chain.currency, rate.as_ref())
            .map_err(ApiError::internal_message)?;
        let already_paid = chain.amount(
            state
                .store
                .chain_top_ups_paid(transfer.root_transfer_id)
                .await?,
        )?;
        let expected_fee = chain.amount(chain.root.fee_minor)?;
        let review = review_top_up(top_up, already_paid, expected_fee)
            .map_err(ApiError::internal_message)?;
        if review == TopUpReview::Disputed {
            let allowance =
                immediate_top_up_allowance(expected_fee).map_err(ApiError::internal_message)?;
            return crate::disputes::record_claim(
                &state,
                &principal,
                &request,
                &transfer,
                &claim,
                crate::disputes::ClaimReview {
                    shortfall: outcome.shortfall,
                    top_up,
                    already_paid,
                    allowance,
                },
            )
            .await;
        }
    }
    let booked = book_settlement(
        &state,
        &principal,
        &transfer,
        &chain,
        &claim,
        outcome,
        serde_json::Map::new(),
    )
    .await?;
    let in_transit_id = booked.in_transit_id;
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &booked.view,
            booked.write,
            move |account, _| settlement_guard_failed(account, in_transit_id),
        )
        .await
}

/// The 409 of a transfer whose claim awaits the network's review.
pub(crate) fn disputed_conflict() -> ApiError {
    ApiError::conflict(
        "disputed",
        "a claim on this transfer awaits the network's review of the bank statement; nothing can be confirmed until it is resolved",
    )
}

/// The error of a settlement's failed balance guard: the transfer was confirmed meanwhile, or fee
/// coverage cannot pay the top-up.
pub(crate) fn settlement_guard_failed(
    account: ledger_core::AccountId,
    in_transit: ledger_core::AccountId,
) -> ApiError {
    if account == in_transit {
        ApiError::conflict("already_confirmed", "this transfer was already confirmed")
    } else {
        ApiError::conflict(
            "fee_coverage_insufficient",
            "fee coverage cannot pay the top-up this shortfall needs; deposit into fee coverage, then confirm again",
        )
    }
}

/// What a confirmation says arrived (the beneficiary's, or as the network established it).
pub(crate) struct Claim<'a> {
    pub received: Amount,
    pub value_date: FundDate,
    pub bank_reference: &'a str,
    pub fees_deducted: Option<Amount>,
}

/// What a confirmation is judged against: the beneficiary, the programme, and the chain's original
/// transfer (whose expected local amount and expected fee bound the chain).
pub(crate) struct Chain {
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
    pub fn amount(&self, minor: i64) -> Result<Amount, ApiError> {
        Amount::from_minor(minor, self.currency).map_err(ApiError::internal_message)
    }
}

pub(crate) async fn chain_of(state: &AppState, transfer: &TransferRow) -> Result<Chain, ApiError> {
    let beneficiary = state
        .store
        .organisation(OrganisationId::from_uuid(transfer.beneficiary_id))
        .await?
        .ok_or_else(|| ApiError::internal_message("a transfer names an unknown beneficiary"))?;
    let programme = state
        .store
        .programme(transfer.programme_id)
        .await?
        .ok_or_else(|| ApiError::internal_message("a transfer names an unknown programme"))?;
    let root = if transfer.root_transfer_id == transfer.id {
        transfer.clone()
    } else {
        state
            .store
            .transfer(transfer.root_transfer_id)
            .await?
            .ok_or_else(|| ApiError::internal_message("a top-up names an unknown transfer"))?
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
pub(crate) async fn chain_outcome(
    state: &AppState,
    chain: &Chain,
    transfer: &TransferRow,
    received: Amount,
) -> Result<SettlementOutcome, ApiError> {
    let already = state
        .store
        .chain_received(transfer.root_transfer_id)
        .await?;
    let amount_of =
        |minor: i64| Amount::from_minor(minor, chain.local).map_err(ApiError::internal_message);
    settle(
        amount_of(chain.root.expected_local_minor)?,
        amount_of(
            already
                .checked_add(received.minor())
                .ok_or_else(|| ApiError::internal_message("overflow"))?,
        )?,
    )
    .map_err(ApiError::internal_message)
}

/// A settlement ready to write: its transactions, guards and records, and the answer.
pub(crate) struct BookedSettlement {
    pub write: WriteRequest,
    pub view: ConfirmationResult,
    pub in_transit_id: ledger_core::AccountId,
    pub transaction_id: TransactionId,
    pub top_up_id: Option<Uuid>,
}

/// The settlement of `transfer` with what `claim` says arrived, and the top-up the chain's
/// shortfall needs, if any (the caller decided it may be paid). `extra_metadata` goes into the
/// settlement's journal metadata (a dispute resolution's evidence).
pub(crate) async fn book_settlement(
    state: &AppState,
    principal: &Principal,
    transfer: &TransferRow,
    chain: &Chain,
    claim: &Claim<'_>,
    outcome: SettlementOutcome,
    extra_metadata: serde_json::Map<String, serde_json::Value>,
) -> Result<BookedSettlement, ApiError> {
    let (currency, local) = (chain.currency, chain.local);
    let (beneficiary, programme) = (&chain.beneficiary, &chain.programme);
    let received = claim.received;
    let now = Utc::now();
    let sent = chain.amount(transfer.amount_minor)?;
    let fee = chain.amount(transfer.fee_minor)?;
    let in_transit = chart::transfer_in_transit(transfer.id, beneficiary.id, currency);
    let bank = chart::fund_bank(currency);
    let reserved = chart::fee_coverage_reserved(currency);
    let conversion = chart::fx_conversion(local);
    let advance = chart::beneficiary_advance(beneficiary.id, local);
    let mut postings = vec![
        posting(&in_transit, sent),
        posting(&bank, sent.negated()),
        posting(&conversion, received),
        posting(&advance, received.negated()),
    ];
    if fee.is_positive() {
        // The bank's fee for sending is paid from the fee coverage reserved for it, never the pool.
        postings.push(posting(&reserved, fee));
        postings.push(posting(&bank, fee.negated()));
    }
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("transfer_id".into(), transfer.id.to_string().into());
    metadata.insert("bank_reference".into(), claim.bank_reference.into());
    metadata.insert("value_date".into(), claim.value_date.to_string().into());
    metadata.insert("received".into(), received.to_decimal_string().into());
    metadata.insert("received_currency".into(), local.code().into());
    metadata.extend(extra_metadata);
    let settlement = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Settlement,
            effective_date: claim.value_date.naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!(
                "{} confirmed {received} for transfer {}",
                beneficiary.slug, transfer.end_to_end_id
            ),
            metadata,
            postings,
        },
        &[&in_transit, &bank, &reserved, &conversion, &advance],
    )?;
    let mut transactions = vec![settlement];
    let mut records = vec![
        Record::Account(conversion),
        Record::Account(advance),
        Record::Account(reserved),
    ];
    let mut guards = vec![BalanceGuard {
        // A second confirmation would leave the transfer's in-transit account in debit.
        account_id: in_transit.id,
        bound: BalanceBound::AtMost(0),
    }];
    let mut top_up = None;
    if outcome.shortfall.is_positive() {
        let rate = stored_rate(transfer, local)?;
        let amount = top_up_for(outcome.shortfall, currency, rate.as_ref())
            .map_err(ApiError::internal_message)?;
        // The beneficiary's own schedule, else the programme's (as a run reads them).
        let schedule = ledger_app::transfers::fee_schedule::for_beneficiary(
            &state.app,
            beneficiary.id,
            programme.id,
            eur(),
        )
        .await?;
        let top_up_fee = schedule
            .expected_fee(amount)
            .map_err(ApiError::internal_message)?;
        let coverage = chart::fee_coverage(currency);
        let mut new = ledger_app::transfers::execution::new_transfer(
            &state.app.sources,
            principal,
            programme,
            &transfer.period,
            transfer.run_id,
            Some((transfer.root_transfer_id, transfer.id)),
            beneficiary,
            amount,
            top_up_fee,
            rate.as_ref(),
            vec![(coverage.clone(), amount)],
            ledger_core::postings::transfers::TransferKind::TopUp,
        )?;
        // A top-up is paid by fee coverage: it must not go into debit.
        guards.push(BalanceGuard {
            account_id: coverage.id,
            bound: BalanceBound::AtMost(0),
        });
        new.record.created_by = principal.subject.clone();
        records.extend(new.accounts.iter().cloned().map(Record::Account));
        transactions.push(new.transaction);
        top_up = Some(new.record);
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
        confirmed_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(now),
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
        in_transit_id: in_transit.id,
        transaction_id,
        top_up_id,
    })
}

/// Why held funds go back to the pool.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnHeldFunds {
    pub reason: String,
}

/// What a return of held funds did.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldFundsReturnView {
    pub programme_id: Uuid,
    pub beneficiary_id: Uuid,
    pub returned: Money,
    pub reason: String,
    pub transaction_id: Uuid,
}

/// Return what is held for a beneficiary to the pool (admin), with a reason: the next run shares it
/// among all beneficiaries again.
#[utoipa::path(
    post, path = "/v1/programmes/{id}/held-funds/{beneficiary_id}/return", tag = "transfers",
    request_body = ReturnHeldFunds,
    params(("id" = Uuid, Path), ("beneficiary_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = HeldFundsReturnView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn return_held_funds(
    State(state): State<AppState>,
    principal: Principal,
    Path((programme_id, beneficiary_id)): Path<(String, String)>,
    request: Idempotent<ReturnHeldFunds>,
) -> Result<Response, ApiError> {
    require(Operation::ReturnHeldFunds, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let programme = match parse_id(&programme_id) {
        Some(id) => state.store.programme(id).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::not_found("no such programme"))?;
    let beneficiary = match parse_id(&beneficiary_id) {
        Some(id) => {
            state
                .store
                .organisation(OrganisationId::from_uuid(id))
                .await?
        }
        None => None,
    }
    .ok_or_else(|| ApiError::not_found("no such beneficiary"))?;
    let reason = crate::batches::reason_field(&request.body.reason)?;
    let currency = programme.currency;
    let held = chart::programme_held(programme.id, beneficiary.id, currency);
    let pool = chart::programme_pool(programme.id, currency);
    let amount = Amount::from_minor(credit_balance(&state, &held).await?, currency)
        .map_err(ApiError::internal_message)?;
    if !amount.is_positive() {
        return Err(ApiError::conflict(
            "nothing_held",
            format!("nothing is held for {} in this programme", beneficiary.slug),
        ));
    }
    let now = Utc::now();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("beneficiary_id".into(), beneficiary.id.to_string().into());
    metadata.insert("reason".into(), reason.as_str().into());
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Adjustment,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: ledger_core::memo::held_funds_return(&beneficiary.slug, &reason),
            metadata,
            postings: vec![posting(&held, amount), posting(&pool, amount.negated())],
        },
        &[&held, &pool],
    )?;
    let view = HeldFundsReturnView {
        programme_id: programme.id,
        beneficiary_id: beneficiary.id.as_uuid(),
        returned: amount.into(),
        reason: reason.as_str().to_owned(),
        transaction_id: transaction_id.as_uuid(),
    };
    let write = WriteRequest {
        transactions: vec![transaction],
        // A run may have released the hold meanwhile: never return more than is held.
        guards: vec![BalanceGuard {
            account_id: held.id,
            bound: BalanceBound::AtMost(0),
        }],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| {
                ApiError::conflict(
                    "nothing_held",
                    "the held funds moved meanwhile (a run released them); nothing was returned",
                )
            },
        )
        .await
}

/// Fee schedule given on an organisation or a programme.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeScheduleBody {
    /// Fixed EUR per transfer, decimal string.
    #[schema(value_type = String)]
    pub fixed: DecimalText,
    /// Percentage of the amount sent, decimal string.
    #[schema(value_type = String)]
    pub percent: DecimalText,
}

/// Parses a fee schedule under `field`, as the record to store for `owner_id`.
pub(crate) fn fee_schedule_record(
    body: &FeeScheduleBody,
    owner_id: Uuid,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<ledger_store::records::FeeScheduleRecord> {
    let fixed = body.fixed.amount(&format!("{field}.fixed"), eur(), errors);
    let percent = body.percent.decimal(&format!("{field}.percent"), errors);
    let (fixed, percent) = (fixed?, percent?);
    match FeeSchedule::new(fixed, percent) {
        Ok(schedule) => Some(ledger_store::records::FeeScheduleRecord {
            owner_id,
            fixed_minor: schedule.fixed.minor(),
            currency: eur().code().to_owned(),
            percent: schedule.percent.to_string(),
            created_at: Timestamp::from_datetime(Utc::now()),
        }),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}
