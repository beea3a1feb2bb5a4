//! Organisation statements: an organisation's opening balance, each movement with its running
//! balance, and its closing balance over a range of value dates in one currency. The movements
//! always sum to closing − opening.

use ledger_core::organisation::OrganisationKind;
use ledger_core::{Currency, FundDate, OrganisationId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::checkpoints::{CheckpointView, checkpoint_before_read};
use crate::error::{AppError, FieldError};
use crate::fields::{parse_date, parse_id};
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// The earliest value date a statement starts from by default: the first day of the fund's life.
const DEFAULT_FROM: (i32, u32, u32) = (ledger_core::time::FIRST_FUND_YEAR, 1, 1);

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
    /// For a receipt sent in another currency: what was sent and the bank's rate (`amount`, in
    /// the statement's currency, is what counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<crate::contributions::OriginalAmountView>,
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
    pub checkpoint: Option<CheckpointView>,
}

/// An organisation's statement (admin, auditor, or the organisation itself; another
/// organisation's is a 404).
#[derive(Debug)]
pub struct GetStatement {
    /// The organisation's id as given (one that does not parse names none: 404).
    pub id: String,
    pub query: StatementQuery,
}

impl Query for GetStatement {
    const OPERATION: Operation = Operation::ReadStatement;
    type Output = StatementView;

    async fn read(self, app: &App, caller: &Caller) -> Result<StatementView, AppError> {
        let query = self.query;
        let not_found = || AppError::not_found("no such organisation");
        let id = OrganisationId::from_uuid(parse_id(&self.id).ok_or_else(not_found)?);
        if !caller.may_see(id) {
            return Err(not_found());
        }
        let organisation = app.store.organisation(id).await?.ok_or_else(not_found)?;
        let mut errors = Vec::new();
        let from = match &query.from {
            Some(text) => parse_date(text, "from", &mut errors),
            None => FundDate::from_ymd(DEFAULT_FROM.0, DEFAULT_FROM.1, DEFAULT_FROM.2).ok(),
        };
        let to = match &query.to {
            Some(text) => parse_date(text, "to", &mut errors),
            None => Some(app.sources.today()?),
        };
        let currency = match &query.currency {
            Some(code) => Currency::from_code(code)
                .map_err(|_| {
                    errors.push(FieldError::new("currency", "is not an ISO 4217 currency"))
                })
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
            return Err(AppError::validation(errors));
        };
        let checkpoint = checkpoint_before_read(app).await?;
        let (opening, rows) = app
            .store
            .statement(id.as_uuid(), currency.code(), from.naive(), to.naive())
            .await?;
        // Receipts a contributor sent in another currency, by their transaction.
        let mut originals = std::collections::HashMap::new();
        if organisation.kind == OrganisationKind::Contributor {
            for receipt in app.store.original_receipts(id).await? {
                originals.insert(
                    receipt.transaction_id,
                    crate::contributions::OriginalAmountView::of(
                        Some(receipt.original_amount_minor),
                        Some(&receipt.original_currency),
                        Some(&receipt.original_rate),
                    )?,
                );
            }
        }
        let mut running = opening;
        let mut movements = Vec::with_capacity(rows.len());
        for row in rows {
            running = running
                .checked_add(row.amount_minor)
                .ok_or_else(|| AppError::internal_message("balance overflow"))?;
            movements.push(MovementView {
                date: row.effective_date.to_string(),
                kind: row.kind,
                reference: row.transaction_id,
                description: row.memo,
                sequence: row.sequence,
                amount: Money::from_minor(row.amount_minor, currency),
                running_balance: Money::from_minor(running, currency),
                original: originals.get(&row.transaction_id).cloned().flatten(),
            });
        }
        Ok(StatementView {
            organisation_id: id.as_uuid(),
            currency: currency.code().to_owned(),
            from: from.to_string(),
            to: to.to_string(),
            opening_balance: Money::from_minor(opening, currency),
            movements,
            closing_balance: Money::from_minor(running, currency),
            checkpoint,
        })
    }
}
