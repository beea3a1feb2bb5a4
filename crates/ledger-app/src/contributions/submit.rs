//! Submitting a contribution batch: a contributor pledges its members' solidarity euros for a
//! period.

use ledger_core::contribution::{BatchStatus, LineInput, LineKind, validate_lines};
use ledger_core::organisation::{OrganisationKind, Programme};
use ledger_core::payment_reference::CreditorReference;
use ledger_core::postings::contributions;
use ledger_core::{Amount, OrganisationId, Period};
use ledger_store::WriteRequest;
use ledger_store::records::{ContributionBatchRecord, Record};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{BatchTotalsView, BatchView};
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::money::DecimalText;
use crate::payments::{collection_account_for_batches, payment_instructions};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

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
    app: &App,
    caller: &Caller,
    body: &CreateBatch,
) -> Result<AcceptedBatch, AppError> {
    let today = app.sources.today()?;
    let mut errors = Vec::new();
    let contributor = app.store.organisation(caller.organisation).await?;
    if contributor
        .as_ref()
        .is_none_or(|organisation| organisation.kind != OrganisationKind::Contributor)
    {
        return Err(AppError::forbidden(
            "the token's organisation is not a registered contributor",
        ));
    }
    let programme: Option<Programme> = match parse_id(&body.programme_id) {
        None => {
            errors.push(FieldError::new("programme_id", "is not an id"));
            None
        }
        Some(id) => {
            let programme = app.store.programme(id).await?;
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
                    app.store
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
        &app.limits,
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
        return Err(AppError::validation(errors));
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

/// Submit a contribution batch for a period (a contributor, for its own organisation).
#[derive(Debug)]
pub struct SubmitBatch(pub CreateBatch);

impl Command for SubmitBatch {
    const OPERATION: Operation = Operation::SubmitBatch;
    // What decides acceptance (the contributor, the programme, the earmark) never changes, so a
    // request accepted once is accepted again and the writer answers its key with the first
    // response; only a refused plan looks its key up.
    const REPLAY_BEFORE_PLAN: bool = false;
    type Output = BatchView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<BatchView>, AppError> {
        let AcceptedBatch {
            programme,
            period,
            earmark,
            lines,
            totals,
        } = accept_batch(app, caller, &self.0).await?;
        let header = app.sources.header(caller.actor());
        let (now, transaction_id) = (header.recorded_at, header.id);
        let batch_id = app.sources.id();
        let creditor_reference = CreditorReference::for_batch(batch_id);
        let currency = programme.currency;
        let pledge = contributions::pledge(
            header,
            &contributions::Pledge {
                batch_id,
                programme_id: programme.id,
                contributor: caller.organisation,
                period: &period,
                members: totals.members,
                amount: totals.amount,
                earmark,
            },
        )?;
        let record = ContributionBatchRecord {
            id: batch_id,
            programme_id: programme.id,
            contributor_id: caller.organisation,
            period,
            earmark_beneficiary_id: earmark,
            currency: currency.code().to_owned(),
            members_total: totals.members,
            amount_minor: totals.amount.minor(),
            solidarity_minor: totals.solidarity_amount.minor(),
            donation_minor: totals.donation_amount.minor(),
            lines,
            receivable_account_id: pledge.opens[0].id,
            pledge_transaction_id: transaction_id,
            submitted_by: caller.subject.clone(),
            created_at: now,
            creditor_reference: creditor_reference.as_str().to_owned(),
        };
        // Read before the write, as the list derives it: batches of the period submitted before
        // this one.
        let supplementary = app
            .store
            .has_batch_in_period(caller.organisation, programme.id, &record.period)
            .await?;
        let view = BatchView {
            id: batch_id,
            status: BatchStatus::Pledged.as_str().to_owned(),
            programme_id: programme.id,
            contributor_id: caller.organisation.as_uuid(),
            period: record.period.to_string(),
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
            submitted_by: caller.subject.clone(),
            created_at: now.to_canonical_string(),
            payment_instructions: Some(payment_instructions(
                collection_account_for_batches(app).await?.as_ref(),
                &creditor_reference,
            )),
        };
        let mut records: Vec<Record> = pledge.opens.into_iter().map(Record::Account).collect();
        records.push(Record::ContributionBatch(Box::new(record)));
        let write = WriteRequest {
            transactions: vec![pledge.transaction],
            records,
            guards: pledge.guards,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write)
            .on_guard(|_, _| AppError::conflict("conflict", "the batch could not be recorded")))
    }
}
