//! Redistribution reports: a southern mutual accounts for what it received, per purpose, in its own
//! currency; the network accepts (posting the liquidation of the advance) or rejects it. A report
//! may not exceed what the mutual received and has not yet accounted for, and its administration
//! share may not exceed the programme's cap. The rules are the core's
//! ([`ledger_core::redistribution`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::organisation::OrganisationKind;
use ledger_core::redistribution::{
    MAX_REPORT_NOTES_LENGTH, ReportLineInput, administration_exceeds_cap, validate_report_lines,
};
use ledger_core::{
    Amount, Currency, OrganisationId, Period, Timestamp, TransactionDraft, TransactionId,
    TransactionKind, chart,
};
use ledger_store::records::{
    Record, RedistributionReportRecord, ReportDecisionRecord, ReportReversalRecord,
};
use ledger_store::reports::{ReportLineRow, ReportRow};
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::batches::{balanced, posting, reason_field};
use crate::eligibility::today;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::{DecimalText, Money};
use crate::organisations::parse_id;
use crate::pagination::{Page, PageQuery, page};
use crate::problem::{ApiError, FieldError};
use crate::query::Query;
use ledger_app::Operation;
use ledger_app::policy::require;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_report, list_reports))
        .routes(routes!(get_report))
        .routes(routes!(accept_report))
        .routes(routes!(reject_report))
        .routes(routes!(reverse_report))
}

/// A report as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    /// The period reported on: `2026-11`, `2026-Q4` or `2026`; a year from 2000 to 2099, starting
    /// at most 12 months after today.
    pub period: String,
    /// The beneficiary's own currency.
    pub currency: String,
    pub lines: Vec<ReportLineBody>,
    pub notes: Option<String>,
}

/// A line: what was spent on a purpose, for how many members.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportLineBody {
    /// premium_subsidy | care_reimbursement | prevention | training | administration
    pub purpose: String,
    #[schema(value_type = String)]
    pub amount: DecimalText,
    pub members_count: i64,
}

/// A report line as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportLineView {
    pub purpose: String,
    pub amount: Money,
    pub members_count: i64,
}

/// A report and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub beneficiary_id: Uuid,
    /// submitted | accepted | rejected
    pub status: String,
    pub period: String,
    pub total: Money,
    pub administration: Money,
    pub notes: Option<String>,
    pub rejection_reason: Option<String>,
    /// Why the network reversed this accepted report, if it did.
    pub reversal_reason: Option<String>,
    /// The liquidation posted on acceptance.
    pub transaction_id: Option<Uuid>,
    pub submitted_by: String,
    pub created_at: String,
    pub lines: Vec<ReportLineView>,
}

fn report_view(row: &ReportRow, lines: Vec<ReportLineView>) -> Result<ReportView, ApiError> {
    let currency = Currency::from_code(&row.currency).map_err(ApiError::internal_message)?;
    Ok(ReportView {
        id: row.id,
        beneficiary_id: row.beneficiary_id,
        status: row.status().to_owned(),
        period: row.period.clone(),
        total: Money::from_minor(row.total_minor, currency),
        administration: Money::from_minor(row.administration_minor, currency),
        notes: row.notes.clone(),
        rejection_reason: if row.decision.as_deref() == Some("rejected") {
            row.reason.clone()
        } else {
            None
        },
        transaction_id: row.transaction_id,
        reversal_reason: row.reversal_reason.clone(),
        submitted_by: row.submitted_by.clone(),
        created_at: Timestamp::from_datetime(row.created_at).to_canonical_string(),
        lines,
    })
}

/// The unliquidated advance of a beneficiary: received in its currency, not yet accounted for.
async fn unliquidated(
    state: &AppState,
    beneficiary: OrganisationId,
    currency: Currency,
) -> Result<i64, ApiError> {
    Ok(-state
        .store
        .balance(chart::beneficiary_advance(beneficiary, currency).id, None)
        .await?)
}

/// Submit a redistribution report (a beneficiary, for itself).
#[utoipa::path(
    post, path = "/v1/redistribution-reports", tag = "redistribution",
    request_body = CreateReport,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_report(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateReport>,
) -> Result<Response, ApiError> {
    require(Operation::SubmitReport, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let beneficiary = state
        .store
        .organisation(principal.organisation)
        .await?
        .filter(|organisation| organisation.kind == OrganisationKind::Beneficiary)
        .ok_or_else(|| {
            ApiError::forbidden("the token's organisation is not a registered beneficiary")
        })?;
    let body = &request.body;
    let mut errors = Vec::new();
    let today = today()?;
    let period = Period::parse_any(&body.period)
        .and_then(|period| period.within_horizon(today))
        .map_err(|message| errors.push(FieldError::new("period", message)))
        .ok();
    let currency = beneficiary.currency;
    if body.currency != currency.code() {
        errors.push(FieldError::new(
            "currency",
            format!("must be {currency}, the beneficiary's currency"),
        ));
    }
    if let Some(notes) = &body.notes
        && let Err(error) = ledger_core::text::checked_optional_text(
            notes,
            MAX_REPORT_NOTES_LENGTH,
            ledger_core::text::TextKind::Prose,
        )
    {
        errors.push(FieldError::new("notes", error.to_string()));
    }
    let mut inputs = Vec::with_capacity(body.lines.len());
    for (index, line) in body.lines.iter().enumerate() {
        let amount = match line.amount.text() {
            Ok(text) => text.to_owned(),
            Err(message) => {
                errors.push(FieldError::new(format!("lines[{index}].amount"), message));
                "1".to_owned()
            }
        };
        inputs.push(ReportLineInput {
            purpose: line.purpose.clone(),
            amount,
            members_count: line.members_count,
        });
    }
    let validated = match validate_report_lines(&inputs, currency) {
        Ok(validated) => Some(validated),
        Err(line_errors) => {
            for error in line_errors {
                if !errors.iter().any(|existing| existing.field == error.field) {
                    errors.push(error.into());
                }
            }
            None
        }
    };
    let (Some(period), Some((lines, totals)), true) = (period, validated, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    // The strictest administration cap of the programmes that paid this beneficiary.
    let mut cap = None;
    for programme_id in state
        .store
        .programmes_paying(beneficiary.id.as_uuid())
        .await?
    {
        if let Some(programme) = state.store.programme(programme_id).await? {
            cap = Some(match cap {
                Some(current) if current < programme.admin_cost_cap_percent => current,
                _ => programme.admin_cost_cap_percent,
            });
        }
    }
    if let Some(cap) = cap
        && administration_exceeds_cap(&totals, cap)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "admin_cost_cap_exceeded",
            format!(
                "administration is {} of {} reported, above the programme's cap of {cap}%",
                totals.administration, totals.total
            ),
        ));
    }
    let reported = state.store.report_totals(beneficiary.id.as_uuid()).await?;
    let available = unliquidated(&state, beneficiary.id, currency).await?;
    let claimed = reported
        .pending_minor
        .checked_add(totals.total.minor())
        .ok_or_else(|| ApiError::internal_message("overflow"))?;
    if claimed > available {
        return Err(ApiError::conflict(
            "exceeds_unliquidated_funds",
            format!(
                "this report ({}) with the reports awaiting a decision ({}) exceeds what was received and not yet accounted for ({})",
                totals.total,
                Money::from_minor(reported.pending_minor, currency).amount,
                Money::from_minor(available, currency).amount
            ),
        ));
    }
    let now = Timestamp::from_datetime(Utc::now());
    let record = RedistributionReportRecord {
        id: Uuid::now_v7(),
        beneficiary_id: beneficiary.id,
        period: period.to_string(),
        currency: currency.code().to_owned(),
        total_minor: totals.total.minor(),
        administration_minor: totals.administration.minor(),
        notes: body.notes.clone(),
        lines: lines
            .iter()
            .map(|line| {
                (
                    line.purpose.as_str().to_owned(),
                    line.amount.minor(),
                    i64::try_from(line.members_count).unwrap_or(i64::MAX),
                )
            })
            .collect(),
        submitted_by: principal.subject.clone(),
        created_at: now,
    };
    let row = ReportRow {
        id: record.id,
        beneficiary_id: beneficiary.id.as_uuid(),
        period: record.period.clone(),
        currency: record.currency.clone(),
        total_minor: record.total_minor,
        administration_minor: record.administration_minor,
        notes: record.notes.clone(),
        submitted_by: record.submitted_by.clone(),
        created_at: now.to_datetime(),
        decision: None,
        reason: None,
        transaction_id: None,
        reversal_reason: None,
    };
    let view = report_view(
        &row,
        lines
            .iter()
            .map(|line| ReportLineView {
                purpose: line.purpose.as_str().to_owned(),
                amount: line.amount.into(),
                members_count: i64::try_from(line.members_count).unwrap_or(i64::MAX),
            })
            .collect(),
    )?;
    let write = WriteRequest {
        records: vec![Record::RedistributionReport(Box::new(record))],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the report could not be recorded"),
        )
        .await
}

/// A report the caller may see, or 404.
async fn visible_report(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<ReportRow, ApiError> {
    require(Operation::ReadReport, principal)?;
    let not_found = || ApiError::not_found("no such redistribution report");
    let id = parse_id(id).ok_or_else(not_found)?;
    let report = state.store.report(id).await?.ok_or_else(not_found)?;
    if principal.sees_everything() || report.beneficiary_id == principal.organisation.as_uuid() {
        Ok(report)
    } else {
        Err(not_found())
    }
}

async fn full_view(state: &AppState, row: &ReportRow) -> Result<ReportView, ApiError> {
    let currency = Currency::from_code(&row.currency).map_err(ApiError::internal_message)?;
    let lines = state
        .store
        .report_lines(row.id)
        .await?
        .into_iter()
        .map(|line| ReportLineView {
            purpose: line.purpose,
            amount: Money::from_minor(line.amount_minor, currency),
            members_count: line.members_count,
        })
        .collect();
    report_view(row, lines)
}

/// One report with its lines.
#[utoipa::path(
    get, path = "/v1/redistribution-reports/{id}", tag = "redistribution",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ReportView>, ApiError> {
    let report = visible_report(&state, &principal, &id).await?;
    Ok(AppJson(full_view(&state, &report).await?))
}

/// Filters of the report list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportListQuery {
    /// Admins and auditors may list one beneficiary's reports.
    pub beneficiary_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// List reports: a beneficiary its own; admins and auditors all.
#[utoipa::path(
    get, path = "/v1/redistribution-reports", tag = "redistribution", params(ReportListQuery),
    responses((status = 200, body = Page<ReportView>), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_reports(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ReportListQuery>,
) -> Result<AppJson<Page<ReportView>>, ApiError> {
    require(Operation::ListReports, &principal)?;
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let beneficiary = if principal.sees_everything() {
        query.beneficiary_id
    } else {
        Some(principal.organisation.as_uuid())
    };
    let rows = state.store.reports(beneficiary, after, limit + 1).await?;
    let listed = page(rows, limit, |row| row.id, |row| row);
    let mut items = Vec::with_capacity(listed.items.len());
    for row in &listed.items {
        items.push(report_view(row, Vec::new())?);
    }
    Ok(AppJson(Page {
        items,
        next_cursor: listed.next_cursor,
    }))
}

/// A report's lines summed by purpose, in the order purposes first appear.
fn purpose_totals(lines: &[ReportLineRow]) -> Vec<(String, i64)> {
    let mut by_purpose: Vec<(String, i64)> = Vec::new();
    for line in lines {
        match by_purpose
            .iter_mut()
            .find(|(purpose, _)| *purpose == line.purpose)
        {
            Some((_, sum)) => *sum += line.amount_minor,
            None => by_purpose.push((line.purpose.clone(), line.amount_minor)),
        }
    }
    by_purpose
}

fn already_decided(report: &ReportRow) -> ApiError {
    ApiError::conflict(
        "report_already_decided",
        format!(
            "this report was already {}; a decision is final (a correction is a new report)",
            report.status()
        ),
    )
}

/// An acceptance carries no fields: the body is an empty JSON object, `{}` (it is what the
/// Idempotency-Key's request fingerprint covers).
#[derive(Debug, ToSchema)]
pub struct AcceptReport {}

/// Accept a report (admin): the liquidation of the advance is posted, per purpose, in one balanced
/// transaction.
#[utoipa::path(
    post, path = "/v1/redistribution-reports/{id}/acceptance", tag = "redistribution",
    request_body = AcceptReport,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn accept_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<serde_json::Value>,
) -> Result<Response, ApiError> {
    require(Operation::AcceptReport, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let report = visible_report(&state, &principal, &id).await?;
    if report.decision.is_some() {
        return Err(already_decided(&report));
    }
    let currency = Currency::from_code(&report.currency).map_err(ApiError::internal_message)?;
    let beneficiary = OrganisationId::from_uuid(report.beneficiary_id);
    let lines = state.store.report_lines(report.id).await?;
    let advance = chart::beneficiary_advance(beneficiary, currency);
    let total =
        Amount::from_minor(report.total_minor, currency).map_err(ApiError::internal_message)?;
    // The advance (received, not yet accounted for) is debited; what was accounted for is credited
    // per purpose: both are the beneficiary's, and their sum stays what it received.
    let mut postings = vec![posting(&advance, total)];
    let mut accounts = vec![advance.clone()];
    let by_purpose = purpose_totals(&lines);
    for (purpose, minor) in &by_purpose {
        let account = chart::beneficiary_redistributed(beneficiary, purpose, currency);
        postings.push(posting(
            &account,
            Amount::from_minor(-*minor, currency).map_err(ApiError::internal_message)?,
        ));
        accounts.push(account);
    }
    let now = Utc::now();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("report_id".into(), report.id.to_string().into());
    metadata.insert("beneficiary_id".into(), beneficiary.to_string().into());
    metadata.insert("period".into(), report.period.clone().into());
    let references: Vec<&ledger_core::Account> = accounts.iter().collect();
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Redistribution,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!("Redistribution report {} accepted", report.period),
            metadata,
            postings,
        },
        &references,
    )?;
    let mut accepted = report.clone();
    accepted.decision = Some("accepted".to_owned());
    accepted.transaction_id = Some(transaction_id.as_uuid());
    let view = full_view(&state, &accepted).await?;
    let mut records: Vec<Record> = accounts.into_iter().skip(1).map(Record::Account).collect();
    records.push(Record::ReportDecision(ReportDecisionRecord {
        report_id: report.id,
        decision: "accepted",
        reason: None,
        transaction_id: Some(transaction_id),
        decided_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(now),
    }));
    let write = WriteRequest {
        transactions: vec![transaction],
        // Never liquidate more than was received: the advance (a credit) must not go into debit.
        guards: vec![BalanceGuard {
            account_id: advance.id,
            bound: BalanceBound::AtMost(0),
        }],
        records,
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| {
                ApiError::conflict(
                    "exceeds_unliquidated_funds",
                    "accepting this report would account for more than the beneficiary received",
                )
            },
        )
        .await
}

/// Why a report is rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectReport {
    pub reason: String,
}

/// Reject a report (admin), with a reason. Nothing is posted; the beneficiary submits a new one.
#[utoipa::path(
    post, path = "/v1/redistribution-reports/{id}/rejection", tag = "redistribution",
    request_body = RejectReport,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reject_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<RejectReport>,
) -> Result<Response, ApiError> {
    require(Operation::RejectReport, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let report = visible_report(&state, &principal, &id).await?;
    if report.decision.is_some() {
        return Err(already_decided(&report));
    }
    let reason = reason_field(&request.body.reason)?;
    let now = Timestamp::from_datetime(Utc::now());
    let mut rejected = report.clone();
    rejected.decision = Some("rejected".to_owned());
    rejected.reason = Some(reason.as_str().to_owned());
    let view = full_view(&state, &rejected).await?;
    let write = WriteRequest {
        records: vec![Record::ReportDecision(ReportDecisionRecord {
            report_id: report.id,
            decision: "rejected",
            reason: Some(reason.as_str().to_owned()),
            transaction_id: None,
            decided_by: principal.subject.clone(),
            created_at: now,
        })],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the decision could not be recorded"),
        )
        .await
}

/// Why an accepted report is reversed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseReport {
    pub reason: String,
}

/// Reverse an accepted report (admin), with a reason: a reversing transaction puts the amounts
/// back into the mutual's advance; the report stays, marked reversed. The mutual then reports again.
#[utoipa::path(
    post, path = "/v1/redistribution-reports/{id}/reversal", tag = "redistribution",
    request_body = ReverseReport,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ReportView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn reverse_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ReverseReport>,
) -> Result<Response, ApiError> {
    require(Operation::ReverseReport, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let report = visible_report(&state, &principal, &id).await?;
    if report.status() != "accepted" {
        return Err(ApiError::conflict(
            "report_not_reversible",
            format!(
                "only an accepted report can be reversed; this one is {}",
                report.status()
            ),
        ));
    }
    let reason = reason_field(&request.body.reason)?;
    let period =
        ledger_core::Period::parse_any(&report.period).map_err(ApiError::internal_message)?;
    let currency = Currency::from_code(&report.currency).map_err(ApiError::internal_message)?;
    let beneficiary = OrganisationId::from_uuid(report.beneficiary_id);
    let lines = state.store.report_lines(report.id).await?;
    let advance = chart::beneficiary_advance(beneficiary, currency);
    let total =
        Amount::from_minor(report.total_minor, currency).map_err(ApiError::internal_message)?;
    let mut postings = vec![posting(&advance, total.negated())];
    let mut accounts = vec![advance.clone()];
    let mut guards = Vec::new();
    let by_purpose = purpose_totals(&lines);
    for (purpose, minor) in &by_purpose {
        let account = chart::beneficiary_redistributed(beneficiary, purpose, currency);
        postings.push(posting(
            &account,
            Amount::from_minor(*minor, currency).map_err(ApiError::internal_message)?,
        ));
        // What was accounted for a purpose cannot go below zero.
        guards.push(BalanceGuard {
            account_id: account.id,
            bound: BalanceBound::AtMost(0),
        });
        accounts.push(account);
    }
    let now = Utc::now();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("report_id".into(), report.id.to_string().into());
    metadata.insert("beneficiary_id".into(), beneficiary.to_string().into());
    metadata.insert("reason".into(), reason.as_str().into());
    let references: Vec<&ledger_core::Account> = accounts.iter().collect();
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Reversal,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: ledger_core::memo::report_reversal(&period, &reason),
            metadata,
            postings,
        },
        &references,
    )?;
    let mut reversed = report.clone();
    reversed.reversal_reason = Some(reason.as_str().to_owned());
    let view = full_view(&state, &reversed).await?;
    let write = WriteRequest {
        transactions: vec![transaction],
        guards,
        records: vec![Record::ReportReversal(ReportReversalRecord {
            report_id: report.id,
            reason: reason.as_str().to_owned(),
            transaction_id,
            reversed_by: principal.subject.clone(),
            created_at: Timestamp::from_datetime(now),
        })],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("report_not_reversible", "this report was already reversed"),
        )
        .await
}
