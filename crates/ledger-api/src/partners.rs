//! What changes about partners over time (issue 18): versions of an organisation's details and
//! their history, and bank accounts (set under four eyes; read as planned for payment files). The
//! operations are [`ledger_app::registry`]'s and [`ledger_app::bank_accounts`]'s; here they meet
//! HTTP.

use axum::extract::{Path, State};
use axum::response::Response;
use ledger_app::bank_accounts::{
    BankAccountBody, BankAccountView, BankAccountsView, ListBankAccounts, NetworkCollectionAccount,
    PaymentAccountView, SetBankAccount, TransferCreditor, TransferCreditorView,
};
use ledger_app::registry::{
    ChangeOrganisation, ChangeOrganisationBody, ChangeProgramme, ChangeProgrammeBody,
    OrganisationHistory, OrganisationHistoryView, OrganisationVersionView, ProgrammeHistory,
    ProgrammeHistoryView, ProgrammeVersionView,
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
        .routes(routes!(set_bank_account, list_bank_accounts))
        .routes(routes!(transfer_creditor))
        .routes(routes!(network_collection_account))
        .routes(routes!(change_programme))
        .routes(routes!(programme_history))
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

/// Set the bank account of a beneficiary or of the network (admin): an IBAN (checksum and country
/// format checked) or a national account number with the bank's BIC. Four eyes: answered `202`
/// with a proposal, checked as it would run; the account is recorded, and in force, only once
/// another admin approves it (`POST /v1/proposals/{id}/approval`). Transfers of runs planned
/// before keep the account in force then.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/bank-accounts", tag = "organisations",
    request_body = BankAccountBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = BankAccountView), (status = 202, description = "kept as a proposal: another admin must approve it (`POST /v1/proposals/{id}/approval`)", body = ledger_app::approvals::ProposalView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn set_bank_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(organisation): Path<String>,
    request: Idempotent<BankAccountBody>,
) -> Result<Response, ApiError> {
    let targets = [organisation.clone()];
    request
        .run_or_propose(&state, &principal, &[&targets[0]], |body| SetBankAccount {
            organisation,
            body,
        })
        .await
}

/// The bank accounts of a beneficiary (itself, admins, auditors) or of the network: the one in
/// force and every earlier one.
#[utoipa::path(
    get, path = "/v1/organisations/{id}/bank-accounts", tag = "organisations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BankAccountsView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_bank_accounts(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<BankAccountsView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListBankAccounts(id)).await?,
    ))
}

/// The creditor of a transfer as planned, for a payment file (admin, auditor): the end-to-end id,
/// the amount, and the beneficiary's account in force when the transfer's run was planned.
#[utoipa::path(
    get, path = "/v1/transfers/{id}/creditor", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TransferCreditorView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn transfer_creditor(
    State(state): State<AppState>,
    principal: Principal,
    Path(transfer): Path<String>,
) -> Result<AppJson<TransferCreditorView>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, TransferCreditor { transfer })
            .await?,
    ))
}

/// The network's own collection account in force (admin, auditor): the debtor account of payment
/// files; `null` when none is recorded.
#[utoipa::path(
    get, path = "/v1/network/collection-account", tag = "transfers",
    responses((status = 200, body = Option<PaymentAccountView>), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn network_collection_account(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<Option<PaymentAccountView>>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, NetworkCollectionAccount)
            .await?,
    ))
}

/// Record new programme rules from a period on (admin): conditions and their parameters,
/// allocation policy, minimum transfer, admin cap. Rules left out keep their value; a run uses the
/// version of its period and records which. Rules may not take effect from a period that already
/// has a recorded run, or an earlier one (`409 period_already_planned`, naming each run; a run
/// recorded while the change was planned is refused the same way, field `effective_period`).
#[utoipa::path(
    post, path = "/v1/programmes/{id}/versions", tag = "programmes",
    request_body = ChangeProgrammeBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ProgrammeVersionView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, description = "a run is recorded for the effective period or a later one (`period_already_planned`, each run named in `errors`), or was recorded while the change was planned", body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn change_programme(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ChangeProgrammeBody>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| ChangeProgramme { id, body })
        .await
}

/// Every version of a programme's rules, oldest first (version 0: as opened), with who recorded
/// each and what it changed, and which is in force today (any role).
#[utoipa::path(
    get, path = "/v1/programmes/{id}/history", tag = "programmes",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ProgrammeHistoryView), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn programme_history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ProgrammeHistoryView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ProgrammeHistory(id)).await?,
    ))
}
