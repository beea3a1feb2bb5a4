//! Fee coverage: the money every bank fee and shortfall is paid from, never the pool. The network
//! funds it with deposits; a run reserves each transfer's expected fee from it.

use ledger_core::chart;
use ledger_core::postings::transfers::{FeeCoverageDeposit, fee_coverage_deposit};
use ledger_core::text::TextKind;
use ledger_store::WriteRequest;
use ledger_store::records::{FeeCoverageDepositRecord, Record};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{credit_balance, eur};
use crate::fields::text_field;
use crate::money::{DecimalText, Money};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, AppError, Caller};

/// The most characters of a fee-coverage deposit's reference.
pub const MAX_DEPOSIT_REFERENCE_LENGTH: usize = 140;

/// Money given to fee coverage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeposit {
    /// EUR, decimal string.
    #[schema(value_type = String)]
    pub amount: DecimalText,
    /// Who gave it and the bank's reference.
    pub reference: String,
}

/// A recorded deposit.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    pub id: Uuid,
    pub amount: Money,
    pub reference: String,
    pub transaction_id: Uuid,
}

/// What fee coverage holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeeCoverageView {
    /// Free to pay the fees of new transfers and top-ups.
    pub available: Money,
    /// Reserved for the expected fees of transfers not yet settled.
    pub reserved: Money,
}

/// Fund fee coverage (the network).
#[derive(Debug)]
pub struct DepositFeeCoverage(pub CreateDeposit);

impl Command for DepositFeeCoverage {
    const OPERATION: Operation = Operation::DepositFeeCoverage;
    type Output = DepositView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<DepositView>, AppError> {
        let body = self.0;
        let mut errors = Vec::new();
        let amount = body.amount.positive_amount("amount", eur(), &mut errors);
        let reference = text_field(
            "reference",
            &body.reference,
            MAX_DEPOSIT_REFERENCE_LENGTH,
            TextKind::Identifier,
            &mut errors,
        )
        .unwrap_or_default();
        let (Some(amount), true) = (amount, errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        let header = app.sources.header(caller.actor());
        let (now, transaction_id) = (header.recorded_at, header.id);
        let id = app.sources.id();
        let deposit = fee_coverage_deposit(
            header,
            &FeeCoverageDeposit {
                deposit_id: id,
                amount,
                reference,
            },
        )?;
        let view = DepositView {
            id,
            amount: amount.into(),
            reference: reference.to_owned(),
            transaction_id: transaction_id.as_uuid(),
        };
        let mut records: Vec<Record> = deposit.opens.into_iter().map(Record::Account).collect();
        records.push(Record::FeeCoverageDeposit(FeeCoverageDepositRecord {
            id,
            amount_minor: amount.minor(),
            currency: eur().code().to_owned(),
            reference: reference.to_owned(),
            transaction_id,
            recorded_by: caller.subject.clone(),
            created_at: now,
        }));
        let write = WriteRequest {
            transactions: vec![deposit.transaction],
            records,
            guards: deposit.guards,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write)
            .on_guard(|_, _| AppError::conflict("conflict", "the deposit could not be recorded")))
    }
}

/// What fee coverage holds (the network, auditors).
#[derive(Debug)]
pub struct ReadFeeCoverage;

impl Query for ReadFeeCoverage {
    const OPERATION: Operation = Operation::ReadFeeCoverage;
    type Output = FeeCoverageView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<FeeCoverageView, AppError> {
        let available = credit_balance(app, &chart::fee_coverage(eur())).await?;
        let reserved = credit_balance(app, &chart::fee_coverage_reserved(eur())).await?;
        Ok(FeeCoverageView {
            available: Money::from_minor(available, eur()),
            reserved: Money::from_minor(reserved, eur()),
        })
    }
}
