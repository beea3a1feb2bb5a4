//! Tracing over HTTP: where a contributor's euros are, and which contributors funded a
//! beneficiary. Lots are followed first in, first out (`docs/tracing.md`); the queries and views
//! are [`ledger_app::lot_tracing`].

use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;
use ledger_app::lot_tracing::{
    BeneficiaryTracingView, ContributorTracingView, TraceBeneficiary, TraceContributor,
    TracingQuery,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(trace_contributor))
        .routes(routes!(trace_beneficiary))
}

/// Where a contributor's euros are (the contributor itself; admin, auditor).
#[utoipa::path(
    get, path = "/v1/tracing/contributors/{id}", tag = "tracing",
    params(("id" = Uuid, Path), TracingQuery),
    responses((status = 200, body = ContributorTracingView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn trace_contributor(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<TracingQuery>,
) -> Result<AppJson<ContributorTracingView>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, TraceContributor { id, query })
            .await?,
    ))
}

/// Which contributors funded a beneficiary, how much and for which periods (the beneficiary
/// itself; admin, auditor).
#[utoipa::path(
    get, path = "/v1/tracing/beneficiaries/{id}", tag = "tracing",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BeneficiaryTracingView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn trace_beneficiary(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<BeneficiaryTracingView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, TraceBeneficiary { id }).await?,
    ))
}
