//! Disputed settlements: a beneficiary's confirmation whose shortfall would need a top-up beyond what
//! fee coverage pays without review (`ledger_core::settlement::review_top_up`) is recorded as a
//! claim and moves no money; the network (admin) resolves it with the bank statement as evidence,
//! booking the settlement with the amount the statement shows (and any top-up it needs), or
//! rejecting the claim so the beneficiary may confirm again. Postings: `docs/accounts.md`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::memo::Reason;
use ledger_core::{AccountId, Amount, FundDate, Timestamp};
use ledger_store::records::{Record, TransferDisputeRecord, TransferDisputeResolutionRecord};
use ledger_store::transfers::{TransferDisputeRow, TransferRow};
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::Money;
use crate::problem::{ApiError, FieldError};
use crate::transfers::{
    Claim, ConfirmTransfer, ConfirmationResult, MoneyBody, TransferView, book_settlement, chain_of,
    chain_outcome, settlement_guard_failed, stored_currency, transfer_view, visible_transfer,
};
use ledger_app::Operation;
use ledger_app::policy::require;

/// The most characters of a bank statement reference given as evidence.
pub const MAX_BANK_STATEMENT_REFERENCE_LENGTH: usize = 140;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(resolve_dispute))
        .routes(routes!(list_disputes))
}

/// Why a claim was not paid at once: the figures `review_top_up` compared.
pub(crate) struct ClaimReview {
    /// The chain's shortfall if the claim were true (local currency).
    pub shortfall: Amount,
    /// The top-up it would need (EUR).
    pub top_up: Amount,
    /// What fee coverage already paid for the chain's earlier top-ups, fees included (EUR).
    pub already_paid: Amount,
    /// What fee coverage may pay without review for the chain (EUR).
    pub allowance: Amount,
}

/// Records a claim beyond the allowance as a disputed settlement and answers 202: no money moves.
pub(crate) async fn record_claim(
    state: &AppState,
    principal: &Principal,
    request: &Idempotent<ConfirmTransfer>,
    transfer: &TransferRow,
    claim: &Claim<'_>,
    review: ClaimReview,
) -> Result<Response, ApiError> {
    let earlier = state.store.transfer_disputes(transfer.id).await?;
    // Openness and the claim number come from the same read: a claim recorded since the transfer
    // was read is seen here, and two claims that both read before either was written take the
    // same number, which is unique per transfer, so one of them is refused.
    if earlier.iter().any(|claim| claim.decision.is_none()) {
        return Err(crate::transfers::disputed_conflict());
    }
    let claim_number = i32::try_from(earlier.len() + 1)
        .map_err(|_| ApiError::internal_message("too many claims on one transfer"))?;
    let id = Uuid::now_v7();
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
        claimed_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(Utc::now()),
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
        guards: vec![BalanceGuard {
            account_id: AccountId::from_uuid(transfer.in_transit_account_id),
            bound: BalanceBound::AtMost(-transfer.amount_minor),
        }],
        ..WriteRequest::default()
    };
    request
        .commit(
            state,
            principal,
            StatusCode::ACCEPTED,
            &view,
            write,
            |_, _| ApiError::conflict("already_confirmed", "this transfer was already confirmed"),
        )
        .await
}

/// The network's decision on a disputed settlement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDispute {
    /// `top_up`: book the settlement with the amount the bank statement shows, and the top-up from
    /// fee coverage that amount leaves short, if any; `reject`: nothing moves, the claim is closed
    /// and the beneficiary may confirm again.
    pub decision: String,
    /// What arrived according to the bank statement, in the beneficiary's currency (`top_up` only).
    pub received: Option<MoneyBody>,
    /// The bank statement read as evidence (statement number, camt.053 message id, page).
    pub bank_statement_reference: String,
    /// Why the network decided so.
    pub reason: String,
}

/// The network's decision as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionView {
    /// top_up | reject
    pub decision: String,
    /// What arrived according to the bank statement (`top_up` only).
    pub established_received: Option<Money>,
    pub bank_statement_reference: String,
    pub reason: String,
    /// The settlement booked (`top_up` only).
    pub transaction_id: Option<Uuid>,
    pub top_up_transfer_id: Option<Uuid>,
    pub resolved_by: String,
    pub resolved_at: String,
}

/// A claim on a transfer and, once decided, its resolution.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: Uuid,
    pub transfer_id: Uuid,
    /// 1 for the transfer's first claim, 2 after a rejected one, ...
    pub claim_number: i32,
    /// open | resolved | rejected
    pub status: String,
    /// What the beneficiary said arrived.
    pub claimed_received: Money,
    pub value_date: String,
    pub bank_reference: String,
    pub fees_deducted: Option<Money>,
    /// The chain's shortfall if the claim were true.
    pub shortfall: Money,
    /// The top-up that shortfall would need.
    pub top_up_needed: Money,
    /// What fee coverage had already paid for the chain's earlier top-ups, fees included.
    pub already_paid: Money,
    /// What fee coverage may pay without review for the chain: the transfer's expected fee plus
    /// the tolerance.
    pub allowance: Money,
    pub claimed_by: String,
    pub claimed_at: String,
    pub resolution: Option<ResolutionView>,
}

/// Every claim on a transfer, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeList {
    pub items: Vec<DisputeView>,
}

/// What a resolution did.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeResolutionResult {
    pub dispute: DisputeView,
    /// The transfer after the decision: settled or topped up, or pending again after a rejection.
    pub transfer: TransferView,
    pub top_up: Option<TransferView>,
}

fn dispute_view(row: &TransferDisputeRow) -> Result<DisputeView, ApiError> {
    let local = stored_currency(&row.received_currency)?;
    let currency = stored_currency(&row.currency)?;
    let resolution = match (
        &row.decision,
        &row.bank_statement_reference,
        &row.reason,
        &row.resolved_by,
        row.resolved_at,
    ) {
        (
            Some(decision),
            Some(bank_statement_reference),
            Some(reason),
            Some(resolved_by),
            Some(resolved_at),
        ) => Some(ResolutionView {
            decision: decision.clone(),
            established_received: row
                .established_minor
                .map(|minor| Money::from_minor(minor, local)),
            bank_statement_reference: bank_statement_reference.clone(),
            reason: reason.clone(),
            transaction_id: row.transaction_id,
            top_up_transfer_id: row.top_up_transfer_id,
            resolved_by: resolved_by.clone(),
            resolved_at: Timestamp::from_datetime(resolved_at).to_canonical_string(),
        }),
        _ => None,
    };
    let status = match resolution
        .as_ref()
        .map(|resolution| resolution.decision.as_str())
    {
        None => "open",
        Some("reject") => "rejected",
        Some(_) => "resolved",
    };
    Ok(DisputeView {
        id: row.id,
        transfer_id: row.transfer_id,
        claim_number: row.claim_number,
        status: status.to_owned(),
        claimed_received: Money::from_minor(row.received_minor, local),
        value_date: row.value_date.to_string(),
        bank_reference: row.bank_reference.clone(),
        fees_deducted: row
            .fees_deducted_minor
            .map(|minor| Money::from_minor(minor, local)),
        shortfall: Money::from_minor(row.shortfall_minor, local),
        top_up_needed: Money::from_minor(row.top_up_minor, currency),
        already_paid: Money::from_minor(row.already_paid_minor, currency),
        allowance: Money::from_minor(row.allowance_minor, currency),
        claimed_by: row.claimed_by.clone(),
        claimed_at: Timestamp::from_datetime(row.created_at).to_canonical_string(),
        resolution,
    })
}

/// Every claim on a transfer with its resolution (the beneficiary, for its own transfer; admins
/// and auditors).
#[utoipa::path(
    get, path = "/v1/transfers/{id}/disputes", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DisputeList), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_disputes(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<DisputeList>, ApiError> {
    let transfer = visible_transfer(&state, &principal, &id).await?;
    let rows = state.store.transfer_disputes(transfer.id).await?;
    Ok(AppJson(DisputeList {
        items: rows.iter().map(dispute_view).collect::<Result<_, _>>()?,
    }))
}

/// Resolve a disputed settlement (admin) with the bank statement as evidence: `top_up` books the
/// settlement with the amount the statement shows and the top-up it needs, if any, recording the
/// resolution in the settlement's journal metadata; `reject` closes the claim, nothing moves, and
/// the beneficiary may confirm again.
#[utoipa::path(
    post, path = "/v1/transfers/{id}/dispute-resolution", tag = "transfers",
    request_body = ResolveDispute,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses(
        (status = 201, body = DisputeResolutionResult),
        (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "no open claim (never disputed, or already resolved), already confirmed, or fee coverage cannot pay the top-up"),
        (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn resolve_dispute(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ResolveDispute>,
) -> Result<Response, ApiError> {
    require(Operation::ResolveDispute, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let transfer = visible_transfer(&state, &principal, &id).await?;
    let disputes = state.store.transfer_disputes(transfer.id).await?;
    let Some(dispute) = disputes.last() else {
        return Err(ApiError::conflict(
            "not_disputed",
            "this transfer has no claim to resolve",
        ));
    };
    if dispute.decision.is_some() {
        return Err(ApiError::conflict(
            "dispute_already_resolved",
            "the claim on this transfer was already resolved",
        ));
    }
    if transfer.received_minor.is_some() {
        return Err(ApiError::conflict(
            "already_confirmed",
            "this transfer was already confirmed",
        ));
    }
    let local = stored_currency(&transfer.local_currency)?;
    let body = &request.body;
    let mut errors = Vec::new();
    let top_up = match body.decision.as_str() {
        "top_up" => true,
        "reject" => false,
        _ => {
            errors.push(FieldError::new("decision", "must be top_up or reject"));
            false
        }
    };
    let established = match (&body.received, top_up) {
        (Some(received), true) => {
            if received.currency != local.code() {
                errors.push(FieldError::new(
                    "received.currency",
                    format!("must be {local}, the beneficiary's currency"),
                ));
                None
            } else {
                received
                    .amount
                    .positive_amount("received.amount", local, &mut errors)
            }
        }
        (None, true) => {
            errors.push(FieldError::new(
                "received",
                "is required with decision top_up: what the bank statement shows arrived",
            ));
            None
        }
        (Some(_), false) if body.decision == "reject" => {
            errors.push(FieldError::new(
                "received",
                "must be absent with decision reject",
            ));
            None
        }
        _ => None,
    };
    let statement = crate::batches::text_field(
        "bank_statement_reference",
        &body.bank_statement_reference,
        MAX_BANK_STATEMENT_REFERENCE_LENGTH,
        ledger_core::text::TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let reason = Reason::parse(&body.reason)
        .map_err(|error| errors.push(FieldError::new("reason", error.to_string())))
        .ok();
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let reason = reason.as_str();
    let now = Utc::now();
    let resolved_by = format!("{} ({})", principal.subject, principal.organisation);
    let mut resolution = TransferDisputeResolutionRecord {
        dispute_id: dispute.id,
        decision: "reject",
        established_minor: None,
        bank_statement_reference: statement.to_owned(),
        reason: reason.to_owned(),
        transaction_id: None,
        top_up_transfer_id: None,
        resolved_by: resolved_by.clone(),
        created_at: Timestamp::from_datetime(now),
    };
    let mut resolved = dispute.clone();
    resolved.bank_statement_reference = Some(statement.to_owned());
    resolved.reason = Some(reason.to_owned());
    resolved.resolved_by = Some(resolved_by.clone());
    resolved.resolved_at = Some(Timestamp::from_datetime(now).to_datetime());
    let mut after = transfer.clone();
    after.dispute_id = None;
    after.disputed_received_minor = None;
    after.disputed_top_up_minor = None;

    let Some(established) = established else {
        // Rejected: nothing moves; the transfer is pending again.
        resolved.decision = Some("reject".to_owned());
        let view = DisputeResolutionResult {
            dispute: dispute_view(&resolved)?,
            transfer: transfer_view(&after, None)?,
            top_up: None,
        };
        let write = WriteRequest {
            records: vec![Record::TransferDisputeResolution(resolution)],
            ..WriteRequest::default()
        };
        return request
            .commit(
                &state,
                &principal,
                StatusCode::CREATED,
                &view,
                write,
                |_, _| ApiError::conflict("conflict", "the resolution could not be recorded"),
            )
            .await;
    };

    let chain = chain_of(&state, &transfer).await?;
    let outcome = chain_outcome(&state, &chain, &transfer, established).await?;
    let fees_deducted = dispute
        .fees_deducted_minor
        .map(|minor| Amount::from_minor(minor, local))
        .transpose()
        .map_err(ApiError::internal_message)?;
    let claim = Claim {
        received: established,
        value_date: FundDate::from_naive(dispute.value_date).map_err(ApiError::internal_message)?,
        bank_reference: &dispute.bank_reference,
        fees_deducted,
    };
    // The settlement's journal entry carries the resolution: who decided, on what evidence, and
    // what the beneficiary had claimed.
    let mut metadata = serde_json::Map::new();
    metadata.insert("dispute_id".into(), dispute.id.to_string().into());
    metadata.insert(
        "claimed_received".into(),
        Money::from_minor(dispute.received_minor, local)
            .amount
            .into(),
    );
    metadata.insert("claimed_by".into(), dispute.claimed_by.clone().into());
    metadata.insert("dispute_resolved_by".into(), resolved_by.clone().into());
    metadata.insert("bank_statement_reference".into(), statement.into());
    metadata.insert("dispute_resolution_reason".into(), reason.into());
    let booked = book_settlement(
        &state, &principal, &transfer, &chain, &claim, outcome, metadata,
    )
    .await?;
    resolution.decision = "top_up";
    resolution.established_minor = Some(established.minor());
    resolution.transaction_id = Some(booked.transaction_id);
    resolution.top_up_transfer_id = booked.top_up_id;
    resolved.decision = Some("top_up".to_owned());
    resolved.established_minor = Some(established.minor());
    resolved.transaction_id = Some(booked.transaction_id.as_uuid());
    resolved.top_up_transfer_id = booked.top_up_id;
    let view = DisputeResolutionResult {
        dispute: dispute_view(&resolved)?,
        transfer: booked.view.transfer,
        top_up: booked.view.top_up,
    };
    let mut write = booked.write;
    write
        .records
        .push(Record::TransferDisputeResolution(resolution));
    let in_transit_id = booked.in_transit_id;
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            move |account, _| settlement_guard_failed(account, in_transit_id),
        )
        .await
}
