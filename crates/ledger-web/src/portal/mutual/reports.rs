//! The mutual's redistribution reports: the list (status, period, total, lines by purpose) and the
//! form filing one with the API's command, in the mutual's currency; every refusal is shown at
//! its row (a line's purpose, amount or members) or with the report's own fields.

use axum::http::StatusCode;
use axum::response::Response;
use ledger_app::pagination::ListOrder;
use ledger_app::reports::{CreateReport, ListReports, ReportListQuery, SubmitReport};
use ledger_app::{AppError, Refusal};
use minijinja::{Value, context};
use serde_json::json;

use super::{Problem, Problems, no_problems, own_organisation, run_form};
use crate::portal::visit::{SignedForm, Visit};
use crate::portal::{Fields, field};

/// The purposes a report accounts for, in the order the form offers them.
pub(crate) const PURPOSES: [&str; 5] = [
    "premium_subsidy",
    "care_reimbursement",
    "prevention",
    "training",
    "administration",
];
/// Rows of the report form: one per purpose.
const REPORT_ROWS: usize = PURPOSES.len();
/// Reports listed (the newest).
const LISTED_REPORTS: u32 = 100;
/// The report's own fields, always present in `errors`.
const REPORT_FIELDS: [&str; 4] = ["period", "notes", "lines", "form"];

/// One row as typed, with its problems.
#[derive(Debug, Default, serde::Serialize)]
struct Row {
    purpose: String,
    amount: String,
    members_count: String,
    errors: Vec<Problem>,
}

/// The report form as typed.
#[derive(Debug, serde::Serialize)]
struct ReportForm {
    period: String,
    notes: String,
    request_id: String,
    rows: Vec<Row>,
    errors: Problems,
}

impl ReportForm {
    fn empty(request_id: String) -> ReportForm {
        ReportForm {
            period: String::new(),
            notes: String::new(),
            request_id,
            rows: PURPOSES
                .iter()
                .map(|purpose| Row {
                    purpose: (*purpose).to_owned(),
                    ..Row::default()
                })
                .collect(),
            errors: no_problems(&REPORT_FIELDS),
        }
    }
}

/// The message key of a line's field.
fn line_key(name: &str) -> &'static str {
    match name {
        "purpose" => "mutual-report-error-purpose",
        "amount" => "mutual-report-error-amount",
        "members_count" => "mutual-report-error-members",
        _ => "mutual-error-other",
    }
}

/// Reads the form: the rows as typed, the body the API would receive in `currency`, and for each
/// of its lines the row it came from. Rows with neither amount nor members are left out; a
/// members count that is not a whole number is an error at its row.
fn read_form(fields: &Fields, currency: &str) -> (ReportForm, serde_json::Value, Vec<usize>) {
    let value = |name: &str| field(fields, name).unwrap_or_default().trim().to_owned();
    let mut form = ReportForm {
        period: value("period"),
        notes: value("notes"),
        request_id: value("request_id"),
        rows: Vec::with_capacity(REPORT_ROWS),
        errors: no_problems(&REPORT_FIELDS),
    };
    let mut lines = Vec::new();
    let mut origins = Vec::new();
    for index in 0..REPORT_ROWS {
        let mut row = Row {
            purpose: value(&format!("purpose_{index}")),
            amount: value(&format!("amount_{index}")),
            members_count: value(&format!("members_{index}")),
            errors: Vec::new(),
        };
        if !(row.amount.is_empty() && row.members_count.is_empty()) {
            let members = if row.members_count.is_empty() {
                Some(0)
            } else {
                row.members_count.parse::<i64>().ok()
            };
            match members {
                Some(members) => {
                    lines.push(json!({
                        "purpose": row.purpose,
                        "amount": row.amount,
                        "members_count": members,
                    }));
                    origins.push(index);
                }
                None => row.errors.push(Problem {
                    key: "mutual-report-error-members",
                    detail: String::new(),
                }),
            }
        }
        form.rows.push(row);
    }
    let mut body = json!({"period": form.period, "currency": currency, "lines": lines});
    if !form.notes.is_empty() {
        body["notes"] = json!(form.notes);
    }
    (form, body, origins)
}

/// Places the command's refusal: a line's problems at its row, the rest with the report's fields
/// (an administration share above the cap, or more than was received, with the form).
fn place_errors(form: &mut ReportForm, error: &AppError, origins: &[usize]) {
    for refusal in &error.errors {
        let problem = |key| Problem {
            key,
            detail: refusal.message.clone(),
        };
        let line = refusal
            .field
            .strip_prefix("lines[")
            .and_then(|rest| rest.split_once("]."))
            .and_then(|(index, name)| Some((index.parse::<usize>().ok()?, name)));
        match line {
            Some((line, name)) => {
                if let Some(row) = origins.get(line).and_then(|row| form.rows.get_mut(*row)) {
                    row.errors.push(problem(line_key(name)));
                }
            }
            None => {
                let (name, key) = match refusal.field.as_str() {
                    "period" => ("period", "mutual-report-error-period"),
                    "notes" => ("notes", "mutual-report-error-notes"),
                    "lines" => ("lines", "mutual-report-error-lines"),
                    _ => ("form", "mutual-error-other"),
                };
                form.errors
                    .entry(name.to_owned())
                    .or_default()
                    .push(problem(key));
            }
        }
    }
    if error.errors.is_empty() {
        let key = match error.code {
            "admin_cost_cap_exceeded" => "mutual-report-error-admin-cap",
            "exceeds_unliquidated_funds" => "mutual-report-error-exceeds",
            _ => "mutual-error-other",
        };
        form.errors
            .entry("form".to_owned())
            .or_default()
            .push(Problem {
                key,
                detail: error.detail.clone(),
            });
    }
}

async fn render(visit: &Visit, status: StatusCode, form: Option<ReportForm>) -> Response {
    let portal = &visit.portal;
    let query = ReportListQuery {
        beneficiary_id: None,
        limit: Some(LISTED_REPORTS),
        cursor: visit.cursor(),
        order: Some(ListOrder::NewestFirst),
    };
    let (reports, paging) = match portal.app.query(visit.caller(), ListReports(query)).await {
        Ok(page) => (
            page.items,
            visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref()),
        ),
        Err(error) => return visit.refused(&error),
    };
    let organisation = match own_organisation(visit).await {
        Ok(organisation) => organisation,
        Err(error) => return visit.refused(&error),
    };
    let form = form.unwrap_or_else(|| ReportForm::empty(portal.app.sources.id().to_string()));
    visit.page(
        status,
        "portal_mutual_reports.html",
        context! {
            organisation => Value::from_serialize(&organisation),
            reports => Value::from_serialize(&reports),
            paging => paging,
            form => Value::from_serialize(&form),
            purposes => PURPOSES,
        },
    )
}

/// The reports page.
pub(crate) async fn reports(visit: Visit) -> Response {
    render(&visit, StatusCode::OK, None).await
}

/// Files a report with the API's command; refused, the form comes back with every problem at its
/// row and nothing written (422, or 409 when it exceeds what was received).
pub(crate) async fn submit(SignedForm { visit, fields }: SignedForm) -> Response {
    let organisation = match own_organisation(&visit).await {
        Ok(organisation) => organisation,
        Err(error) => return visit.refused(&error),
    };
    let (mut form, body, origins) = read_form(&fields, &organisation.currency);
    if form.rows.iter().any(|row| !row.errors.is_empty()) {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&visit, status, Some(form)).await;
    }
    let answer = run_form(
        &visit,
        &form.request_id,
        "POST\n/portal/mutual/reports",
        &body,
        |body: CreateReport| SubmitReport(body),
    )
    .await;
    match answer {
        Ok(()) => visit.see_other("/portal/mutual/reports#reports"),
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            if error.code == "idempotency_conflict" {
                return visit.refused(&error);
            }
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            place_errors(&mut form, &error, &origins);
            render(&visit, status, Some(form)).await
        }
        Err(error) => visit.refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_rows_become_lines_and_their_errors_come_back_to_them() {
        // Proves empty rows are skipped, the body is in the mutual's currency, a line's error is
        // shown at the row it was typed in, and a refusal without fields is shown with the form.
        let fields: Fields = [
            ("period", "2026-09"),
            ("purpose_0", "premium_subsidy"),
            ("amount_0", "300000"),
            ("members_0", "120"),
            ("purpose_4", "administration"),
            ("amount_4", "90000"),
            ("members_4", ""),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        let (mut form, body, origins) = read_form(&fields, "XOF");
        assert_eq!(origins, [0, 4]);
        assert_eq!(body["currency"], "XOF");
        assert_eq!(body["lines"][1]["members_count"], 0);
        assert!(body.get("notes").is_none());
        let error = AppError::validation(vec![ledger_app::FieldError::new(
            "lines[1].amount",
            "too many decimals",
        )]);
        place_errors(&mut form, &error, &origins);
        assert_eq!(form.rows[4].errors[0].key, "mutual-report-error-amount");
        assert!(form.rows[0].errors.is_empty());
        let cap = AppError::new(Refusal::Invalid, "admin_cost_cap_exceeded", "above the cap");
        place_errors(&mut form, &cap, &origins);
        assert_eq!(form.errors["form"][0].key, "mutual-report-error-admin-cap");

        let (form, _, origins) = read_form(
            &[("members_2".to_owned(), "ten".to_owned())].to_vec(),
            "XOF",
        );
        assert!(origins.is_empty());
        assert_eq!(form.rows[2].errors[0].key, "mutual-report-error-members");
    }
}
