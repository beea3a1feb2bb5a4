//! Organisations and programmes: the network (admin) registers them; every authenticated role
//! reads. The operations are [`ledger_app::registry`]'s; here they meet HTTP.

use axum::extract::{Path, State};
use axum::response::Response;
use ledger_app::pagination::PageQuery;
use ledger_app::registry::{
    CreateOrganisation, CreateProgramme, ListOrganisations, ListProgrammes, OpenProgramme,
    OrganisationView, ProgrammeView, ReadOrganisation, ReadProgramme, RegisterOrganisation,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::pagination::Page;
use crate::problem::ApiError;
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_organisation, list_organisations))
        .routes(routes!(get_organisation))
        .routes(routes!(create_programme, list_programmes))
        .routes(routes!(get_programme))
}

/// Register an organisation (admin).
#[utoipa::path(
    post, path = "/v1/organisations", tag = "organisations",
    request_body = CreateOrganisation,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = OrganisationView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_organisation(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateOrganisation>,
) -> Result<Response, ApiError> {
    request.run(&state, &principal, RegisterOrganisation).await
}

/// List organisations.
#[utoipa::path(
    get, path = "/v1/organisations", tag = "organisations", params(PageQuery),
    responses((status = 200, body = Page<OrganisationView>)), security(("bearer" = []))
)]
async fn list_organisations(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<AppJson<Page<OrganisationView>>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, ListOrganisations(query))
            .await?,
    ))
}

/// One organisation.
#[utoipa::path(
    get, path = "/v1/organisations/{id}", tag = "organisations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganisationView), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_organisation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<OrganisationView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ReadOrganisation(id)).await?,
    ))
}

/// Open a programme and its accounts (admin).
#[utoipa::path(
    post, path = "/v1/programmes", tag = "programmes",
    request_body = CreateProgramme,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ProgrammeView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_programme(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateProgramme>,
) -> Result<Response, ApiError> {
    request.run(&state, &principal, OpenProgramme).await
}

/// List programmes.
#[utoipa::path(
    get, path = "/v1/programmes", tag = "programmes", params(PageQuery),
    responses((status = 200, body = Page<ProgrammeView>)), security(("bearer" = []))
)]
async fn list_programmes(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<AppJson<Page<ProgrammeView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListProgrammes(query)).await?,
    ))
}

/// One programme with its balances.
#[utoipa::path(
    get, path = "/v1/programmes/{id}", tag = "programmes",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ProgrammeView), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_programme(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ProgrammeView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ReadProgramme(id)).await?,
    ))
}
