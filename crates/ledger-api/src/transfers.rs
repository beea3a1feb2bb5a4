//! Loss-free transfers to southern mutuals: fee coverage and transfer runs (a recorded plan, then
//! its execution into pending transfers). The transfers once sent (list, confirmation, held funds)
//! are [`crate::transfer_confirmation`]'s, their disputes [`crate::disputes`]'. The rules are the
//! core's ([`ledger_core::transfer_run`], [`ledger_core::settlement`]); this module gathers their
//! inputs, turns their decisions into balanced transactions and records them. Postings:
//! `docs/accounts.md`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::fx::ExchangeRate;
use ledger_core::organisation::{AllocationPolicy, Organisation, Programme};
use ledger_core::settlement::{FeeSchedule, expected_local};
use ledger_core::transfer_run::{
    BeneficiaryInput, PlanInput, PlannedShare, ShareOutcome, TransferPlan, plan,
};
use ledger_core::{
    Account, Amount, BalancedTransaction, Currency, OrganisationId, Period, Timestamp,
    TransactionDraft, TransactionId, TransactionKind, chart,
};
use ledger_store::records::{
    FeeCoverageDepositRecord, Record, TransferRecord, TransferRunExecutionRecord, TransferRunRecord,
};
use ledger_store::transfers::FeeScheduleRow;
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::batches::{balanced, posting};
use crate::eligibility::{ConditionVerdictView, eligibility_from, verdict_views};
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::{DecimalText, Money};
use crate::organisations::parse_id;
use crate::problem::{ApiError, FieldError};
use ledger_app::Operation;
use ledger_app::policy::require;
pub use ledger_app::transfers::listing::{RateView, TransferView, row_of, transfer_view};

/// The most characters of a fee-coverage deposit's reference.
pub const MAX_DEPOSIT_REFERENCE_LENGTH: usize = 140;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit_fee_coverage))
        .routes(routes!(get_fee_coverage))
        .routes(routes!(create_run))
        .routes(routes!(get_run))
        .routes(routes!(execute_run))
        .merge(crate::transfer_confirmation::router())
        .merge(crate::disputes::router())
}

fn eur() -> Currency {
    Currency::eur()
}

pub(crate) fn stored_currency(code: &str) -> Result<Currency, ApiError> {
    Currency::from_code(code).map_err(ApiError::internal_message)
}

// ---------------------------------------------------------------------------------------------
// Fee coverage
// ---------------------------------------------------------------------------------------------

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

/// Fund fee coverage (admin): the account every bank fee and shortfall is paid from.
#[utoipa::path(
    post, path = "/v1/fee-coverage/deposits", tag = "transfers",
    request_body = CreateDeposit,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = DepositView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem, description = "the key was used with another request, or fee coverage would pass the limit max_account_balance"), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn deposit_fee_coverage(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateDeposit>,
) -> Result<Response, ApiError> {
    require(Operation::DepositFeeCoverage, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let mut errors = Vec::new();
    let amount = request
        .body
        .amount
        .positive_amount("amount", eur(), &mut errors);
    let reference = crate::batches::text_field(
        "reference",
        &request.body.reference,
        MAX_DEPOSIT_REFERENCE_LENGTH,
        ledger_core::text::TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let (Some(amount), true) = (amount, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let now = Utc::now();
    let bank = chart::fund_bank(eur());
    let coverage = chart::fee_coverage(eur());
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let id = Uuid::now_v7();
    let mut metadata = serde_json::Map::new();
    metadata.insert("deposit_id".into(), id.to_string().into());
    metadata.insert("reference".into(), reference.into());
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::FeeCoverageDeposit,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!("Fee coverage deposit: {reference}"),
            metadata,
            postings: vec![posting(&bank, amount), posting(&coverage, amount.negated())],
        },
        &[&bank, &coverage],
    )?;
    let view = DepositView {
        id,
        amount: amount.into(),
        reference: reference.to_owned(),
        transaction_id: transaction_id.as_uuid(),
    };
    let write = WriteRequest {
        transactions: vec![transaction],
        records: vec![
            Record::Account(bank),
            Record::Account(coverage),
            Record::Account(chart::fee_coverage_reserved(eur())),
            Record::FeeCoverageDeposit(FeeCoverageDepositRecord {
                id,
                amount_minor: amount.minor(),
                currency: eur().code().to_owned(),
                reference: reference.to_owned(),
                transaction_id,
                recorded_by: principal.subject.clone(),
                created_at: Timestamp::from_datetime(now),
            }),
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
            |_, _| ApiError::conflict("conflict", "the deposit could not be recorded"),
        )
        .await
}

async fn credit_balance(state: &AppState, account: &Account) -> Result<i64, ApiError> {
    // Net-asset accounts hold credit (negative) balances; shown as positive amounts.
    Ok(-state.store.balance(account.id, None).await?)
}

/// What fee coverage holds (admin, auditor).
#[utoipa::path(
    get, path = "/v1/fee-coverage", tag = "transfers",
    responses((status = 200, body = FeeCoverageView), (status = 403, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_fee_coverage(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<AppJson<FeeCoverageView>, ApiError> {
    require(Operation::ReadFeeCoverage, &principal)?;
    let available = credit_balance(&state, &chart::fee_coverage(eur())).await?;
    let reserved = credit_balance(&state, &chart::fee_coverage_reserved(eur())).await?;
    Ok(AppJson(FeeCoverageView {
        available: Money::from_minor(available, eur()),
        reserved: Money::from_minor(reserved, eur()),
    }))
}

// ---------------------------------------------------------------------------------------------
// Transfer runs
// ---------------------------------------------------------------------------------------------

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

/// Execute a recorded plan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRun {
    /// Rates still needed by the plan, by currency code.
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
    pub totals: PlanTotalsView,
    pub shares: Vec<ShareView>,
    pub execution_transaction_id: Option<Uuid>,
}

/// Parses given rates into exchange rates from EUR, with field errors under `rates.<CODE>`.
fn parse_rates(
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

/// What a run is computed from, and a fingerprint of the balances it read.
struct Gathered {
    input: PlanInput,
    beneficiaries: HashMap<OrganisationId, Organisation>,
    verdicts: HashMap<OrganisationId, Vec<ConditionVerdictView>>,
    /// The balances read, as text: execution refuses a plan whose inputs moved.
    fingerprint: String,
    /// The signed balances read (pool, fee coverage, every earmarked fund and hold): what the
    /// execution's exact guards start from.
    balances: HashMap<Uuid, i64>,
}

fn fee_schedule_of(row: Option<&FeeScheduleRow>) -> Result<FeeSchedule, ApiError> {
    let Some(row) = row else {
        return Ok(FeeSchedule::none(eur()));
    };
    let currency = stored_currency(&row.currency)?;
    let fixed =
        Amount::from_minor(row.fixed_minor, currency).map_err(ApiError::internal_message)?;
    let percent: Decimal = row.percent.parse().map_err(ApiError::internal_message)?;
    FeeSchedule::new(fixed, percent).map_err(ApiError::internal_message)
}

async fn gather(
    state: &AppState,
    programme: &Programme,
    period: Period,
    given_rates: BTreeMap<String, ExchangeRate>,
) -> Result<Gathered, ApiError> {
    let currency = programme.currency;
    let as_of = period.end();
    let beneficiaries = state.store.beneficiaries().await?;
    let book = state.store.beneficiary_book().await?;
    let accounted = state.store.accepted_report_totals().await?;
    let later_receipts = state.store.receipts_after(programme.id, as_of).await?;
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
    let balances = state.store.balances(&accounts).await?;
    let credit = |account: &Account| -> i64 {
        -balances
            .get(&account.id.as_uuid())
            .copied()
            .unwrap_or_default()
    };
    let amount =
        |minor: i64| Amount::from_minor(minor.max(0), currency).map_err(ApiError::internal_message);
    let mut fingerprint = format!(
        "pool={};coverage={}",
        credit(&pool_account),
        credit(&coverage_account)
    );
    let programme_schedule = book.fee_schedules.get(&programme.id);
    let mut inputs = Vec::with_capacity(beneficiaries.len());
    let mut verdicts = HashMap::with_capacity(beneficiaries.len());
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
        fingerprint.push_str(&format!(
            ";{id}:{weight}:{earmarked_balance}:{held_balance}:{}",
            eligibility.eligible
        ));
        verdicts.insert(
            beneficiary.id,
            verdict_views(&eligibility.conditions, beneficiary.id),
        );
        let schedule = book.fee_schedules.get(&id).or(programme_schedule);
        inputs.push(BeneficiaryInput {
            id: beneficiary.id,
            weight,
            currency: beneficiary.currency,
            eligibility,
            earmarked: amount(earmarked_balance - later(Some(id)))?,
            held: amount(held_balance)?,
            fee_schedule: fee_schedule_of(schedule)?,
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
        verdicts,
        fingerprint,
        balances,
    })
}

fn outcome_text(outcome: ShareOutcome) -> &'static str {
    match outcome {
        ShareOutcome::Transfer => "transfer",
        ShareOutcome::Held => "held",
        ShareOutcome::CarriedForward => "carried_forward",
        ShareOutcome::FeesNotCovered => "fees_not_covered",
        ShareOutcome::Nothing => "nothing",
    }
}

fn share_view(share: &PlannedShare, gathered: &Gathered) -> ShareView {
    let expected = share.expected_local.as_ref();
    ShareView {
        beneficiary_id: share.beneficiary_id.as_uuid(),
        beneficiary: gathered
            .beneficiaries
            .get(&share.beneficiary_id)
            .map(|organisation| organisation.slug.to_string())
            .unwrap_or_default(),
        outcome: outcome_text(share.outcome).to_owned(),
        eligible: share.eligible,
        failing_conditions: share
            .failing_conditions
            .iter()
            .map(|code| code.as_str().to_owned())
            .collect(),
        conditions: gathered
            .verdicts
            .get(&share.beneficiary_id)
            .map(|verdicts| {
                verdicts
                    .iter()
                    .map(|verdict| ConditionVerdictView {
                        code: verdict.code.clone(),
                        passed: verdict.passed,
                        parameter: verdict.parameter.clone(),
                        observed: verdict.observed.clone(),
                        explanation: verdict.explanation.clone(),
                        facts: Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        weight: share.weight,
        pool_share: share.pool_share.into(),
        earmarked: share.earmarked.into(),
        held_before: share.held_before.into(),
        transfer: share.transfer.into(),
        newly_held: share.newly_held.into(),
        carried_forward: share.carried_forward.into(),
        expected_fee: share.expected_fee.into(),
        currency: share.currency.code().to_owned(),
        rate: expected
            .and_then(|expected| expected.rate.as_ref())
            .map(RateView::from),
        expected_local: expected.map(|expected| expected.amount.into()),
        rounding_residue_minor: expected.map(|expected| expected.residue_minor.to_string()),
        rate_missing: share.rate_missing,
    }
}

fn run_view(
    id: Option<Uuid>,
    status: &str,
    programme: &Programme,
    period: Period,
    given: &BTreeMap<String, ExchangeRate>,
    plan: &TransferPlan,
    gathered: &Gathered,
) -> RunView {
    let totals = &plan.totals;
    RunView {
        id,
        status: status.to_owned(),
        programme_id: programme.id,
        period: period.to_string(),
        as_of: period.end().to_string(),
        rates: given
            .iter()
            .map(|(code, rate)| (code.clone(), RateView::from(rate)))
            .collect(),
        missing_rates: plan
            .missing_rates()
            .iter()
            .map(|currency| currency.code().to_owned())
            .collect(),
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
        shares: plan
            .shares
            .iter()
            .map(|share| share_view(share, gathered))
            .collect(),
        execution_transaction_id: None,
    }
}

/// A programme and an ended period of it, or field errors.
async fn programme_and_period(
    state: &AppState,
    programme_id: &str,
    period: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<(Programme, Period)>, ApiError> {
    let programme = match parse_id(programme_id) {
        Some(id) => state.store.programme(id).await?,
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
    let today = Utc::now().date_naive();
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
    Ok(Some((programme, period)))
}

/// Plan a transfer run (admin): earmarks first, the pool split by the programme's policy, holds for
/// ineligible beneficiaries with their failing conditions, carry-forwards, expected fees and rates.
/// A dry run records nothing; otherwise the plan is recorded for execution.
#[utoipa::path(
    post, path = "/v1/transfer-runs", tag = "transfers",
    request_body = CreateRun,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = RunView), (status = 403, body = crate::problem::Problem), (status = 200, body = RunView, description = "a dry run"), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_run(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateRun>,
) -> Result<Response, ApiError> {
    require(Operation::PlanTransferRun, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let body = &request.body;
    let mut errors = Vec::new();
    let target =
        programme_and_period(&state, &body.programme_id, &body.period, &mut errors).await?;
    let given = parse_rates(&body.rates, &mut errors);
    let (Some((programme, period)), true) = (target, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let gathered = gather(&state, &programme, period, given.clone()).await?;
    let computed = plan(&gathered.input).map_err(ApiError::internal_message)?;
    let now = Timestamp::from_datetime(Utc::now());
    if body.dry_run {
        let view = run_view(
            None, "dry_run", &programme, period, &given, &computed, &gathered,
        );
        // Nothing is recorded but the answer, so a replay shows the same plan.
        return request
            .commit(
                &state,
                &principal,
                StatusCode::OK,
                &view,
                WriteRequest::default(),
                |_, _| ApiError::conflict("conflict", "the plan could not be answered"),
            )
            .await;
    }
    let id = Uuid::now_v7();
    let view = run_view(
        Some(id),
        "planned",
        &programme,
        period,
        &given,
        &computed,
        &gathered,
    );
    let write = WriteRequest {
        records: vec![Record::TransferRun(Box::new(TransferRunRecord {
            id,
            programme_id: programme.id,
            period: period.to_string(),
            as_of: period.end(),
            plan: serde_json::to_string(&view).map_err(ApiError::internal)?,
            fingerprint: gathered.fingerprint.clone(),
            planned_by: principal.subject.clone(),
            created_at: now,
        }))],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the run could not be recorded"),
        )
        .await
}

/// A recorded run with its plan (admin, auditor).
#[utoipa::path(
    get, path = "/v1/transfer-runs/{id}", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RunView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<serde_json::Value>, ApiError> {
    require(Operation::ReadTransferRun, &principal)?;
    let not_found = || ApiError::not_found("no such transfer run");
    let id = parse_id(&id).ok_or_else(not_found)?;
    let run = state.store.transfer_run(id).await?.ok_or_else(not_found)?;
    let mut view: serde_json::Value =
        serde_json::from_str(&run.plan).map_err(ApiError::internal_message)?;
    if let Some(transaction) = run.execution_transaction_id {
        view["status"] = "executed".into();
        view["execution_transaction_id"] = transaction.to_string().into();
    }
    Ok(AppJson(view))
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

/// Builds a transfer's row from its plan line, for recording and for the answer.
struct NewTransfer {
    record: TransferRecord,
    transaction: BalancedTransaction,
    accounts: Vec<Account>,
}

#[allow(clippy::too_many_arguments)]
fn new_transfer(
    principal: &Principal,
    programme: &Programme,
    period: &str,
    run_id: Option<Uuid>,
    parent: Option<(Uuid, Uuid)>,
    beneficiary: &Organisation,
    amount: Amount,
    fee: Amount,
    rate: Option<&ExchangeRate>,
    sources: Vec<(Account, Amount)>,
    kind: TransactionKind,
) -> Result<NewTransfer, ApiError> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let currency = amount.currency();
    let in_transit = chart::transfer_in_transit(id, beneficiary.id, currency);
    let coverage = chart::fee_coverage(currency);
    let reserved = chart::fee_coverage_reserved(currency);
    let expected =
        expected_local(amount, beneficiary.currency, rate).map_err(ApiError::internal_message)?;
    let mut postings = Vec::new();
    let mut accounts = vec![in_transit.clone()];
    for (account, part) in &sources {
        if part.is_positive() {
            postings.push(posting(account, *part));
            accounts.push(account.clone());
        }
    }
    postings.push(posting(&in_transit, amount.negated()));
    if fee.is_positive() {
        postings.push(posting(&coverage, fee));
        postings.push(posting(&reserved, fee.negated()));
        accounts.push(coverage);
        accounts.push(reserved);
    }
    let end_to_end_id = id.simple().to_string();
    let mut metadata = serde_json::Map::new();
    metadata.insert("transfer_id".into(), id.to_string().into());
    metadata.insert("beneficiary_id".into(), beneficiary.id.to_string().into());
    metadata.insert("end_to_end_id".into(), end_to_end_id.clone().into());
    metadata.insert("expected_fee".into(), fee.to_decimal_string().into());
    if let Some(run_id) = run_id {
        metadata.insert("run_id".into(), run_id.to_string().into());
    }
    let references: Vec<&Account> = accounts.iter().collect();
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!(
                "{} {period} to {}: {amount}",
                if kind == TransactionKind::TopUp {
                    "Top-up"
                } else {
                    "Transfer"
                },
                beneficiary.slug
            ),
            metadata,
            postings,
        },
        &references,
    )?;
    let (root, parent_id) = match parent {
        Some((root, parent)) => (root, Some(parent)),
        None => (id, None),
    };
    Ok(NewTransfer {
        record: TransferRecord {
            id,
            kind: if kind == TransactionKind::TopUp {
                "top_up"
            } else {
                "transfer"
            },
            run_id,
            root_transfer_id: root,
            parent_transfer_id: parent_id,
            programme_id: programme.id,
            beneficiary_id: beneficiary.id,
            period: period.to_owned(),
            amount_minor: amount.minor(),
            currency: currency.code().to_owned(),
            fee_minor: fee.minor(),
            local_currency: beneficiary.currency.code().to_owned(),
            rate: expected.rate.as_ref().map(|rate| rate.rate().to_string()),
            rate_source: expected
                .rate
                .as_ref()
                .map(|rate| RateView::from(rate).source),
            expected_local_minor: expected.amount.minor(),
            residue_minor: expected.residue_minor.to_string(),
            end_to_end_id,
            in_transit_account_id: in_transit.id,
            transaction_id,
            created_by: principal.subject.clone(),
            created_at: Timestamp::from_datetime(now),
        },
        transaction,
        accounts,
    })
}

/// Balance guards that hold each account exactly at its expected balance after the write: any
/// concurrent movement makes the write fail and nothing is written.
fn exact_guards(expected: &HashMap<Uuid, i64>) -> Vec<BalanceGuard> {
    expected
        .iter()
        .flat_map(|(account, balance)| {
            let account_id = ledger_core::AccountId::from_uuid(*account);
            [
                BalanceGuard {
                    account_id,
                    bound: BalanceBound::AtLeast(*balance),
                },
                BalanceGuard {
                    account_id,
                    bound: BalanceBound::AtMost(*balance),
                },
            ]
        })
        .collect()
}

/// Execute a recorded plan that is still current (admin): one pending transfer per paid
/// beneficiary with its fees reserved from fee coverage, holds moved out of the pool.
#[utoipa::path(
    post, path = "/v1/transfer-runs/{id}/execution", tag = "transfers",
    request_body = ExecuteRun,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ExecutionView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn execute_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ExecuteRun>,
) -> Result<Response, ApiError> {
    require(Operation::ExecuteTransferRun, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let not_found = || ApiError::not_found("no such transfer run");
    let run_id = parse_id(&id).ok_or_else(not_found)?;
    let run = state
        .store
        .transfer_run(run_id)
        .await?
        .ok_or_else(not_found)?;
    if run.execution_transaction_id.is_some() {
        return Err(ApiError::conflict(
            "run_already_executed",
            "this run was already executed; plan a new run for money that arrived since",
        ));
    }
    let programme = state
        .store
        .programme(run.programme_id)
        .await?
        .ok_or_else(|| ApiError::internal_message("a recorded run names an unknown programme"))?;
    let period =
        Period::parse(&run.period, programme.period).map_err(ApiError::internal_message)?;
    let recorded: serde_json::Value =
        serde_json::from_str(&run.plan).map_err(ApiError::internal_message)?;
    let recorded_rates: BTreeMap<String, RateBody> = recorded
        .get("rates")
        .and_then(|rates| rates.as_object())
        .map(|rates| {
            rates
                .iter()
                .filter_map(|(code, rate)| {
                    Some((
                        code.clone(),
                        RateBody {
                            rate: serde_json::from_value(rate.get("rate")?.clone()).ok()?,
                            source: rate.get("source")?.as_str()?.to_owned(),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut given = parse_rates(&recorded_rates, &mut Vec::new());
    given.extend(parse_rates(&request.body.rates, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let gathered = gather(&state, &programme, period, given).await?;
    if gathered.fingerprint != run.fingerprint {
        return Err(ApiError::conflict(
            "run_stale",
            "the pool, holds, earmarks, fee coverage or eligibility changed since this run was planned; plan it again",
        ));
    }
    let computed = plan(&gathered.input).map_err(ApiError::internal_message)?;
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
        return Err(ApiError::validation(missing));
    }
    let currency = programme.currency;
    let pool = chart::programme_pool(programme.id, currency);
    let mut transactions = Vec::new();
    let mut records = Vec::new();
    let mut transfers = Vec::new();
    let mut not_executed = Vec::new();
    // Expected balances after the write, for the exact guards (signed: credit negative), from the
    // balances the plan was computed from.
    let current = &gathered.balances;
    let mut expected: HashMap<Uuid, i64> = HashMap::new();
    let mut move_by = |account: &Account, delta: i64| {
        let id = account.id.as_uuid();
        let entry = expected
            .entry(id)
            .or_insert_with(|| current.get(&id).copied().unwrap_or_default());
        *entry += delta;
    };
    let mut newly_held = Amount::zero(currency);
    let now = Utc::now();
    for share in &computed.shares {
        let beneficiary = gathered
            .beneficiaries
            .get(&share.beneficiary_id)
            .ok_or_else(|| ApiError::internal_message("a planned beneficiary vanished"))?;
        let earmarked = chart::programme_earmarked(programme.id, beneficiary.id, currency);
        let held = chart::programme_held(programme.id, beneficiary.id, currency);
        match share.outcome {
            ShareOutcome::Transfer => {
                let rate = gathered.input.rates.get(beneficiary.currency.code());
                let new = new_transfer(
                    &principal,
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
                    TransactionKind::Transfer,
                )?;
                move_by(&pool, share.pool_share.minor());
                move_by(&earmarked, share.earmarked.minor());
                move_by(&held, share.held_before.minor());
                move_by(&chart::fee_coverage(currency), share.expected_fee.minor());
                records.extend(new.accounts.iter().cloned().map(Record::Account));
                transactions.push(new.transaction);
                transfers.push(new.record);
            }
            ShareOutcome::Held if share.newly_held.is_positive() => {
                let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
                let mut metadata = serde_json::Map::new();
                metadata.insert("run_id".into(), run_id.to_string().into());
                metadata.insert("beneficiary_id".into(), beneficiary.id.to_string().into());
                metadata.insert(
                    "failing_conditions".into(),
                    share
                        .failing_conditions
                        .iter()
                        .map(|code| serde_json::Value::from(code.as_str()))
                        .collect::<Vec<_>>()
                        .into(),
                );
                transactions.push(balanced(
                    TransactionDraft {
                        id: transaction_id,
                        kind: TransactionKind::Allocation,
                        effective_date: now.date_naive(),
                        recorded_at: Timestamp::from_datetime(now),
                        actor: principal.actor(),
                        memo: format!(
                            "Held for {} ({}): conditions not met",
                            beneficiary.slug, run.period
                        ),
                        metadata,
                        postings: vec![
                            posting(&pool, share.newly_held),
                            posting(&held, share.newly_held.negated()),
                        ],
                    },
                    &[&pool, &held],
                )?);
                move_by(&pool, share.newly_held.minor());
                move_by(&held, -share.newly_held.minor());
                records.push(Record::Account(held));
                newly_held = newly_held
                    .checked_add(share.newly_held)
                    .map_err(ApiError::internal_message)?;
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
        return Err(ApiError::conflict(
            "nothing_to_execute",
            "this plan moves no money: nothing is paid or held",
        ));
    };
    let first_transaction = first.id();
    let views = transfers
        .iter()
        .map(|record| transfer_view(&row_of(record), None))
        .collect::<Result<Vec<_>, _>>()?;
    let guards = exact_guards(&expected);
    records.push(Record::TransferRunExecution(TransferRunExecutionRecord {
        run_id,
        transaction_id: first_transaction,
        executed_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(now),
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
        guards,
        records,
        ..WriteRequest::default()
    };
    let response = request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| {
                ApiError::conflict(
                    "run_stale",
                    "the pool or fee coverage moved while the run was executing; plan it again",
                )
            },
        )
        .await?;
    // The head after an execution is signed at once, so partners can hold it the same day.
    crate::checkpoints::sign_after_write(&state).await;
    Ok(response)
}

/// Fee schedule given on an organisation or a programme.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeScheduleBody {
    /// Fixed EUR per transfer, decimal string.
    #[schema(value_type = String)]
    pub fixed: DecimalText,
    /// Percentage of the amount sent, decimal string.
    #[schema(value_type = String)]
    pub percent: DecimalText,
}

/// Parses a fee schedule under `field`, as the record to store for `owner_id`.
pub(crate) fn fee_schedule_record(
    body: &FeeScheduleBody,
    owner_id: Uuid,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<ledger_store::records::FeeScheduleRecord> {
    let fixed = body.fixed.amount(&format!("{field}.fixed"), eur(), errors);
    let percent = body.percent.decimal(&format!("{field}.percent"), errors);
    let (fixed, percent) = (fixed?, percent?);
    match FeeSchedule::new(fixed, percent) {
        Ok(schedule) => Some(ledger_store::records::FeeScheduleRecord {
            owner_id,
            fixed_minor: schedule.fixed.minor(),
            currency: eur().code().to_owned(),
            percent: schedule.percent.to_string(),
            created_at: Timestamp::from_datetime(Utc::now()),
        }),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}
