//! A union's home: its batches (status, amounts, what was received) and the form submitting a
//! batch, whose refusals are shown at their rows; a batch's page with its lines and receipts.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use ledger_app::contributions::{
    BatchListQuery, BatchView, CreateBatch, ListBatches, ReadBatch, SubmitBatch,
};
use ledger_app::pagination::ListOrder;
use ledger_app::{AppError, IdempotencyKey, Refusal, Reply, Role};
use minijinja::{Value, context};
use serde_json::json;

use super::visit::{SignedForm, Visit};
use super::{Fields, field, replayed_id};

/// Rows of the batch form (a union with more sections submits a supplementary batch, or uses the
/// API).
pub(crate) const FORM_ROWS: usize = 8;
/// Batches listed on the home page (the newest).
const LISTED_BATCHES: u32 = 50;

/// One row of the form as typed, with its errors (message keys and the command's own words).
#[derive(Debug, Default, serde::Serialize)]
struct Row {
    reference: String,
    members: String,
    amount: String,
    kind: String,
    errors: Vec<RowError>,
}

#[derive(Debug, serde::Serialize)]
struct RowError {
    field: String,
    key: &'static str,
    detail: String,
}

/// What the form shows: its fields as typed and every error at its place.
#[derive(Debug, Default, serde::Serialize)]
struct BatchForm {
    programme_id: String,
    period: String,
    rows: Vec<Row>,
    /// Errors of the batch as a whole (`programme_id`, `period`, `lines`), by field.
    errors: BTreeMap<String, Vec<RowError>>,
    request_id: String,
}

/// The batch's own fields, always present in `errors` (the templates are strict).
const BATCH_FIELDS: [&str; 3] = ["programme_id", "period", "lines"];

impl BatchForm {
    fn empty(request_id: String) -> BatchForm {
        BatchForm {
            errors: batch_errors(),
            rows: (0..FORM_ROWS)
                .map(|_| Row {
                    kind: "solidarity".to_owned(),
                    ..Row::default()
                })
                .collect(),
            request_id,
            ..BatchForm::default()
        }
    }
}

fn batch_errors() -> BTreeMap<String, Vec<RowError>> {
    BATCH_FIELDS
        .into_iter()
        .map(|field| (field.to_owned(), Vec::new()))
        .collect()
}

/// The message key for a field's refusal.
fn key_of(field: &str) -> &'static str {
    match field.rsplit('.').next().unwrap_or(field) {
        "programme_id" => "batch-error-programme",
        "period" => "batch-error-period",
        "reference" => "batch-error-reference",
        "members" => "batch-error-members",
        "amount" => "batch-error-amount",
        "kind" => "batch-error-kind",
        "lines" => "batch-error-lines",
        _ => "batch-error-other",
    }
}

/// `lines[3].amount` → (3, "amount").
fn line_field(field: &str) -> Option<(usize, &str)> {
    let rest = field.strip_prefix("lines[")?;
    let (index, name) = rest.split_once("].")?;
    Some((index.parse().ok()?, name))
}

/// Reads the form: its fields as typed, the JSON batch the API would receive, and for each of the
/// batch's lines the form row it came from. Empty rows are left out; a members count that is not a
/// whole number is an error at its row (the batch is then not submitted).
fn read_form(fields: &Fields) -> (BatchForm, serde_json::Value, Vec<usize>) {
    let mut form = BatchForm {
        programme_id: field(fields, "programme_id").unwrap_or_default().to_owned(),
        period: field(fields, "period")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        request_id: field(fields, "request_id").unwrap_or_default().to_owned(),
        errors: batch_errors(),
        ..BatchForm::default()
    };
    let mut lines = Vec::new();
    let mut origins = Vec::new();
    for index in 0..FORM_ROWS {
        let value = |name: &str| {
            field(fields, &format!("{name}_{index}"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let mut row = Row {
            reference: value("reference"),
            members: value("members"),
            amount: value("amount"),
            kind: value("kind"),
            errors: Vec::new(),
        };
        if row.kind.is_empty() {
            row.kind = "solidarity".to_owned();
        }
        if !(row.reference.is_empty() && row.members.is_empty() && row.amount.is_empty()) {
            let members = if row.members.is_empty() {
                Some(0)
            } else {
                row.members.parse::<i64>().ok()
            };
            match members {
                Some(members) => {
                    lines.push(json!({
                        "reference": row.reference,
                        "members": members,
                        "amount": row.amount,
                        "kind": row.kind,
                    }));
                    origins.push(index);
                }
                None => row.errors.push(RowError {
                    field: "members".to_owned(),
                    key: "batch-error-members",
                    detail: String::new(),
                }),
            }
        }
        form.rows.push(row);
    }
    let body = json!({
        "programme_id": form.programme_id,
        "period": form.period,
        "lines": lines,
    });
    (form, body, origins)
}

/// Places the command's field errors at their rows (or with the batch's own fields).
fn place_errors(form: &mut BatchForm, error: &AppError, origins: &[usize]) {
    for refusal in &error.errors {
        let placed = RowError {
            field: refusal.field.clone(),
            key: key_of(&refusal.field),
            detail: refusal.message.clone(),
        };
        match line_field(&refusal.field) {
            Some((line, name)) => {
                if let Some(row) = origins.get(line).and_then(|row| form.rows.get_mut(*row)) {
                    row.errors.push(RowError {
                        field: name.to_owned(),
                        ..placed
                    });
                }
            }
            None => {
                // Whatever is not a line's nor a known field (an earmark) is shown with the lines.
                let name = refusal.field.split('[').next().unwrap_or_default();
                let name = if BATCH_FIELDS.contains(&name) {
                    name
                } else {
                    "lines"
                };
                form.errors.entry(name.to_owned()).or_default().push(placed);
            }
        }
    }
}

/// The home page, with `form` (or an empty one) and `status`.
async fn render_home(visit: &Visit, status: StatusCode, form: Option<BatchForm>) -> Response {
    let app = &visit.portal.app;
    let caller = visit.caller();
    let query = BatchListQuery {
        programme_id: None,
        period: None,
        contributor_id: None,
        limit: Some(LISTED_BATCHES),
        cursor: visit.cursor(),
        order: Some(ListOrder::NewestFirst),
    };
    let (batches, paging) = match app.query(caller, ListBatches(query)).await {
        Ok(page) => (
            page.items,
            visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref()),
        ),
        Err(error) => return visit.refused(&error),
    };
    let (programmes, mut names) = match visit.programmes().await {
        Ok(found) => found,
        Err(error) => return visit.refused(&error),
    };
    for batch in &batches {
        let id = batch.programme_id.to_string();
        names.entry(id.clone()).or_insert(id);
    }
    let form = form.unwrap_or_else(|| BatchForm::empty(app.sources.id().to_string()));
    visit.page(
        status,
        "portal_home.html",
        context! {
            batches => Value::from_serialize(&batches),
            paging => paging,
            programmes => Value::from_serialize(&programmes),
            programme_names => Value::from_serialize(&names),
            form => Value::from_serialize(&form),
            upload_request_id => app.sources.id().to_string(),
        },
    )
}

pub(crate) async fn home(visit: Visit) -> Response {
    match visit.caller().role {
        // Every role's home is its own page.
        Role::Beneficiary => visit.see_other("/portal/mutual"),
        Role::Admin => visit.see_other("/portal/network"),
        Role::Auditor => visit.see_other("/portal/audit"),
        _ => render_home(&visit, StatusCode::OK, None).await,
    }
}

/// Submits a batch with the API's command; on refusal the form comes back with every error at its
/// row and nothing written; on success, the new batch's page.
pub(crate) async fn submit(SignedForm { visit, fields }: SignedForm) -> Response {
    let (mut form, body, origins) = read_form(&fields);
    if form.rows.iter().any(|row| !row.errors.is_empty()) {
        return render_home(&visit, StatusCode::UNPROCESSABLE_ENTITY, Some(form)).await;
    }
    let command = match serde_json::from_value::<CreateBatch>(body.clone()) {
        Ok(command) => command,
        Err(error) => {
            tracing::error!(%error, "the batch form built a batch the command does not read");
            return visit.refused(&AppError::internal(error));
        }
    };
    let bytes = body.to_string().into_bytes();
    let key = match IdempotencyKey::new(&form.request_id, "POST\n/portal", bytes) {
        Ok(key) => key,
        Err(error) => return visit.refused(&error),
    };
    match visit
        .portal
        .app
        .run(visit.caller(), &key, SubmitBatch(command))
        .await
    {
        Ok(reply) => batch_written(&visit, &reply),
        Err(error) if error.refusal == Refusal::Invalid => {
            place_errors(&mut form, &error, &origins);
            render_home(&visit, StatusCode::UNPROCESSABLE_ENTITY, Some(form)).await
        }
        Err(error) => visit.refused(&error),
    }
}

/// The answer to a batch written now or before (a double click): the batch's page.
pub(crate) fn batch_written(visit: &Visit, reply: &Reply<BatchView>) -> Response {
    let id = match reply {
        Reply::Done { output, .. } => output.id.to_string(),
        Reply::Replayed(stored) => replayed_id(&stored.response_body, "id"),
    };
    visit.see_other(&format!("/portal/batches/{id}"))
}

/// A batch's page: its lines and receipts (another organisation's batch: 404, as in the API).
pub(crate) async fn batch(Path(id): Path<String>, visit: Visit) -> Response {
    match visit.portal.app.query(visit.caller(), ReadBatch(id)).await {
        Ok(detail) => visit.page(
            StatusCode::OK,
            "portal_batch.html",
            context! { batch => Value::from_serialize(&detail) },
        ),
        Err(error) => visit.refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn errors_go_back_to_the_rows_they_came_from() {
        // Proves empty rows are skipped yet a line's error is shown at the row it was typed in,
        // and a members count that is not a number is caught at its row.
        let (mut form, body, origins) = read_form(&fields(&[
            ("programme_id", "p"),
            ("period", " 2026-11 "),
            ("reference", "ignored"),
            ("reference_1", "Section A"),
            ("members_1", "10"),
            ("amount_1", "20.00"),
            ("reference_3", "Section B"),
            ("members_3", "4"),
            ("amount_3", "9"),
            ("kind_3", "donation"),
        ]));
        assert_eq!(origins, [1, 3]);
        assert_eq!(body["period"], "2026-11");
        assert_eq!(body["lines"][1]["kind"], "donation");
        assert_eq!(body["lines"][0]["members"], 10);
        let error = AppError::validation(vec![
            ledger_app::FieldError::new("lines[1].amount", "must be 4 × 2.00"),
            ledger_app::FieldError::new("period", "is not a month"),
        ]);
        place_errors(&mut form, &error, &origins);
        assert_eq!(form.rows[3].errors[0].field, "amount");
        assert_eq!(form.rows[3].errors[0].key, "batch-error-amount");
        assert!(form.rows[1].errors.is_empty());
        assert_eq!(form.errors["period"][0].key, "batch-error-period");

        let (form, _, origins) = read_form(&fields(&[("members_0", "ten")]));
        assert!(origins.is_empty());
        assert_eq!(form.rows[0].errors[0].key, "batch-error-members");
    }
}
