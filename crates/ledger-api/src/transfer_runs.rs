//! Transfer runs over HTTP: planning, reading and executing a run. The commands are
//! [`ledger_app::transfers::runs`] and [`ledger_app::transfers::execution`].

use axum::extract::{Path, State};
use axum::response::Response;
use ledger_app::Reply;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ledger_app::pagination::{Page, PageQuery};
use ledger_app::transfers::execution::{ExecuteRun, ExecuteTransferRun, ExecutionView};
use ledger_app::transfers::runs::{
    CreateRun, ListTransferRuns, PlanTransferRun, ReadTransferRun, RunSummaryView, RunView,
};

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::{Idempotent, response_of};
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_run, list_runs))
        .routes(routes!(get_run))
        .routes(routes!(execute_run))
}

/// Plan a transfer run (admin): earmarks first, the pool split by the programme's policy, holds for
/// ineligible beneficiaries with their failing conditions, carry-forwards, expected fees and rates.
/// A dry run records nothing; otherwise the plan is recorded for execution with the programme
/// version of its period. If new rules for that period were recorded while the run was planned,
/// nothing is recorded (`409 programme_rules_changed`): plan it again.
#[utoipa::path(
    post, path = "/v1/transfer-runs", tag = "transfers",
    request_body = CreateRun,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = RunView), (status = 403, body = crate::problem::Problem), (status = 200, body = RunView, description = "a dry run"), (status = 409, description = "new programme rules for the period were recorded while the run was planned (`programme_rules_changed`): plan it again", body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_run(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateRun>,
) -> Result<Response, ApiError> {
    request.run(&state, &principal, PlanTransferRun).await
}

/// Recorded runs, newest first, each with its totals (admin, auditor); dry runs are not recorded.
#[utoipa::path(
    get, path = "/v1/transfer-runs", tag = "transfers", params(PageQuery),
    responses((status = 200, body = Page<RunSummaryView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_runs(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<AppJson<Page<RunSummaryView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListTransferRuns(query)).await?,
    ))
}

/// A recorded run with its plan (admin, auditor).
#[utoipa::path(
    get, path = "/v1/transfer-runs/{id}", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RunView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<RunView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ReadTransferRun { id }).await?,
    ))
}

/// Execute a recorded plan that is still current (admin): one pending transfer per paid
/// beneficiary with its fees reserved from fee coverage, holds moved out of the pool.
#[utoipa::path(
    post, path = "/v1/transfer-runs/{id}/execution", tag = "transfers",
    request_body = ExecuteRun,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ExecutionView), (status = 202, description = "kept as a proposal: another admin must approve it (`POST /v1/proposals/{id}/approval`)", body = ledger_app::approvals::ProposalView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn execute_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ExecuteRun>,
) -> Result<Response, ApiError> {
    if state
        .app
        .needs_approval(ledger_app::Operation::ExecuteTransferRun)
    {
        let targets = [id.clone()];
        return request
            .run_or_propose(&state, &principal, &[&targets[0]], |body| {
                ExecuteTransferRun { id, body }
            })
            .await;
    }
    let Idempotent { key, body } = request;
    let reply = state
        .app
        .run(&principal, &key, ExecuteTransferRun { id, body })
        .await?;
    let executed = matches!(reply, Reply::Done { .. });
    let response = response_of(reply);
    // The head after an execution is signed at once, so partners can hold it the same day.
    if executed {
        crate::checkpoints::sign_after_write(&state).await;
    }
    Ok(response)
}
