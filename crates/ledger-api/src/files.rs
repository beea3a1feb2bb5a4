//! The files the fund speaks to others, over HTTP: a run's payment file for the bank (ISO 20022
//! `pain.001.001.09`, admin and auditor) and the IATI 2.03 files (public, no sign-in: IATI is how
//! aid flows are published, and the files name only organisations that agreed to be named). The
//! files are built by [`ledger_app::payment_files`] and [`ledger_app::iati`].

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ledger_app::payment_files::GetPaymentFile;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::ApiError;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payment_file))
        .routes(routes!(iati_activity))
        .routes(routes!(iati_organisation))
}

fn xml(bytes: Vec<u8>, file_name: Option<&str>) -> Response {
    let content_type = [(
        header::CONTENT_TYPE,
        "application/xml; charset=utf-8".to_owned(),
    )];
    match file_name {
        Some(name) => (
            content_type,
            [(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            )],
            bytes,
        )
            .into_response(),
        None => (content_type, bytes).into_response(),
    }
}

/// The payment file of an executed transfer run (admin, auditor): ISO 20022 `pain.001.001.09`,
/// one payment block per execution date and currency, charges borne by the network (`DEBT`), each
/// transfer's reference as `EndToEndId`. The same run gives the same file.
#[utoipa::path(
    get, path = "/v1/transfer-runs/{id}/payment-file", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "the pain.001.001.09 document", content_type = "application/xml", body = String),
        (status = 403, body = crate::problem::Problem),
        (status = 409, description = "the run is not executed (`run_not_executed`), a beneficiary has no approved bank account (`bank_account_missing`, each named in `errors`), the network's collection account is not configured (`collection_account_missing`), or the books' bank details are refused (`payment_file_invalid`)", body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn payment_file(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let file = state
        .app
        .query(&principal, GetPaymentFile { run_id: id })
        .await?;
    Ok(xml(file.bytes, Some(&file.file_name)))
}

/// The IATI 2.03 activity file of a programme (public, no sign-in): pledges (11), receipts (1),
/// executed transfers (2), confirmed transfers (3) and accepted redistribution (4), with the
/// programme's conditions. Contributors that do not publish are summed, unnamed.
#[utoipa::path(
    get, path = "/v1/iati/programmes/{id}", tag = "iati",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "an iati-activities document", content_type = "application/xml", body = String),
        (status = 404, description = "no such programme", body = crate::problem::Problem),
    )
)]
async fn iati_activity(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state
        .app
        .query_public(ledger_app::iati::ReadIatiActivity { programme_id: id })
        .await?;
    Ok(xml(bytes, None))
}

/// The network's IATI 2.03 organisation file (public, no sign-in): what it disbursed to health
/// mutuals each year, per programme.
#[utoipa::path(
    get, path = "/v1/iati/organisation", tag = "iati",
    responses((status = 200, description = "an iati-organisations document", content_type = "application/xml", body = String))
)]
async fn iati_organisation(State(state): State<AppState>) -> Result<Response, ApiError> {
    let bytes = state
        .app
        .query_public(ledger_app::iati::ReadIatiOrganisation)
        .await?;
    Ok(xml(bytes, None))
}
