//! The network's decision on an unmatched statement entry: assign it to a batch (which books the
//! batch's receipt through the receipt command, with the line's value date and reference) or mark
//! it not ours, with a reason. Deciding again the same way answers the decision already taken;
//! deciding otherwise is a conflict.

use ledger_core::FundDate;
use ledger_core::text::TextKind;
use ledger_store::WriteRequest;
use ledger_store::bank_statements::BankStatementEntryRow;
use ledger_store::records::{BankStatementEntryDecisionRecord, Record};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::line_date;
use crate::contributions::{CreateReceipt, MAX_BANK_REFERENCE_LENGTH, RecordReceipt};
use crate::error::{AppError, FieldError};
use crate::fields::{parse_id, text_field};
use crate::money::DecimalText;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

/// The most characters of the reason an entry is not ours.
pub const MAX_DISMISSAL_REASON_CHARS: usize = 500;

/// Assign an unmatched credit to a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    /// The batch the credit pays.
    pub batch_id: String,
    /// Accept a credit above what the batch still owes; the excess is recorded as a donation.
    #[serde(default)]
    pub overpayment: bool,
}

/// Mark an unmatched entry as not ours.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissalBody {
    /// Why (a payment for another account of the network, a bank error...).
    pub reason: String,
}

/// What was decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryDecisionView {
    pub entry_id: Uuid,
    /// `assigned` or `not_ours`.
    pub decision: String,
    /// The batch it was assigned to.
    pub batch_id: Option<Uuid>,
    /// The receipt booked on it.
    pub receipt_id: Option<Uuid>,
    pub reason: Option<String>,
}

/// The entry named in the path.
async fn entry_of(app: &App, id: &str) -> Result<BankStatementEntryRow, AppError> {
    let not_found = || AppError::not_found("no such bank statement entry");
    let id = parse_id(id).ok_or_else(not_found)?;
    app.store
        .bank_statement_entry(id)
        .await?
        .ok_or_else(not_found)
}

/// The decision already taken on an entry, as a view.
fn decided(row: &BankStatementEntryRow) -> Option<EntryDecisionView> {
    row.decision.as_ref().map(|decision| EntryDecisionView {
        entry_id: row.id,
        decision: decision.clone(),
        batch_id: row.batch_id,
        receipt_id: row.decision_receipt_id,
        reason: row.decision_reason.clone(),
    })
}

/// Refuses an entry the import matched already.
fn require_unmatched(row: &BankStatementEntryRow) -> Result<(), AppError> {
    if row.outcome == "unmatched" {
        Ok(())
    } else {
        Err(AppError::conflict(
            "entry_not_unmatched",
            format!(
                "this entry was imported as {}: only unmatched entries are decided",
                row.outcome
            ),
        ))
    }
}

fn already_decided_otherwise(decision: &EntryDecisionView) -> AppError {
    AppError::conflict(
        "entry_already_decided",
        format!(
            "this entry was decided already ({}); the decision stands",
            decision.decision
        ),
    )
}

/// Assign an unmatched credit to a batch (the network); `entry` is the id as given in the path.
#[derive(Debug)]
pub struct AssignStatementEntry {
    pub entry: String,
    pub body: AssignmentBody,
}

impl Command for AssignStatementEntry {
    const OPERATION: Operation = Operation::AssignStatementEntry;
    type Output = EntryDecisionView;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<EntryDecisionView>, AppError> {
        let row = entry_of(app, &self.entry).await?;
        let batch_id = parse_id(&self.body.batch_id)
            .ok_or_else(|| AppError::invalid_field("batch_id", "is not a batch id"))?;
        if let Some(decision) = decided(&row) {
            return if decision.decision == "assigned" && decision.batch_id == Some(batch_id) {
                Ok(Planned::new(
                    Status::Done,
                    decision,
                    WriteRequest::default(),
                ))
            } else {
                Err(already_decided_otherwise(&decision))
            };
        }
        require_unmatched(&row)?;
        if row.direction != "CRDT" {
            return Err(AppError::conflict(
                "entry_not_a_credit",
                "only a credit (money in) can pay a batch",
            ));
        }
        let today = app.sources.today()?;
        let date =
            |date: Option<chrono::NaiveDate>| date.and_then(|date| FundDate::from_naive(date).ok());
        let value_date = line_date(date(row.value_date), date(row.booking_date))
            .filter(|date| *date <= today)
            .unwrap_or(today);
        let reference = row
            .account_servicer_reference
            .clone()
            .or(row.entry_reference.clone())
            .filter(|reference| reference.chars().count() <= MAX_BANK_REFERENCE_LENGTH)
            .unwrap_or_else(|| format!("{}/{}", row.statement_id, row.line_number));
        let currency = crate::transfers::stored_currency(&row.currency)?;
        let receipt = RecordReceipt {
            batch: batch_id.to_string(),
            body: CreateReceipt {
                amount: DecimalText::from_text(ledger_core::money::decimal_string(
                    row.amount_minor,
                    currency,
                )),
                value_date: value_date.to_string(),
                bank_reference: reference,
                overpayment: self.body.overpayment,
                original: None,
                rate: None,
            },
        }
        .plan(app, caller)
        .await?;
        let receipt_id = receipt.output.receipt.id;
        let view = EntryDecisionView {
            entry_id: row.id,
            decision: "assigned".to_owned(),
            batch_id: Some(batch_id),
            receipt_id: Some(receipt_id),
            reason: None,
        };
        let Planned {
            mut write,
            on_guard,
            ..
        } = receipt;
        write.records.push(Record::BankStatementEntryDecision(
            BankStatementEntryDecisionRecord {
                entry_id: row.id,
                decision: "assigned",
                batch_receipt_id: Some(receipt_id),
                reason: None,
                decided_by: caller.subject.clone(),
                created_at: app.sources.timestamp(),
            },
        ));
        Ok(Planned {
            status: Status::Created,
            output: view,
            write,
            on_guard,
        })
    }
}

/// Mark an unmatched entry as not ours (the network); `entry` is the id as given in the path.
#[derive(Debug)]
pub struct DismissStatementEntry {
    pub entry: String,
    pub body: DismissalBody,
}

impl Command for DismissStatementEntry {
    const OPERATION: Operation = Operation::DismissStatementEntry;
    type Output = EntryDecisionView;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<EntryDecisionView>, AppError> {
        let row = entry_of(app, &self.entry).await?;
        let mut errors: Vec<FieldError> = Vec::new();
        let reason = text_field(
            "reason",
            &self.body.reason,
            MAX_DISMISSAL_REASON_CHARS,
            TextKind::Prose,
            &mut errors,
        )
        .map(str::to_owned);
        let Some(reason) = reason.filter(|_| errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        if let Some(decision) = decided(&row) {
            return if decision.decision == "not_ours" {
                Ok(Planned::new(
                    Status::Done,
                    decision,
                    WriteRequest::default(),
                ))
            } else {
                Err(already_decided_otherwise(&decision))
            };
        }
        require_unmatched(&row)?;
        let view = EntryDecisionView {
            entry_id: row.id,
            decision: "not_ours".to_owned(),
            batch_id: None,
            receipt_id: None,
            reason: Some(reason.clone()),
        };
        let write = WriteRequest {
            records: vec![Record::BankStatementEntryDecision(
                BankStatementEntryDecisionRecord {
                    entry_id: row.id,
                    decision: "not_ours",
                    batch_receipt_id: None,
                    reason: Some(reason),
                    decided_by: caller.subject.clone(),
                    created_at: app.sources.timestamp(),
                },
            )],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}
