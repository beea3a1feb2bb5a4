//! Auditors' endpoints: a streamed export of the journal that verifies offline, the chain and
//! balance check run in the database, and the trial balance as of a moment. The queries and views
//! are [`ledger_app::books::audit`]; here the export becomes a streamed response body.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ledger_app::books::audit::{
    ExportJournal, ExportQuery, JournalExport, TrialBalance, TrialBalanceQuery, TrialBalanceView,
    VerifyJournal, VerifyView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(verify))
        .routes(routes!(trial_balance))
}

/// Export the journal: every field the hash chain covers, with sequence, previous hash and hash,
/// then an end record naming the last sequence and final hash. Streamed page by page (constant
/// memory); transactions appended after the export starts are not included. A range past the end
/// of the journal gives a file with no transaction and its end record. The layout is specified in
/// `docs/hash-chain.md`; `solidarity-ledger verify --file` checks it offline.
#[utoipa::path(
    get, path = "/v1/audit/export", tag = "audit", params(ExportQuery),
    responses(
        (status = 200, description = "the export, streamed", content(
            (String = "application/jsonl"),
            (String = "text/csv")
        ), headers(
            ("Ledger-Checkpoint" = String, description = "The signed checkpoint the file can be verified against (`verify --file F --checkpoint C`), in its JSON form on one line: the highest at or before the export's last sequence and not before its start; absent when there is none")
        )),
        (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let export = state.app.query(&principal, ExportJournal(query)).await?;
    let headers = [
        (
            header::CONTENT_TYPE,
            export.format().media_type().to_owned(),
        ),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export.file_name()),
        ),
    ];
    // Hex, digits and ASCII punctuation only: always a valid header value.
    let checkpoint = export
        .checkpoint()
        .map(serde_json::to_string)
        .transpose()
        .map_err(ApiError::internal)?;
    let mut response = (headers, Body::from_stream(export_stream(export))).into_response();
    if let Some(checkpoint) = checkpoint {
        let value = HeaderValue::from_str(&checkpoint).map_err(ApiError::internal)?;
        response.headers_mut().insert(CHECKPOINT_HEADER, value);
    }
    Ok(response)
}

/// The response header of an export naming its checkpoint.
pub const CHECKPOINT_HEADER: &str = "ledger-checkpoint";

/// The export as a stream of byte chunks, one [`JournalExport::next_chunk`] at a time. An error
/// ends the response early (the file then lacks its end record).
fn export_stream(
    export: JournalExport,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures::stream::unfold(export, |mut export| async move {
        let chunk = export
            .next_chunk()
            .await?
            .map(Bytes::from)
            .map_err(|error| std::io::Error::other(error.to_string()));
        Some((chunk, export))
    })
}

/// Recompute the hash chain and every account balance from the postings in the database, as
/// `solidarity-ledger verify` does, and report the first break (`200` either way: `valid` says).
#[utoipa::path(
    get, path = "/v1/audit/verify", tag = "audit",
    responses(
        (status = 200, body = VerifyView),
        (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
async fn verify(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<VerifyView>, ApiError> {
    Ok(AppJson(state.app.query(&principal, VerifyJournal).await?))
}

/// The trial balance: every account with postings, its debit and credit totals per currency, and
/// per-currency totals that net to zero; as of `at` (by the time transactions were recorded) or as
/// at the accounting date `as_of` (by their effective date). `basis` says which.
#[utoipa::path(
    get, path = "/v1/audit/trial-balance", tag = "audit", params(TrialBalanceQuery),
    responses(
        (status = 200, body = TrialBalanceView),
        (status = 401, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
async fn trial_balance(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<TrialBalanceQuery>,
) -> Result<AppJson<TrialBalanceView>, ApiError> {
    Ok(AppJson(
        state.app.query(&principal, TrialBalance(query)).await?,
    ))
}
