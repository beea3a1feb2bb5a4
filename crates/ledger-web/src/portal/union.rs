//! A union's other pages (issue 21, item 2): a batch uploaded as a spreadsheet (the API's
//! reading, [`ledger_app::spreadsheets`], then the same [`SubmitBatch`] command; every bad cell
//! shown as its row and column, nothing written) and the programme's template to fill; "where are
//! our members' euros" (the contributor tracing query, drawn and tabled); the printable annual
//! statement for its board; and its API keys (the people actions: list, create — the key shown
//! once — and revoke).

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use ledger_app::contributions::{CreateBatch, SubmitBatch};
use ledger_app::lot_tracing::{TraceContributor, TracingQuery};
use ledger_app::pagination::PageQuery;
use ledger_app::people::keys::{CreateApiKey, CreateApiKeyBody, ListApiKeys, RevokeApiKey};
use ledger_app::registry::ListProgrammes;
use ledger_app::spreadsheets::templates::{BatchTemplate, TemplateQuery};
use ledger_app::spreadsheets::{SheetBatchQuery, SheetFormat, read_sheet};
use ledger_app::statements::{GetStatement, StatementQuery};
use ledger_app::{AppError, FieldError, IdempotencyKey, Refusal, Reply};
use minijinja::{Value, context};
use serde::Deserialize;

use super::session::SignedIn;
use super::upload::read_upload;
use super::{
    Fields, Portal, error_page, field, form_page, refused, require_signed_in, see_other,
    signed_form,
};
use crate::chart::{Flow, flow_chart};
use crate::format;
use crate::i18n::{self, negotiate};

/// Programmes offered in the upload form.
const LISTED_PROGRAMMES: u32 = 100;
/// Years offered by the statement's selector (this year and the ones before).
const STATEMENT_YEARS: i32 = 6;
/// Keys listed on the keys page.
const LISTED_KEYS: u32 = 100;

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/upload", post(upload))
        .route("/portal/programmes/{id}/template", get(template))
        .route("/portal/euros", get(euros))
        .route("/portal/statement", get(statement))
        .route("/portal/keys", get(keys).post(create_key))
        .route("/portal/keys/{id}/revoke", post(revoke_key))
}

/// One refusal of an upload, placed: `row 7, column "montant"` as the sheet names it, else the
/// batch's field; the reader's own words as detail.
#[derive(Debug, serde::Serialize)]
struct CellError {
    /// The spreadsheet's row (1-based), when the refusal names one.
    row: Option<u32>,
    /// The column as the file's header writes it.
    column: Option<String>,
    /// A message key when the refusal names no cell (`file`, `period`…).
    key: &'static str,
    detail: String,
}

/// `row 7, column "montant"` → (7, Some("montant")); `row 3` → (3, None).
fn cell_of(field: &str) -> Option<(u32, Option<String>)> {
    let rest = field.strip_prefix("row ")?;
    match rest.split_once(", column \"") {
        Some((row, column)) => Some((
            row.parse().ok()?,
            Some(column.strip_suffix('"')?.to_owned()),
        )),
        None => Some((rest.parse().ok()?, None)),
    }
}

fn cell_errors(error: &AppError) -> Vec<CellError> {
    error
        .errors
        .iter()
        .map(|refusal| {
            let (row, column) = match cell_of(&refusal.field) {
                Some((row, column)) => (Some(row), column),
                None => (None, None),
            };
            let key = match refusal.field.as_str() {
                _ if row.is_some() => "upload-error-cell",
                "file" => "upload-error-file",
                "programme_id" => "batch-error-programme",
                "period" => "batch-error-period",
                _ => "batch-error-lines",
            };
            CellError {
                row,
                column,
                key,
                detail: refusal.message.clone(),
            }
        })
        .collect()
}

/// The format of an uploaded file: by its name's extension, else by its media type.
fn format_of(name: &str, media_type: &str) -> Option<SheetFormat> {
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv" | "txt") => Some(SheetFormat::Csv),
        Some("xlsx") => Some(SheetFormat::Xlsx),
        _ => SheetFormat::of_media_type(media_type),
    }
}

/// The upload page after a refusal: every error, and the form again (with a new request id:
/// nothing was written, and the corrected file is another request).
async fn render_upload(
    portal: &Portal,
    signed: &SignedIn,
    headers: &HeaderMap,
    uri: &Uri,
    fields: &Fields,
    errors: Vec<CellError>,
) -> Response {
    let lang = negotiate(headers);
    let programmes = match list_programmes(portal, signed).await {
        Ok(programmes) => programmes,
        Err(error) => return refused(&error, lang, uri),
    };
    form_page(
        portal,
        StatusCode::UNPROCESSABLE_ENTITY,
        "portal_union_upload.html",
        headers,
        uri,
        Some(signed),
        context! {
            errors => Value::from_serialize(&errors),
            programmes => programmes,
            programme_id => field(fields, "programme_id").unwrap_or_default(),
            period => field(fields, "period").unwrap_or_default(),
            upload_request_id => portal.app.sources.id().to_string(),
        },
    )
}

async fn list_programmes(portal: &Portal, signed: &SignedIn) -> Result<Value, AppError> {
    let page = portal
        .app
        .query(
            &signed.caller,
            ListProgrammes(PageQuery {
                limit: Some(LISTED_PROGRAMMES),
                cursor: None,
            }),
        )
        .await?;
    Ok(Value::from_serialize(&page.items))
}

/// A batch uploaded as a CSV or `.xlsx` file: read as the API reads it, then the same command
/// under the form's one-off request id; refused: every bad cell on the page, nothing written.
async fn upload(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let lang = negotiate(&headers);
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(status) => return error_page(status, "upload-unreadable", lang, &uri),
    };
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &upload.fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let fields = &upload.fields;
    let refuse =
        |errors: Vec<CellError>| render_upload(&portal, &signed, &headers, &uri, fields, errors);
    let Some(format) = format_of(&upload.file.name, &upload.file.media_type) else {
        return refuse(vec![CellError {
            row: None,
            column: None,
            key: "upload-error-format",
            detail: String::new(),
        }])
        .await;
    };
    let sheet = match read_sheet(format, &upload.file.bytes) {
        Ok(sheet) => sheet,
        Err(error) if error.refusal == Refusal::Invalid => {
            return refuse(cell_errors(&error)).await;
        }
        Err(error) => return refused(&error, lang, &uri),
    };
    let query = SheetBatchQuery {
        programme_id: field(fields, "programme_id").unwrap_or_default().to_owned(),
        period: field(fields, "period")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        earmark_beneficiary_id: None,
    };
    let submitted = async {
        let json = sheet.json_batch(&query)?;
        let batch: CreateBatch = serde_json::from_slice(&json).map_err(AppError::internal)?;
        let request_id = field(fields, "request_id").unwrap_or_default();
        let key = IdempotencyKey::new(request_id, "POST\n/portal/upload", json)?;
        portal
            .app
            .run(&signed.caller, &key, SubmitBatch(batch))
            .await
    };
    match submitted.await {
        Ok(Reply::Done { output, .. }) => {
            let mut response = see_other(&format!("/portal/batches/{}", output.id));
            signed.keep(portal.cookies, &mut response);
            response
        }
        Ok(Reply::Replayed(stored)) => {
            let id = serde_json::from_str::<serde_json::Value>(&stored.response_body)
                .ok()
                .and_then(|body| body["id"].as_str().map(str::to_owned))
                .unwrap_or_default();
            see_other(&format!("/portal/batches/{id}"))
        }
        Err(error) if error.refusal == Refusal::Invalid => {
            refuse(cell_errors(&sheet.renamed(error))).await
        }
        Err(error) => refused(&error, lang, &uri),
    }
}

#[derive(Debug, Deserialize)]
struct TemplateParameters {
    format: Option<String>,
}

/// The programme's batch template, in the page's language (the API's query).
async fn template(
    State(portal): State<Portal>,
    Path(programme): Path<String>,
    Query(parameters): Query<TemplateParameters>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let query = TemplateQuery {
        format: parameters.format,
        language: Some(lang.code().to_owned()),
    };
    let file = match portal
        .app
        .query(&signed.caller, BatchTemplate { programme, query })
        .await
    {
        Ok(file) => file,
        Err(error) if error.refusal == Refusal::Invalid => {
            return error_page(StatusCode::NOT_FOUND, "error-not-found", lang, &uri);
        }
        Err(error) => return refused(&error, lang, &uri),
    };
    let media_type = if file.media_type == ledger_app::spreadsheets::CSV_MEDIA_TYPE {
        "text/csv; charset=utf-8"
    } else {
        file.media_type
    };
    attachment(media_type, &file.file_name, file.bytes)
}

/// A file to save, never cached.
pub(crate) fn attachment(media_type: &str, file_name: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(media_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// EUR minor units of a decimal string (0 for what does not read).
fn minor_of(amount: &str) -> i64 {
    amount
        .parse::<rust_decimal::Decimal>()
        .ok()
        .and_then(|value| {
            (value * rust_decimal::Decimal::ONE_HUNDRED)
                .round()
                .try_into()
                .ok()
        })
        .unwrap_or(0)
}

/// "Where are our members' euros": what the union's batches became (the contributor tracing
/// query), as a chart from the union to each mutual and to what is still pooled or held, and as
/// a table with every figure.
async fn euros(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let id = signed.caller.organisation.as_uuid().to_string();
    let query = TraceContributor {
        id,
        query: TracingQuery { period: None },
    };
    let tracing = match portal.app.query(&signed.caller, query).await {
        Ok(tracing) => tracing,
        Err(error) => return refused(&error, lang, &uri),
    };
    let ours = i18n::message(lang, "euros-chart-union", &[]);
    let mut flows: Vec<Flow> = tracing
        .beneficiaries
        .iter()
        .map(|share| {
            let sent = minor_of(&share.received.amount) + minor_of(&share.in_transit.amount);
            (share.beneficiary.clone(), sent)
        })
        .chain([
            (
                i18n::message(lang, "euros-pooled", &[]),
                minor_of(&tracing.in_pool.amount) + minor_of(&tracing.earmarked.amount),
            ),
            (
                i18n::message(lang, "euros-held", &[]),
                minor_of(&tracing.held.amount),
            ),
        ])
        .filter(|(_, minor)| *minor > 0)
        .map(|(target, minor)| Flow {
            title: format!(
                "{ours} → {target}: {}",
                format::money(&decimal_of(minor), "EUR", lang)
            ),
            source: ours.clone(),
            target,
            minor,
        })
        .collect();
    flows.sort_by_key(|flow| std::cmp::Reverse(flow.minor));
    let chart = flow_chart(&flows, |minor| {
        format::money(&decimal_of(minor), "EUR", lang)
    });
    form_page(
        &portal,
        StatusCode::OK,
        "portal_union_euros.html",
        &headers,
        &uri,
        Some(&signed),
        context! {
            tracing => Value::from_serialize(&tracing),
            chart => Value::from_serialize(&chart),
        },
    )
}

/// EUR minor units as a decimal string with two places.
fn decimal_of(minor: i64) -> String {
    rust_decimal::Decimal::new(minor, 2).to_string()
}

#[derive(Debug, Deserialize)]
struct YearParameter {
    year: Option<String>,
}

/// The annual statement for the union's board: the API's statement of the organisation for the
/// chosen year (this year by default), with the checkpoint it was computed at; printable.
async fn statement(
    State(portal): State<Portal>,
    Query(parameters): Query<YearParameter>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let this_year = portal.app.sources.now().year();
    let first_year = (this_year - STATEMENT_YEARS + 1).max(ledger_core::time::FIRST_FUND_YEAR);
    let year = match parameters.year.as_deref().map(str::parse::<i32>) {
        None => this_year,
        Some(Ok(year)) if (ledger_core::time::FIRST_FUND_YEAR..=this_year).contains(&year) => year,
        Some(_) => return error_page(StatusCode::NOT_FOUND, "error-not-found", lang, &uri),
    };
    let query = GetStatement {
        id: signed.caller.organisation.as_uuid().to_string(),
        query: StatementQuery {
            from: Some(format!("{year}-01-01")),
            to: Some(if year == this_year {
                match portal.app.sources.today() {
                    Ok(today) => today.to_string(),
                    Err(error) => return refused(&error, lang, &uri),
                }
            } else {
                format!("{year}-12-31")
            }),
            currency: None,
        },
    };
    match portal.app.query(&signed.caller, query).await {
        Ok(statement) => {
            let years: Vec<i32> = (first_year..=this_year).rev().collect();
            form_page(
                &portal,
                StatusCode::OK,
                "portal_union_statement.html",
                &headers,
                &uri,
                Some(&signed),
                context! {
                    statement => Value::from_serialize(&statement),
                    year => year,
                    years => years,
                },
            )
        }
        Err(error) => refused(&error, lang, &uri),
    }
}

/// The keys page, with a key just created (shown this once) or a form's errors.
async fn render_keys(
    portal: &Portal,
    signed: &SignedIn,
    headers: &HeaderMap,
    uri: &Uri,
    status: StatusCode,
    created: Option<String>,
    errors: Vec<FieldError>,
) -> Response {
    let lang = negotiate(headers);
    let listed = portal
        .app
        .query(
            &signed.caller,
            ListApiKeys(PageQuery {
                limit: Some(LISTED_KEYS),
                cursor: None,
            }),
        )
        .await;
    let keys = match listed {
        Ok(page) => page.items,
        Err(error) => return refused(&error, lang, uri),
    };
    let name_error = errors
        .iter()
        .find(|error| error.field == "name")
        .map(|error| error.message.clone())
        .unwrap_or_default();
    let mut response = form_page(
        portal,
        status,
        "portal_union_keys.html",
        headers,
        uri,
        Some(signed),
        context! {
            keys => Value::from_serialize(&keys),
            created => created.unwrap_or_default(),
            name_error => name_error,
        },
    );
    // The page shows a secret: never kept by any cache (form_page says no-store), nor referred.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn keys(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => {
            render_keys(
                &portal,
                &signed,
                &headers,
                &uri,
                StatusCode::OK,
                None,
                Vec::new(),
            )
            .await
        }
        Err(response) => response,
    }
}

/// Creates a key of the user's own role for the organisation; the page shows it once.
async fn create_key(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let body = CreateApiKeyBody {
        name: field(&fields, "name").unwrap_or_default().trim().to_owned(),
        role: None,
        expires_at: None,
    };
    let (status, created, errors) =
        match portal.app.perform(&signed.caller, CreateApiKey(body)).await {
            Ok(created) => (StatusCode::OK, Some(created.key), Vec::new()),
            Err(error) if error.refusal == Refusal::Invalid => {
                (StatusCode::UNPROCESSABLE_ENTITY, None, error.errors)
            }
            Err(error) => return refused(&error, lang, &uri),
        };
    render_keys(&portal, &signed, &headers, &uri, status, created, errors).await
}

/// Revokes one of the organisation's keys (another's: 404, as in the API).
async fn revoke_key(
    State(portal): State<Portal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    match portal.app.perform(&signed.caller, RevokeApiKey(id)).await {
        Ok(_) => {
            let mut response = see_other("/portal/keys");
            signed.keep(portal.cookies, &mut response);
            response
        }
        Err(error) => refused(&error, lang, &uri),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_its_row_and_column() {
        // Proves the reader's `row 7, column "montant"` is placed as row 7 and column "montant",
        // a header problem as its row alone, and other fields by key.
        assert_eq!(
            cell_of("row 7, column \"montant\""),
            Some((7, Some("montant".to_owned())))
        );
        assert_eq!(cell_of("row 3"), Some((3, None)));
        assert_eq!(cell_of("period"), None);
        let error = AppError::validation(vec![
            FieldError::new("row 4, column \"membres\"", "is not a whole number"),
            FieldError::new("file", "is not a spreadsheet"),
            FieldError::new("period", "is not a month"),
        ]);
        let placed = cell_errors(&error);
        assert_eq!(placed[0].row, Some(4));
        assert_eq!(placed[0].key, "upload-error-cell");
        assert_eq!(placed[1].key, "upload-error-file");
        assert_eq!(placed[2].key, "batch-error-period");
        assert_eq!(format_of("Bordereau.XLSX", ""), Some(SheetFormat::Xlsx));
        assert_eq!(format_of("export", "text/csv"), Some(SheetFormat::Csv));
        assert_eq!(format_of("notes.pdf", "application/pdf"), None);
    }
}
