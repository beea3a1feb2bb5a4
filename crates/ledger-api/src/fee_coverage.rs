//! Fee coverage over HTTP: the commands are [`ledger_app::transfers::fee_coverage`].

use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ledger_app::transfers::fee_coverage::{
    CreateDeposit, DepositFeeCoverage, DepositView, FeeCoverageView, ReadFeeCoverage,
};

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::problem::ApiError;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit_fee_coverage))
        .routes(routes!(get_fee_coverage))
}

/// Fund fee coverage (admin): the account every bank fee and shortfall is paid from.
#[utoipa::path(
    post, path = "/v1/fee-coverage/deposits", tag = "transfers",
    request_body = CreateDeposit,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = DepositView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem, description = "the key was used with another request, or fee coverage would pass the limit max_account_balance"), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn deposit_fee_coverage(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateDeposit>,
) -> Result<Response, ApiError> {
    request.run(&state, &principal, DepositFeeCoverage).await
}

/// What fee coverage holds (admin, auditor).
#[utoipa::path(
    get, path = "/v1/fee-coverage", tag = "transfers",
    responses((status = 200, body = FeeCoverageView), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_fee_coverage(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<FeeCoverageView>, ApiError> {
    Ok(AppJson(state.app.query(&principal, ReadFeeCoverage).await?))
}
