//! Redistribution reports over HTTP: a southern mutual accounts for what it received, per purpose,
//! in its own currency; the network accepts (posting the liquidation of the advance), rejects or
//! reverses it. The commands, queries and views are [`ledger_app::reports`].

use axum::extract::{Path, State};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::pagination::Page;
use crate::problem::ApiError;
use crate::query::Query;
use ledger_app::reports::{
    AcceptReport, AcceptReportCommand, CreateReport, GetReport, ListReports, RejectReport,
    RejectReportCommand, ReportListQuery, ReportView, ReverseReport, ReverseReportCommand,
    SubmitReport,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_report, list_reports))
        .routes(routes!(get_report))
        .routes(routes!(accept_report))
        .routes(routes!(reject_report))
        .routes(routes!(reverse_report))
}

/// Submit a redistribution report (a beneficiary, for itself).
#[utoipa::path(
    post, path = "/v1/redistribution-reports", tag = "redistribution",
    request_body = CreateReport,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_report(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateReport>,
) -> Result<Response, ApiError> {
    request.run(&state, &principal, SubmitReport).await
}

/// One report with its lines.
#[utoipa::path(
    get, path = "/v1/redistribution-reports/{id}", tag = "redistribution",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ReportView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, GetReport { id }).await?,
    ))
}

/// List reports: a beneficiary its own; admins and auditors all.
#[utoipa::path(
    get, path = "/v1/redistribution-reports", tag = "redistribution", params(ReportListQuery),
    responses((status = 200, body = Page<ReportView>), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_reports(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ReportListQuery>,
) -> Result<AppJson<Page<ReportView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListReports(query)).await?,
    ))
}

/// Accept a report (admin): the liquidation of the advance is posted, per purpose, in one balanced
/// transaction.
#[utoipa::path(
    post, path = "/v1/redistribution-reports/{id}/acceptance", tag = "redistribution",
    request_body = AcceptReport,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn accept_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<serde_json::Value>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |_| AcceptReportCommand { id })
        .await
}

/// Reject a report (admin), with a reason. Nothing is posted; the beneficiary submits a new one.
#[utoipa::path(
    post, path = "/v1/redistribution-reports/{id}/rejection", tag = "redistribution",
    request_body = RejectReport,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reject_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<RejectReport>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| RejectReportCommand { id, body })
        .await
}

/// Reverse an accepted report (admin), with a reason: a reversing transaction puts the amounts
/// back into the mutual's advance; the report stays, marked reversed. The mutual then reports again.
#[utoipa::path(
    post, path = "/v1/redistribution-reports/{id}/reversal", tag = "redistribution",
    request_body = ReverseReport,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 202, description = "kept as a proposal: another admin must approve it (`POST /v1/proposals/{id}/approval`)", body = ledger_app::approvals::ProposalView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reverse_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ReverseReport>,
) -> Result<Response, ApiError> {
    let targets = [id.clone()];
    request
        .run_or_propose(&state, &principal, &[&targets[0]], |body| {
            ReverseReportCommand { id, body }
        })
        .await
}
