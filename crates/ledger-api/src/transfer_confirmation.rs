//! The HTTP door of transfers once sent: the list, one transfer, the beneficiary's confirmation of
//! what arrived, and the return of held funds to the pool. The rules are the application's
//! ([`ledger_app::transfers`]); these handlers only translate.

use axum::extract::{Path, State};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ledger_app::transfers::confirmation::{ConfirmReceipt, ConfirmTransfer};
use ledger_app::transfers::held_funds::{
    HeldFundsReturnView, HeldFundsView, ListHeldFunds, ReturnHeld, ReturnHeldFunds,
};
use ledger_app::transfers::listing::{
    ListTransfers, ReadTransfer, TransferListQuery, TransferView,
};
use ledger_app::transfers::settlement::ConfirmationResult;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::pagination::Page;
use crate::problem::ApiError;
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_transfers))
        .routes(routes!(get_transfer))
        .routes(routes!(confirm_transfer))
        .routes(routes!(return_held_funds))
        .routes(routes!(list_held_funds))
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
    Ok(AppJson(
        state.app.query(&principal, ListTransfers(query)).await?,
    ))
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
    Ok(AppJson(
        state.app.query(&principal, ReadTransfer { id }).await?,
    ))
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
    request
        .run(&state, &principal, |body| ConfirmReceipt {
            transfer_id: id,
            body,
        })
        .await
}

/// Every programme's funds held for a beneficiary that did not meet its conditions, with the
/// conditions it fails today (admin, auditor): what a return of held funds would move.
#[utoipa::path(
    get, path = "/v1/held-funds", tag = "transfers",
    responses((status = 200, body = Vec<HeldFundsView>), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_held_funds(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<Vec<HeldFundsView>>, ApiError> {
    Ok(AppJson(state.app.query(&principal, ListHeldFunds).await?))
}

/// Return what is held for a beneficiary to the pool (admin), with a reason: the next run shares it
/// among all beneficiaries again.
#[utoipa::path(
    post, path = "/v1/programmes/{id}/held-funds/{beneficiary_id}/return", tag = "transfers",
    request_body = ReturnHeldFunds,
    params(("id" = Uuid, Path), ("beneficiary_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = HeldFundsReturnView), (status = 202, description = "kept as a proposal: another admin must approve it (`POST /v1/proposals/{id}/approval`)", body = ledger_app::approvals::ProposalView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn return_held_funds(
    State(state): State<AppState>,
    principal: Principal,
    Path((programme_id, beneficiary_id)): Path<(String, String)>,
    request: Idempotent<ReturnHeldFunds>,
) -> Result<Response, ApiError> {
    let targets = [programme_id.clone(), beneficiary_id.clone()];
    request
        .run_or_propose(&state, &principal, &[&targets[0], &targets[1]], |body| {
            ReturnHeld {
                programme_id,
                beneficiary_id,
                body,
            }
        })
        .await
}
