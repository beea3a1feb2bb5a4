//! A union's other pages (issue 21, item 2): a batch uploaded as a spreadsheet (the API's
//! reading, [`ledger_app::spreadsheets`], then the same [`SubmitBatch`] command; every bad cell
//! shown as its row and column, nothing written) and the programme's template to fill; "where are
//! our members' euros" (the contributor tracing query, drawn and tabled); the printable annual
//! statement for its board; and its API keys (the people actions: list, create — the key shown
//! once — and revoke).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Datelike;
use ledger_app::contributions::{CreateBatch, SubmitBatch};
use ledger_app::lot_tracing::{TraceContributor, TracingQuery};
use ledger_app::pagination::{ListOrder, OrderedPageQuery};
use ledger_app::people::ApiKeyView;
use ledger_app::people::keys::{
    CreateApiKeyBody, CreateApiKeyOnce, KeyCreated, ListApiKeys, RevokeApiKey,
};
use ledger_app::registry::ReadOrganisation;
use ledger_app::spreadsheets::templates::{BatchTemplate, TemplateQuery};
use ledger_app::spreadsheets::{SheetBatchQuery, SheetFormat, read_sheet};
use ledger_app::statements::{GetStatement, StatementQuery};
use ledger_app::{AppError, FieldError, IdempotencyKey, Refusal};
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;

use super::batches::batch_written;
use super::network::{bad_form, form_key};
use super::visit::{SignedForm, SignedUpload, Visit};
use super::{Fields, Portal, attachment, field};
use crate::chart::{Flow, flow_chart};
use crate::format;
use crate::i18n;

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
async fn render_upload(visit: &Visit, fields: &Fields, errors: Vec<CellError>) -> Response {
    let programmes = match visit.programmes().await {
        Ok((programmes, _)) => Value::from_serialize(&programmes),
        Err(error) => return visit.refused(&error),
    };
    visit.page(
        StatusCode::UNPROCESSABLE_ENTITY,
        "portal_union_upload.html",
        context! {
            errors => Value::from_serialize(&errors),
            programmes => programmes,
            programme_id => field(fields, "programme_id").unwrap_or_default(),
            period => field(fields, "period").unwrap_or_default(),
            upload_request_id => visit.portal.app.sources.id().to_string(),
        },
    )
}

/// A batch uploaded as a CSV or `.xlsx` file: read as the API reads it, then the same command
/// under the form's one-off request id; refused: every bad cell on the page, nothing written.
async fn upload(SignedUpload { visit, upload }: SignedUpload) -> Response {
    let portal = &visit.portal;
    let fields = &upload.fields;
    let refuse = |errors: Vec<CellError>| render_upload(&visit, fields, errors);
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
        Err(error) => return visit.refused(&error),
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
            .run(visit.caller(), &key, SubmitBatch(batch))
            .await
    };
    match submitted.await {
        Ok(reply) => batch_written(&visit, &reply),
        Err(error) if error.refusal == Refusal::Invalid => {
            refuse(cell_errors(&sheet.renamed(error))).await
        }
        Err(error) => visit.refused(&error),
    }
}

#[derive(Debug, Deserialize)]
struct TemplateParameters {
    format: Option<String>,
}

/// The programme's batch template, in the page's language (the API's query).
async fn template(
    Path(programme): Path<String>,
    Query(parameters): Query<TemplateParameters>,
    visit: Visit,
) -> Response {
    let query = TemplateQuery {
        format: parameters.format,
        language: Some(visit.lang.code().to_owned()),
    };
    let file = match visit
        .portal
        .app
        .query(visit.caller(), BatchTemplate { programme, query })
        .await
    {
        Ok(file) => file,
        Err(error) if error.refusal == Refusal::Invalid => {
            return visit.error_page(StatusCode::NOT_FOUND, "error-not-found");
        }
        Err(error) => return visit.refused(&error),
    };
    let media_type = if file.media_type == ledger_app::spreadsheets::CSV_MEDIA_TYPE {
        "text/csv; charset=utf-8"
    } else {
        file.media_type
    };
    visit.keep(attachment(media_type, &file.file_name, file.bytes))
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
async fn euros(visit: Visit) -> Response {
    let lang = visit.lang;
    let id = visit.caller().organisation.as_uuid().to_string();
    let query = TraceContributor {
        id,
        query: TracingQuery { period: None },
    };
    let tracing = match visit.portal.app.query(visit.caller(), query).await {
        Ok(tracing) => tracing,
        Err(error) => return visit.refused(&error),
    };
    let mut names = BTreeMap::new();
    for share in &tracing.beneficiaries {
        let id = share.beneficiary_id.to_string();
        let name = match mutual_name(&visit, &id).await {
            Ok(Some(name)) => name,
            Ok(None) => share.beneficiary.clone(),
            Err(error) => return visit.refused(&error),
        };
        names.insert(id, name);
    }
    let ours = i18n::message(lang, "euros-chart-union", &[]);
    let mut flows: Vec<Flow> = tracing
        .beneficiaries
        .iter()
        .map(|share| {
            let sent = minor_of(&share.received.amount) + minor_of(&share.in_transit.amount);
            let name = names.get(&share.beneficiary_id.to_string());
            (name.cloned().unwrap_or_default(), sent)
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
    visit.page(
        StatusCode::OK,
        "portal_union_euros.html",
        context! {
            tracing => Value::from_serialize(&tracing),
            mutual_names => Value::from_serialize(&names),
            chart => Value::from_serialize(&chart),
        },
    )
}

/// A mutual's name as the registry shows it (as the public pages name it); `None` when the
/// registry has none for it (no such organisation, or an empty name): the slug is shown then.
async fn mutual_name(visit: &Visit, id: &str) -> Result<Option<String>, AppError> {
    let read = ReadOrganisation(id.to_owned());
    match visit.portal.app.query(visit.caller(), read).await {
        Ok(organisation) => Ok(Some(organisation.name).filter(|name| !name.trim().is_empty())),
        Err(error) if error.refusal == Refusal::NotFound => Ok(None),
        Err(error) => Err(error),
    }
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
async fn statement(Query(parameters): Query<YearParameter>, visit: Visit) -> Response {
    let portal = &visit.portal;
    let this_year = portal.app.sources.now().year();
    let first_year = (this_year - STATEMENT_YEARS + 1).max(ledger_core::time::FIRST_FUND_YEAR);
    let year = match parameters.year.as_deref().map(str::parse::<i32>) {
        None => this_year,
        Some(Ok(year)) if (ledger_core::time::FIRST_FUND_YEAR..=this_year).contains(&year) => year,
        Some(_) => return visit.error_page(StatusCode::NOT_FOUND, "error-not-found"),
    };
    let query = GetStatement {
        id: visit.caller().organisation.as_uuid().to_string(),
        query: StatementQuery {
            from: Some(format!("{year}-01-01")),
            to: Some(if year == this_year {
                match portal.app.sources.today() {
                    Ok(today) => today.to_string(),
                    Err(error) => return visit.refused(&error),
                }
            } else {
                format!("{year}-12-31")
            }),
            currency: None,
        },
    };
    match portal.app.query(visit.caller(), query).await {
        Ok(statement) => {
            let years: Vec<i32> = (first_year..=this_year).rev().collect();
            visit.page(
                StatusCode::OK,
                "portal_union_statement.html",
                context! {
                    statement => Value::from_serialize(&statement),
                    year => year,
                    years => years,
                },
            )
        }
        Err(error) => visit.refused(&error),
    }
}

/// What the keys page says of the form just sent.
#[derive(Debug, Default)]
enum KeyAnswer {
    /// Nothing (the page as asked for, or a refused form).
    #[default]
    None,
    /// A key just created: its secret, shown this once.
    Created(String),
    /// The same submission again (a double click): the key it created, named, never its secret
    /// (kept only as a hash).
    Already(ApiKeyView),
}

/// The keys page, with what the form just did, its errors, and a new request id for the next key.
async fn render_keys(
    visit: &Visit,
    status: StatusCode,
    answer: KeyAnswer,
    errors: Vec<FieldError>,
) -> Response {
    let listed = visit
        .portal
        .app
        .query(
            visit.caller(),
            ListApiKeys(OrderedPageQuery {
                limit: Some(LISTED_KEYS),
                cursor: visit.cursor(),
                order: Some(ListOrder::NewestFirst),
            }),
        )
        .await;
    let (keys, paging) = match listed {
        Ok(page) => (
            page.items,
            visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref()),
        ),
        Err(error) => return visit.refused(&error),
    };
    let name_error = errors
        .iter()
        .find(|error| error.field == "name")
        .map(|error| error.message.clone())
        .unwrap_or_default();
    let (created, already) = match answer {
        KeyAnswer::None => (String::new(), None),
        KeyAnswer::Created(key) => (key, None),
        KeyAnswer::Already(view) => (String::new(), Some(view)),
    };
    let mut response = visit.page(
        status,
        "portal_union_keys.html",
        context! {
            keys => Value::from_serialize(&keys),
            paging => paging,
            created => created,
            already => Value::from_serialize(&already),
            name_error => name_error,
            request_id => visit.portal.app.sources.id().to_string(),
        },
    );
    // The page shows a secret: never kept by any cache (form_page says no-store), nor referred.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn keys(visit: Visit) -> Response {
    render_keys(&visit, StatusCode::OK, KeyAnswer::None, Vec::new()).await
}

/// Creates a key of the user's own role for the organisation, once per form (its one-off
/// `request_id`): the page shows the key once; the same form sent again creates nothing and names
/// the key the first sending created.
async fn create_key(SignedForm { visit, fields }: SignedForm) -> Response {
    let name = field(&fields, "name").unwrap_or_default().trim().to_owned();
    let request_id = field(&fields, "request_id").unwrap_or_default();
    let Some(request) = form_key(request_id, "POST\n/portal/keys", &json!({ "name": name })) else {
        return visit.keep(bad_form(&visit.headers, &visit.uri));
    };
    let body = CreateApiKeyBody {
        name,
        role: None,
        expires_at: None,
    };
    let action = CreateApiKeyOnce { body, request };
    let (status, answer, errors) = match visit.portal.app.perform(visit.caller(), action).await {
        Ok(KeyCreated::New(created)) => {
            (StatusCode::OK, KeyAnswer::Created(created.key), Vec::new())
        }
        Ok(KeyCreated::Already(view)) => (StatusCode::OK, KeyAnswer::Already(view), Vec::new()),
        Ok(_) => return visit.refused(&AppError::internal_message("an unknown key creation")),
        Err(error) if error.refusal == Refusal::Invalid => (
            StatusCode::UNPROCESSABLE_ENTITY,
            KeyAnswer::None,
            error.errors,
        ),
        Err(error) => return visit.refused(&error),
    };
    render_keys(&visit, status, answer, errors).await
}

/// Revokes one of the organisation's keys (another's: 404, as in the API).
async fn revoke_key(Path(id): Path<String>, SignedForm { visit, .. }: SignedForm) -> Response {
    visit
        .perform_then_see(RevokeApiKey(id), "/portal/keys")
        .await
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
