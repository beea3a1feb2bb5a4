//! Eligibility of southern mutuals: facts about a beneficiary and the verdict of a programme's
//! conditions. The operations are [`ledger_app::eligibility`]'s; here they meet HTTP.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ledger_app::eligibility::{
    CreateFact, EligibilityQuery, EligibilityView, FactView, ListFacts, ReadEligibility, RecordFact,
};
use ledger_app::fact_review::{
    ReadFactEvidence, RejectFact, RejectFactBody, VerifyFact, VerifyFactBody,
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
        .routes(routes!(verify_fact))
        .routes(routes!(reject_fact))
        .routes(routes!(get_fact_evidence))
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

/// An evidence document travels as base64 inside a fact's JSON (4/3 of its size): the largest one
/// must fit in a request body with room to spare.
const _: () = assert!(
    ledger_core::evidence::MAX_EVIDENCE_DOCUMENT_BYTES.div_ceil(3) * 4 + 64 * 1024
        <= crate::MAX_REQUEST_BODY_BYTES
);

/// Record a fact about a beneficiary (admin, or the beneficiary itself). Facts are never changed:
/// a newer fact supersedes an older one from its `as_of` date. An admin's fact is `verified` at
/// once; a beneficiary's own is `submitted` and counts only once an admin verifies it. An evidence
/// document (PDF, PNG or JPEG, told by content, at most 4 MiB) may come in base64.
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

/// Verify a beneficiary's submitted fact (admin): it counts for eligibility from its `as_of` date.
/// A decision is final: a fact already verified or rejected answers 409.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/facts/{fact_id}/verification", tag = "eligibility",
    request_body = VerifyFactBody,
    params(("id" = Uuid, Path), ("fact_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = FactView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn verify_fact(
    State(state): State<AppState>,
    principal: Principal,
    Path((beneficiary, fact)): Path<(String, String)>,
    request: Idempotent<serde_json::Value>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |_| VerifyFact { beneficiary, fact })
        .await
}

/// Reject a beneficiary's submitted fact (admin), with a reason: it never counts. A decision is
/// final: a fact already verified or rejected answers 409.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/facts/{fact_id}/rejection", tag = "eligibility",
    request_body = RejectFactBody,
    params(("id" = Uuid, Path), ("fact_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = FactView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reject_fact(
    State(state): State<AppState>,
    principal: Principal,
    Path((beneficiary, fact)): Path<(String, String)>,
    request: Idempotent<RejectFactBody>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| RejectFact {
            beneficiary,
            fact,
            body,
        })
        .await
}

/// The evidence document of a fact, as stored (whoever may read the beneficiary's facts). The
/// header `X-Content-SHA256` repeats the SHA-256 the fact records.
#[utoipa::path(
    get, path = "/v1/organisations/{id}/facts/{fact_id}/evidence", tag = "eligibility",
    params(("id" = Uuid, Path), ("fact_id" = Uuid, Path)),
    responses(
        (status = 200, description = "the document, with its media type", content(
            (Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg")
        )),
        (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_fact_evidence(
    State(state): State<AppState>,
    principal: Principal,
    Path((beneficiary, fact)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file = state
        .app
        .query(&principal, ReadFactEvidence { beneficiary, fact })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, file.media_type),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
            (
                header::HeaderName::from_static("x-content-sha256"),
                file.sha256,
            ),
        ],
        file.content,
    )
        .into_response())
}
