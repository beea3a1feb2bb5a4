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
/// balance.
fn to_csv(statement: &StatementView) -> Result<String, ApiError> {
    let failed = |error: csv::Error| ApiError::internal(error);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "date",
            "kind",
            "reference",
            "description",
            "amount",
            "currency",
            "running_balance",
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
        ])
        .map_err(failed)?;
    for movement in &statement.movements {
        writer
            .write_record([
                movement.date.as_str(),
                movement.kind.as_str(),
                &movement.reference.to_string(),
                movement.description.as_str(),
                movement.amount.amount.as_str(),
                statement.currency.as_str(),
                movement.running_balance.amount.as_str(),
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
        ])
        .map_err(failed)?;
    let bytes = writer.into_inner().map_err(ApiError::internal_message)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}
