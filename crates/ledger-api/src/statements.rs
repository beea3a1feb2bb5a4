//! Organisation statements: an organisation's opening balance, each movement with its running
//! balance, and its closing balance over a range of value dates in one currency — as JSON, or as
//! CSV for a spreadsheet (`Accept: text/csv`). The movements always sum to closing − opening.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use ledger_core::organisation::OrganisationKind;
use ledger_core::{Currency, FundDate, OrganisationId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::eligibility::{parse_date, today};
use crate::json::AppJson;
use crate::money::Money;
use crate::organisations::parse_id;
use crate::problem::{ApiError, FieldError};
use crate::query::Query;
use ledger_app::Operation;
use ledger_app::policy::require;

/// The earliest value date a statement starts from by default: the first day of the fund's life.
const DEFAULT_FROM: (i32, u32, u32) = (ledger_core::time::FIRST_FUND_YEAR, 1, 1);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_statement))
}

/// The range and currency of a statement.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// First value date, `YYYY-MM-DD` between 2000-01-01 and 2099-12-31 (2000-01-01 by default).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last value date, `YYYY-MM-DD` between 2000-01-01 and 2099-12-31 (today by default).
    #[param(format = Date)]
    pub to: Option<String>,
    /// ISO 4217; EUR for contributors, the organisation's own currency otherwise, by default.
    pub currency: Option<String>,
}

/// One movement.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub date: String,
    /// The journal transaction's kind (pledge, receipt, transfer, settlement, redistribution, ...).
    pub kind: String,
    /// The journal transaction, and its memo.
    pub reference: Uuid,
    pub description: String,
    pub sequence: i64,
    pub amount: Money,
    pub running_balance: Money,
}

/// A statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    pub organisation_id: Uuid,
    pub currency: String,
    pub from: String,
    pub to: String,
    /// Sign convention: for a beneficiary positive is money held for or by it; for a contributor
    /// positive is what it still owes.
    pub opening_balance: Money,
    pub movements: Vec<MovementView>,
    pub closing_balance: Money,
    /// The latest signed checkpoint when this was read (`null` before the first): everything up to
    /// its sequence is counted here (later transactions may be too).
    pub checkpoint: Option<crate::checkpoints::CheckpointView>,
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
    let not_found = || ApiError::not_found("no such organisation");
    let id = OrganisationId::from_uuid(parse_id(&id).ok_or_else(not_found)?);
    if !principal.sees_everything() && principal.organisation != id {
        return Err(not_found());
    }
    require(Operation::ReadStatement, &principal)?;
    let organisation = state.store.organisation(id).await?.ok_or_else(not_found)?;
    let mut errors = Vec::new();
    let from = match &query.from {
        Some(text) => parse_date(text, "from", &mut errors),
        None => FundDate::from_ymd(DEFAULT_FROM.0, DEFAULT_FROM.1, DEFAULT_FROM.2).ok(),
    };
    let to = match &query.to {
        Some(text) => parse_date(text, "to", &mut errors),
        None => Some(today()?),
    };
    let currency = match &query.currency {
        Some(code) => Currency::from_code(code)
            .map_err(|_| errors.push(FieldError::new("currency", "is not an ISO 4217 currency")))
            .ok(),
        None if organisation.kind == OrganisationKind::Contributor => Some(Currency::eur()),
        None => Some(organisation.currency),
    };
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        errors.push(FieldError::new("to", "must not be before `from`"));
    }
    let (Some(from), Some(to), Some(currency), true) = (from, to, currency, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let checkpoint = crate::checkpoints::checkpoint_before_read(&state).await?;
    let (opening, rows) = state
        .store
        .statement(id.as_uuid(), currency.code(), from.naive(), to.naive())
        .await?;
    let mut running = opening;
    let mut movements = Vec::with_capacity(rows.len());
    for row in rows {
        running = running
            .checked_add(row.amount_minor)
            .ok_or_else(|| ApiError::internal_message("balance overflow"))?;
        movements.push(MovementView {
            date: row.effective_date.to_string(),
            kind: row.kind,
            reference: row.transaction_id,
            description: row.memo,
            sequence: row.sequence,
            amount: Money::from_minor(row.amount_minor, currency),
            running_balance: Money::from_minor(running, currency),
        });
    }
    let statement = StatementView {
        organisation_id: id.as_uuid(),
        currency: currency.code().to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        opening_balance: Money::from_minor(opening, currency),
        movements,
        closing_balance: Money::from_minor(running, currency),
        checkpoint,
    };
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
