//! Four eyes over HTTP: the proposals of the operations that need a second admin, approved (the
//! operation then runs as proposed) or rejected. The rules are `ledger_app::approvals`'.
//!
//! Approving and rejecting take no `Idempotency-Key`: a proposal is decided once, and deciding it
//! again is a `409 proposal_decided` naming the decision.

use axum::extract::{Path, State};
use ledger_app::approvals::{FourEyesCommands, ListProposals, ProposalView};
use ledger_app::pagination::{Page, PageQuery};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::json::AppJson;
use crate::problem::{ApiError, Problem};
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_proposals))
        .routes(routes!(get_proposal))
        .routes(routes!(approve_proposal))
        .routes(routes!(reject_proposal))
}

/// Which proposals to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalListQuery {
    /// `pending`: only those awaiting approval.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Proposals, oldest first (admins and auditors).
#[utoipa::path(
    get, path = "/v1/proposals", tag = "approvals", params(ProposalListQuery),
    responses((status = 200, body = Page<ProposalView>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn list_proposals(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ProposalListQuery>,
) -> Result<AppJson<Page<ProposalView>>, ApiError> {
    let pending = match query.status.as_deref() {
        None => false,
        Some("pending") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "status",
                "must be pending (or omitted: every proposal)",
            ));
        }
    };
    let listed = ListProposals {
        pending,
        page: PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        },
    };
    Ok(AppJson(state.app.query(&principal, listed).await?))
}

/// One proposal, with its decision and what the approved operation answered.
#[utoipa::path(
    get, path = "/v1/proposals/{id}", tag = "approvals", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProposalView), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn get_proposal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ProposalView>, ApiError> {
    Ok(AppJson(
        ledger_app::approvals::proposal(&state.app, &principal, &id).await?,
    ))
}

/// Approve a proposal (an admin other than its proposer): its operation runs now, as proposed,
/// with both names in the metadata of every transaction it books. An operation that is refused
/// now (a run already executed, a plan gone stale) answers its own problem and leaves the
/// proposal pending, to be rejected.
#[utoipa::path(
    post, path = "/v1/proposals/{id}/approval", tag = "approvals", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ProposalView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "approval_by_proposer, proposal_decided, or the operation's own refusal", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the operation's own refusal", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn approve_proposal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ProposalView>, ApiError> {
    let decided =
        ledger_app::approvals::approve(&state.app, &principal, &id, &FourEyesCommands).await?;
    // The head after an execution is signed at once, as when no approval is needed.
    if decided.operation == ledger_app::Operation::ExecuteTransferRun.name() {
        crate::checkpoints::sign_after_write(&state).await;
    }
    Ok(AppJson(decided))
}

/// Reject a proposal (any admin, its proposer included: a withdrawal); nothing runs.
#[utoipa::path(
    post, path = "/v1/proposals/{id}/rejection", tag = "approvals", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ProposalView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "proposal_decided", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
async fn reject_proposal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ProposalView>, ApiError> {
    Ok(AppJson(
        ledger_app::approvals::reject(&state.app, &principal, &id).await?,
    ))
}
