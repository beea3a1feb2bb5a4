//! Contribution batches: a contributor submits its members' solidarity euros for a period (a
//! pledge); the network records the bank receipts that bring the money into the pool, and may
//! reverse a batch whose money has not been allocated.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::contribution::BatchStatus;
use ledger_core::text::TextKind;
use ledger_core::{
    Account, AccountId, Amount, BalancedTransaction, OrganisationId, Period, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind, chart,
};
use ledger_store::records::{BatchReceiptRecord, BatchReversalRecord, Record};
use ledger_store::registry::{BatchFilter, BatchSummary};
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use ledger_app::Operation;
pub use ledger_app::contributions::{BatchTotalsView, BatchView, CreateBatch, SubmitBatch};
use ledger_app::policy::require;

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::eligibility::{parse_date, parse_period_filter, today};
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::{DecimalText, Money};
use crate::organisations::parse_id;
use crate::pagination::{Page, PageQuery, page};
use crate::problem::{ApiError, FieldError};
use crate::query::Query;

pub use ledger_app::fields::MAX_BANK_REFERENCE_LENGTH;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_batch, list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(record_receipt))
        .routes(routes!(reverse_batch))
}

/// A batch with its lines and receipts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: BatchView,
    pub lines: Vec<LineView>,
    pub receipts: Vec<ReceiptView>,
}

/// A line as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub reference: String,
    pub members: i64,
    pub amount: Money,
    pub kind: String,
}

/// A recorded receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub amount: Money,
    /// The part that settled what was due.
    pub applied: Money,
    /// The part above what was due, recorded as a donation.
    pub overpayment: Money,
    pub value_date: String,
    pub bank_reference: String,
    pub transaction_id: Uuid,
}

/// The currency a stored batch is kept in (always valid: it was checked when written).
fn batch_currency(summary: &BatchSummary) -> Result<ledger_core::Currency, ApiError> {
    ledger_core::Currency::from_code(&summary.currency)
        .map_err(|error| ApiError::internal(std::io::Error::other(error.to_string())))
}

fn view_of(summary: &BatchSummary) -> Result<BatchView, ApiError> {
    let currency = batch_currency(summary)?;
    let money = |minor| Money::from_minor(minor, currency);
    Ok(BatchView {
        id: summary.id,
        status: BatchStatus::derive(
            summary.amount_minor,
            summary.outstanding_minor,
            summary.reversal_reason.is_some(),
        )
        .as_str()
        .to_owned(),
        programme_id: summary.programme_id,
        contributor_id: summary.contributor_id,
        period: summary.period.clone(),
        earmark_beneficiary_id: summary.earmark_beneficiary_id,
        totals: BatchTotalsView {
            members: u64::try_from(summary.members_total).unwrap_or(0),
            amount: money(summary.amount_minor),
            solidarity: money(summary.solidarity_minor),
            donations: money(summary.donation_minor),
        },
        received: money(summary.received_minor),
        outstanding: money(summary.outstanding_minor),
        line_count: u32::try_from(summary.line_count).unwrap_or(0),
        transaction_id: summary.pledge_transaction_id,
        supplementary: summary.earlier_in_period > 0,
        reversal_reason: summary.reversal_reason.clone(),
        submitted_by: summary.submitted_by.clone(),
        created_at: Timestamp::from_datetime(summary.created_at).to_canonical_string(),
    })
}

pub(crate) fn balanced(
    draft: TransactionDraft,
    accounts: &[&Account],
) -> Result<BalancedTransaction, ApiError> {
    let chart: HashMap<AccountId, Account> = accounts
        .iter()
        .map(|account| (account.id, (*account).clone()))
        .collect();
    draft.validate(&chart).map_err(|violations| {
        ApiError::internal(std::io::Error::other(format!(
            "built an invalid transaction: {violations:?}"
        )))
    })
}

pub(crate) fn posting(account: &Account, amount: Amount) -> Posting {
    Posting {
        account_id: account.id,
        amount,
    }
}

/// Submit a contribution batch for a period (contributor, for its own organisation).
#[utoipa::path(
    post, path = "/v1/contribution-batches", tag = "contributions",
    request_body = CreateBatch,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = BatchView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_batch(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateBatch>,
) -> Result<Response, ApiError> {
    request.run(&state, &principal, SubmitBatch).await
}

/// Filters of the batch list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchListQuery {
    pub programme_id: Option<Uuid>,
    /// Only batches of this period (`2026-11`, `2026-Q4` or `2026`); a malformed period is a 422.
    pub period: Option<String>,
    /// Admins and auditors may list one contributor's batches.
    pub contributor_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// List batches: a contributor its own; admins and auditors all.
#[utoipa::path(
    get, path = "/v1/contribution-batches", tag = "contributions", params(BatchListQuery),
    responses((status = 200, body = Page<BatchView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_batches(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<BatchListQuery>,
) -> Result<AppJson<Page<BatchView>>, ApiError> {
    require(Operation::ListBatches, &principal)?;
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let contributor_id = if principal.sees_everything() {
        query.contributor_id
    } else {
        Some(principal.organisation.as_uuid())
    };
    let filter = BatchFilter {
        contributor_id,
        programme_id: query.programme_id,
        period: parse_period_filter(query.period.as_deref(), "period")?,
    };
    let rows = state.store.batches(&filter, after, limit + 1).await?;
    let listed = page(rows, limit, |row| row.id, |row| row);
    let items = listed
        .items
        .iter()
        .map(view_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppJson(Page {
        items,
        next_cursor: listed.next_cursor,
    }))
}

/// A batch visible to the caller, or 404 (another contributor's batch is never disclosed).
async fn visible_batch(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<BatchSummary, ApiError> {
    let not_found = || ApiError::not_found("no such contribution batch");
    let id = parse_id(id).ok_or_else(not_found)?;
    let batch = state.store.batch(id).await?.ok_or_else(not_found)?;
    let visible = principal.sees_everything()
        || (principal.role == Role::Contributor
            && batch.contributor_id == principal.organisation.as_uuid());
    if visible { Ok(batch) } else { Err(not_found()) }
}

/// One batch with its lines and receipts.
#[utoipa::path(
    get, path = "/v1/contribution-batches/{id}", tag = "contributions",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BatchDetail), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_batch(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<BatchDetail>, ApiError> {
    require(Operation::ReadBatch, &principal)?;
    let batch = visible_batch(&state, &principal, &id).await?;
    let view = view_of(&batch)?;
    let currency = batch_currency(&batch)?;
    let lines = state
        .store
        .batch_lines(batch.id)
        .await?
        .into_iter()
        .map(|line| LineView {
            reference: line.reference,
            members: line.members,
            amount: Money::from_minor(line.amount_minor, currency),
            kind: line.kind,
        })
        .collect();
    let receipts = state
        .store
        .batch_receipts(batch.id)
        .await?
        .into_iter()
        .map(|receipt| ReceiptView {
            id: receipt.id,
            batch_id: batch.id,
            amount: Money::from_minor(receipt.amount_minor, currency),
            applied: Money::from_minor(receipt.amount_minor - receipt.overpayment_minor, currency),
            overpayment: Money::from_minor(receipt.overpayment_minor, currency),
            value_date: receipt.value_date.to_string(),
            bank_reference: receipt.bank_reference,
            transaction_id: receipt.transaction_id,
        })
        .collect();
    Ok(AppJson(BatchDetail {
        batch: view,
        lines,
        receipts,
    }))
}

/// A bank receipt for a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReceipt {
    /// Decimal string in the programme's currency.
    #[schema(value_type = String)]
    pub amount: DecimalText,
    /// The bank's value date, `YYYY-MM-DD` between 2000-01-01 and 2099-12-31, not after today.
    #[schema(format = Date)]
    pub value_date: String,
    /// The bank's reference for the credit (statement reference or EndToEndId).
    pub bank_reference: String,
    /// Accept an amount above what is still due; the excess is recorded as a donation.
    #[serde(default)]
    pub overpayment: bool,
}

pub(crate) use ledger_app::fields::{reason_field, text_field};

/// The pool, or the earmarked fund, that a batch's money enters.
fn destination(batch: &BatchSummary, currency: ledger_core::Currency) -> Account {
    match batch.earmark_beneficiary_id {
        Some(beneficiary) => chart::programme_earmarked(
            batch.programme_id,
            OrganisationId::from_uuid(beneficiary),
            currency,
        ),
        None => chart::programme_pool(batch.programme_id, currency),
    }
}

/// Record a bank receipt for a batch (admin): the money enters the pool or the earmarked fund.
#[utoipa::path(
    post, path = "/v1/contribution-batches/{id}/receipts", tag = "contributions",
    request_body = CreateReceipt,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReceiptView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn record_receipt(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<CreateReceipt>,
) -> Result<Response, ApiError> {
    require(Operation::RecordReceipt, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let batch = visible_batch(&state, &principal, &id).await?;
    if batch.reversal_reason.is_some() {
        return Err(ApiError::conflict(
            "batch_reversed",
            "this batch was reversed; it takes no receipts",
        ));
    }
    let currency = batch_currency(&batch)?;
    let body = &request.body;
    let mut errors = Vec::new();
    let amount = body.amount.positive_amount("amount", currency, &mut errors);
    // Money cannot have reached the bank after today.
    let today = today()?;
    let value_date = parse_date(&body.value_date, "value_date", &mut errors).and_then(|date| {
        date.not_after(today)
            .map_err(|error| errors.push(FieldError::new("value_date", error.to_string())))
            .ok()
    });
    let bank_reference = text_field(
        "bank_reference",
        &body.bank_reference,
        MAX_BANK_REFERENCE_LENGTH,
        TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let outstanding = Amount::from_minor(batch.outstanding_minor.max(0), currency)
        .map_err(|error| ApiError::internal(std::io::Error::other(error.to_string())))?;
    if let Some(amount) = amount
        && amount.minor() > outstanding.minor()
        && !body.overpayment
    {
        errors.push(FieldError::new(
            "amount",
            format!(
                "exceeds what is still due ({}); mark the receipt as an overpayment to record the excess as a donation",
                outstanding.to_decimal_string()
            ),
        ));
    }
    let (Some(amount), Some(value_date), true) = (amount, value_date, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let applied = if amount.minor() > outstanding.minor() {
        outstanding
    } else {
        amount
    };
    let overpayment = amount
        .checked_sub(applied)
        .map_err(|error| ApiError::internal(std::io::Error::other(error.to_string())))?;

    let now = Utc::now();
    let bank = chart::fund_bank(currency);
    let receivable = chart::batch_receivable(
        batch.id,
        OrganisationId::from_uuid(batch.contributor_id),
        currency,
    );
    let pledged = chart::programme_pledged(batch.programme_id, currency);
    let fund = destination(&batch, currency);
    let mut postings = vec![posting(&bank, amount)];
    if applied.is_positive() {
        postings.push(posting(&receivable, applied.negated()));
        postings.push(posting(&pledged, applied));
    }
    postings.push(posting(&fund, amount.negated()));
    let receipt_id = Uuid::now_v7();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("batch_id".into(), batch.id.to_string().into());
    metadata.insert("receipt_id".into(), receipt_id.to_string().into());
    metadata.insert("bank_reference".into(), bank_reference.into());
    metadata.insert("value_date".into(), value_date.to_string().into());
    if overpayment.is_positive() {
        metadata.insert("overpayment".into(), overpayment.to_decimal_string().into());
    }
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Receipt,
            effective_date: value_date.naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!("Bank receipt {bank_reference} for batch {}", batch.period),
            metadata,
            postings,
        },
        &[&bank, &receivable, &pledged, &fund],
    )?;
    let view = ReceiptView {
        id: receipt_id,
        batch_id: batch.id,
        amount: amount.into(),
        applied: applied.into(),
        overpayment: overpayment.into(),
        value_date: value_date.to_string(),
        bank_reference: bank_reference.to_owned(),
        transaction_id: transaction_id.as_uuid(),
    };
    let write = WriteRequest {
        transactions: vec![transaction],
        // A concurrent receipt may have settled part of the batch since we read it: never receive
        // more than is due (the receivable, a debit balance, stays at or above zero).
        guards: vec![BalanceGuard {
            account_id: receivable.id,
            bound: BalanceBound::AtLeast(0),
        }],
        records: vec![
            Record::Account(bank),
            Record::Account(fund),
            Record::BatchReceipt(BatchReceiptRecord {
                id: receipt_id,
                batch_id: batch.id,
                amount_minor: amount.minor(),
                overpayment_minor: overpayment.minor(),
                value_date,
                bank_reference: bank_reference.to_owned(),
                transaction_id,
                recorded_by: principal.subject.clone(),
                created_at: Timestamp::from_datetime(now),
            }),
        ],
        ..WriteRequest::default()
    };
    request
        .commit(&state, &principal, StatusCode::CREATED, &view, write, |_, _| {
            ApiError::conflict(
                "receipt_exceeds_outstanding",
                "another receipt settled part of this batch meanwhile; the amount now exceeds what is still due",
            )
        })
        .await
}

/// Why a batch is reversed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReversal {
    pub reason: String,
}

/// What a reversal did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReversalView {
    pub batch_id: Uuid,
    pub reason: String,
    /// Pledged amount cancelled (what was still due).
    pub cancelled: Money,
    /// Received money returned out of the pool (or earmarked fund) to the bank for refund.
    pub refunded: Money,
    pub transaction_id: Uuid,
}

/// Reverse a batch (admin): a reversing transaction, never a delete. Refused when the pool no
/// longer holds the batch's received money (it has been allocated).
#[utoipa::path(
    post, path = "/v1/contribution-batches/{id}/reversal", tag = "contributions",
    request_body = CreateReversal,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReversalView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reverse_batch(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<CreateReversal>,
) -> Result<Response, ApiError> {
    require(Operation::ReverseBatch, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let batch = visible_batch(&state, &principal, &id).await?;
    if batch.reversal_reason.is_some() {
        return Err(ApiError::conflict(
            "already_reversed",
            "this batch was already reversed",
        ));
    }
    let reason = reason_field(&request.body.reason)?;
    let period = Period::parse_any(&batch.period).map_err(ApiError::internal_message)?;
    let currency = batch_currency(&batch)?;
    let amount = |minor| {
        Amount::from_minor(minor, currency)
            .map_err(|error| ApiError::internal(std::io::Error::other(error.to_string())))
    };
    let cancelled = amount(batch.outstanding_minor.max(0))?;
    let refunded = amount(batch.received_minor)?;
    let bank = chart::fund_bank(currency);
    let receivable = chart::batch_receivable(
        batch.id,
        OrganisationId::from_uuid(batch.contributor_id),
        currency,
    );
    let pledged = chart::programme_pledged(batch.programme_id, currency);
    let fund = destination(&batch, currency);
    let mut postings = Vec::new();
    if cancelled.is_positive() {
        postings.push(posting(&pledged, cancelled));
        postings.push(posting(&receivable, cancelled.negated()));
    }
    if refunded.is_positive() {
        postings.push(posting(&fund, refunded));
        postings.push(posting(&bank, refunded.negated()));
    }
    let now = Utc::now();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("batch_id".into(), batch.id.to_string().into());
    metadata.insert(
        "reverses".into(),
        batch.pledge_transaction_id.to_string().into(),
    );
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Reversal,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: ledger_core::memo::batch_reversal(&period, &reason),
            metadata,
            postings,
        },
        &[&bank, &receivable, &pledged, &fund],
    )?;
    let view = ReversalView {
        batch_id: batch.id,
        reason: reason.as_str().to_owned(),
        cancelled: cancelled.into(),
        refunded: refunded.into(),
        transaction_id: transaction_id.as_uuid(),
    };
    let write = WriteRequest {
        transactions: vec![transaction],
        // The pool (a credit balance) must still hold the refunded money: if it was allocated, the
        // balance would turn positive and the reversal is refused.
        guards: vec![BalanceGuard {
            account_id: fund.id,
            bound: BalanceBound::AtMost(0),
        }],
        records: vec![Record::BatchReversal(BatchReversalRecord {
            batch_id: batch.id,
            reason: reason.as_str().to_owned(),
            transaction_id,
            recorded_by: principal.subject.clone(),
            created_at: Timestamp::from_datetime(now),
        })],
        ..WriteRequest::default()
    };
    request
        .commit(&state, &principal, StatusCode::CREATED, &view, write, move |_, balance| {
            ApiError::conflict(
                "funds_allocated",
                format!(
                    "the batch's money has been allocated: its fund holds {} less than the refund needs",
                    Money::from_minor(balance, currency).amount
                ),
            )
        })
        .await
}
