//! A transfer run's execution: the recorded plan, still current, becomes one pending transfer per
//! paid beneficiary (its fee reserved from fee coverage) and one hold per ineligible one, in one
//! write whose exact balance guards refuse it if anything the plan read moved meanwhile.

use std::collections::BTreeMap;

use ledger_core::fx::ExchangeRate;
use ledger_core::organisation::{Organisation, Programme};
use ledger_core::postings::transfers::{self as postings, ExactBalances, Hold, TransferKind};
use ledger_core::settlement::expected_local;
use ledger_core::transfer_run::recorded::{RecordedPlan, RecordedRate};
use ledger_core::transfer_run::{ShareOutcome, plan};
use ledger_core::{Account, Amount, BalancedTransaction, Period, chart};
use ledger_store::WriteRequest;
use ledger_store::records::{Record, TransferRecord, TransferRunExecutionRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::runs::{RateBody, gather, outcome_text, parse_rates};
use super::{TransferView, eur, row_of, transfer_view};
use crate::clock::Sources;
use crate::error::FieldError;
use crate::fields::parse_id;
use crate::money::Money;
use crate::policy::Operation;
use crate::registry::programme_at_version;
use crate::runner::{Command, Planned, Status};
use crate::{App, AppError, Caller};

/// Execute a recorded plan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRun {
    /// Rates still needed by the plan, by currency code.
    #[serde(default)]
    pub rates: BTreeMap<String, RateBody>,
}

/// What an execution did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionView {
    pub run_id: Uuid,
    pub transfers: Vec<TransferView>,
    /// Beneficiaries whose share was not paid, and why.
    pub not_executed: Vec<NotExecutedView>,
    /// Pool money moved to holds.
    pub newly_held: Money,
}

/// A share that was not paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotExecutedView {
    pub beneficiary_id: Uuid,
    /// held | carried_forward | fees_not_covered
    pub outcome: String,
    pub failing_conditions: Vec<String>,
}

/// A transfer ready to be written: its record, its transaction and the accounts it names.
#[derive(Debug)]
pub struct NewTransfer {
    pub record: TransferRecord,
    pub transaction: BalancedTransaction,
    pub accounts: Vec<Account>,
}

/// Books a transfer (a run's, or a top-up of a shortfall) of `amount` from `sources` to
/// `beneficiary`, its fee reserved: the posting is [`postings::transfer`]; the record carries the
/// local amount expected at `rate`. `parent` is (root, parent) for a top-up.
#[allow(clippy::too_many_arguments)]
pub fn new_transfer(
    clock: &Sources,
    caller: &Caller,
    programme: &Programme,
    period: &str,
    run_id: Option<Uuid>,
    parent: Option<(Uuid, Uuid)>,
    beneficiary: &Organisation,
    amount: Amount,
    fee: Amount,
    rate: Option<&ExchangeRate>,
    sources: Vec<(Account, Amount)>,
    kind: TransferKind,
) -> Result<NewTransfer, AppError> {
    let header = clock.header(caller.actor());
    let (now, transaction_id) = (header.recorded_at, header.id);
    let id = clock.id();
    let expected =
        expected_local(amount, beneficiary.currency, rate).map_err(AppError::internal_message)?;
    let slug = beneficiary.slug.to_string();
    let transfer = postings::Transfer {
        kind,
        transfer_id: id,
        run_id,
        beneficiary: beneficiary.id,
        beneficiary_slug: &slug,
        period,
        amount,
        fee,
        sources: &sources,
    };
    let in_transit = transfer.in_transit();
    let end_to_end_id = transfer.end_to_end_id();
    let booked = postings::transfer(header, &transfer)?;
    let (root, parent_id) = match parent {
        Some((root, parent)) => (root, Some(parent)),
        None => (id, None),
    };
    Ok(NewTransfer {
        record: TransferRecord {
            id,
            kind: kind.as_str(),
            run_id,
            root_transfer_id: root,
            parent_transfer_id: parent_id,
            programme_id: programme.id,
            beneficiary_id: beneficiary.id,
            period: period.to_owned(),
            amount_minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
            fee_minor: fee.minor(),
            local_currency: beneficiary.currency.code().to_owned(),
            rate: expected.rate.as_ref().map(|rate| rate.rate().to_string()),
            rate_source: expected
                .rate
                .as_ref()
                .map(|rate| RecordedRate::from(rate).source),
            expected_local_minor: expected.amount.minor(),
            residue_minor: expected.residue_minor.to_string(),
            end_to_end_id,
            in_transit_account_id: in_transit.id,
            transaction_id,
            created_by: caller.subject.clone(),
            created_at: now,
        },
        transaction: booked.transaction,
        accounts: booked.opens,
    })
}

/// Execute a recorded plan that is still current (the network).
#[derive(Debug)]
pub struct ExecuteTransferRun {
    /// The run's id, as given.
    pub id: String,
    pub body: ExecuteRun,
}

fn stale() -> AppError {
    AppError::conflict(
        "run_stale",
        "the pool, holds, earmarks, fee coverage or eligibility changed since this run was planned; plan it again",
    )
}

impl Command for ExecuteTransferRun {
    const OPERATION: Operation = Operation::ExecuteTransferRun;
    type Output = ExecutionView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<ExecutionView>, AppError> {
        let not_found = || AppError::not_found("no such transfer run");
        let run_id = parse_id(&self.id).ok_or_else(not_found)?;
        let run = app
            .store
            .transfer_run(run_id)
            .await?
            .ok_or_else(not_found)?;
        if run.execution_transaction_id.is_some() {
            return Err(AppError::conflict(
                "run_already_executed",
                "this run was already executed; plan a new run for money that arrived since",
            ));
        }
        let programme = app
            .store
            .programme(run.programme_id)
            .await?
            .ok_or_else(|| {
                AppError::internal_message("a recorded run names an unknown programme")
            })?;
        // The rules the plan used, whatever was recorded since.
        let programme = programme_at_version(app, programme, run.programme_version).await?;
        let period =
            Period::parse(&run.period, programme.period).map_err(AppError::internal_message)?;
        let recorded = RecordedPlan::from_json(&run.plan).map_err(AppError::internal)?;
        let mut errors = Vec::new();
        let mut given = recorded.given_rates(eur());
        given.extend(parse_rates(&self.body.rates, &mut errors));
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        let gathered = gather(app, &programme, period, given).await?;
        if !gathered.fingerprint.matches(&run.fingerprint) {
            return Err(stale());
        }
        let computed = plan(&gathered.input).map_err(AppError::internal_message)?;
        let missing: Vec<FieldError> = computed
            .missing_rates()
            .iter()
            .map(|currency| {
                FieldError::new(
                    format!("rates.{}", currency.code()),
                    format!(
                        "{} has no fixed parity with EUR: give its rate with its source",
                        currency.code()
                    ),
                )
            })
            .collect();
        if !missing.is_empty() {
            return Err(AppError::validation(missing));
        }
        let currency = programme.currency;
        let pool = chart::programme_pool(programme.id, currency);
        let mut transactions = Vec::new();
        let mut records = Vec::new();
        let mut transfers = Vec::new();
        let mut not_executed = Vec::new();
        // Expected balances after the write, for the exact guards, from the balances the plan
        // was computed from.
        let mut balances = ExactBalances::new(gathered.balances.clone());
        let mut newly_held = Amount::zero(currency);
        let now = app.sources.timestamp();
        for share in &computed.shares {
            let beneficiary = gathered
                .beneficiaries
                .get(&share.beneficiary_id)
                .ok_or_else(|| AppError::internal_message("a planned beneficiary vanished"))?;
            let earmarked = chart::programme_earmarked(programme.id, beneficiary.id, currency);
            let held = chart::programme_held(programme.id, beneficiary.id, currency);
            match share.outcome {
                ShareOutcome::Transfer => {
                    let rate = gathered.input.rates.get(beneficiary.currency.code());
                    let new = new_transfer(
                        &app.sources,
                        caller,
                        &programme,
                        &run.period,
                        Some(run_id),
                        None,
                        beneficiary,
                        share.transfer,
                        share.expected_fee,
                        rate,
                        vec![
                            (pool.clone(), share.pool_share),
                            (earmarked.clone(), share.earmarked),
                            (held.clone(), share.held_before),
                        ],
                        TransferKind::Transfer,
                    )?;
                    balances.move_by(&pool, share.pool_share.minor());
                    balances.move_by(&earmarked, share.earmarked.minor());
                    balances.move_by(&held, share.held_before.minor());
                    balances.move_by(&chart::fee_coverage(currency), share.expected_fee.minor());
                    records.extend(new.accounts.iter().cloned().map(Record::Account));
                    transactions.push(new.transaction);
                    transfers.push(new.record);
                }
                ShareOutcome::Held if share.newly_held.is_positive() => {
                    let slug = beneficiary.slug.to_string();
                    let booked = postings::hold(
                        app.sources.header(caller.actor()),
                        &Hold {
                            run_id,
                            programme_id: programme.id,
                            beneficiary: beneficiary.id,
                            beneficiary_slug: &slug,
                            period: &run.period,
                            amount: share.newly_held,
                            failing_conditions: share
                                .failing_conditions
                                .iter()
                                .map(|code| code.as_str())
                                .collect(),
                        },
                    )
                    .map_err(AppError::internal)?;
                    transactions.push(booked.transaction);
                    balances.move_by(&pool, share.newly_held.minor());
                    balances.move_by(&held, -share.newly_held.minor());
                    records.extend(booked.opens.into_iter().map(Record::Account));
                    newly_held = newly_held
                        .checked_add(share.newly_held)
                        .map_err(AppError::internal_message)?;
                }
                _ => {}
            }
            if share.outcome != ShareOutcome::Transfer && share.outcome != ShareOutcome::Nothing {
                not_executed.push(NotExecutedView {
                    beneficiary_id: beneficiary.id.as_uuid(),
                    outcome: outcome_text(share.outcome).to_owned(),
                    failing_conditions: share
                        .failing_conditions
                        .iter()
                        .map(|code| code.as_str().to_owned())
                        .collect(),
                });
            }
        }
        let Some(first) = transactions.first() else {
            return Err(AppError::conflict(
                "nothing_to_execute",
                "this plan moves no money: nothing is paid or held",
            ));
        };
        let first_transaction = first.id();
        let views = transfers
            .iter()
            .map(|record| transfer_view(&row_of(record), None))
            .collect::<Result<Vec<_>, _>>()?;
        records.push(Record::TransferRunExecution(TransferRunExecutionRecord {
            run_id,
            transaction_id: first_transaction,
            executed_by: caller.subject.clone(),
            created_at: now,
        }));
        records.extend(
            transfers
                .into_iter()
                .map(|record| Record::Transfer(Box::new(record))),
        );
        let view = ExecutionView {
            run_id,
            transfers: views,
            not_executed,
            newly_held: newly_held.into(),
        };
        let write = WriteRequest {
            transactions,
            guards: balances.guards(),
            records,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write).on_guard(|_, _| {
            AppError::conflict(
                "run_stale",
                "the pool or fee coverage moved while the run was executing; plan it again",
            )
        }))
    }
}
