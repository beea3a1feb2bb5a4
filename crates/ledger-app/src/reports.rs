//! Redistribution reports: a southern mutual accounts for what it received, per purpose, in its own
//! currency; the network accepts (posting the liquidation of the advance) or rejects it, and may
//! reverse an accepted one. A report may not exceed what the mutual received and has not yet
//! accounted for, and its administration share may not exceed the programme's cap. The rules are
//! the core's ([`ledger_core::redistribution`]); the postings are
//! [`ledger_core::postings::reports`].

use ledger_core::organisation::OrganisationKind;
use ledger_core::postings::reports::{ReportAmounts, report_acceptance, report_reversal};
use ledger_core::redistribution::{
    MAX_REPORT_NOTES_LENGTH, ReportLineInput, administration_exceeds_cap, validate_report_lines,
};
use ledger_core::{Amount, Currency, OrganisationId, Period, Timestamp, chart};
use ledger_store::WriteRequest;
use ledger_store::records::{
    Record, RedistributionReportRecord, ReportDecisionRecord, ReportReversalRecord,
};
use ledger_store::reports::{ReportLineRow, ReportRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{AppError, FieldError, Refusal};
use crate::fields::{parse_id, reason_field};
use crate::money::{DecimalText, Money};
use crate::pagination::{ListOrder, Page, PageQuery, page};
use crate::policy::{Operation, require};
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

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

/// An acceptance carries no fields: the body is an empty JSON object, `{}` (it is what the
/// Idempotency-Key's request fingerprint covers).
#[derive(Debug, ToSchema)]
pub struct AcceptReport {}

/// Why a report is rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectReport {
    pub reason: String,
}

/// Why an accepted report is reversed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseReport {
    pub reason: String,
}

/// Filters of the report list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportListQuery {
    /// Admins and auditors may list one beneficiary's reports.
    pub beneficiary_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `oldest_first` (default) or `newest_first`.
    pub order: Option<ListOrder>,
}

fn currency_of(row: &ReportRow) -> Result<Currency, AppError> {
    Currency::from_code(&row.currency).map_err(AppError::internal_message)
}

fn report_view(row: &ReportRow, lines: Vec<ReportLineView>) -> Result<ReportView, AppError> {
    let currency = currency_of(row)?;
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

/// A report with its lines, as read back.
async fn full_view(app: &App, row: &ReportRow) -> Result<ReportView, AppError> {
    let currency = currency_of(row)?;
    let lines = app
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

/// The unliquidated advance of a beneficiary: received in its currency, not yet accounted for.
async fn unliquidated(
    app: &App,
    beneficiary: OrganisationId,
    currency: Currency,
) -> Result<i64, AppError> {
    Ok(-app
        .store
        .balance(chart::beneficiary_advance(beneficiary, currency).id, None)
        .await?)
}

/// A report the caller may see, or 404.
async fn visible_report(app: &App, caller: &Caller, id: &str) -> Result<ReportRow, AppError> {
    require(Operation::ReadReport, caller)?;
    let not_found = || AppError::not_found("no such redistribution report");
    let id = parse_id(id).ok_or_else(not_found)?;
    let report = app.store.report(id).await?.ok_or_else(not_found)?;
    if caller.may_see(OrganisationId::from_uuid(report.beneficiary_id)) {
        Ok(report)
    } else {
        Err(not_found())
    }
}

/// Submit a redistribution report (a beneficiary, for itself).
#[derive(Debug)]
pub struct SubmitReport(pub CreateReport);

impl Command for SubmitReport {
    const OPERATION: Operation = Operation::SubmitReport;
    type Output = ReportView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<ReportView>, AppError> {
        let beneficiary = app
            .store
            .organisation(caller.organisation)
            .await?
            .filter(|organisation| organisation.kind == OrganisationKind::Beneficiary)
            .ok_or_else(|| {
                AppError::forbidden("the token's organisation is not a registered beneficiary")
            })?;
        let body = &self.0;
        let mut errors = Vec::new();
        let today = app.sources.today()?;
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
        let (Some(period), Some((lines, totals)), true) = (period, validated, errors.is_empty())
        else {
            return Err(AppError::validation(errors));
        };
        // The strictest administration cap of the programmes that paid this beneficiary.
        let mut cap = None;
        for programme_id in app
            .store
            .programmes_paying(beneficiary.id.as_uuid())
            .await?
        {
            if let Some(programme) = app.store.programme(programme_id).await? {
                cap = Some(match cap {
                    Some(current) if current < programme.admin_cost_cap_percent => current,
                    _ => programme.admin_cost_cap_percent,
                });
            }
        }
        if let Some(cap) = cap
            && administration_exceeds_cap(&totals, cap)
        {
            return Err(AppError::new(
                Refusal::Invalid,
                "admin_cost_cap_exceeded",
                format!(
                    "administration is {} of {} reported, above the programme's cap of {cap}%",
                    totals.administration, totals.total
                ),
            ));
        }
        let reported = app.store.report_totals(beneficiary.id.as_uuid()).await?;
        let available = unliquidated(app, beneficiary.id, currency).await?;
        let claimed = reported
            .pending_minor
            .checked_add(totals.total.minor())
            .ok_or_else(|| AppError::internal_message("overflow"))?;
        if claimed > available {
            return Err(AppError::conflict(
                "exceeds_unliquidated_funds",
                format!(
                    "this report ({}) with the reports awaiting a decision ({}) exceeds what was received and not yet accounted for ({})",
                    totals.total,
                    Money::from_minor(reported.pending_minor, currency).amount,
                    Money::from_minor(available, currency).amount
                ),
            ));
        }
        let now = app.sources.timestamp();
        let record = RedistributionReportRecord {
            id: app.sources.id(),
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
            submitted_by: caller.subject.clone(),
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
        Ok(Planned::new(Status::Created, view, write)
            .on_guard(|_, _| AppError::conflict("conflict", "the report could not be recorded")))
    }
}

/// One report with its lines.
#[derive(Debug)]
pub struct GetReport {
    /// The id as given (an id that does not parse names no report: 404).
    pub id: String,
}

impl Query for GetReport {
    const OPERATION: Operation = Operation::ReadReport;
    type Output = ReportView;

    async fn read(self, app: &App, caller: &Caller) -> Result<ReportView, AppError> {
        let report = visible_report(app, caller, &self.id).await?;
        full_view(app, &report).await
    }
}

/// List reports: a beneficiary its own; admins and auditors all (or one beneficiary's).
#[derive(Debug)]
pub struct ListReports(pub ReportListQuery);

impl Query for ListReports {
    const OPERATION: Operation = Operation::ListReports;
    type Output = Page<ReportView>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Page<ReportView>, AppError> {
        let query = self.0;
        let (limit, seek) = PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        }
        .seek(query.order)?;
        let beneficiary = if caller.sees_everything() {
            query.beneficiary_id
        } else {
            Some(caller.organisation.as_uuid())
        };
        let rows = app.store.reports(beneficiary, seek, limit + 1).await?;
        let listed = page(rows, limit, |row| row.id, |row| row);
        let mut items = Vec::with_capacity(listed.items.len());
        for row in &listed.items {
            items.push(report_view(row, Vec::new())?);
        }
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }
}

/// A report's lines summed by purpose, in the order purposes first appear.
fn purpose_totals(
    lines: &[ReportLineRow],
    currency: Currency,
) -> Result<Vec<(String, Amount)>, AppError> {
    let mut by_purpose: Vec<(String, i64)> = Vec::new();
    for line in lines {
        match by_purpose
            .iter_mut()
            .find(|(purpose, _)| *purpose == line.purpose)
        {
            Some((_, sum)) => {
                *sum = sum
                    .checked_add(line.amount_minor)
                    .ok_or_else(|| AppError::internal_message("a purpose's total overflows"))?;
            }
            None => by_purpose.push((line.purpose.clone(), line.amount_minor)),
        }
    }
    by_purpose
        .into_iter()
        .map(|(purpose, minor)| {
            Amount::from_minor(minor, currency)
                .map(|amount| (purpose, amount))
                .map_err(AppError::internal_message)
        })
        .collect()
}

/// What the books need of a stored report: its total and its purposes' totals.
async fn report_amounts(
    app: &App,
    report: &ReportRow,
) -> Result<(Amount, Vec<(String, Amount)>), AppError> {
    let currency = currency_of(report)?;
    let lines = app.store.report_lines(report.id).await?;
    let total =
        Amount::from_minor(report.total_minor, currency).map_err(AppError::internal_message)?;
    Ok((total, purpose_totals(&lines, currency)?))
}

fn already_decided(report: &ReportRow) -> AppError {
    AppError::conflict(
        "report_already_decided",
        format!(
            "this report was already {}; a decision is final (a correction is a new report)",
            report.status()
        ),
    )
}

/// Accept a report (admin): the liquidation of the advance is posted, per purpose, in one balanced
/// transaction ([`report_acceptance`]).
#[derive(Debug)]
pub struct AcceptReportCommand {
    pub id: String,
}

impl Command for AcceptReportCommand {
    const OPERATION: Operation = Operation::AcceptReport;
    type Output = ReportView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<ReportView>, AppError> {
        let report = visible_report(app, caller, &self.id).await?;
        if report.decision.is_some() {
            return Err(already_decided(&report));
        }
        let (total, purposes) = report_amounts(app, &report).await?;
        let header = app.sources.header(caller.actor());
        let (now, transaction_id) = (header.recorded_at, header.id);
        let amounts = ReportAmounts {
            report_id: report.id,
            beneficiary: OrganisationId::from_uuid(report.beneficiary_id),
            total,
            purposes: &purposes,
        };
        let booked = report_acceptance(header, &amounts, &report.period)?;
        let mut accepted = report.clone();
        accepted.decision = Some("accepted".to_owned());
        accepted.transaction_id = Some(transaction_id.as_uuid());
        let view = full_view(app, &accepted).await?;
        let mut records: Vec<Record> = booked.opens.into_iter().map(Record::Account).collect();
        records.push(Record::ReportDecision(ReportDecisionRecord {
            report_id: report.id,
            decision: "accepted",
            reason: None,
            transaction_id: Some(transaction_id),
            decided_by: caller.subject.clone(),
            created_at: now,
        }));
        let write = WriteRequest {
            transactions: vec![booked.transaction],
            guards: booked.guards,
            records,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write).on_guard(|_, _| {
            AppError::conflict(
                "exceeds_unliquidated_funds",
                "accepting this report would account for more than the beneficiary received",
            )
        }))
    }
}

/// Reject a report (admin), with a reason. Nothing is posted; the beneficiary submits a new one.
#[derive(Debug)]
pub struct RejectReportCommand {
    pub id: String,
    pub body: RejectReport,
}

impl Command for RejectReportCommand {
    const OPERATION: Operation = Operation::RejectReport;
    type Output = ReportView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<ReportView>, AppError> {
        let report = visible_report(app, caller, &self.id).await?;
        if report.decision.is_some() {
            return Err(already_decided(&report));
        }
        let reason = reason_field(&self.body.reason)?;
        let now = app.sources.timestamp();
        let mut rejected = report.clone();
        rejected.decision = Some("rejected".to_owned());
        rejected.reason = Some(reason.as_str().to_owned());
        let view = full_view(app, &rejected).await?;
        let write = WriteRequest {
            records: vec![Record::ReportDecision(ReportDecisionRecord {
                report_id: report.id,
                decision: "rejected",
                reason: Some(reason.as_str().to_owned()),
                transaction_id: None,
                decided_by: caller.subject.clone(),
                created_at: now,
            })],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write)
            .on_guard(|_, _| AppError::conflict("conflict", "the decision could not be recorded")))
    }
}

/// Reverse an accepted report (admin), with a reason: a reversing transaction puts the amounts
/// back into the mutual's advance ([`report_reversal`]); the report stays, marked reversed.
#[derive(Debug)]
pub struct ReverseReportCommand {
    pub id: String,
    pub body: ReverseReport,
}

impl Command for ReverseReportCommand {
    const OPERATION: Operation = Operation::ReverseReport;
    type Output = ReportView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<ReportView>, AppError> {
        let report = visible_report(app, caller, &self.id).await?;
        if report.status() != "accepted" {
            return Err(AppError::conflict(
                "report_not_reversible",
                format!(
                    "only an accepted report can be reversed; this one is {}",
                    report.status()
                ),
            ));
        }
        let reason = reason_field(&self.body.reason)?;
        let period = Period::parse_any(&report.period).map_err(AppError::internal_message)?;
        let (total, purposes) = report_amounts(app, &report).await?;
        let header = app.sources.header(caller.actor());
        let (now, transaction_id) = (header.recorded_at, header.id);
        let amounts = ReportAmounts {
            report_id: report.id,
            beneficiary: OrganisationId::from_uuid(report.beneficiary_id),
            total,
            purposes: &purposes,
        };
        let booked = report_reversal(header, &amounts, &period, &reason)?;
        let mut reversed = report.clone();
        reversed.reversal_reason = Some(reason.as_str().to_owned());
        let view = full_view(app, &reversed).await?;
        let write = WriteRequest {
            transactions: vec![booked.transaction],
            guards: booked.guards,
            records: vec![Record::ReportReversal(ReportReversalRecord {
                report_id: report.id,
                reason: reason.as_str().to_owned(),
                transaction_id,
                reversed_by: caller.subject.clone(),
                created_at: now,
            })],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write).on_guard(|_, _| {
            AppError::conflict("report_not_reversible", "this report was already reversed")
        }))
    }
}
