//! Disputed settlements: a beneficiary's confirmation whose shortfall would need a top-up beyond what
//! fee coverage pays without review (`ledger_core::settlement::review_top_up`) is recorded as a
//! claim and moves no money ([`crate::transfers::confirmation`]); the network (admin) resolves it
//! with the bank statement as evidence, booking the settlement with the amount the statement shows
//! (and any top-up it needs), or rejecting the claim so the beneficiary may confirm again.
//! Postings: `docs/accounts.md`, [`ledger_core::postings::settlement::resolved_settlement`].

use ledger_core::memo::Reason;
use ledger_core::postings::settlement::Resolution;
use ledger_core::{Amount, FundDate, Timestamp};
use ledger_store::WriteRequest;
use ledger_store::records::{Record, TransferDisputeResolutionRecord};
use ledger_store::transfers::TransferDisputeRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, FieldError};
use crate::fields::text_field;
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::transfers::listing::{TransferView, transfer_view, visible_transfer};
use crate::transfers::settlement::{
    Claim, MoneyBody, already_confirmed, book_settlement, chain_of, chain_outcome,
    settlement_guard_failed,
};
use crate::transfers::stored_currency;
use crate::{App, Caller};

/// The most characters of a bank statement reference given as evidence.
pub const MAX_BANK_STATEMENT_REFERENCE_LENGTH: usize = 140;

/// The network's decision on a disputed settlement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveDispute {
    /// `top_up`: book the settlement with the amount the bank statement shows, and the top-up from
    /// fee coverage that amount leaves short, if any; `reject`: nothing moves, the claim is closed
    /// and the beneficiary may confirm again.
    pub decision: String,
    /// What arrived according to the bank statement, in the beneficiary's currency (`top_up` only).
    pub received: Option<MoneyBody>,
    /// The bank statement read as evidence (statement number, camt.053 message id, page).
    pub bank_statement_reference: String,
    /// Why the network decided so.
    pub reason: String,
}

/// The network's decision as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionView {
    /// top_up | reject
    pub decision: String,
    /// What arrived according to the bank statement (`top_up` only).
    pub established_received: Option<Money>,
    pub bank_statement_reference: String,
    pub reason: String,
    /// The settlement booked (`top_up` only).
    pub transaction_id: Option<Uuid>,
    pub top_up_transfer_id: Option<Uuid>,
    pub resolved_by: String,
    pub resolved_at: String,
}

/// A claim on a transfer and, once decided, its resolution.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: Uuid,
    pub transfer_id: Uuid,
    /// 1 for the transfer's first claim, 2 after a rejected one, ...
    pub claim_number: i32,
    /// open | resolved | rejected
    pub status: String,
    /// What the beneficiary said arrived.
    pub claimed_received: Money,
    pub value_date: String,
    pub bank_reference: String,
    pub fees_deducted: Option<Money>,
    /// The chain's shortfall if the claim were true.
    pub shortfall: Money,
    /// The top-up that shortfall would need.
    pub top_up_needed: Money,
    /// What fee coverage had already paid for the chain's earlier top-ups, fees included.
    pub already_paid: Money,
    /// What fee coverage may pay without review for the chain: the transfer's expected fee plus
    /// the tolerance.
    pub allowance: Money,
    pub claimed_by: String,
    pub claimed_at: String,
    pub resolution: Option<ResolutionView>,
}

/// Every claim on a transfer, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeList {
    pub items: Vec<DisputeView>,
}

/// What a resolution did.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeResolutionResult {
    pub dispute: DisputeView,
    /// The transfer after the decision: settled or topped up, or pending again after a rejection.
    pub transfer: TransferView,
    pub top_up: Option<TransferView>,
}

fn dispute_view(row: &TransferDisputeRow) -> Result<DisputeView, AppError> {
    let local = stored_currency(&row.received_currency)?;
    let currency = stored_currency(&row.currency)?;
    let resolution = match (
        &row.decision,
        &row.bank_statement_reference,
        &row.reason,
        &row.resolved_by,
        row.resolved_at,
    ) {
        (
            Some(decision),
            Some(bank_statement_reference),
            Some(reason),
            Some(resolved_by),
            Some(resolved_at),
        ) => Some(ResolutionView {
            decision: decision.clone(),
            established_received: row
                .established_minor
                .map(|minor| Money::from_minor(minor, local)),
            bank_statement_reference: bank_statement_reference.clone(),
            reason: reason.clone(),
            transaction_id: row.transaction_id,
            top_up_transfer_id: row.top_up_transfer_id,
            resolved_by: resolved_by.clone(),
            resolved_at: Timestamp::from_datetime(resolved_at).to_canonical_string(),
        }),
        _ => None,
    };
    let status = match resolution
        .as_ref()
        .map(|resolution| resolution.decision.as_str())
    {
        None => "open",
        Some("reject") => "rejected",
        Some(_) => "resolved",
    };
    Ok(DisputeView {
        id: row.id,
        transfer_id: row.transfer_id,
        claim_number: row.claim_number,
        status: status.to_owned(),
        claimed_received: Money::from_minor(row.received_minor, local),
        value_date: row.value_date.to_string(),
        bank_reference: row.bank_reference.clone(),
        fees_deducted: row
            .fees_deducted_minor
            .map(|minor| Money::from_minor(minor, local)),
        shortfall: Money::from_minor(row.shortfall_minor, local),
        top_up_needed: Money::from_minor(row.top_up_minor, currency),
        already_paid: Money::from_minor(row.already_paid_minor, currency),
        allowance: Money::from_minor(row.allowance_minor, currency),
        claimed_by: row.claimed_by.clone(),
        claimed_at: Timestamp::from_datetime(row.created_at).to_canonical_string(),
        resolution,
    })
}

/// Every claim on a transfer with its resolution (the beneficiary, for its own transfer; admins
/// and auditors).
#[derive(Debug)]
pub struct ListDisputes {
    /// The transfer, as given in the path (an id that is not one answers 404).
    pub transfer_id: String,
}

impl Query for ListDisputes {
    const OPERATION: Operation = Operation::ReadDisputes;
    type Output = DisputeList;

    async fn read(self, app: &App, caller: &Caller) -> Result<DisputeList, AppError> {
        let transfer = visible_transfer(app, caller, &self.transfer_id).await?;
        let rows = app.store.transfer_disputes(transfer.id).await?;
        Ok(DisputeList {
            items: rows.iter().map(dispute_view).collect::<Result<_, _>>()?,
        })
    }
}

/// Resolve a transfer's open claim (admin) with the bank statement as evidence.
#[derive(Debug)]
pub struct ResolveClaim {
    /// The transfer, as given in the path (an id that is not one answers 404).
    pub transfer_id: String,
    pub body: ResolveDispute,
}

/// A decision whose fields passed every check.
struct Decision<'a> {
    /// What the statement shows arrived (`top_up`); `None` for a rejection.
    established: Option<Amount>,
    statement: &'a str,
    reason: Reason,
}

/// Checks a decision's fields (every problem at once, 422).
fn checked_decision<'a>(
    body: &'a ResolveDispute,
    local: ledger_core::Currency,
) -> Result<Decision<'a>, AppError> {
    let mut errors = Vec::new();
    let top_up = match body.decision.as_str() {
        "top_up" => true,
        "reject" => false,
        _ => {
            errors.push(FieldError::new("decision", "must be top_up or reject"));
            false
        }
    };
    let established = match (&body.received, top_up) {
        (Some(received), true) => {
            if received.currency != local.code() {
                errors.push(FieldError::new(
                    "received.currency",
                    format!("must be {local}, the beneficiary's currency"),
                ));
                None
            } else {
                received
                    .amount
                    .positive_amount("received.amount", local, &mut errors)
            }
        }
        (None, true) => {
            errors.push(FieldError::new(
                "received",
                "is required with decision top_up: what the bank statement shows arrived",
            ));
            None
        }
        (Some(_), false) if body.decision == "reject" => {
            errors.push(FieldError::new(
                "received",
                "must be absent with decision reject",
            ));
            None
        }
        _ => None,
    };
    let statement = text_field(
        "bank_statement_reference",
        &body.bank_statement_reference,
        MAX_BANK_STATEMENT_REFERENCE_LENGTH,
        ledger_core::text::TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let reason = Reason::parse(&body.reason)
        .map_err(|error| errors.push(FieldError::new("reason", error.to_string())))
        .ok();
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    Ok(Decision {
        established,
        statement,
        reason,
    })
}

impl Command for ResolveClaim {
    const OPERATION: Operation = Operation::ResolveDispute;
    type Output = DisputeResolutionResult;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<DisputeResolutionResult>, AppError> {
        let transfer = visible_transfer(app, caller, &self.transfer_id).await?;
        let disputes = app.store.transfer_disputes(transfer.id).await?;
        let Some(dispute) = disputes.last() else {
            return Err(AppError::conflict(
                "not_disputed",
                "this transfer has no claim to resolve",
            ));
        };
        if dispute.decision.is_some() {
            return Err(AppError::conflict(
                "dispute_already_resolved",
                "the claim on this transfer was already resolved",
            ));
        }
        if transfer.received_minor.is_some() {
            return Err(already_confirmed());
        }
        let local = stored_currency(&transfer.local_currency)?;
        let Decision {
            established,
            statement,
            reason,
        } = checked_decision(&self.body, local)?;
        let reason = reason.as_str();
        let now = app.sources.timestamp();
        let resolved_by = format!("{} ({})", caller.subject, caller.organisation);
        let mut resolution = TransferDisputeResolutionRecord {
            dispute_id: dispute.id,
            decision: "reject",
            established_minor: None,
            bank_statement_reference: statement.to_owned(),
            reason: reason.to_owned(),
            transaction_id: None,
            top_up_transfer_id: None,
            resolved_by: resolved_by.clone(),
            created_at: now,
        };
        let mut resolved = dispute.clone();
        resolved.bank_statement_reference = Some(statement.to_owned());
        resolved.reason = Some(reason.to_owned());
        resolved.resolved_by = Some(resolved_by.clone());
        resolved.resolved_at = Some(now.to_datetime());
        let mut after = transfer.clone();
        after.dispute_id = None;
        after.disputed_received_minor = None;
        after.disputed_top_up_minor = None;

        let Some(established) = established else {
            // Rejected: nothing moves; the transfer is pending again.
            resolved.decision = Some("reject".to_owned());
            let view = DisputeResolutionResult {
                dispute: dispute_view(&resolved)?,
                transfer: transfer_view(&after, None)?,
                top_up: None,
            };
            let write = WriteRequest {
                records: vec![Record::TransferDisputeResolution(resolution)],
                ..WriteRequest::default()
            };
            return Ok(Planned::new(Status::Created, view, write).on_guard(|_, _| {
                AppError::conflict("conflict", "the resolution could not be recorded")
            }));
        };

        let chain = chain_of(app, &transfer).await?;
        let outcome = chain_outcome(app, &chain, &transfer, established).await?;
        let fees_deducted = dispute
            .fees_deducted_minor
            .map(|minor| Amount::from_minor(minor, local))
            .transpose()
            .map_err(AppError::internal_message)?;
        let claim = Claim {
            received: established,
            value_date: FundDate::from_naive(dispute.value_date)
                .map_err(AppError::internal_message)?,
            bank_reference: &dispute.bank_reference,
            fees_deducted,
        };
        // The settlement's journal entry carries the resolution: who decided, on what evidence, and
        // what the beneficiary had claimed.
        let evidence = Resolution {
            dispute_id: dispute.id,
            claimed_received: Amount::from_minor(dispute.received_minor, local)
                .map_err(AppError::internal_message)?,
            claimed_by: &dispute.claimed_by,
            resolved_by: &resolved_by,
            bank_statement_reference: statement,
            reason,
        };
        let booked = book_settlement(
            app,
            caller,
            &transfer,
            &chain,
            &claim,
            outcome,
            Some(&evidence),
        )
        .await?;
        resolution.decision = "top_up";
        resolution.established_minor = Some(established.minor());
        resolution.transaction_id = Some(booked.transaction_id);
        resolution.top_up_transfer_id = booked.top_up_id;
        resolved.decision = Some("top_up".to_owned());
        resolved.established_minor = Some(established.minor());
        resolved.transaction_id = Some(booked.transaction_id.as_uuid());
        resolved.top_up_transfer_id = booked.top_up_id;
        let view = DisputeResolutionResult {
            dispute: dispute_view(&resolved)?,
            transfer: booked.view.transfer,
            top_up: booked.view.top_up,
        };
        let mut write = booked.write;
        write
            .records
            .push(Record::TransferDisputeResolution(resolution));
        let in_transit_id = booked.in_transit_id;
        Ok(Planned::new(Status::Created, view, write)
            .on_guard(move |account, _| settlement_guard_failed(account, in_transit_id)))
    }
}
