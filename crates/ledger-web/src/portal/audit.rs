//! An auditor's pages (issue 21, item 5), at `/portal/audit`: the journal's export to download
//! (the API's export query, its checkpoint named), an export file verified on upload (the same
//! verification as `solidarity-ledger verify --file`, said in words: consistent with itself only,
//! or matching checkpoint N), the trial balance as at an accounting date, and the signed
//! checkpoints.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ledger_app::Refusal;
use ledger_app::books::audit::{
    ExportJournal, ExportQuery, JournalExport, TrialBalance, TrialBalanceQuery,
};
use ledger_app::books::export_check::VerifyExportFile;
use ledger_app::checkpoints::{CheckpointsQuery, list};
use minijinja::{Value, context};
use serde::Deserialize;

use super::visit::{SignedUpload, Visit};
use super::{Portal, field};

/// The newest checkpoints listed.
const LISTED_CHECKPOINTS: usize = 20;
/// How many the list reads to find the newest (the API's largest page).
const CHECKPOINTS_READ: &str = "1000";

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/audit", get(home))
        .route("/portal/audit/export", get(export))
        .route("/portal/audit/verify", post(verify))
}

#[derive(Debug, Default, Deserialize)]
struct HomeParameters {
    /// The trial balance's accounting date (`YYYY-MM-DD`); none: everything recorded so far.
    as_of: Option<String>,
}

/// The auditor's home, with the trial balance as at `as_of`, and a verification's result.
async fn render_home(visit: &Visit, as_of: Option<String>, verification: Value) -> Response {
    let portal = &visit.portal;
    let as_of = as_of.filter(|text| !text.trim().is_empty());
    let query = TrialBalance(TrialBalanceQuery {
        at: None,
        as_of: as_of.clone(),
    });
    let (status, balance, as_of_error) = match portal.app.query(visit.caller(), query).await {
        Ok(balance) => (StatusCode::OK, Value::from_serialize(&balance), false),
        Err(error) if error.refusal == Refusal::Invalid => {
            (StatusCode::UNPROCESSABLE_ENTITY, Value::from(()), true)
        }
        Err(error) => return visit.refused(&error),
    };
    let page = match list(
        &portal.app,
        &CheckpointsQuery {
            after_sequence: None,
            limit: Some(CHECKPOINTS_READ.to_owned()),
        },
    )
    .await
    {
        Ok(page) => page,
        Err(error) => return visit.refused(&error),
    };
    let checkpoints: Vec<_> = page
        .checkpoints
        .iter()
        .rev()
        .take(LISTED_CHECKPOINTS)
        .collect();
    let status = if verification.is_undefined() || verification.is_none() {
        status
    } else {
        verification
            .get_attr("status")
            .ok()
            .and_then(|value| u16::try_from(value).ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .unwrap_or(status)
    };
    visit.page(
        status,
        "portal_audit.html",
        context! {
            balance => balance,
            as_of => as_of.unwrap_or_default(),
            as_of_error => as_of_error,
            checkpoints => Value::from_serialize(&checkpoints),
            more_checkpoints => page.checkpoints.len() > LISTED_CHECKPOINTS,
            verification => verification,
        },
    )
}

async fn home(Query(parameters): Query<HomeParameters>, visit: Visit) -> Response {
    render_home(&visit, parameters.as_of, Value::from(())).await
}

#[derive(Debug, Deserialize)]
struct ExportParameters {
    format: Option<String>,
}

/// The whole journal as a file to save (the API's export, streamed), its checkpoint in the
/// `Ledger-Checkpoint` header as the API names it.
async fn export(Query(parameters): Query<ExportParameters>, visit: Visit) -> Response {
    let query = ExportJournal(ExportQuery {
        format: parameters.format,
        from_sequence: None,
        to_sequence: None,
    });
    let export = match visit.portal.app.query(visit.caller(), query).await {
        Ok(export) => export,
        Err(error) if error.refusal == Refusal::Invalid => {
            return visit.error_page(StatusCode::NOT_FOUND, "error-not-found");
        }
        Err(error) => return visit.refused(&error),
    };
    let checkpoint = export
        .checkpoint()
        .and_then(|checkpoint| serde_json::to_string(checkpoint).ok())
        .and_then(|text| HeaderValue::from_str(&text).ok());
    let media_type = HeaderValue::from_str(export.format().media_type()).ok();
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name())).ok();
    let mut response = Body::from_stream(chunks(export)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, media_type),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::HeaderName::from_static("ledger-checkpoint"),
            checkpoint,
        ),
    ] {
        if let Some(value) = value {
            headers.insert(name, value);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    visit.keep(response)
}

/// The export's chunks as a stream; an error ends the file early (without its end record, so
/// `verify` says it was cut short).
fn chunks(
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

/// An export file verified on upload: the result in words on the auditor's home.
async fn verify(SignedUpload { visit, upload }: SignedUpload) -> Response {
    let fields = &upload.fields;
    let format = match field(fields, "format").unwrap_or_default() {
        "" => ledger_verify_format(&upload.file.name),
        chosen => chosen.to_owned(),
    };
    let query = VerifyExportFile {
        bytes: upload.file.bytes,
        format,
        checkpoint: field(fields, "checkpoint").map(str::to_owned),
    };
    let verification = match visit.portal.app.query(visit.caller(), query).await {
        Ok(check) => {
            context! { status => 200, check => Value::from_serialize(&check), errors => Value::from(()) }
        }
        Err(error) if error.refusal == Refusal::Invalid => {
            let errors: Vec<(String, String)> = error
                .errors
                .iter()
                .map(|field| (field.field.clone(), field.message.clone()))
                .collect();
            context! { status => 422, check => Value::from(()), errors => errors }
        }
        Err(error) => return visit.refused(&error),
    };
    render_home(&visit, None, verification).await
}

/// The format a file's name says (`journal.jsonl` → `jsonl`), else its extension as it is (which
/// the query then refuses, naming the format).
fn ledger_verify_format(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default()
}
