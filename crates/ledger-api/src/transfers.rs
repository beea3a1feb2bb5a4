//! Loss-free transfers to southern mutuals: fee coverage, transfer runs (a recorded plan, then its
//! execution into pending transfers), and the beneficiaries' confirmations with top-ups from fee
//! coverage when an intermediary bank took part of the money. The rules are the core's
//! ([`ledger_core::transfer_run`], [`ledger_core::settlement`]); this module gathers their inputs,
//! turns their decisions into balanced transactions and records them. Postings: `docs/accounts.md`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ledger_core::FundDate;
use ledger_core::fx::{ExchangeRate, RateSource};
use ledger_core::organisation::{AllocationPolicy, Organisation, Programme};
use ledger_core::settlement::{
    FeeSchedule, SettlementOutcome, TopUpReview, check_value_date, expected_local,
    immediate_top_up_allowance, review_top_up, settle, top_up_for,
};
use ledger_core::transfer_run::{
    BeneficiaryInput, PlanInput, PlannedShare, ShareOutcome, TransferPlan, plan,
};
use ledger_core::{
    Account, Amount, BalancedTransaction, Currency, OrganisationId, Period, Timestamp,
    TransactionDraft, TransactionId, TransactionKind, chart,
};
use ledger_store::records::{
    FeeCoverageDepositRecord, Record, TransferConfirmationRecord, TransferRecord,
    TransferRunExecutionRecord, TransferRunRecord,
};
use ledger_store::transfers::{FeeScheduleRow, TransferFilter, TransferRow};
use ledger_store::{BalanceBound, BalanceGuard, WriteRequest};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::batches::{MAX_BANK_REFERENCE_LENGTH, balanced, posting};
use crate::eligibility::{ConditionVerdictView, eligibility_from, parse_date, verdict_views};
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::{DecimalText, Money};
use crate::organisations::parse_id;
use crate::pagination::{Page, PageQuery, page};
use crate::problem::{ApiError, FieldError};
use crate::query::Query;
use ledger_app::Operation;
use ledger_app::policy::require;

/// The most characters of a fee-coverage deposit's reference.
pub const MAX_DEPOSIT_REFERENCE_LENGTH: usize = 140;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit_fee_coverage))
        .routes(routes!(get_fee_coverage))
        .routes(routes!(create_run))
        .routes(routes!(get_run))
        .routes(routes!(execute_run))
        .routes(routes!(list_transfers))
        .routes(routes!(get_transfer))
        .routes(routes!(confirm_transfer))
        .routes(routes!(return_held_funds))
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

/// A rate as used.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RateView {
    pub rate: String,
    /// `fixed_parity` or the recorded source.
    pub source: String,
}

impl From<&ExchangeRate> for RateView {
    fn from(rate: &ExchangeRate) -> Self {
        RateView {
            rate: rate.rate().to_string(),
            source: match rate.source() {
                RateSource::FixedParity => "fixed_parity".to_owned(),
                RateSource::Recorded { source } => source.clone(),
            },
        }
    }
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

// ---------------------------------------------------------------------------------------------
// Transfers and confirmations
// ---------------------------------------------------------------------------------------------

/// A beneficiary's confirmation as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationView {
    pub received: Money,
    pub value_date: String,
    pub bank_reference: String,
    pub fees_deducted: Option<Money>,
    /// Still missing after this confirmation for the chain to hold what was expected.
    pub shortfall: Money,
    pub surplus: Money,
    pub top_up_transfer_id: Option<Uuid>,
    pub transaction_id: Uuid,
}

/// A transfer and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    pub id: Uuid,
    /// transfer | top_up
    pub kind: String,
    /// pending | disputed | settled | topped_up
    pub status: String,
    pub run_id: Option<Uuid>,
    pub root_transfer_id: Uuid,
    pub parent_transfer_id: Option<Uuid>,
    pub programme_id: Uuid,
    pub beneficiary_id: Uuid,
    pub period: String,
    pub amount: Money,
    pub expected_fee: Money,
    pub rate: Option<RateView>,
    pub expected_local: Money,
    pub rounding_residue_minor: String,
    /// ISO 20022 EndToEndId for the bank instruction (32 characters).
    pub end_to_end_id: String,
    pub transaction_id: Uuid,
    pub created_at: String,
    pub confirmation: Option<ConfirmationView>,
    /// The claim awaiting the network's review while the status is `disputed`; every claim with
    /// its resolution is at `GET /v1/transfers/{id}/disputes`.
    pub dispute: Option<OpenDisputeView>,
}

/// A claim awaiting the network's review.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenDisputeView {
    pub id: Uuid,
    /// What the beneficiary says arrived.
    pub claimed_received: Money,
    /// The top-up that claim would need, from fee coverage.
    pub top_up_needed: Money,
}

fn row_of(record: &TransferRecord) -> TransferRow {
    TransferRow {
        id: record.id,
        kind: record.kind.to_owned(),
        run_id: record.run_id,
        root_transfer_id: record.root_transfer_id,
        parent_transfer_id: record.parent_transfer_id,
        programme_id: record.programme_id,
        beneficiary_id: record.beneficiary_id.as_uuid(),
        period: record.period.clone(),
        amount_minor: record.amount_minor,
        currency: record.currency.clone(),
        fee_minor: record.fee_minor,
        local_currency: record.local_currency.clone(),
        rate: record.rate.clone(),
        rate_source: record.rate_source.clone(),
        expected_local_minor: record.expected_local_minor,
        residue_minor: record.residue_minor.clone(),
        end_to_end_id: record.end_to_end_id.clone(),
        in_transit_account_id: record.in_transit_account_id.as_uuid(),
        transaction_id: record.transaction_id.as_uuid(),
        created_at: record.created_at.to_datetime(),
        received_minor: None,
        value_date: None,
        bank_reference: None,
        fees_deducted_minor: None,
        shortfall_minor: None,
        surplus_minor: None,
        top_up_transfer_id: None,
        confirmation_transaction_id: None,
        dispute_id: None,
        disputed_received_minor: None,
        disputed_top_up_minor: None,
    }
}

pub(crate) fn transfer_view(
    row: &TransferRow,
    confirmation: Option<&TransferConfirmationRecord>,
) -> Result<TransferView, ApiError> {
    let currency = stored_currency(&row.currency)?;
    let local = stored_currency(&row.local_currency)?;
    let confirmation = match confirmation {
        Some(record) => Some(ConfirmationView {
            received: Money::from_minor(record.received_minor, local),
            value_date: record.value_date.to_string(),
            bank_reference: record.bank_reference.clone(),
            fees_deducted: record
                .fees_deducted_minor
                .map(|minor| Money::from_minor(minor, local)),
            shortfall: Money::from_minor(record.shortfall_minor, local),
            surplus: Money::from_minor(record.surplus_minor, local),
            top_up_transfer_id: record.top_up_transfer_id,
            transaction_id: record.transaction_id.as_uuid(),
        }),
        None => match (
            row.received_minor,
            row.value_date,
            &row.bank_reference,
            row.confirmation_transaction_id,
        ) {
            (Some(received), Some(value_date), Some(bank_reference), Some(transaction)) => {
                Some(ConfirmationView {
                    received: Money::from_minor(received, local),
                    value_date: value_date.to_string(),
                    bank_reference: bank_reference.clone(),
                    fees_deducted: row
                        .fees_deducted_minor
                        .map(|minor| Money::from_minor(minor, local)),
                    shortfall: Money::from_minor(row.shortfall_minor.unwrap_or(0), local),
                    surplus: Money::from_minor(row.surplus_minor.unwrap_or(0), local),
                    top_up_transfer_id: row.top_up_transfer_id,
                    transaction_id: transaction,
                })
            }
            _ => None,
        },
    };
    let dispute = match (
        &confirmation,
        row.dispute_id,
        row.disputed_received_minor,
        row.disputed_top_up_minor,
    ) {
        (None, Some(id), Some(received), Some(top_up)) => Some(OpenDisputeView {
            id,
            claimed_received: Money::from_minor(received, local),
            top_up_needed: Money::from_minor(top_up, currency),
        }),
        _ => None,
    };
    let status = match &confirmation {
        None if dispute.is_some() => "disputed",
        None => "pending",
        Some(confirmed) if confirmed.top_up_transfer_id.is_some() => "topped_up",
        Some(_) => "settled",
    };
    Ok(TransferView {
        id: row.id,
        kind: row.kind.clone(),
        status: status.to_owned(),
        run_id: row.run_id,
        root_transfer_id: row.root_transfer_id,
        parent_transfer_id: row.parent_transfer_id,
        programme_id: row.programme_id,
        beneficiary_id: row.beneficiary_id,
        period: row.period.clone(),
        amount: Money::from_minor(row.amount_minor, currency),
        expected_fee: Money::from_minor(row.fee_minor, currency),
        rate: row.rate.as_ref().map(|rate| RateView {
            rate: rate.clone(),
            source: row.rate_source.clone().unwrap_or_default(),
        }),
        expected_local: Money::from_minor(row.expected_local_minor, local),
        rounding_residue_minor: row.residue_minor.clone(),
        end_to_end_id: row.end_to_end_id.clone(),
        transaction_id: row.transaction_id,
        created_at: Timestamp::from_datetime(row.created_at).to_canonical_string(),
        confirmation,
        dispute,
    })
}

/// Filters of the transfer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferListQuery {
    /// pending | disputed | settled | topped_up
    pub status: Option<String>,
    /// Admins and auditors may list one beneficiary's transfers.
    pub beneficiary_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// List transfers: a beneficiary its own; admins and auditors all.
#[utoipa::path(
    get, path = "/v1/transfers", tag = "transfers", params(TransferListQuery),
    responses((status = 200, body = Page<TransferView>), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_transfers(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<TransferListQuery>,
) -> Result<AppJson<Page<TransferView>>, ApiError> {
    require(Operation::ListTransfers, &principal)?;
    let (limit, after) = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .parse()?;
    if let Some(status) = &query.status
        && !matches!(
            status.as_str(),
            "pending" | "disputed" | "settled" | "topped_up"
        )
    {
        return Err(ApiError::invalid_field(
            "status",
            "must be pending, disputed, settled or topped_up",
        ));
    }
    let filter = TransferFilter {
        beneficiary_id: if principal.sees_everything() {
            query.beneficiary_id
        } else {
            Some(principal.organisation.as_uuid())
        },
        run_id: query.run_id,
        status: query.status.clone(),
    };
    let rows = state.store.transfers(&filter, after, limit + 1).await?;
    let listed = page(rows, limit, |row| row.id, |row| row);
    let items = listed
        .items
        .iter()
        .map(|row| transfer_view(row, None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppJson(Page {
        items,
        next_cursor: listed.next_cursor,
    }))
}

/// A transfer the caller may see, or 404 (another beneficiary's transfer is never disclosed).
pub(crate) async fn visible_transfer(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<TransferRow, ApiError> {
    require(Operation::ReadTransfer, principal)?;
    let not_found = || ApiError::not_found("no such transfer");
    let id = parse_id(id).ok_or_else(not_found)?;
    let transfer = state.store.transfer(id).await?.ok_or_else(not_found)?;
    if principal.sees_everything() || transfer.beneficiary_id == principal.organisation.as_uuid() {
        Ok(transfer)
    } else {
        Err(not_found())
    }
}

/// One transfer with its confirmation.
#[utoipa::path(
    get, path = "/v1/transfers/{id}", tag = "transfers",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TransferView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<TransferView>, ApiError> {
    let transfer = visible_transfer(&state, &principal, &id).await?;
    Ok(AppJson(transfer_view(&transfer, None)?))
}

/// An amount with its currency, as received.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    #[schema(value_type = String)]
    pub amount: DecimalText,
    pub currency: String,
}

/// What reached the beneficiary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTransfer {
    /// In the beneficiary's own currency.
    pub received: MoneyBody,
    /// The value date on the beneficiary's bank statement, `YYYY-MM-DD` between 2000-01-01 and
    /// 2099-12-31.
    #[schema(format = Date)]
    pub value_date: String,
    pub bank_reference: String,
    /// What the statement shows as deducted on the way, if it says.
    pub fees_deducted: Option<MoneyBody>,
}

/// The confirmed transfer and the top-up it caused, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationResult {
    pub transfer: TransferView,
    pub top_up: Option<TransferView>,
}

/// The rate a stored transfer used.
fn stored_rate(row: &TransferRow, local: Currency) -> Result<Option<ExchangeRate>, ApiError> {
    let Some(rate) = &row.rate else {
        return Ok(None);
    };
    if let Some(fixed) = ExchangeRate::fixed(eur(), local) {
        return Ok(Some(fixed));
    }
    let value: Decimal = rate.parse().map_err(ApiError::internal_message)?;
    ExchangeRate::recorded(
        eur(),
        local,
        value,
        row.rate_source.as_deref().unwrap_or_default(),
    )
    .map(Some)
    .map_err(ApiError::internal_message)
}

/// Confirm what a transfer delivered (the beneficiary, for its own transfer). A shortfall against
/// what was expected creates a top-up paid by fee coverage at once while it stays within the
/// transfer's expected fee plus the tolerance (`ledger_core::settlement::review_top_up`); beyond
/// that, the claim is recorded as a disputed settlement (202), no money moves, and an admin resolves
/// it with the bank statement. A surplus is recorded as such.
#[utoipa::path(
    post, path = "/v1/transfers/{id}/confirmation", tag = "transfers",
    request_body = ConfirmTransfer,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses(
        (status = 201, body = ConfirmationResult, description = "settled, with any top-up sent at once"),
        (status = 202, body = ConfirmationResult, description = "disputed: the claim waits for the network's review; no money moved"),
        (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "already confirmed, a claim is under review, or fee coverage cannot pay the top-up"),
        (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn confirm_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<ConfirmTransfer>,
) -> Result<Response, ApiError> {
    require(Operation::ConfirmTransfer, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let transfer = visible_transfer(&state, &principal, &id).await?;
    if transfer.received_minor.is_some() {
        return Err(ApiError::conflict(
            "already_confirmed",
            "this transfer was already confirmed",
        ));
    }
    if transfer.dispute_id.is_some() {
        return Err(disputed_conflict());
    }
    let local = stored_currency(&transfer.local_currency)?;
    let body = &request.body;
    let mut errors = Vec::new();
    let received_currency_ok = body.received.currency == local.code();
    if !received_currency_ok {
        errors.push(FieldError::new(
            "received.currency",
            format!("must be {local}, the beneficiary's currency"),
        ));
    }
    let received = body
        .received
        .amount
        .positive_amount("received.amount", local, &mut errors);
    let value_date = parse_date(&body.value_date, "value_date", &mut errors);
    if let Some(date) = value_date
        && let Err(error) = check_value_date(
            date.naive(),
            transfer.created_at.date_naive(),
            Utc::now().date_naive(),
        )
    {
        errors.push(FieldError::new("value_date", error.to_string()));
    }
    let bank_reference = crate::batches::text_field(
        "bank_reference",
        &body.bank_reference,
        MAX_BANK_REFERENCE_LENGTH,
        ledger_core::text::TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let fees_deducted = match &body.fees_deducted {
        None => None,
        Some(fees) => {
            if fees.currency != local.code() {
                errors.push(FieldError::new(
                    "fees_deducted.currency",
                    format!("must be {local}, the beneficiary's currency"),
                ));
                None
            } else {
                let amount = fees
                    .amount
                    .amount("fees_deducted.amount", local, &mut errors);
                if amount.is_some_and(|amount| amount.is_negative()) {
                    errors.push(FieldError::new(
                        "fees_deducted.amount",
                        "must not be negative",
                    ));
                }
                amount
            }
        }
    };
    let (Some(received), Some(value_date), true) = (received, value_date, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let chain = chain_of(&state, &transfer).await?;
    let outcome = chain_outcome(&state, &chain, &transfer, received).await?;
    let claim = Claim {
        received,
        value_date,
        bank_reference,
        fees_deducted,
    };
    if outcome.shortfall.is_positive() {
        let rate = stored_rate(&transfer, local)?;
        let top_up = top_up_for(outcome.shortfall, chain.currency, rate.as_ref())
            .map_err(ApiError::internal_message)?;
        let already_paid = chain.amount(
            state
                .store
                .chain_top_ups_paid(transfer.root_transfer_id)
                .await?,
        )?;
        let expected_fee = chain.amount(chain.root.fee_minor)?;
        let review = review_top_up(top_up, already_paid, expected_fee)
            .map_err(ApiError::internal_message)?;
        if review == TopUpReview::Disputed {
            let allowance =
                immediate_top_up_allowance(expected_fee).map_err(ApiError::internal_message)?;
            return crate::disputes::record_claim(
                &state,
                &principal,
                &request,
                &transfer,
                &claim,
                crate::disputes::ClaimReview {
                    shortfall: outcome.shortfall,
                    top_up,
                    already_paid,
                    allowance,
                },
            )
            .await;
        }
    }
    let booked = book_settlement(
        &state,
        &principal,
        &transfer,
        &chain,
        &claim,
        outcome,
        serde_json::Map::new(),
    )
    .await?;
    let in_transit_id = booked.in_transit_id;
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &booked.view,
            booked.write,
            move |account, _| settlement_guard_failed(account, in_transit_id),
        )
        .await
}

/// The 409 of a transfer whose claim awaits the network's review.
pub(crate) fn disputed_conflict() -> ApiError {
    ApiError::conflict(
        "disputed",
        "a claim on this transfer awaits the network's review of the bank statement; nothing can be confirmed until it is resolved",
    )
}

/// The error of a settlement's failed balance guard: the transfer was confirmed meanwhile, or fee
/// coverage cannot pay the top-up.
pub(crate) fn settlement_guard_failed(
    account: ledger_core::AccountId,
    in_transit: ledger_core::AccountId,
) -> ApiError {
    if account == in_transit {
        ApiError::conflict("already_confirmed", "this transfer was already confirmed")
    } else {
        ApiError::conflict(
            "fee_coverage_insufficient",
            "fee coverage cannot pay the top-up this shortfall needs; deposit into fee coverage, then confirm again",
        )
    }
}

/// What a confirmation says arrived (the beneficiary's, or as the network established it).
pub(crate) struct Claim<'a> {
    pub received: Amount,
    pub value_date: FundDate,
    pub bank_reference: &'a str,
    pub fees_deducted: Option<Amount>,
}

/// What a confirmation is judged against: the beneficiary, the programme, and the chain's original
/// transfer (whose expected local amount and expected fee bound the chain).
pub(crate) struct Chain {
    pub beneficiary: Organisation,
    pub programme: Programme,
    pub root: TransferRow,
    /// The transfers' currency (EUR).
    pub currency: Currency,
    /// The beneficiary's currency.
    pub local: Currency,
}

impl Chain {
    /// An amount in the transfers' currency.
    pub fn amount(&self, minor: i64) -> Result<Amount, ApiError> {
        Amount::from_minor(minor, self.currency).map_err(ApiError::internal_message)
    }
}

pub(crate) async fn chain_of(state: &AppState, transfer: &TransferRow) -> Result<Chain, ApiError> {
    let beneficiary = state
        .store
        .organisation(OrganisationId::from_uuid(transfer.beneficiary_id))
        .await?
        .ok_or_else(|| ApiError::internal_message("a transfer names an unknown beneficiary"))?;
    let programme = state
        .store
        .programme(transfer.programme_id)
        .await?
        .ok_or_else(|| ApiError::internal_message("a transfer names an unknown programme"))?;
    let root = if transfer.root_transfer_id == transfer.id {
        transfer.clone()
    } else {
        state
            .store
            .transfer(transfer.root_transfer_id)
            .await?
            .ok_or_else(|| ApiError::internal_message("a top-up names an unknown transfer"))?
    };
    Ok(Chain {
        beneficiary,
        programme,
        root,
        currency: stored_currency(&transfer.currency)?,
        local: stored_currency(&transfer.local_currency)?,
    })
}

/// Where the chain stands if `received` is what this transfer delivered.
pub(crate) async fn chain_outcome(
    state: &AppState,
    chain: &Chain,
    transfer: &TransferRow,
    received: Amount,
) -> Result<SettlementOutcome, ApiError> {
    let already = state
        .store
        .chain_received(transfer.root_transfer_id)
        .await?;
    let amount_of =
        |minor: i64| Amount::from_minor(minor, chain.local).map_err(ApiError::internal_message);
    settle(
        amount_of(chain.root.expected_local_minor)?,
        amount_of(
            already
                .checked_add(received.minor())
                .ok_or_else(|| ApiError::internal_message("overflow"))?,
        )?,
    )
    .map_err(ApiError::internal_message)
}

/// A settlement ready to write: its transactions, guards and records, and the answer.
pub(crate) struct BookedSettlement {
    pub write: WriteRequest,
    pub view: ConfirmationResult,
    pub in_transit_id: ledger_core::AccountId,
    pub transaction_id: TransactionId,
    pub top_up_id: Option<Uuid>,
}

/// The settlement of `transfer` with what `claim` says arrived, and the top-up the chain's
/// shortfall needs, if any (the caller decided it may be paid). `extra_metadata` goes into the
/// settlement's journal metadata (a dispute resolution's evidence).
pub(crate) async fn book_settlement(
    state: &AppState,
    principal: &Principal,
    transfer: &TransferRow,
    chain: &Chain,
    claim: &Claim<'_>,
    outcome: SettlementOutcome,
    extra_metadata: serde_json::Map<String, serde_json::Value>,
) -> Result<BookedSettlement, ApiError> {
    let (currency, local) = (chain.currency, chain.local);
    let (beneficiary, programme) = (&chain.beneficiary, &chain.programme);
    let received = claim.received;
    let now = Utc::now();
    let sent = chain.amount(transfer.amount_minor)?;
    let fee = chain.amount(transfer.fee_minor)?;
    let in_transit = chart::transfer_in_transit(transfer.id, beneficiary.id, currency);
    let bank = chart::fund_bank(currency);
    let reserved = chart::fee_coverage_reserved(currency);
    let conversion = chart::fx_conversion(local);
    let advance = chart::beneficiary_advance(beneficiary.id, local);
    let mut postings = vec![
        posting(&in_transit, sent),
        posting(&bank, sent.negated()),
        posting(&conversion, received),
        posting(&advance, received.negated()),
    ];
    if fee.is_positive() {
        // The bank's fee for sending is paid from the fee coverage reserved for it, never the pool.
        postings.push(posting(&reserved, fee));
        postings.push(posting(&bank, fee.negated()));
    }
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("transfer_id".into(), transfer.id.to_string().into());
    metadata.insert("bank_reference".into(), claim.bank_reference.into());
    metadata.insert("value_date".into(), claim.value_date.to_string().into());
    metadata.insert("received".into(), received.to_decimal_string().into());
    metadata.insert("received_currency".into(), local.code().into());
    metadata.extend(extra_metadata);
    let settlement = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Settlement,
            effective_date: claim.value_date.naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: format!(
                "{} confirmed {received} for transfer {}",
                beneficiary.slug, transfer.end_to_end_id
            ),
            metadata,
            postings,
        },
        &[&in_transit, &bank, &reserved, &conversion, &advance],
    )?;
    let mut transactions = vec![settlement];
    let mut records = vec![
        Record::Account(conversion),
        Record::Account(advance),
        Record::Account(reserved),
    ];
    let mut guards = vec![BalanceGuard {
        // A second confirmation would leave the transfer's in-transit account in debit.
        account_id: in_transit.id,
        bound: BalanceBound::AtMost(0),
    }];
    let mut top_up = None;
    if outcome.shortfall.is_positive() {
        let rate = stored_rate(transfer, local)?;
        let amount = top_up_for(outcome.shortfall, currency, rate.as_ref())
            .map_err(ApiError::internal_message)?;
        // The beneficiary's own schedule, else the programme's (as a run reads them).
        let schedule = match state.store.fee_schedule(beneficiary.id.as_uuid()).await? {
            Some(own) => Some(own),
            None => state.store.fee_schedule(programme.id).await?,
        };
        let schedule = fee_schedule_of(schedule.as_ref())?;
        let top_up_fee = schedule
            .expected_fee(amount)
            .map_err(ApiError::internal_message)?;
        let coverage = chart::fee_coverage(currency);
        let mut new = new_transfer(
            principal,
            programme,
            &transfer.period,
            transfer.run_id,
            Some((transfer.root_transfer_id, transfer.id)),
            beneficiary,
            amount,
            top_up_fee,
            rate.as_ref(),
            vec![(coverage.clone(), amount)],
            TransactionKind::TopUp,
        )?;
        // A top-up is paid by fee coverage: it must not go into debit.
        guards.push(BalanceGuard {
            account_id: coverage.id,
            bound: BalanceBound::AtMost(0),
        });
        new.record.created_by = principal.subject.clone();
        records.extend(new.accounts.iter().cloned().map(Record::Account));
        transactions.push(new.transaction);
        top_up = Some(new.record);
    }
    let confirmation = TransferConfirmationRecord {
        transfer_id: transfer.id,
        received_minor: received.minor(),
        received_currency: local.code().to_owned(),
        value_date: claim.value_date,
        bank_reference: claim.bank_reference.to_owned(),
        fees_deducted_minor: claim.fees_deducted.map(|amount| amount.minor()),
        shortfall_minor: outcome.shortfall.minor(),
        surplus_minor: outcome.surplus.minor(),
        top_up_transfer_id: top_up.as_ref().map(|record| record.id),
        transaction_id,
        confirmed_by: principal.subject.clone(),
        created_at: Timestamp::from_datetime(now),
    };
    let mut settled = transfer.clone();
    // The claim, if there was one, is resolved by this settlement.
    settled.dispute_id = None;
    settled.disputed_received_minor = None;
    settled.disputed_top_up_minor = None;
    let view = ConfirmationResult {
        transfer: transfer_view(&settled, Some(&confirmation))?,
        top_up: top_up
            .as_ref()
            .map(|record| transfer_view(&row_of(record), None))
            .transpose()?,
    };
    let top_up_id = top_up.as_ref().map(|record| record.id);
    if let Some(record) = top_up {
        records.push(Record::Transfer(Box::new(record)));
    }
    records.push(Record::TransferConfirmation(confirmation));
    Ok(BookedSettlement {
        write: WriteRequest {
            transactions,
            guards,
            records,
            ..WriteRequest::default()
        },
        view,
        in_transit_id: in_transit.id,
        transaction_id,
        top_up_id,
    })
}

/// Why held funds go back to the pool.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnHeldFunds {
    pub reason: String,
}

/// What a return of held funds did.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldFundsReturnView {
    pub programme_id: Uuid,
    pub beneficiary_id: Uuid,
    pub returned: Money,
    pub reason: String,
    pub transaction_id: Uuid,
}

/// Return what is held for a beneficiary to the pool (admin), with a reason: the next run shares it
/// among all beneficiaries again.
#[utoipa::path(
    post, path = "/v1/programmes/{id}/held-funds/{beneficiary_id}/return", tag = "transfers",
    request_body = ReturnHeldFunds,
    params(("id" = Uuid, Path), ("beneficiary_id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = HeldFundsReturnView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn return_held_funds(
    State(state): State<AppState>,
    principal: Principal,
    Path((programme_id, beneficiary_id)): Path<(String, String)>,
    request: Idempotent<ReturnHeldFunds>,
) -> Result<Response, ApiError> {
    require(Operation::ReturnHeldFunds, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let programme = match parse_id(&programme_id) {
        Some(id) => state.store.programme(id).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::not_found("no such programme"))?;
    let beneficiary = match parse_id(&beneficiary_id) {
        Some(id) => {
            state
                .store
                .organisation(OrganisationId::from_uuid(id))
                .await?
        }
        None => None,
    }
    .ok_or_else(|| ApiError::not_found("no such beneficiary"))?;
    let reason = crate::batches::reason_field(&request.body.reason)?;
    let currency = programme.currency;
    let held = chart::programme_held(programme.id, beneficiary.id, currency);
    let pool = chart::programme_pool(programme.id, currency);
    let amount = Amount::from_minor(credit_balance(&state, &held).await?, currency)
        .map_err(ApiError::internal_message)?;
    if !amount.is_positive() {
        return Err(ApiError::conflict(
            "nothing_held",
            format!("nothing is held for {} in this programme", beneficiary.slug),
        ));
    }
    let now = Utc::now();
    let transaction_id = TransactionId::from_uuid(Uuid::now_v7());
    let mut metadata = serde_json::Map::new();
    metadata.insert("beneficiary_id".into(), beneficiary.id.to_string().into());
    metadata.insert("reason".into(), reason.as_str().into());
    let transaction = balanced(
        TransactionDraft {
            id: transaction_id,
            kind: TransactionKind::Adjustment,
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor: principal.actor(),
            memo: ledger_core::memo::held_funds_return(&beneficiary.slug, &reason),
            metadata,
            postings: vec![posting(&held, amount), posting(&pool, amount.negated())],
        },
        &[&held, &pool],
    )?;
    let view = HeldFundsReturnView {
        programme_id: programme.id,
        beneficiary_id: beneficiary.id.as_uuid(),
        returned: amount.into(),
        reason: reason.as_str().to_owned(),
        transaction_id: transaction_id.as_uuid(),
    };
    let write = WriteRequest {
        transactions: vec![transaction],
        // A run may have released the hold meanwhile: never return more than is held.
        guards: vec![BalanceGuard {
            account_id: held.id,
            bound: BalanceBound::AtMost(0),
        }],
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
                    "nothing_held",
                    "the held funds moved meanwhile (a run released them); nothing was returned",
                )
            },
        )
        .await
}
