//! Bank statements over HTTP: an admin uploads the bank's camt.053 statement
//! (`POST /v1/bank-statements`, `application/xml`), reads the imports and their entries, and
//! decides the unmatched ones. The import, its matching and the decisions are
//! [`ledger_app::bank_statements`]; this door reads the body within its limit and maps answers.

use axum::extract::{Path, Request, State};
use axum::response::Response;
use ledger_app::IdempotencyKey;
use ledger_app::bank_statements::{
    AssignStatementEntry, AssignmentBody, BankStatementDetail, BankStatementView,
    DismissStatementEntry, DismissalBody, EntryDecisionView, EntryListQuery, ImportStatement,
    ListStatementEntries, ListStatements, MAX_STATEMENT_BYTES, ReadStatement, ReadStatementEntry,
    StatementEntryView,
};
use ledger_app::pagination::{OrderedPageQuery, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::file_body::read_file_body;
use crate::idempotency::{Idempotent, response_of};
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;

// A statement is read whole; it must fit in what the service lets one request send.
const _: () = assert!(MAX_STATEMENT_BYTES <= crate::MAX_REQUEST_BODY_BYTES);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_bank_statement, list_bank_statements))
        .routes(routes!(get_bank_statement))
        .routes(routes!(list_bank_statement_entries))
        .routes(routes!(get_bank_statement_entry))
        .routes(routes!(assign_bank_statement_entry))
        .routes(routes!(dismiss_bank_statement_entry))
}

/// Import a camt.053 bank statement of the network's collection account (admin): `.001.02` or
/// `.001.08`, at most 10 MiB, no DTD. Credits quoting a batch's creditor reference for exactly
/// what it owes become its receipts; debits are matched to transfers by EndToEndId; bank charges
/// are booked to fee coverage; everything else is listed as unmatched. One statement (id and
/// account) is imported once: sending it again answers the first import (200) and writes nothing.
#[utoipa::path(
    post, path = "/v1/bank-statements", tag = "bank statements",
    request_body(description = "the camt.053 statement (UTF-8 XML)", content((String = "application/xml"))),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses(
        (status = 201, description = "imported", body = BankStatementDetail),
        (status = 200, description = "imported before: the first import, nothing written", body = BankStatementDetail),
        (status = 400, body = crate::problem::Problem),
        (status = 403, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem),
        (status = 413, body = crate::problem::Problem),
        (status = 422, description = "the file is not a readable statement of the collection account; `field` names the element path (`Document/BkToCstmrStmt/Stmt/Ntry[3]/Amt`)", body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn import_bank_statement(
    State(state): State<AppState>,
    principal: Principal,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(key) = request.headers().get("idempotency-key") else {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            "this request creates or moves something: send an Idempotency-Key header",
        ));
    };
    // A header that is not visible ASCII is refused by the key's own check.
    let key = key.to_str().unwrap_or("\u{7f}").to_owned();
    let target = format!("{}\n{}", request.method().as_str(), request.uri().path());
    let document =
        match read_file_body(request.into_body(), MAX_STATEMENT_BYTES, "a bank statement").await {
            Ok(document) => document,
            Err(response) => return Ok(response),
        };
    let command = ImportStatement { document };
    // The key's request is the file itself, by its digest.
    let request_digest = serde_json::json!({ "document_sha256": command.document_sha256() });
    let key = IdempotencyKey::new(&key, &target, request_digest.to_string().into_bytes())?;
    let reply = state.app.run(&principal, &key, command).await?;
    Ok(response_of(reply))
}

/// Imported statements (admin, auditor).
#[utoipa::path(
    get, path = "/v1/bank-statements", tag = "bank statements", params(OrderedPageQuery),
    responses((status = 200, body = Page<BankStatementView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_bank_statements(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<OrderedPageQuery>,
) -> Result<AppJson<Page<BankStatementView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListStatements(query)).await?,
    ))
}

/// One imported statement with every entry, its raw identifiers and what became of it (admin,
/// auditor).
#[utoipa::path(
    get, path = "/v1/bank-statements/{id}", tag = "bank statements",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BankStatementDetail), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_bank_statement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<BankStatementDetail>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ReadStatement(id)).await?,
    ))
}

/// Statement entries by status (admin, auditor): `?status=unmatched` is the list to decide, each
/// unmatched credit with the batches it might pay.
#[utoipa::path(
    get, path = "/v1/bank-statement-entries", tag = "bank statements", params(EntryListQuery),
    responses((status = 200, body = Page<StatementEntryView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_bank_statement_entries(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<EntryListQuery>,
) -> Result<AppJson<Page<StatementEntryView>>, ApiError> {
    Ok(AppJson(
        state
            .app
            .query(&principal, ListStatementEntries(query))
            .await?,
    ))
}

/// One statement entry (admin, auditor).
#[utoipa::path(
    get, path = "/v1/bank-statement-entries/{id}", tag = "bank statements",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StatementEntryView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_bank_statement_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<StatementEntryView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ReadStatementEntry(id)).await?,
    ))
}

/// Assign an unmatched credit to a batch (admin): books the batch's receipt with the line's value
/// date and bank reference. Assigning it again to the same batch answers the assignment (200).
#[utoipa::path(
    post, path = "/v1/bank-statement-entries/{id}/assignment", tag = "bank statements",
    request_body = AssignmentBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses(
        (status = 201, body = EntryDecisionView),
        (status = 200, description = "assigned to this batch before; nothing written", body = EntryDecisionView),
        (status = 400, body = crate::problem::Problem),
        (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem),
        (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn assign_bank_statement_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path(entry): Path<String>,
    request: Idempotent<AssignmentBody>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| AssignStatementEntry {
            entry,
            body,
        })
        .await
}

/// Mark an unmatched entry as not ours, with a reason (admin). Marking it again answers the
/// decision (200).
#[utoipa::path(
    post, path = "/v1/bank-statement-entries/{id}/not-ours", tag = "bank statements",
    request_body = DismissalBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses(
        (status = 201, body = EntryDecisionView),
        (status = 200, description = "marked not ours before; nothing written", body = EntryDecisionView),
        (status = 400, body = crate::problem::Problem),
        (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem),
        (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn dismiss_bank_statement_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path(entry): Path<String>,
    request: Idempotent<DismissalBody>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| DismissStatementEntry {
            entry,
            body,
        })
        .await
}
