//! Reversing a batch: a reversing transaction, never a delete; refused once the batch's money has
//! been allocated.

use ledger_core::postings::contributions;
use ledger_core::{Amount, OrganisationId, Period};
use ledger_store::WriteRequest;
use ledger_store::records::{BatchReversalRecord, Record};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::reads::visible_batch;
use super::views::batch_currency;
use crate::error::AppError;
use crate::fields::reason_field;
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Status};
use crate::{App, Caller};

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

/// Reverse a batch (the network); `batch` is the id as given in the path.
#[derive(Debug)]
pub struct ReverseBatch {
    pub batch: String,
    pub body: CreateReversal,
}

impl Command for ReverseBatch {
    const OPERATION: Operation = Operation::ReverseBatch;
    type Output = ReversalView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<ReversalView>, AppError> {
        let batch = visible_batch(app, caller, &self.batch).await?;
        if batch.reversal_reason.is_some() {
            return Err(AppError::conflict(
                "already_reversed",
                "this batch was already reversed",
            ));
        }
        let reason = reason_field(&self.body.reason)?;
        let period = Period::parse_any(&batch.period).map_err(AppError::internal_message)?;
        let currency = batch_currency(&batch)?;
        let amount =
            |minor| Amount::from_minor(minor, currency).map_err(AppError::internal_message);
        let cancelled = amount(batch.outstanding_minor.max(0))?;
        let refunded = amount(batch.received_minor)?;
        let header = app.sources.header(caller.actor());
        let (transaction_id, now) = (header.id, header.recorded_at);
        let booked = contributions::batch_reversal(
            header,
            &contributions::BatchReversal {
                batch_id: batch.id,
                programme_id: batch.programme_id,
                contributor: OrganisationId::from_uuid(batch.contributor_id),
                earmark: batch.earmark_beneficiary_id.map(OrganisationId::from_uuid),
                period: &period,
                pledge_transaction: batch.pledge_transaction_id,
                reason: &reason,
                cancelled,
                refunded,
            },
        )?;
        let view = ReversalView {
            batch_id: batch.id,
            reason: reason.as_str().to_owned(),
            cancelled: cancelled.into(),
            refunded: refunded.into(),
            transaction_id: transaction_id.as_uuid(),
        };
        let write = WriteRequest {
            transactions: vec![booked.transaction],
            // The fund must still hold the refunded money: if it was allocated, the reversal is
            // refused.
            guards: booked.guards,
            records: vec![Record::BatchReversal(BatchReversalRecord {
                batch_id: batch.id,
                reason: reason.as_str().to_owned(),
                transaction_id,
                recorded_by: caller.subject.clone(),
                created_at: now,
            })],
            ..WriteRequest::default()
        };
        Ok(
            Planned::new(Status::Created, view, write).on_guard(move |_, balance| {
                AppError::conflict(
                    "funds_allocated",
                    format!(
                        "the batch's money has been allocated: its fund holds {} less than the refund needs",
                        Money::from_minor(balance, currency).amount
                    ),
                )
            }),
        )
    }
}
