//! Contribution batches as spreadsheets over HTTP: `POST /v1/contribution-batches` with a
//! `text/csv` or `.xlsx` body (programme, period and earmark in the query string) is read into the
//! JSON batch ([`ledger_app::spreadsheets`]) and runs the same command, with the same idempotency:
//! the key's request is the JSON batch the sheet stands for. The templates to fill are served per
//! programme.

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ledger_app::contributions::{CreateBatch, SubmitBatch};
use ledger_app::spreadsheets::templates::{BatchTemplate, TemplateQuery};
use ledger_app::spreadsheets::{MAX_SPREADSHEET_BYTES, SheetBatchQuery, SheetFormat, read_sheet};
use ledger_app::{AppError, IdempotencyKey};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::file_body::read_file_body;
use crate::idempotency::response_of;
use crate::problem::ApiError;
use crate::query::{Query, parse_query};

// A spreadsheet is read whole; it must fit in what the service lets one request send.
const _: () = assert!(MAX_SPREADSHEET_BYTES <= crate::MAX_REQUEST_BODY_BYTES);

/// An `.xlsx` workbook, as bytes (only its schema is used: the OpenAPI document's binary string).
#[derive(Debug, utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct Workbook(#[allow(dead_code)] Vec<u8>);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(batch_template))
}

/// Submits a spreadsheet batch: the key is checked first (as for JSON), then the query, then the
/// file; every bad cell is answered at once, and the command's own refusals name the row and
/// column their line came from.
pub(crate) async fn submit_sheet(
    state: &AppState,
    principal: &Principal,
    format: SheetFormat,
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
    let query: SheetBatchQuery = parse_query(request.uri().query().unwrap_or_default())?;
    let bytes =
        match read_file_body(request.into_body(), MAX_SPREADSHEET_BYTES, "a spreadsheet").await {
            Ok(bytes) => bytes,
            Err(response) => return Ok(response),
        };
    let sheet = read_sheet(format, &bytes)?;
    let json = sheet.json_batch(&query)?;
    let batch: CreateBatch = serde_json::from_slice(&json).map_err(AppError::internal)?;
    let key = IdempotencyKey::new(&key, &target, json)?;
    match state.app.run(principal, &key, SubmitBatch(batch)).await {
        Ok(reply) => Ok(response_of(reply)),
        Err(refusal) => Err(sheet.renamed(refusal).into()),
    }
}

/// The batch template of a programme, to fill in a spreadsheet and send back (contributor, admin,
/// auditor).
#[utoipa::path(
    get, path = "/v1/programmes/{id}/batch-template", tag = "contributions",
    params(("id" = Uuid, Path), TemplateQuery),
    responses(
        (status = 200, description = "the template, as an attachment", content(
            (String = "text/csv"),
            (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn batch_template(
    State(state): State<AppState>,
    principal: Principal,
    Path(programme): Path<String>,
    Query(query): Query<TemplateQuery>,
) -> Result<Response, ApiError> {
    let file = state
        .app
        .query(&principal, BatchTemplate { programme, query })
        .await?;
    let media_type = if file.media_type == ledger_app::spreadsheets::CSV_MEDIA_TYPE {
        "text/csv; charset=utf-8"
    } else {
        file.media_type
    };
    Ok((
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.file_name),
            ),
        ],
        file.bytes,
    )
        .into_response())
}
