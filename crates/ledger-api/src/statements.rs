//! Organisation statements over HTTP, as JSON or as CSV for a spreadsheet (`Accept: text/csv`).
//! The statement itself is [`ledger_app::statements`].

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;
use ledger_app::statements::{GetStatement, StatementQuery, StatementView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_statement))
}

/// An organisation's statement (admin, auditor, or the organisation itself).
#[utoipa::path(
    get, path = "/v1/organisations/{id}/statement", tag = "organisations",
    params(("id" = Uuid, Path), StatementQuery),
    responses(
        (status = 200, description = "the statement, as JSON or (Accept: text/csv) as CSV", content(
            (StatementView = "application/json"),
            (String = "text/csv")
        )),
        (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_statement(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<StatementQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let statement = state
        .app
        .query(&principal, GetStatement { id, query })
        .await?;
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"));
    if wants_csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            to_csv(&statement)?,
        )
            .into_response());
    }
    Ok(AppJson(statement).into_response())
}

/// The statement as CSV (RFC 4180): a header row, the opening balance, each movement, the closing
/// balance. People open it in a spreadsheet: every cell goes through
/// [`ledger_core::spreadsheet::neutralised_cell`], so a description starting with `=` is text.
fn to_csv(statement: &StatementView) -> Result<String, ApiError> {
    let failed = |error: csv::Error| ApiError::internal(error);
    let mut writer = SpreadsheetCsv(csv::Writer::from_writer(Vec::new()));
    writer
        .write_record([
            "date",
            "kind",
            "reference",
            "description",
            "amount",
            "currency",
            "running_balance",
            "original_amount",
            "original_currency",
            "rate",
        ])
        .map_err(failed)?;
    writer
        .write_record([
            statement.from.as_str(),
            "opening_balance",
            "",
            "",
            "",
            statement.currency.as_str(),
            statement.opening_balance.amount.as_str(),
            "",
            "",
            "",
        ])
        .map_err(failed)?;
    for movement in &statement.movements {
        // What the union actually sent, when the bank credited it from another currency.
        let (original_amount, original_currency, rate) =
            movement.original.as_ref().map_or(("", "", ""), |original| {
                (
                    original.amount.amount.as_str(),
                    original.amount.currency.as_str(),
                    original.rate.as_str(),
                )
            });
        writer
            .write_record([
                movement.date.as_str(),
                movement.kind.as_str(),
                &movement.reference.to_string(),
                movement.description.as_str(),
                movement.amount.amount.as_str(),
                statement.currency.as_str(),
                movement.running_balance.amount.as_str(),
                original_amount,
                original_currency,
                rate,
            ])
            .map_err(failed)?;
    }
    writer
        .write_record([
            statement.to.as_str(),
            "closing_balance",
            "",
            "",
            "",
            statement.currency.as_str(),
            statement.closing_balance.amount.as_str(),
            "",
            "",
            "",
        ])
        .map_err(failed)?;
    let bytes = writer.0.into_inner().map_err(ApiError::internal_message)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

/// A CSV writer whose cells cannot run as formulas.
struct SpreadsheetCsv(csv::Writer<Vec<u8>>);

impl SpreadsheetCsv {
    fn write_record<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> csv::Result<()> {
        self.0.write_record(
            cells
                .into_iter()
                .map(|cell| ledger_core::spreadsheet::neutralised_cell(cell).into_owned()),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ledger_app::money::Money;
    use ledger_app::statements::MovementView;

    #[test]
    fn statement_cells_never_run_as_formulas() {
        // Proves a statement's CSV writes a description a spreadsheet would run (`=...`, `@...`)
        // as text, while signed amounts stay numbers.
        let money = |amount: &str| Money {
            amount: amount.to_owned(),
            currency: "EUR".to_owned(),
        };
        let statement = StatementView {
            organisation_id: uuid::Uuid::nil(),
            currency: "EUR".to_owned(),
            from: "2026-11-01".to_owned(),
            to: "2026-11-30".to_owned(),
            opening_balance: money("0.00"),
            movements: vec![MovementView {
                date: "2026-11-20".to_owned(),
                kind: "receipt".to_owned(),
                reference: uuid::Uuid::nil(),
                description: "=HYPERLINK(\"http://evil.example\",\"x\")".to_owned(),
                sequence: 3,
                amount: money("-1250.00"),
                running_balance: money("-1250.00"),
                original: None,
            }],
            closing_balance: money("-1250.00"),
            checkpoint: None,
        };
        let csv = to_csv(&statement).unwrap();
        let movement = csv.lines().nth(2).unwrap();
        assert!(
            movement.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","),
            "{movement}"
        );
        assert!(
            movement.ends_with(",-1250.00,EUR,-1250.00,,,"),
            "{movement}"
        );
    }
}
