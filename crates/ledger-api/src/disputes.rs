//! The HTTP door of disputed settlements: every claim on a transfer, and the network's resolution
//! of an open one with the bank statement as evidence. The rules are the application's
//! ([`ledger_app::disputes`]); these handlers only translate.

use axum::extract::{Path, State};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ledger_app::disputes::{
    DisputeList, DisputeResolutionResult, ListDisputes, ResolveClaim, ResolveDispute,
};

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::problem::ApiError;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(resolve_dispute))
        .routes(routes!(list_disputes))
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
    Ok(AppJson(
        state
            .app
            .query(&principal, ListDisputes { transfer_id: id })
            .await?,
    ))
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
    request
        .run(&state, &principal, |body| ResolveClaim {
            transfer_id: id,
            body,
        })
        .await
}
