//! The books as they are over HTTP (auditors and the network): the chart of accounts with balances,
//! one account's balance at a moment, and the journal in chain order with every posting. The
//! queries and views are [`ledger_app::books::accounts`].

use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::json::AppJson;
use crate::pagination::Page;
use crate::problem::ApiError;
use crate::query::Query;
use ledger_app::books::accounts::{
    AccountListQuery, AccountView, AtQuery, GetAccount, JournalPage, JournalQuery, ListAccounts,
    ListJournal,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(list_journal))
}

/// The chart of accounts with current balances (auditor, admin).
#[utoipa::path(
    get, path = "/v1/accounts", tag = "ledger", params(AccountListQuery),
    responses((status = 200, body = Page<AccountView>), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<AccountListQuery>,
) -> Result<AppJson<Page<AccountView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListAccounts(query)).await?,
    ))
}

/// One account and its balance, now or at a moment (auditor, admin).
#[utoipa::path(
    get, path = "/v1/accounts/{id}", tag = "ledger", params(("id" = Uuid, Path), AtQuery),
    responses((status = 200, body = AccountView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<AtQuery>,
) -> Result<AppJson<AccountView>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, GetAccount { id, query })
            .await?,
    ))
}

/// The journal in chain order, every hashed field with the previous hash and the hash (auditor, admin).
#[utoipa::path(
    get, path = "/v1/journal", tag = "ledger", params(JournalQuery),
    responses((status = 200, body = JournalPage), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_journal(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<JournalQuery>,
) -> Result<AppJson<JournalPage>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListJournal(query)).await?,
    ))
}
