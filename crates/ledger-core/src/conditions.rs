//! Redistribution conditions: whether a southern mutual may receive money, decided from recorded
//! facts (and, for reporting, from the ledger itself). Every verdict names the parameter, what was
//! observed and the facts it used, so an auditor can replay why a share was paid or held.
//!
//! Facts are append-only: the one that counts for a code is the latest whose `as_of` is on or before
//! the evaluation date (among equal dates, the one recorded last), among the facts that count
//! ([`FactStatus::counts`]): a fact a beneficiary declares about itself is `submitted` and counts
//! only once the network has verified it; the network's own facts are verified when posted.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::organisation::{ConditionCode, ConditionRule};
pub use crate::review::FactStatus;
use crate::time::FundDate;

/// The most characters of a fact's evidence reference (a document number, a file name, a link).
pub const MAX_EVIDENCE_REFERENCE_LENGTH: usize = 500;
/// The most characters of a fact's value as text.
pub const MAX_FACT_VALUE_LENGTH: usize = 100;
/// Months within which a general assembly must have been held when the `governance` condition has
/// no parameter.
pub const DEFAULT_GOVERNANCE_MONTHS: u32 = 12;

/// What a fact states. Each condition reads the fact codes listed in [`ConditionCode::fact_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactCode {
    /// `true`/`false`: the mutual is registered and pays benefits.
    MutualOperational,
    /// `true`/`false`: members' health-insurance contribution rates are adopted.
    ContributionRatesDefined,
    /// Percent: local members' contributions as a share of the planned transfer (the mutual's budget).
    LocalCofinancingPercent,
    /// Percent: the public authorities' contribution as a share of the planned transfer.
    PublicCofinancingPercent,
    /// Percent: administration costs as a share of the mutual's spending.
    AdminCostPercent,
    /// Date (`YYYY-MM-DD`) of the last general assembly.
    GeneralAssemblyDate,
}

impl FactCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            FactCode::MutualOperational => "mutual_operational",
            FactCode::ContributionRatesDefined => "contribution_rates_defined",
            FactCode::LocalCofinancingPercent => "local_cofinancing_percent",
            FactCode::PublicCofinancingPercent => "public_cofinancing_percent",
            FactCode::AdminCostPercent => "admin_cost_percent",
            FactCode::GeneralAssemblyDate => "general_assembly_date",
        }
    }

    pub fn parse(text: &str) -> Option<FactCode> {
        Some(match text {
            "mutual_operational" => FactCode::MutualOperational,
            "contribution_rates_defined" => FactCode::ContributionRatesDefined,
            "local_cofinancing_percent" => FactCode::LocalCofinancingPercent,
            "public_cofinancing_percent" => FactCode::PublicCofinancingPercent,
            "admin_cost_percent" => FactCode::AdminCostPercent,
            "general_assembly_date" => FactCode::GeneralAssemblyDate,
            _ => return None,
        })
    }

    /// Every fact code, for error messages and documentation.
    pub const ALL: [FactCode; 6] = [
        FactCode::MutualOperational,
        FactCode::ContributionRatesDefined,
        FactCode::LocalCofinancingPercent,
        FactCode::PublicCofinancingPercent,
        FactCode::AdminCostPercent,
        FactCode::GeneralAssemblyDate,
    ];

    /// Parses a value of this code from its text form; the error says what is expected.
    pub fn parse_value(&self, text: &str) -> Result<FactValue, String> {
        match self {
            FactCode::MutualOperational | FactCode::ContributionRatesDefined => match text {
                "true" => Ok(FactValue::Flag(true)),
                "false" => Ok(FactValue::Flag(false)),
                _ => Err("must be `true` or `false`".to_owned()),
            },
            FactCode::LocalCofinancingPercent
            | FactCode::PublicCofinancingPercent
            | FactCode::AdminCostPercent => parse_percent(text).map(FactValue::Percent),
            FactCode::GeneralAssemblyDate => FundDate::parse(text)
                .map(|date| FactValue::Date(date.naive()))
                .map_err(|error| error.to_string()),
        }
    }
}

/// Parses a percentage between 0 and 1000 written as a plain decimal (`"12.5"`).
pub fn parse_percent(text: &str) -> Result<Decimal, String> {
    let message = || "must be a percentage written as a decimal string such as \"12.5\"".to_owned();
    if text.is_empty()
        || !text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'.')
        || text.len() > 12
    {
        return Err(message());
    }
    let value: Decimal = text.parse().map_err(|_| message())?;
    if value > Decimal::from(1000) {
        return Err("must be at most 1000".to_owned());
    }
    Ok(value.normalize())
}

/// A fact's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactValue {
    Flag(bool),
    Percent(Decimal),
    Date(NaiveDate),
}

impl FactValue {
    /// The value's text form, as stored and shown.
    pub fn to_text(&self) -> String {
        match self {
            FactValue::Flag(flag) => flag.to_string(),
            FactValue::Percent(percent) => percent.normalize().to_string(),
            FactValue::Date(date) => date.to_string(),
        }
    }
}

/// A fact as recorded about a beneficiary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    pub id: uuid::Uuid,
    pub code: FactCode,
    /// The value's text form (parse it with [`FactCode::parse_value`]).
    pub value: String,
    pub as_of: NaiveDate,
    pub evidence_reference: String,
    /// Position in the order facts were recorded: among facts of equal `as_of`, the later counts.
    pub recorded_order: i64,
    /// Whether the fact counts yet (see [`FactStatus`]).
    pub status: FactStatus,
    /// The SHA-256 of the attached evidence document, if any ([`crate::evidence`]).
    pub evidence_sha256: Option<String>,
}

impl ConditionCode {
    /// The fact a condition reads; `None` for `reporting_up_to_date`, computed from the ledger.
    pub fn fact_code(&self) -> Option<FactCode> {
        match self {
            ConditionCode::MutualOperational => Some(FactCode::MutualOperational),
            ConditionCode::ContributionRatesDefined => Some(FactCode::ContributionRatesDefined),
            ConditionCode::LocalCofinancing => Some(FactCode::LocalCofinancingPercent),
            ConditionCode::PublicCofinancing => Some(FactCode::PublicCofinancingPercent),
            ConditionCode::AdminCostCap => Some(FactCode::AdminCostPercent),
            ConditionCode::Governance => Some(FactCode::GeneralAssemblyDate),
            ConditionCode::ReportingUpToDate => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ConditionCode::MutualOperational => "mutual_operational",
            ConditionCode::ContributionRatesDefined => "contribution_rates_defined",
            ConditionCode::LocalCofinancing => "local_cofinancing",
            ConditionCode::PublicCofinancing => "public_cofinancing",
            ConditionCode::ReportingUpToDate => "reporting_up_to_date",
            ConditionCode::AdminCostCap => "admin_cost_cap",
            ConditionCode::Governance => "governance",
        }
    }
}

/// A settled transfer, in the beneficiary's currency, as `reporting_up_to_date` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettledTransfer {
    pub value_date: NaiveDate,
    pub received: Amount,
}

/// What the ledger says about a beneficiary's reporting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportingState {
    /// Every settled transfer, in any order.
    pub settled: Vec<SettledTransfer>,
    /// Total of accepted redistribution reports, in the beneficiary's currency (minor units).
    pub accounted_minor: i64,
}

/// The verdict on one condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionVerdict {
    pub code: ConditionCode,
    pub passed: bool,
    pub parameter: Option<Decimal>,
    /// What was observed, as text (`null` when no fact was recorded).
    pub observed: Option<String>,
    /// Why the condition passed or failed, in words.
    pub explanation: String,
    /// The facts the verdict used.
    pub facts: Vec<Fact>,
    /// Facts for this condition that would count on the date but wait for the network's
    /// verification (newer than the one used, if any).
    pub pending: Vec<Fact>,
}

/// Every condition of a programme for one beneficiary on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    pub eligible: bool,
    pub as_of: NaiveDate,
    pub conditions: Vec<ConditionVerdict>,
}

impl Eligibility {
    /// The codes of the conditions that failed, in the programme's order.
    pub fn failing(&self) -> Vec<ConditionCode> {
        self.conditions
            .iter()
            .filter(|verdict| !verdict.passed)
            .map(|verdict| verdict.code)
            .collect()
    }
}

/// The fact that counts for `code` on `as_of`: among the facts that count, the latest `as_of` on or
/// before the date, and among equal dates the one recorded last.
pub fn current_fact(facts: &[Fact], code: FactCode, as_of: NaiveDate) -> Option<&Fact> {
    facts
        .iter()
        .filter(|fact| fact.code == code && fact.as_of <= as_of && fact.status.counts())
        .max_by_key(|fact| (fact.as_of, fact.recorded_order))
}

/// The submitted facts for `code` that would supersede `current` on `as_of` once verified: what a
/// verdict names as pending.
pub fn pending_facts(
    facts: &[Fact],
    code: FactCode,
    as_of: NaiveDate,
    current: Option<&Fact>,
) -> Vec<Fact> {
    let after = current.map(|fact| (fact.as_of, fact.recorded_order));
    facts
        .iter()
        .filter(|fact| {
            fact.code == code
                && fact.as_of <= as_of
                && fact.status.awaits_decision()
                && after.is_none_or(|after| (fact.as_of, fact.recorded_order) > after)
        })
        .cloned()
        .collect()
}

/// Evaluates every rule of a programme for one beneficiary. Pure: facts and the reporting state
/// are passed in.
pub fn evaluate(
    rules: &[ConditionRule],
    facts: &[Fact],
    reporting: &ReportingState,
    as_of: NaiveDate,
) -> Eligibility {
    let conditions: Vec<ConditionVerdict> = rules
        .iter()
        .map(|rule| evaluate_rule(rule, facts, reporting, as_of))
        .collect();
    Eligibility {
        eligible: conditions.iter().all(|verdict| verdict.passed),
        as_of,
        conditions,
    }
}

fn evaluate_rule(
    rule: &ConditionRule,
    facts: &[Fact],
    reporting: &ReportingState,
    as_of: NaiveDate,
) -> ConditionVerdict {
    let Some(fact_code) = rule.code.fact_code() else {
        return reporting_verdict(rule, reporting, as_of);
    };
    let current = current_fact(facts, fact_code, as_of);
    let pending = pending_facts(facts, fact_code, as_of, current);
    let verdict = |passed: bool, observed: Option<String>, explanation: String, used: Vec<Fact>| {
        let explanation = match pending.as_slice() {
            [] => explanation,
            [fact] => format!(
                "{explanation}; fact {} ({} as of {}) is submitted and does not count until the network verifies it",
                fact.id, fact.value, fact.as_of
            ),
            more => format!(
                "{explanation}; {} submitted facts do not count until the network verifies them",
                more.len()
            ),
        };
        ConditionVerdict {
            code: rule.code,
            passed,
            parameter: rule.parameter,
            observed,
            explanation,
            facts: used,
            pending: pending.clone(),
        }
    };
    let Some(fact) = current else {
        return verdict(
            false,
            None,
            format!(
                "no verified `{}` fact on or before {as_of}",
                fact_code.as_str()
            ),
            Vec::new(),
        );
    };
    let used = vec![fact.clone()];
    let value = match fact_code.parse_value(&fact.value) {
        Ok(value) => value,
        Err(message) => {
            return verdict(
                false,
                Some(fact.value.clone()),
                format!("the recorded value is not valid: {message}"),
                used,
            );
        }
    };
    let parameter = rule.parameter.unwrap_or_default();
    match (rule.code, value) {
        (ConditionCode::MutualOperational, FactValue::Flag(flag)) => verdict(
            flag,
            Some(flag.to_string()),
            if flag {
                "the mutual is operational".to_owned()
            } else {
                "the mutual is recorded as not operational".to_owned()
            },
            used,
        ),
        (ConditionCode::ContributionRatesDefined, FactValue::Flag(flag)) => verdict(
            flag,
            Some(flag.to_string()),
            if flag {
                "contribution rates are defined".to_owned()
            } else {
                "contribution rates are not defined".to_owned()
            },
            used,
        ),
        (
            ConditionCode::LocalCofinancing | ConditionCode::PublicCofinancing,
            FactValue::Percent(percent),
        ) => verdict(
            percent >= parameter,
            Some(percent.to_string()),
            format!("co-financing of {percent}% against a minimum of {parameter}%"),
            used,
        ),
        (ConditionCode::AdminCostCap, FactValue::Percent(percent)) => verdict(
            percent <= parameter,
            Some(percent.to_string()),
            format!("administration costs of {percent}% against a cap of {parameter}%"),
            used,
        ),
        (ConditionCode::Governance, FactValue::Date(date)) => {
            let months = rule
                .parameter
                .and_then(|months| u32::try_from(months.trunc().mantissa()).ok())
                .filter(|months| *months > 0)
                .unwrap_or(DEFAULT_GOVERNANCE_MONTHS);
            let earliest = as_of.checked_sub_months(Months::new(months));
            let passed = date <= as_of && earliest.is_some_and(|earliest| date >= earliest);
            verdict(
                passed,
                Some(date.to_string()),
                format!("last general assembly on {date}; one is required within {months} months"),
                used,
            )
        }
        // A fact code always parses into the value kind its condition reads.
        _ => verdict(
            false,
            Some(fact.value.clone()),
            "the recorded value does not fit this condition".to_owned(),
            used,
        ),
    }
}

/// `reporting_up_to_date`: every transfer settled more than N days before the date must be covered
/// by accepted reports (reports cover the oldest transfers first).
fn reporting_verdict(
    rule: &ConditionRule,
    reporting: &ReportingState,
    as_of: NaiveDate,
) -> ConditionVerdict {
    let days = rule
        .parameter
        .and_then(|days| i64::try_from(days.trunc().mantissa()).ok())
        .unwrap_or(0)
        .max(0);
    let cutoff = as_of - chrono::Duration::days(days);
    let due_minor: i64 = reporting
        .settled
        .iter()
        .filter(|transfer| transfer.value_date < cutoff)
        .map(|transfer| transfer.received.minor())
        .fold(0_i64, i64::saturating_add);
    let passed = reporting.accounted_minor >= due_minor;
    ConditionVerdict {
        code: rule.code,
        passed,
        parameter: rule.parameter,
        observed: Some(format!(
            "{} minor units settled before {cutoff} to account for; {} accounted for",
            due_minor, reporting.accounted_minor
        )),
        explanation: if passed {
            format!("every transfer settled more than {days} days ago is accounted for")
        } else {
            format!(
                "transfers settled more than {days} days ago are not yet accounted for by accepted reports"
            )
        },
        facts: Vec::new(),
        pending: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn fact(code: FactCode, value: &str, as_of: &str, order: i64) -> Fact {
        Fact {
            id: uuid::Uuid::from_u128(order as u128),
            code,
            value: value.to_owned(),
            as_of: date(as_of),
            evidence_reference: format!("doc-{order}"),
            recorded_order: order,
            status: FactStatus::Verified,
            evidence_sha256: None,
        }
    }

    fn rule(code: ConditionCode, parameter: Option<&str>) -> ConditionRule {
        ConditionRule {
            code,
            parameter: parameter.map(|text| Decimal::from_str(text).unwrap()),
        }
    }

    #[test]
    fn the_latest_fact_as_of_the_date_counts() {
        // Proves facts are read as of a date: later facts do not count yet, and among equal dates
        // the one recorded last wins.
        let facts = vec![
            fact(FactCode::MutualOperational, "false", "2026-01-01", 1),
            fact(FactCode::MutualOperational, "true", "2026-06-01", 2),
            fact(FactCode::MutualOperational, "false", "2026-06-01", 3),
            fact(FactCode::MutualOperational, "true", "2026-09-01", 4),
        ];
        let rules = [rule(ConditionCode::MutualOperational, None)];
        let state = ReportingState::default();
        assert!(!evaluate(&rules, &facts, &state, date("2025-12-31")).eligible);
        assert!(!evaluate(&rules, &facts, &state, date("2026-07-01")).eligible);
        let verdict = evaluate(&rules, &facts, &state, date("2026-07-01"));
        assert_eq!(verdict.conditions[0].facts[0].recorded_order, 3);
        assert!(evaluate(&rules, &facts, &state, date("2026-09-01")).eligible);
    }

    #[test]
    fn a_self_declared_fact_counts_only_once_verified() {
        // Proves a submitted fact is not used (the verdict names it as pending instead), a
        // rejected one is never used nor pending, and a verified one counts; the network's own
        // facts are verified when posted.
        let rules = [rule(ConditionCode::PublicCofinancing, Some("5"))];
        let state = ReportingState::default();
        let mut declared = fact(FactCode::PublicCofinancingPercent, "12", "2026-01-01", 1);
        declared.status = FactStatus::on_posting(false);
        let verdict = evaluate(
            &rules,
            std::slice::from_ref(&declared),
            &state,
            date("2026-02-01"),
        );
        assert!(!verdict.eligible);
        assert!(verdict.conditions[0].facts.is_empty());
        assert_eq!(verdict.conditions[0].pending, vec![declared.clone()]);
        assert!(
            verdict.conditions[0]
                .explanation
                .contains(&declared.id.to_string()),
            "{}",
            verdict.conditions[0].explanation
        );
        // An older verified fact is used meanwhile; the newer declaration is still named.
        let older = fact(FactCode::PublicCofinancingPercent, "2", "2025-01-01", 0);
        let both = [older.clone(), declared.clone()];
        let verdict = evaluate(&rules, &both, &state, date("2026-02-01"));
        assert_eq!(verdict.conditions[0].facts, vec![older]);
        assert_eq!(verdict.conditions[0].pending.len(), 1);
        declared.status = FactStatus::Rejected;
        let verdict = evaluate(
            &rules,
            std::slice::from_ref(&declared),
            &state,
            date("2026-02-01"),
        );
        assert!(!verdict.eligible);
        assert!(verdict.conditions[0].pending.is_empty());
        declared.status = FactStatus::Verified;
        let verdict = evaluate(
            &rules,
            std::slice::from_ref(&declared),
            &state,
            date("2026-02-01"),
        );
        assert!(verdict.eligible);
        assert!(verdict.conditions[0].pending.is_empty());
        assert_eq!(FactStatus::on_posting(true), FactStatus::Verified);
    }

    #[test]
    fn every_condition_names_parameter_observation_and_facts() {
        // Proves each condition's pass and fail sides and that a missing fact fails, named.
        let facts = vec![
            fact(FactCode::MutualOperational, "true", "2026-01-01", 1),
            fact(FactCode::ContributionRatesDefined, "true", "2026-01-01", 2),
            fact(FactCode::LocalCofinancingPercent, "12.5", "2026-01-01", 3),
            fact(FactCode::AdminCostPercent, "16", "2026-01-01", 4),
            fact(FactCode::GeneralAssemblyDate, "2025-06-30", "2025-06-30", 5),
        ];
        let rules = [
            rule(ConditionCode::MutualOperational, None),
            rule(ConditionCode::ContributionRatesDefined, None),
            rule(ConditionCode::LocalCofinancing, Some("10")),
            rule(ConditionCode::PublicCofinancing, Some("5")),
            rule(ConditionCode::AdminCostCap, Some("15")),
            rule(ConditionCode::Governance, Some("12")),
        ];
        let verdict = evaluate(
            &rules,
            &facts,
            &ReportingState::default(),
            date("2026-06-15"),
        );
        let passed: Vec<bool> = verdict.conditions.iter().map(|c| c.passed).collect();
        assert_eq!(passed, [true, true, true, false, false, true]);
        assert!(!verdict.eligible);
        assert_eq!(
            verdict.failing(),
            [
                ConditionCode::PublicCofinancing,
                ConditionCode::AdminCostCap
            ]
        );
        let public = &verdict.conditions[3];
        assert_eq!(public.observed, None);
        assert!(public.explanation.contains("public_cofinancing_percent"));
        let local = &verdict.conditions[2];
        assert_eq!(local.observed.as_deref(), Some("12.5"));
        assert_eq!(local.parameter, Some(Decimal::from(10)));
        assert_eq!(local.facts.len(), 1);
        // The assembly is older than 12 months a little later.
        let later = evaluate(
            &rules[5..],
            &facts,
            &ReportingState::default(),
            date("2026-07-01"),
        );
        assert!(!later.eligible);
    }

    #[test]
    fn reporting_counts_transfers_settled_before_the_cutoff() {
        // Proves reporting_up_to_date reads the ledger: unreported old transfers fail it, recent ones
        // do not, and accepted reports make it pass.
        let xof = Currency::from_code("XOF").unwrap();
        let rules = [rule(ConditionCode::ReportingUpToDate, Some("90"))];
        let mut state = ReportingState {
            settled: vec![SettledTransfer {
                value_date: date("2026-01-10"),
                received: Amount::from_minor(1_000_000, xof).unwrap(),
            }],
            accounted_minor: 0,
        };
        assert!(evaluate(&rules, &[], &state, date("2026-03-01")).eligible);
        assert!(!evaluate(&rules, &[], &state, date("2026-06-01")).eligible);
        state.accounted_minor = 1_000_000;
        assert!(evaluate(&rules, &[], &state, date("2026-06-01")).eligible);
    }

    #[test]
    fn fact_values_are_parsed_by_code() {
        // Proves each fact code accepts its own value form only.
        assert_eq!(
            FactCode::MutualOperational.parse_value("true"),
            Ok(FactValue::Flag(true))
        );
        assert!(FactCode::MutualOperational.parse_value("yes").is_err());
        assert!(
            FactCode::PublicCofinancingPercent
                .parse_value("-1")
                .is_err()
        );
        assert!(
            FactCode::PublicCofinancingPercent
                .parse_value("1e3")
                .is_err()
        );
        assert!(FactCode::PublicCofinancingPercent.parse_value("").is_err());
        assert_eq!(
            FactCode::AdminCostPercent.parse_value("7.50"),
            Ok(FactValue::Percent(Decimal::from_str("7.5").unwrap()))
        );
        for text in ["30/06/2026", "2026-6-30", "+99999-12-31", "0000-01-01"] {
            assert!(
                FactCode::GeneralAssemblyDate.parse_value(text).is_err(),
                "{text}"
            );
        }
        for code in FactCode::ALL {
            assert_eq!(FactCode::parse(code.as_str()), Some(code));
        }
    }

    proptest! {
        #[test]
        fn eligible_exactly_when_every_condition_passes(
            operational in any::<bool>(),
            rates in any::<bool>(),
            public in 0u32..30,
            threshold in 0u32..30,
        ) {
            // Proves the verdict is the conjunction of the conditions and the cofinancing comparison
            // is "at least the parameter".
            let facts = vec![
                fact(FactCode::MutualOperational, &operational.to_string(), "2026-01-01", 1),
                fact(FactCode::ContributionRatesDefined, &rates.to_string(), "2026-01-01", 2),
                fact(FactCode::PublicCofinancingPercent, &public.to_string(), "2026-01-01", 3),
            ];
            let threshold_text = threshold.to_string();
            let rules = [
                rule(ConditionCode::MutualOperational, None),
                rule(ConditionCode::ContributionRatesDefined, None),
                rule(ConditionCode::PublicCofinancing, Some(&threshold_text)),
            ];
            let verdict = evaluate(&rules, &facts, &ReportingState::default(), date("2026-02-01"));
            prop_assert_eq!(verdict.eligible, operational && rates && public >= threshold);
            prop_assert_eq!(verdict.eligible, verdict.conditions.iter().all(|c| c.passed));
            prop_assert_eq!(verdict.conditions.len(), 3);
        }
    }
}
