//! Contribution batches: a contributor submits its members' solidarity euros for a period (a
//! pledge); the network records the bank receipts that bring the money into the pool, and may
//! reverse a batch whose money has not been allocated.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::contribution::{BatchStatus, LineInput, LineKind, validate_lines};
use ledger_core::memo::Reason;
use ledger_core::organisation::{OrganisationKind, Programme};
use ledger_core::text::{TextKind, checked_text};
use ledger_core::{
    Account, AccountId, Amount, BalancedTransaction, OrganisationId, Period, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind, chart,
};
use ledger_store::records::{
    BatchReceiptRecord, BatchReversalRecord, ContributionBatchRecord, Record,
};
use ledger_store::registry::{BatchFilter, BatchSummary};
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

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

/// The most characters of a bank reference (ISO 20022 references are at most 35; statements' own
/// references can be longer).
pub const MAX_BANK_REFERENCE_LENGTH: usize = 140;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_batch, list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(record_receipt))
        .routes(routes!(reverse_batch))
}

/// A contribution batch as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    pub programme_id: String,
    /// In the programme's form: `2026-11`, `2026-Q4` or `2026`; a year from 2000 to 2099, starting
    /// at most 12 months after today.
    pub period: String,
    pub lines: Vec<LineBody>,
    /// Restrict the money to one beneficiary.
    pub earmark_beneficiary_id: Option<String>,
}

/// A line: a section's members at the programme rate, or a donation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    pub reference: String,
    pub members: i64,
    #[schema(value_type = String)]
    pub amount: DecimalText,
    /// solidarity | donation
    pub kind: LineKindBody,
}

/// solidarity: members × rate exactly; donation: any positive amount.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKindBody {
    Solidarity,
    Donation,
}

/// Totals of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchTotalsView {
    /// Members on solidarity lines.
    pub members: u64,
    pub amount: Money,
    pub solidarity: Money,
    pub donations: Money,
}

/// A contribution batch and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub id: Uuid,
    /// pledged | partially_received | received | reversed
    pub status: String,
    pub programme_id: Uuid,
    pub contributor_id: Uuid,
    pub period: String,
    pub earmark_beneficiary_id: Option<Uuid>,
    pub totals: BatchTotalsView,
    pub received: Money,
    pub outstanding: Money,
    pub line_count: u32,
    /// The pledge's journal transaction.
    pub transaction_id: Uuid,
    /// True when the contributor had already submitted a batch for this programme and period
    /// (late sections): both count.
    pub supplementary: bool,
    pub reversal_reason: Option<String>,
    pub submitted_by: String,
    pub created_at: String,
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

/// A batch that passed every check, ready to be posted.
struct AcceptedBatch {
    programme: Programme,
    period: Period,
    earmark: Option<OrganisationId>,
    lines: Vec<ledger_core::contribution::BatchLine>,
    totals: ledger_core::contribution::BatchTotals,
}

/// Checks a submitted batch: the caller is a registered contributor (403 otherwise), and every
/// field problem is reported at once (422).
async fn accept_batch(
    state: &AppState,
    principal: &Principal,
    body: &CreateBatch,
) -> Result<AcceptedBatch, ApiError> {
    let today = today()?;
    let mut errors = Vec::new();
    let contributor = state.store.organisation(principal.organisation).await?;
    if contributor
        .as_ref()
        .is_none_or(|organisation| organisation.kind != OrganisationKind::Contributor)
    {
        return Err(ApiError::forbidden(
            "the token's organisation is not a registered contributor",
        ));
    }
    let programme: Option<Programme> = match parse_id(&body.programme_id) {
        None => {
            errors.push(FieldError::new("programme_id", "is not an id"));
            None
        }
        Some(id) => {
            let programme = state.store.programme(id).await?;
            if programme.is_none() {
                errors.push(FieldError::new("programme_id", "no such programme"));
            }
            programme
        }
    };
    let period = programme.as_ref().and_then(|programme| {
        Period::parse_within_horizon(&body.period, programme.period, today)
            .map_err(|message| errors.push(FieldError::new("period", message)))
            .ok()
    });
    let earmark = match &body.earmark_beneficiary_id {
        None => None,
        Some(text) => {
            let found = match parse_id(text) {
                Some(id) => {
                    state
                        .store
                        .organisation(OrganisationId::from_uuid(id))
                        .await?
                }
                None => None,
            };
            match found {
                Some(organisation) if organisation.kind == OrganisationKind::Beneficiary => {
                    Some(organisation.id)
                }
                _ => {
                    errors.push(FieldError::new(
                        "earmark_beneficiary_id",
                        "is not a registered beneficiary",
                    ));
                    None
                }
            }
        }
    };
    // Lines are checked against the rate only when the programme is known; their own form always.
    let rate = programme
        .as_ref()
        .map(|programme| programme.rate_per_member)
        .unwrap_or_else(|| Amount::zero(ledger_core::Currency::eur()));
    let mut line_inputs = Vec::with_capacity(body.lines.len());
    for (index, line) in body.lines.iter().enumerate() {
        let amount = match line.amount.text() {
            Ok(text) => text.to_owned(),
            Err(message) => {
                errors.push(FieldError::new(format!("lines[{index}].amount"), message));
                // A placeholder that parses, so the line's other fields are still checked.
                "1".to_owned()
            }
        };
        line_inputs.push(LineInput {
            reference: line.reference.clone(),
            members: line.members,
            amount,
            kind: match line.kind {
                LineKindBody::Solidarity => LineKind::Solidarity,
                LineKindBody::Donation => LineKind::Donation,
            },
        });
    }
    let validated = match validate_lines(
        &line_inputs,
        if programme.is_some() {
            rate
        } else {
            Amount::zero(rate.currency())
        },
        &state.limits,
    ) {
        Ok(validated) => Some(validated),
        Err(line_errors) => {
            for error in line_errors {
                // Without a programme every solidarity line "mismatches" a zero rate: not the client's fault.
                if programme.is_none() && error.message.starts_with("a solidarity line must be") {
                    continue;
                }
                if !errors.iter().any(|existing| existing.field == error.field) {
                    errors.push(error.into());
                }
            }
            None
        }
    };
    let (Some(programme), Some(period), Some((lines, totals)), true) =
        (programme, period, validated, errors.is_empty())
    else {
        errors.sort_by(|left, right| left.field.cmp(&right.field));
        return Err(ApiError::validation(errors));
    };
    // The contributor's period limit (max_contributor_period_amount) is judged where the running
    // total is kept, by the writer's statement under the lock (409 limit_exceeded): a read of the
    // total here would cost every batch a round trip (about a fifth of `ledger-bench http`'s
    // batches/s) and could still be raced.
    Ok(AcceptedBatch {
        programme,
        period,
        earmark,
        lines,
        totals,
    })
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
    principal.require(&[Role::Contributor])?;
    // The key is not looked up before the work: what decides acceptance (the contributor, the
    // programme, the earmark) never changes, so a request accepted once is accepted again, and the
    // writer then finds its key and answers with the first response, writing nothing. Only a
    // refused request looks its key up, so that a reused key still answers with the first
    // response (or 409) rather than with this body's errors.
    let accepted = match accept_batch(&state, &principal, &request.body).await {
        Ok(accepted) => accepted,
        Err(error) => {
            return match request.replay(&state, &principal).await? {
                Some(replay) => Ok(replay),
                None => Err(error),
            };
        }
    };
    let AcceptedBatch {
        programme,
        period,
        earmark,
        lines,
        totals,
    } = accepted;

    let now = Utc::now();
    let batch_id = Uuid::now_v7();
    let currency = programme.currency;
    let receivable = chart::batch_receivable(batch_id, principal.organisation, currency);
    let pledged = chart::programme_pledged(programme.id, currency);
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("batch_id".into(), batch_id.to_string().into());
    metadata.insert("programme_id".into(), programme.id.to_string().into());
    metadata.insert("period".into(), period.to_string().into());
    metadata.insert(
        "contributor_id".into(),
        principal.organisation.to_string().into(),
    );
    metadata.insert("members".into(), totals.members.into());
    if let Some(earmark) = earmark {
        metadata.insert("earmark_beneficiary_id".into(), earmark.to_string().into());
    }
    let pledge = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Pledge,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!("Contribution batch {period}: {} members", totals.members),
            metadata,
            postings: vec![
                posting(&receivable, totals.amount),
                posting(&pledged, totals.amount.negated()),
            ],
        },
        &[&receivable, &pledged],
    )?;
    let record = ContributionBatchRecord {
        id: batch_id,
        programme_id: programme.id,
        contributor_id: principal.organisation,
        period,
        earmark_beneficiary_id: earmark,
        currency: currency.code().to_owned(),
        members_total: totals.members,
        amount_minor: totals.amount.minor(),
        solidarity_minor: totals.solidarity_amount.minor(),
        donation_minor: totals.donation_amount.minor(),
        lines,
        receivable_account_id: receivable.id,
        pledge_transaction_id: transaction_id,
        submitted_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(now),
    };
    // Read before the write, as the list derives it: batches of the period submitted before this one.
    let supplementary = state
        .store
        .has_batch_in_period(principal.organisation, programme.id, &period)
        .await?;
    let view = BatchView {
        id: batch_id,
        status: BatchStatus::Pledged.as_str().to_owned(),
        programme_id: programme.id,
        contributor_id: principal.organisation.as_uuid(),
        period: period.to_string(),
        earmark_beneficiary_id: earmark.map(|id| id.as_uuid()),
        totals: BatchTotalsView {
            members: totals.members,
            amount: totals.amount.into(),
            solidarity: totals.solidarity_amount.into(),
            donations: totals.donation_amount.into(),
        },
        received: Amount::zero(currency).into(),
        outstanding: totals.amount.into(),
        line_count: u32::try_from(record.lines.len()).unwrap_or(u32::MAX),
        transaction_id: transaction_id.as_uuid(),
        supplementary,
        reversal_reason: None,
        submitted_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(now).to_canonical_string(),
    };
    let write = WriteRequest {
        transactions: vec![pledge],
        records: vec![
            Record::Account(receivable),
            Record::ContributionBatch(Box::new(record)),
        ],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the batch could not be recorded"),
        )
        .await
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
    principal.require(&[Role::Contributor, Role::Admin, Role::Auditor])?;
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
    principal.require(&[Role::Contributor, Role::Admin, Role::Auditor])?;
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

/// A `reason` field (reversals, rejections, returns): trimmed, 1 to
/// [`ledger_core::memo::MAX_REASON_LENGTH`] characters.
pub(crate) fn reason_field(text: &str) -> Result<Reason, ApiError> {
    Reason::parse(text).map_err(|error| ApiError::invalid_field("reason", error.to_string()))
}

/// A text field checked by the one text rule of the core (`ledger_core::text`), its error pushed
/// under `field`.
pub(crate) fn text_field<'a>(
    field: &str,
    text: &'a str,
    max_chars: usize,
    kind: TextKind,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    checked_text(text, max_chars, kind)
        .map_err(|error| errors.push(FieldError::new(field, error.to_string())))
        .ok()
}

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
    principal.require(&[Role::Admin])?;
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
    principal.require(&[Role::Admin])?;
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
        .commit(&state, &principal, StatusCode::CREATED, &view, write, |_, balance| {
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
