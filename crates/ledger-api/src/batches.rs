//! Contribution batches: a contributor submits its members' solidarity euros for a period (a
//! pledge); the network records the bank receipts that bring the money into the pool, and may
//! reverse a batch whose money has not been allocated.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::Response;
use ledger_app::spreadsheets::SheetFormat;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ledger_app::contributions::{
    BatchDetail, BatchListQuery, BatchView, CreateBatch, CreateReceipt, CreateReversal,
    ListBatches, ReadBatch, RecordReceipt, RecordedReceiptView, ReversalView, ReverseBatch,
    SubmitBatch,
};

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::pagination::Page;
use crate::problem::ApiError;
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_batch, list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(record_receipt))
        .routes(routes!(reverse_batch))
}

/// Submit a contribution batch for a period (contributor, for its own organisation): as JSON, or
/// as a spreadsheet (`text/csv` or `.xlsx`, see the README) with `programme_id`, `period` and
/// `earmark_beneficiary_id` in the query string; a spreadsheet's bad cells are named
/// `row N, column "header"`.
#[utoipa::path(
    post, path = "/v1/contribution-batches", tag = "contributions",
    request_body(description = "the batch as JSON; or a spreadsheet: `text/csv` (a header row in English, French or Spanish, then one line per row; `,` or `;`; UTF-8 or Windows-1252) or `.xlsx` (its first worksheet, laid out as the CSV)", content(
        (CreateBatch = "application/json"),
        (String = "text/csv"),
        (crate::spreadsheets::Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )),
    params(
        ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters"),
        ("programme_id" = Option<String>, Query, description = "spreadsheet uploads only (required with them): the programme"),
        ("period" = Option<String>, Query, description = "spreadsheet uploads only (required with them): the period"),
        ("earmark_beneficiary_id" = Option<String>, Query, description = "spreadsheet uploads only: the earmark")
    ),
    responses((status = 201, body = BatchView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_batch(
    State(state): State<AppState>,
    principal: Principal,
    request: Request,
) -> Result<Response, ApiError> {
    let format = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(SheetFormat::of_media_type);
    match format {
        Some(format) => {
            crate::spreadsheets::submit_sheet(&state, &principal, format, request).await
        }
        None => {
            Idempotent::<CreateBatch>::from_request(request, &state)
                .await?
                .run(&state, &principal, SubmitBatch)
                .await
        }
    }
}

/// List batches: a contributor its own; admins and auditors all.
#[utoipa::path(
    get, path = "/v1/contribution-batches", tag = "contributions", params(BatchListQuery),
    responses((status = 200, body = Page<BatchView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_batches(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<BatchListQuery>,
) -> Result<AppJson<Page<BatchView>>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, ListBatches(query)).await?,
    ))
}

/// One batch with its lines and receipts.
#[utoipa::path(
    get, path = "/v1/contribution-batches/{id}", tag = "contributions",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BatchDetail), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_batch(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<BatchDetail>, ApiError> {
    Ok(AppJson(state.app.query(&principal, ReadBatch(id)).await?))
}

/// Record a bank receipt for a batch (admin): the money enters the pool or the earmarked fund.
#[utoipa::path(
    post, path = "/v1/contribution-batches/{id}/receipts", tag = "contributions",
    request_body = CreateReceipt,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = RecordedReceiptView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn record_receipt(
    State(state): State<AppState>,
    principal: Principal,
    Path(batch): Path<String>,
    request: Idempotent<CreateReceipt>,
) -> Result<Response, ApiError> {
    request
        .run(&state, &principal, |body| RecordReceipt { batch, body })
        .await
}

/// Reverse a batch (admin): a reversing transaction, never a delete. Refused when the pool no
/// longer holds the batch's received money (it has been allocated).
#[utoipa::path(
    post, path = "/v1/contribution-batches/{id}/reversal", tag = "contributions",
    request_body = CreateReversal,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReversalView), (status = 202, description = "kept as a proposal: another admin must approve it (`POST /v1/proposals/{id}/approval`)", body = ledger_app::approvals::ProposalView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reverse_batch(
    State(state): State<AppState>,
    principal: Principal,
    Path(batch): Path<String>,
    request: Idempotent<CreateReversal>,
) -> Result<Response, ApiError> {
    let targets = [batch.clone()];
    request
        .run_or_propose(&state, &principal, &[&targets[0]], |body| ReverseBatch {
            batch,
            body,
        })
        .await
}
