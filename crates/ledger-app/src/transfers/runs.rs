//! Transfer runs, the plan: how a programme's money for an ended period would be shared (the
//! rules are [`ledger_core::transfer_run`]); a dry run only shows it, otherwise it is recorded
//! ([`RecordedPlan`]) with the fingerprint of what it was computed from, for its execution.

use std::collections::{BTreeMap, HashMap};

use ledger_core::fx::ExchangeRate;
use ledger_core::organisation::{AllocationPolicy, Organisation, Programme};
use ledger_core::settlement::FeeSchedule;
use ledger_core::transfer_run::recorded::{
    BeneficiaryFingerprint, PlanFingerprint, RecordedPlan, RecordedShare, RecordedVerdict,
    RunStatus, ShareLabels,
};
use ledger_core::transfer_run::{BeneficiaryInput, PlanInput, plan};
use ledger_core::{Account, Amount, Currency, OrganisationId, Period, chart};
use ledger_store::WriteRequest;
use ledger_store::records::{Record, TransferRunRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fee_schedule::schedule_of;
use super::{RateView, eur};
use crate::eligibility::{ConditionVerdictView, eligibility_from};
use crate::error::FieldError;
use crate::fields::parse_id;
use crate::money::{DecimalText, Money};
use crate::policy::Operation;
use crate::registry::{Details, programme_for_period};
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, AppError, Caller};

/// A rate for a currency without a fixed parity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    /// Local units for one EUR, decimal string.
    #[schema(value_type = String)]
    pub rate: DecimalText,
    /// Where the rate comes from (the bank's confirmation, a central bank fixing).
    pub source: String,
}

/// Plan a transfer run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    pub programme_id: String,
    /// An ended period in the programme's form.
    pub period: String,
    /// True: compute and show the plan, record nothing. False: record it for execution.
    pub dry_run: bool,
    /// Rates by currency code for currencies without a fixed parity (XOF and XAF have one).
    #[serde(default)]
    pub rates: BTreeMap<String, RateBody>,
}

/// One beneficiary's line of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareView {
    pub beneficiary_id: Uuid,
    pub beneficiary: String,
    /// transfer | held | carried_forward | fees_not_covered | nothing
    pub outcome: String,
    pub eligible: bool,
    pub failing_conditions: Vec<String>,
    pub conditions: Vec<ConditionVerdictView>,
    pub weight: u64,
    pub pool_share: Money,
    pub earmarked: Money,
    pub held_before: Money,
    pub transfer: Money,
    pub newly_held: Money,
    pub carried_forward: Money,
    pub expected_fee: Money,
    /// The beneficiary's currency.
    pub currency: String,
    pub rate: Option<RateView>,
    pub expected_local: Option<Money>,
    /// What rounding once left out, in the local minor unit.
    pub rounding_residue_minor: Option<String>,
    pub rate_missing: bool,
}

/// Totals of a plan (EUR).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanTotalsView {
    pub pool: Money,
    pub transferred: Money,
    pub transferred_from_pool: Money,
    pub earmarked_transferred: Money,
    pub holds_released: Money,
    pub newly_held: Money,
    pub carried_forward: Money,
    pub expected_fees: Money,
    pub fee_coverage: Money,
}

/// A transfer run: its plan and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    /// Absent for a dry run.
    pub id: Option<Uuid>,
    /// dry_run | planned | executed
    pub status: String,
    pub programme_id: Uuid,
    pub period: String,
    /// The end of the period: receipts and facts up to this date count.
    pub as_of: String,
    /// Rates given for currencies without a fixed parity, by code.
    pub rates: BTreeMap<String, RateView>,
    /// Currencies whose rate execution still needs.
    pub missing_rates: Vec<String>,
    /// The version of the programme's rules the plan used (0: as opened).
    pub programme_version: i32,
    pub totals: PlanTotalsView,
    pub shares: Vec<ShareView>,
    pub execution_transaction_id: Option<Uuid>,
}

/// The text of a share's outcome, as views and records name it.
pub fn outcome_text(outcome: ledger_core::transfer_run::ShareOutcome) -> &'static str {
    use ledger_core::transfer_run::ShareOutcome;
    match outcome {
        ShareOutcome::Transfer => "transfer",
        ShareOutcome::Held => "held",
        ShareOutcome::CarriedForward => "carried_forward",
        ShareOutcome::FeesNotCovered => "fees_not_covered",
        ShareOutcome::Nothing => "nothing",
    }
}

impl From<&RecordedShare> for ShareView {
    fn from(share: &RecordedShare) -> Self {
        ShareView {
            beneficiary_id: share.beneficiary_id.as_uuid(),
            beneficiary: share.beneficiary.clone(),
            outcome: outcome_text(share.outcome).to_owned(),
            eligible: share.eligible,
            failing_conditions: share.failing_conditions.clone(),
            conditions: share
                .conditions
                .iter()
                .map(|verdict| ConditionVerdictView {
                    code: verdict.code.clone(),
                    passed: verdict.passed,
                    parameter: verdict.parameter.clone(),
                    observed: verdict.observed.clone(),
                    explanation: verdict.explanation.clone(),
                    facts: Vec::new(),
                    pending_facts: Vec::new(),
                })
                .collect(),
            weight: share.weight,
            pool_share: share.pool_share.into(),
            earmarked: share.earmarked.into(),
            held_before: share.held_before.into(),
            transfer: share.transfer.into(),
            newly_held: share.newly_held.into(),
            carried_forward: share.carried_forward.into(),
            expected_fee: share.expected_fee.into(),
            currency: share.currency.code().to_owned(),
            rate: share.rate.as_ref().map(RateView::from),
            expected_local: share.expected_local.map(Money::from),
            rounding_residue_minor: share.rounding_residue_minor.clone(),
            rate_missing: share.rate_missing,
        }
    }
}

impl From<&RecordedPlan> for RunView {
    fn from(plan: &RecordedPlan) -> Self {
        let totals = &plan.totals;
        RunView {
            id: plan.id,
            status: plan.status.as_str().to_owned(),
            programme_id: plan.programme_id,
            period: plan.period.clone(),
            as_of: plan.as_of.to_string(),
            rates: plan
                .rates
                .iter()
                .map(|(code, rate)| (code.clone(), RateView::from(rate)))
                .collect(),
            missing_rates: plan
                .missing_rates
                .iter()
                .map(|currency| currency.code().to_owned())
                .collect(),
            programme_version: 0,
            totals: PlanTotalsView {
                pool: totals.pool.into(),
                transferred: totals.transferred.into(),
                transferred_from_pool: totals.transferred_from_pool.into(),
                earmarked_transferred: totals.earmarked_transferred.into(),
                holds_released: totals.holds_released.into(),
                newly_held: totals.newly_held.into(),
                carried_forward: totals.carried_forward.into(),
                expected_fees: totals.expected_fees.into(),
                fee_coverage: totals.fee_coverage.into(),
            },
            shares: plan.shares.iter().map(ShareView::from).collect(),
            execution_transaction_id: plan.execution_transaction_id,
        }
    }
}

/// Parses given rates into exchange rates from EUR, with field errors under `rates.<CODE>`.
pub fn parse_rates(
    rates: &BTreeMap<String, RateBody>,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, ExchangeRate> {
    let mut parsed = BTreeMap::new();
    for (code, body) in rates {
        let field = format!("rates.{code}");
        let Ok(currency) = Currency::from_code(code) else {
            errors.push(FieldError::new(field, "is not an ISO 4217 currency"));
            continue;
        };
        let Some(rate) = body.rate.decimal(&format!("{field}.rate"), errors) else {
            continue;
        };
        match ExchangeRate::recorded(eur(), currency, rate, &body.source) {
            Ok(rate) => {
                parsed.insert(currency.code().to_owned(), rate);
            }
            Err(error) => errors.push(FieldError::new(field, error.to_string())),
        }
    }
    parsed
}

/// The rate to use for a currency: its fixed parity, or the one given.
fn with_fixed_rates(
    given: BTreeMap<String, ExchangeRate>,
    beneficiaries: &[Organisation],
) -> BTreeMap<String, ExchangeRate> {
    let mut rates = given;
    for beneficiary in beneficiaries {
        if let Some(fixed) = ExchangeRate::fixed(eur(), beneficiary.currency) {
            rates.insert(beneficiary.currency.code().to_owned(), fixed);
        }
    }
    rates
}

/// What a run is computed from, and the fingerprint of the balances it read.
pub(crate) struct Gathered {
    pub input: PlanInput,
    pub beneficiaries: HashMap<OrganisationId, Organisation>,
    pub labels: ShareLabels,
    /// Execution refuses a plan whose inputs moved.
    pub fingerprint: PlanFingerprint,
    /// The signed balances read (pool, fee coverage, every earmarked fund and hold): what the
    /// execution's exact guards start from.
    pub balances: HashMap<Uuid, i64>,
}

/// Reads everything a plan of `programme` for `period` is computed from.
pub(crate) async fn gather(
    app: &App,
    programme: &Programme,
    period: Period,
    given_rates: BTreeMap<String, ExchangeRate>,
) -> Result<Gathered, AppError> {
    let currency = programme.currency;
    let as_of = period.end();
    let book = app.store.beneficiary_book().await?;
    // Each beneficiary with the details (covered members, fee schedule) in force at the end of
    // the period: a run for a past period allocates by that period's version.
    let versions = app.store.all_organisation_versions().await?;
    let mut own_fee_schedules = HashMap::new();
    let mut beneficiaries = Vec::new();
    for beneficiary in app.store.beneficiaries().await? {
        let id = beneficiary.id.as_uuid();
        let details = Details::in_force(
            &beneficiary,
            book.fee_schedules.get(&id),
            versions.get(&id).map_or(&[], Vec::as_slice),
            as_of,
        );
        if let Some(schedule) = &details.fee_schedule {
            own_fee_schedules.insert(id, schedule_of(schedule)?);
        }
        beneficiaries.push(details.apply(beneficiary));
    }
    let accounted = app.store.accepted_report_totals().await?;
    let later_receipts = app.store.receipts_after(programme.id, as_of).await?;
    let later = |earmark: Option<Uuid>| -> i64 {
        later_receipts
            .iter()
            .filter(|(beneficiary, _)| *beneficiary == earmark)
            .map(|(_, minor)| *minor)
            .sum()
    };
    let pool_account = chart::programme_pool(programme.id, currency);
    let coverage_account = chart::fee_coverage(currency);
    let mut accounts = vec![pool_account.id.as_uuid(), coverage_account.id.as_uuid()];
    for beneficiary in &beneficiaries {
        accounts.push(
            chart::programme_earmarked(programme.id, beneficiary.id, currency)
                .id
                .as_uuid(),
        );
        accounts.push(
            chart::programme_held(programme.id, beneficiary.id, currency)
                .id
                .as_uuid(),
        );
    }
    let balances = app.store.balances(&accounts).await?;
    let credit = |account: &Account| -> i64 {
        -balances
            .get(&account.id.as_uuid())
            .copied()
            .unwrap_or_default()
    };
    let amount =
        |minor: i64| Amount::from_minor(minor.max(0), currency).map_err(AppError::internal_message);
    let mut fingerprint = PlanFingerprint {
        pool: credit(&pool_account),
        coverage: credit(&coverage_account),
        beneficiaries: Vec::with_capacity(beneficiaries.len()),
    };
    let programme_schedule = book
        .fee_schedules
        .get(&programme.id)
        .map(schedule_of)
        .transpose()?;
    let mut inputs = Vec::with_capacity(beneficiaries.len());
    let mut labels = ShareLabels::default();
    let no_facts = Vec::new();
    let no_settlements = Vec::new();
    for beneficiary in &beneficiaries {
        let weight = match &programme.allocation {
            AllocationPolicy::ProRataCoveredMembers => beneficiary.covered_members.unwrap_or(0),
            AllocationPolicy::FixedWeights { weights } => {
                weights.get(&beneficiary.id).copied().unwrap_or(0)
            }
        };
        let id = beneficiary.id.as_uuid();
        let eligibility = eligibility_from(
            programme,
            beneficiary,
            book.facts.get(&id).unwrap_or(&no_facts),
            book.settled.get(&id).unwrap_or(&no_settlements),
            accounted.get(&id).copied().unwrap_or_default(),
            as_of,
        )?;
        let earmarked_balance = credit(&chart::programme_earmarked(
            programme.id,
            beneficiary.id,
            currency,
        ));
        let held_balance = credit(&chart::programme_held(
            programme.id,
            beneficiary.id,
            currency,
        ));
        fingerprint.beneficiaries.push(BeneficiaryFingerprint {
            id: beneficiary.id,
            weight,
            earmarked: earmarked_balance,
            held: held_balance,
            eligible: eligibility.eligible,
        });
        labels
            .slugs
            .insert(beneficiary.id, beneficiary.slug.to_string());
        labels.verdicts.insert(
            beneficiary.id,
            eligibility
                .conditions
                .iter()
                .map(RecordedVerdict::from)
                .collect(),
        );
        let own = own_fee_schedules.get(&id).copied();
        inputs.push(BeneficiaryInput {
            id: beneficiary.id,
            weight,
            currency: beneficiary.currency,
            eligibility,
            earmarked: amount(earmarked_balance - later(Some(id)))?,
            held: amount(held_balance)?,
            fee_schedule: FeeSchedule::applying(own, programme_schedule, eur()),
        });
    }
    let rates = with_fixed_rates(given_rates, &beneficiaries);
    Ok(Gathered {
        input: PlanInput {
            pool: amount(credit(&pool_account) - later(None))?,
            minimum_transfer: programme.minimum_transfer,
            fee_coverage: amount(credit(&coverage_account))?,
            beneficiaries: inputs,
            rates,
        },
        beneficiaries: beneficiaries
            .into_iter()
            .map(|beneficiary| (beneficiary.id, beneficiary))
            .collect(),
        labels,
        fingerprint,
        balances,
    })
}

/// A programme with the rules of an ended period of it (and their version), or field errors.
async fn programme_and_period(
    app: &App,
    programme_id: &str,
    period: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<(Programme, Period, i32)>, AppError> {
    let programme = match parse_id(programme_id) {
        Some(id) => app.store.programme(id).await?,
        None => None,
    };
    let Some(programme) = programme else {
        errors.push(FieldError::new("programme_id", "no such programme"));
        return Ok(None);
    };
    let period = match Period::parse(period, programme.period) {
        Ok(period) => period,
        Err(message) => {
            errors.push(FieldError::new("period", message));
            return Ok(None);
        }
    };
    let today = app.sources.now().date_naive();
    if period.end() >= today {
        errors.push(FieldError::new(
            "period",
            format!(
                "has not ended yet (it ends on {}); plan it from the next day",
                period.end()
            ),
        ));
        return Ok(None);
    }
    let (programme, version) = programme_for_period(app, programme, &period).await?;
    Ok(Some((programme, period, version)))
}

/// Plan a transfer run (the network). A dry run records nothing but its answer; otherwise the
/// plan is recorded for execution, with the programme version in force for its period; if a
/// later version for that period was recorded since it was read, the database refuses the run
/// (migrations 0025): `409 programme_rules_changed`, plan it again.
#[derive(Debug)]
pub struct PlanTransferRun(pub CreateRun);

impl Command for PlanTransferRun {
    const OPERATION: Operation = Operation::PlanTransferRun;
    type Output = RunView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<RunView>, AppError> {
        let body = self.0;
        let mut errors = Vec::new();
        let target =
            programme_and_period(app, &body.programme_id, &body.period, &mut errors).await?;
        let given = parse_rates(&body.rates, &mut errors);
        let (Some((programme, period, programme_version)), true) = (target, errors.is_empty())
        else {
            return Err(AppError::validation(errors));
        };
        let gathered = gather(app, &programme, period, given.clone()).await?;
        let computed = plan(&gathered.input).map_err(AppError::internal_message)?;
        let now = app.sources.timestamp();
        if body.dry_run {
            let recorded = RecordedPlan::new(
                None,
                RunStatus::DryRun,
                programme.id,
                period,
                &given,
                &computed,
                &gathered.labels,
            );
            // Nothing is recorded but the answer, so a replay shows the same plan.
            let mut view = RunView::from(&recorded);
            view.programme_version = programme_version;
            return Ok(
                Planned::new(Status::Done, view, WriteRequest::default()).on_guard(|_, _| {
                    AppError::conflict("conflict", "the plan could not be answered")
                }),
            );
        }
        let id = app.sources.id();
        let recorded = RecordedPlan::new(
            Some(id),
            RunStatus::Planned,
            programme.id,
            period,
            &given,
            &computed,
            &gathered.labels,
        );
        let write = WriteRequest {
            records: vec![Record::TransferRun(Box::new(TransferRunRecord {
                id,
                programme_id: programme.id,
                period: period.to_string(),
                as_of: period.end(),
                plan: recorded.to_json().map_err(AppError::internal)?,
                fingerprint: gathered.fingerprint.to_string(),
                planned_by: caller.subject.clone(),
                created_at: now,
                programme_version,
            }))],
            ..WriteRequest::default()
        };
        let mut view = RunView::from(&recorded);
        view.programme_version = programme_version;
        Ok(Planned::new(Status::Created, view, write)
            .on_guard(|_, _| AppError::conflict("conflict", "the run could not be recorded")))
    }
}

/// A recorded run with its plan (the network, auditors).
#[derive(Debug)]
pub struct ReadTransferRun {
    pub id: String,
}

impl Query for ReadTransferRun {
    const OPERATION: Operation = Operation::ReadTransferRun;
    type Output = RunView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<RunView, AppError> {
        let not_found = || AppError::not_found("no such transfer run");
        let id = parse_id(&self.id).ok_or_else(not_found)?;
        let run = app.store.transfer_run(id).await?.ok_or_else(not_found)?;
        let recorded = RecordedPlan::from_json(&run.plan).map_err(AppError::internal)?;
        let recorded = match run.execution_transaction_id {
            Some(transaction) => recorded.executed(transaction),
            None => recorded,
        };
        let mut view = RunView::from(&recorded);
        view.programme_version = run.programme_version;
        Ok(view)
    }
}

/// A recorded run as a list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunSummaryView {
    pub id: Uuid,
    /// planned | executed
    pub status: String,
    pub programme_id: Uuid,
    pub period: String,
    pub planned_by: String,
    pub created_at: String,
    pub transferred: Money,
    pub newly_held: Money,
    pub expected_fees: Money,
}

/// Recorded runs, newest first (the network, auditors).
#[derive(Debug)]
pub struct ListTransferRuns(pub crate::pagination::PageQuery);

impl Query for ListTransferRuns {
    const OPERATION: Operation = Operation::ListTransferRuns;
    type Output = crate::pagination::Page<RunSummaryView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Self::Output, AppError> {
        let (limit, before) = self.0.parse()?;
        let rows = app.store.transfer_runs(before, limit + 1).await?;
        let mut summaries = Vec::with_capacity(rows.len());
        for run in rows {
            let recorded = RecordedPlan::from_json(&run.plan).map_err(AppError::internal)?;
            let totals = &recorded.totals;
            summaries.push(RunSummaryView {
                id: run.id,
                status: if run.execution_transaction_id.is_some() {
                    "executed"
                } else {
                    "planned"
                }
                .to_owned(),
                programme_id: run.programme_id,
                period: run.period,
                planned_by: run.planned_by,
                created_at: ledger_core::Timestamp::from_datetime(run.created_at)
                    .to_canonical_string(),
                transferred: totals.transferred.into(),
                newly_held: totals.newly_held.into(),
                expected_fees: totals.expected_fees.into(),
            });
        }
        Ok(crate::pagination::page(
            summaries,
            limit,
            |summary| summary.id,
            |summary| summary,
        ))
    }
}
