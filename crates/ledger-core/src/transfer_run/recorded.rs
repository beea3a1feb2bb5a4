//! A transfer run's plan as recorded: what was planned (shown to the network, read by auditors)
//! and what its execution takes back (the rates it was planned with), and the fingerprint of the
//! balances and eligibility it was computed from, which execution compares to refuse a stale plan.
//!
//! The recorded form is JSON (the `transfer_runs.plan` column). Its shape is the plan as the API
//! has always shown it, so plans recorded before this type existed still read and execute.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{PlanTotals, PlannedShare, ShareOutcome, TransferPlan};
use crate::conditions::ConditionVerdict;
use crate::fx::{ExchangeRate, RateSource};
use crate::journal::OrganisationId;
use crate::money::{Amount, Currency};
use crate::period::Period;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Computed and shown, never recorded.
    DryRun,
    /// Recorded, waiting for its execution.
    Planned,
    /// Executed: its transfers and holds are booked.
    Executed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::DryRun => "dry_run",
            RunStatus::Planned => "planned",
            RunStatus::Executed => "executed",
        }
    }
}

/// A rate as recorded: its decimal text and where it comes from (`fixed_parity` or the source
/// given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRate {
    pub rate: String,
    pub source: String,
}

impl From<&ExchangeRate> for RecordedRate {
    fn from(rate: &ExchangeRate) -> Self {
        RecordedRate {
            rate: rate.rate().to_string(),
            source: match rate.source() {
                RateSource::FixedParity => "fixed_parity".to_owned(),
                RateSource::Recorded { source } => source.clone(),
            },
        }
    }
}

impl RecordedRate {
    /// The rate from `from` into the currency `code`, if it still reads as one.
    pub fn exchange_rate(&self, from: Currency, code: &str) -> Option<ExchangeRate> {
        let currency = Currency::from_code(code).ok()?;
        let rate = Decimal::from_str(&self.rate).ok()?;
        ExchangeRate::recorded(from, currency, rate, &self.source).ok()
    }
}

/// One condition's verdict as recorded with a share (without the facts it used: those are at the
/// beneficiary's eligibility).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedVerdict {
    pub code: String,
    pub passed: bool,
    /// Decimal text, when the condition takes one.
    pub parameter: Option<String>,
    pub observed: Option<String>,
    pub explanation: String,
}

impl From<&ConditionVerdict> for RecordedVerdict {
    fn from(verdict: &ConditionVerdict) -> Self {
        RecordedVerdict {
            code: verdict.code.as_str().to_owned(),
            passed: verdict.passed,
            parameter: verdict.parameter.map(|parameter| parameter.to_string()),
            observed: verdict.observed.clone(),
            explanation: verdict.explanation.clone(),
        }
    }
}

/// One beneficiary's line of a recorded plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedShare {
    pub beneficiary_id: OrganisationId,
    /// The beneficiary's slug.
    pub beneficiary: String,
    pub outcome: ShareOutcome,
    pub eligible: bool,
    pub failing_conditions: Vec<String>,
    pub conditions: Vec<RecordedVerdict>,
    pub weight: u64,
    pub pool_share: Amount,
    pub earmarked: Amount,
    pub held_before: Amount,
    pub transfer: Amount,
    pub newly_held: Amount,
    pub carried_forward: Amount,
    pub expected_fee: Amount,
    /// The beneficiary's currency.
    pub currency: Currency,
    pub rate: Option<RecordedRate>,
    pub expected_local: Option<Amount>,
    /// What rounding once left out, in the local minor unit (decimal text).
    pub rounding_residue_minor: Option<String>,
    pub rate_missing: bool,
}

/// A transfer run's plan as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPlan {
    /// Absent for a dry run.
    pub id: Option<Uuid>,
    pub status: RunStatus,
    pub programme_id: Uuid,
    pub period: String,
    /// The end of the period: receipts and facts up to this date count.
    pub as_of: NaiveDate,
    /// The rates given for currencies without a fixed parity, by code.
    pub rates: BTreeMap<String, RecordedRate>,
    /// Currencies whose rate execution still needs.
    pub missing_rates: Vec<Currency>,
    pub totals: PlanTotals,
    pub shares: Vec<RecordedShare>,
    pub execution_transaction_id: Option<Uuid>,
}

/// What a plan's lines name besides the plan itself: each beneficiary's slug and verdicts.
#[derive(Debug, Clone, Default)]
pub struct ShareLabels {
    pub slugs: HashMap<OrganisationId, String>,
    pub verdicts: HashMap<OrganisationId, Vec<RecordedVerdict>>,
}

impl RecordedShare {
    fn of(share: &PlannedShare, labels: &ShareLabels) -> RecordedShare {
        let expected = share.expected_local.as_ref();
        RecordedShare {
            beneficiary_id: share.beneficiary_id,
            beneficiary: labels
                .slugs
                .get(&share.beneficiary_id)
                .cloned()
                .unwrap_or_default(),
            outcome: share.outcome,
            eligible: share.eligible,
            failing_conditions: share
                .failing_conditions
                .iter()
                .map(|code| code.as_str().to_owned())
                .collect(),
            conditions: labels
                .verdicts
                .get(&share.beneficiary_id)
                .cloned()
                .unwrap_or_default(),
            weight: share.weight,
            pool_share: share.pool_share,
            earmarked: share.earmarked,
            held_before: share.held_before,
            transfer: share.transfer,
            newly_held: share.newly_held,
            carried_forward: share.carried_forward,
            expected_fee: share.expected_fee,
            currency: share.currency,
            rate: expected
                .and_then(|expected| expected.rate.as_ref())
                .map(RecordedRate::from),
            expected_local: expected.map(|expected| expected.amount),
            rounding_residue_minor: expected.map(|expected| expected.residue_minor.to_string()),
            rate_missing: share.rate_missing,
        }
    }
}

impl RecordedPlan {
    /// The plan of `programme_id` for `period`, computed with the `given` rates.
    pub fn new(
        id: Option<Uuid>,
        status: RunStatus,
        programme_id: Uuid,
        period: Period,
        given: &BTreeMap<String, ExchangeRate>,
        plan: &TransferPlan,
        labels: &ShareLabels,
    ) -> RecordedPlan {
        RecordedPlan {
            id,
            status,
            programme_id,
            period: period.to_string(),
            as_of: period.end(),
            rates: given
                .iter()
                .map(|(code, rate)| (code.clone(), RecordedRate::from(rate)))
                .collect(),
            missing_rates: plan.missing_rates(),
            totals: plan.totals,
            shares: plan
                .shares
                .iter()
                .map(|share| RecordedShare::of(share, labels))
                .collect(),
            execution_transaction_id: None,
        }
    }

    /// Reads a recorded plan (JSON).
    pub fn from_json(text: &str) -> Result<RecordedPlan, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The recorded form (JSON).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The rates the plan was made with, from `from` (the programme's currency), by code; a rate
    /// that no longer reads as one is left out (execution then asks for it again).
    pub fn given_rates(&self, from: Currency) -> BTreeMap<String, ExchangeRate> {
        self.rates
            .iter()
            .filter_map(|(code, rate)| {
                let rate = rate.exchange_rate(from, code)?;
                Some((rate.to().code().to_owned(), rate))
            })
            .collect()
    }

    /// The plan marked executed by `transaction` (its first transaction).
    pub fn executed(self, transaction: Uuid) -> RecordedPlan {
        RecordedPlan {
            status: RunStatus::Executed,
            execution_transaction_id: Some(transaction),
            ..self
        }
    }
}

/// What a plan was computed from, as far as execution must find it unchanged: the pool and fee
/// coverage, and each beneficiary's weight, earmarked funds, holds and eligibility (balances as
/// credit minor units, shown positive). Recorded as text: `pool=P;coverage=C` then
/// `;<id>:<weight>:<earmarked>:<held>:<eligible>` per beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFingerprint {
    pub pool: i64,
    pub coverage: i64,
    pub beneficiaries: Vec<BeneficiaryFingerprint>,
}

/// One beneficiary's part of a [`PlanFingerprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeneficiaryFingerprint {
    pub id: OrganisationId,
    pub weight: u64,
    pub earmarked: i64,
    pub held: i64,
    pub eligible: bool,
}

impl fmt::Display for PlanFingerprint {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "pool={};coverage={}", self.pool, self.coverage)?;
        for line in &self.beneficiaries {
            write!(
                formatter,
                ";{}:{}:{}:{}:{}",
                line.id, line.weight, line.earmarked, line.held, line.eligible
            )?;
        }
        Ok(())
    }
}

/// A recorded fingerprint that does not read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a plan fingerprint: {0}")]
pub struct FingerprintError(String);

impl FromStr for PlanFingerprint {
    type Err = FingerprintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || FingerprintError(text.chars().take(80).collect());
        let mut parts = text.split(';');
        let mut field = |name: &str| -> Result<i64, FingerprintError> {
            parts
                .next()
                .and_then(|part| part.strip_prefix(name))
                .and_then(|value| value.parse().ok())
                .ok_or_else(error)
        };
        let pool = field("pool=")?;
        let coverage = field("coverage=")?;
        let beneficiaries = parts
            .map(|part| {
                let fields: Vec<&str> = part.split(':').collect();
                let [id, weight, earmarked, held, eligible] = fields.as_slice() else {
                    return Err(error());
                };
                Ok(BeneficiaryFingerprint {
                    id: id.parse().map_err(|_| error())?,
                    weight: weight.parse().map_err(|_| error())?,
                    earmarked: earmarked.parse().map_err(|_| error())?,
                    held: held.parse().map_err(|_| error())?,
                    eligible: eligible.parse().map_err(|_| error())?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PlanFingerprint {
            pool,
            coverage,
            beneficiaries,
        })
    }
}

impl PlanFingerprint {
    /// Whether a recorded fingerprint (text) is this one: a plan whose inputs moved, or whose
    /// fingerprint does not read, is stale.
    pub fn matches(&self, recorded: &str) -> bool {
        recorded.parse::<PlanFingerprint>().as_ref() == Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PeriodKind;
    use crate::conditions::Eligibility;
    use crate::organisation::ConditionCode;
    use crate::settlement::FeeSchedule;
    use crate::transfer_run::{BeneficiaryInput, PlanInput, plan};

    #[test]
    fn a_fingerprint_reads_back_from_its_text_and_any_change_is_stale() {
        // Proves the fingerprint's recorded text is the one runs always recorded, reads back to
        // the same value, and that a moved balance, a changed eligibility or a malformed record
        // no longer matches.
        let id = OrganisationId::from_uuid(Uuid::from_u128(3));
        let fingerprint = PlanFingerprint {
            pool: 100_000,
            coverage: -5,
            beneficiaries: vec![BeneficiaryFingerprint {
                id,
                weight: 600,
                earmarked: 0,
                held: 2_500,
                eligible: true,
            }],
        };
        let text = fingerprint.to_string();
        assert_eq!(
            text,
            format!("pool=100000;coverage=-5;{id}:600:0:2500:true")
        );
        assert!(fingerprint.matches(&text));
        assert!(!fingerprint.matches(&text.replace("2500", "2501")));
        assert!(!fingerprint.matches(&text.replace("true", "false")));
        assert!(!fingerprint.matches("pool=100000"));
        assert!(!fingerprint.matches(""));
        let empty = PlanFingerprint {
            pool: 0,
            coverage: 0,
            beneficiaries: Vec::new(),
        };
        assert!(empty.matches("pool=0;coverage=0"));
    }

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    #[test]
    fn a_recorded_plan_reads_back_with_its_rates() {
        // Proves a plan survives its recorded form unchanged (the same value after JSON), that
        // execution gets back the rates it was planned with (a given rate and a fixed parity
        // given explicitly), and that a plan recorded by earlier versions, with facts under each
        // verdict, still reads.
        let cdf = Currency::from_code("CDF").unwrap();
        let beneficiary = OrganisationId::from_uuid(Uuid::from_u128(1));
        let input = PlanInput {
            pool: eur(1_000_000),
            minimum_transfer: eur(10_000),
            fee_coverage: eur(100_000),
            beneficiaries: vec![BeneficiaryInput {
                id: beneficiary,
                weight: 10,
                currency: cdf,
                eligibility: Eligibility {
                    eligible: true,
                    as_of: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                    conditions: Vec::new(),
                },
                earmarked: eur(0),
                held: eur(0),
                fee_schedule: FeeSchedule::none(Currency::eur()),
            }],
            rates: BTreeMap::new(),
        };
        let rate =
            ExchangeRate::recorded(Currency::eur(), cdf, Decimal::new(31005, 1), "BCC fixing")
                .unwrap();
        let given: BTreeMap<String, ExchangeRate> = [("CDF".to_owned(), rate.clone())].into();
        let with_rate = PlanInput {
            rates: given.clone(),
            ..input
        };
        let computed = plan(&with_rate).unwrap();
        let labels = ShareLabels {
            slugs: [(beneficiary, "mutuelle-kin".to_owned())].into(),
            verdicts: [(
                beneficiary,
                vec![RecordedVerdict {
                    code: ConditionCode::PublicCofinancing.as_str().to_owned(),
                    passed: true,
                    parameter: Some("0.2".to_owned()),
                    observed: None,
                    explanation: "ok".to_owned(),
                }],
            )]
            .into(),
        };
        let period = Period::parse("2026-11", PeriodKind::Month).unwrap();
        let recorded = RecordedPlan::new(
            Some(Uuid::from_u128(9)),
            RunStatus::Planned,
            Uuid::from_u128(8),
            period,
            &given,
            &computed,
            &labels,
        );
        let json = recorded.to_json().unwrap();
        assert_eq!(RecordedPlan::from_json(&json).unwrap(), recorded);
        assert_eq!(recorded.given_rates(Currency::eur()), given);
        assert_eq!(recorded.shares[0].beneficiary, "mutuelle-kin");
        assert_eq!(recorded.shares[0].outcome, ShareOutcome::Transfer);
        assert_eq!(recorded.as_of.to_string(), "2026-11-30");
        // The form earlier versions recorded: the view, with facts under each verdict.
        let mut earlier: serde_json::Value = serde_json::from_str(&json).unwrap();
        earlier["shares"][0]["conditions"][0]["facts"] = serde_json::json!([]);
        let read = RecordedPlan::from_json(&earlier.to_string()).unwrap();
        assert_eq!(read, recorded);
        let executed = read.executed(Uuid::from_u128(77));
        assert_eq!(executed.status, RunStatus::Executed);
        assert_eq!(executed.execution_transaction_id, Some(Uuid::from_u128(77)));
    }

    #[test]
    fn a_plan_recorded_by_an_earlier_version_reads_and_gives_back_its_rates() {
        // Proves a plan stored before the plan was a core value (the API's view, written out
        // field by field, facts under each verdict, an XOF share at its fixed parity) still
        // reads, so runs planned before an upgrade still execute with the rates they were
        // planned with.
        let money = |amount: &str, currency: &str| {
            format!(r#"{{"amount":"{amount}","currency":"{currency}"}}"#)
        };
        let eur = |amount: &str| money(amount, "EUR");
        let stored = format!(
            r#"{{"id":"0190a0b0-0000-7000-8000-000000000001","status":"planned","programme_id":"0190a0b0-0000-7000-8000-000000000002","period":"2026-11","as_of":"2026-11-30","rates":{{"CDF":{{"rate":"3100.5","source":"BCC fixing"}}}},"missing_rates":[],"totals":{{"pool":{p},"transferred":{p},"transferred_from_pool":{p},"earmarked_transferred":{z},"holds_released":{z},"newly_held":{z},"carried_forward":{z},"expected_fees":{f},"fee_coverage":{c}}},"shares":[{{"beneficiary_id":"0190a0b0-0000-7000-8000-000000000003","beneficiary":"mutuelle-a","outcome":"transfer","eligible":true,"failing_conditions":[],"conditions":[{{"code":"mutual_operational","passed":true,"parameter":null,"observed":"true","explanation":"operational","facts":[]}}],"weight":600,"pool_share":{p},"earmarked":{z},"held_before":{z},"transfer":{p},"newly_held":{z},"carried_forward":{z},"expected_fee":{f},"currency":"XOF","rate":{{"rate":"655.957","source":"fixed_parity"}},"expected_local":{l},"rounding_residue_minor":"0.0","rate_missing":false}}],"execution_transaction_id":null}}"#,
            p = eur("6000.00"),
            z = eur("0.00"),
            f = eur("15.00"),
            c = eur("500.00"),
            l = money("3935742", "XOF"),
        );
        let plan = RecordedPlan::from_json(&stored).unwrap();
        assert_eq!(plan.status, RunStatus::Planned);
        assert_eq!(plan.shares[0].outcome, ShareOutcome::Transfer);
        assert_eq!(plan.shares[0].expected_local.unwrap().minor(), 3_935_742);
        assert_eq!(plan.totals.expected_fees, eur_amount(1_500));
        let rates = plan.given_rates(Currency::eur());
        assert_eq!(rates.len(), 1);
        assert_eq!(rates["CDF"].rate(), Decimal::new(31005, 1));
        assert_eq!(
            rates["CDF"].source(),
            &RateSource::Recorded {
                source: "BCC fixing".to_owned()
            }
        );
    }

    fn eur_amount(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }
}
