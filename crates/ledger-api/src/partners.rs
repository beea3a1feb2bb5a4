//! What changes about partners over time (issue 18): versions of an organisation's details and
//! their history. The operations are [`ledger_app::registry`]'s; here they meet HTTP.

use axum::extract::{Path, State};
use axum::response::Response;
use ledger_app::registry::{
    ChangeOrganisation, ChangeOrganisationBody, OrganisationHistory, OrganisationHistoryView,
    OrganisationVersionView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::problem::ApiError;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_organisation))
        .routes(routes!(organisation_history))
}

/// Record a new version of an organisation's details (admin): name, contact, covered members or
/// fee schedule, in force from `effective_from` (never before the previous version's). Fields left
/// out keep their value; nothing registered is changed.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/versions", tag = "organisations",
    request_body = ChangeOrganisationBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = OrganisationVersionView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn change_organisation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ChangeOrganisationBody>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| ChangeOrganisation { id, body })
        .await
}

/// Every version of an organisation's details, oldest first (version 0: as registered), with who
/// recorded each, when, what it changed, and which is in force today (any role).
#[utoipa::path(
    get, path = "/v1/organisations/{id}/history", tag = "organisations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganisationHistoryView), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn organisation_history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<OrganisationHistoryView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, OrganisationHistory(id)).await?,
    ))
}
