//! Eligibility of southern mutuals: facts about a beneficiary and the verdict of a programme's
//! conditions. The operations are [`ledger_app::eligibility`]'s; here they meet HTTP.

use axum::extract::{Path, State};
use axum::response::Response;
use ledger_app::eligibility::{
    CreateFact, EligibilityQuery, EligibilityView, FactView, ListFacts, ReadEligibility, RecordFact,
};
use ledger_app::public::{ChoosePublication, ChoosePublicationBody, PublicationView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_fact, list_facts))
        .routes(routes!(get_eligibility))
        .routes(routes!(post_publication))
}

/// Choose whether the organisation is named on the public site (the organisation itself, or
/// admin). A contributor is not named until it chooses to be; a mutual is named unless it chooses
/// not to be. The latest choice is in force.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/publication", tag = "organisations",
    request_body = ChoosePublicationBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = PublicationView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn post_publication(
    State(state): State<AppState>,
    principal: Principal,
    Path(organisation): Path<String>,
    request: Idempotent<ChoosePublicationBody>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| ChoosePublication {
            organisation,
            body,
        })
        .await
}

/// Record a fact about a beneficiary (admin, or the beneficiary itself). Facts are never changed:
/// a newer fact supersedes an older one from its `as_of` date.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/facts", tag = "eligibility",
    request_body = CreateFact,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = FactView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn post_fact(
    State(state): State<AppState>,
    principal: Principal,
    Path(beneficiary): Path<String>,
    request: Idempotent<CreateFact>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| RecordFact { beneficiary, body })
        .await
}

/// Every fact recorded about a beneficiary, oldest first.
#[utoipa::path(
    get, path = "/v1/organisations/{id}/facts", tag = "eligibility",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<FactView>), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_facts(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<FactView>>, ApiError> {
    Ok(AppJson(state.app.query(&principal, ListFacts(id)).await?))
}

/// Whether a beneficiary meets a programme's conditions as of a date (admin, auditor, or the
/// beneficiary itself): every condition with its parameter, observation and the facts used.
#[utoipa::path(
    get, path = "/v1/organisations/{id}/eligibility", tag = "eligibility",
    params(("id" = Uuid, Path), EligibilityQuery),
    responses((status = 200, body = EligibilityView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_eligibility(
    State(state): State<AppState>,
    principal: Principal,
    Path(beneficiary): Path<String>,
    Query(query): Query<EligibilityQuery>,
) -> Result<AppJson<EligibilityView>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, ReadEligibility { beneficiary, query })
            .await?,
    ))
}
