//! Redistribution reports: how a southern mutual used what it received, per purpose, in its own
//! currency. An accepted report liquidates the advance. Validation reports every bad line at once;
//! the administration share is checked against the programme's cap.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::contribution::{FieldError, amount_message};
use crate::money::{Amount, AmountError, Currency};

/// The most lines one report may have.
pub const MAX_REPORT_LINES: usize = 1_000;
/// The most characters of a report's notes.
pub const MAX_REPORT_NOTES_LENGTH: usize = 2_000;
/// The most members one line may count.
pub const MAX_REPORT_MEMBERS: u64 = 100_000_000;

/// What money was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    PremiumSubsidy,
    CareReimbursement,
    Prevention,
    Training,
    Administration,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Purpose::PremiumSubsidy,
        Purpose::CareReimbursement,
        Purpose::Prevention,
        Purpose::Training,
        Purpose::Administration,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Purpose::PremiumSubsidy => "premium_subsidy",
            Purpose::CareReimbursement => "care_reimbursement",
            Purpose::Prevention => "prevention",
            Purpose::Training => "training",
            Purpose::Administration => "administration",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == text)
    }
}

/// A report line as submitted, money still text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLineInput {
    pub purpose: String,
    pub amount: String,
    pub members_count: i64,
}

/// A validated line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    pub purpose: Purpose,
    pub amount: Amount,
    pub members_count: u64,
}

/// Totals of a validated report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportTotals {
    pub total: Amount,
    /// By purpose, in [`Purpose::ALL`] order, purposes without lines left out.
    pub by_purpose: Vec<(Purpose, Amount)>,
    pub administration: Amount,
}

/// Checks every line in `currency` and totals the report.
pub fn validate_report_lines(
    lines: &[ReportLineInput],
    currency: Currency,
) -> Result<(Vec<ReportLine>, ReportTotals), Vec<FieldError>> {
    let mut errors = Vec::new();
    if lines.is_empty() {
        errors.push(FieldError::new("lines", "a report needs at least one line"));
    }
    if lines.len() > MAX_REPORT_LINES {
        errors.push(FieldError::new(
            "lines",
            format!("a report has at most {MAX_REPORT_LINES} lines"),
        ));
    }
    let mut valid = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let purpose = Purpose::parse(&line.purpose);
        if purpose.is_none() {
            let known: Vec<&str> = Purpose::ALL.iter().map(Purpose::as_str).collect();
            errors.push(FieldError::new(
                format!("lines[{index}].purpose"),
                format!("must be one of {}", known.join(", ")),
            ));
        }
        let amount = match Amount::parse(&line.amount, currency) {
            Ok(amount) if amount.is_positive() => Some(amount),
            Ok(_) => {
                errors.push(FieldError::new(
                    format!("lines[{index}].amount"),
                    "must be greater than zero",
                ));
                None
            }
            Err(error) => {
                errors.push(FieldError::new(
                    format!("lines[{index}].amount"),
                    amount_message(&error),
                ));
                None
            }
        };
        let members = u64::try_from(line.members_count)
            .ok()
            .filter(|members| *members <= MAX_REPORT_MEMBERS);
        if members.is_none() {
            errors.push(FieldError::new(
                format!("lines[{index}].members_count"),
                format!("must be between 0 and {MAX_REPORT_MEMBERS}"),
            ));
        }
        if let (Some(purpose), Some(amount), Some(members_count)) = (purpose, amount, members) {
            valid.push(ReportLine {
                purpose,
                amount,
                members_count,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let totals = totals(&valid, currency)
        .map_err(|error| vec![FieldError::new("lines", amount_message(&error))])?;
    Ok((valid, totals))
}

fn totals(lines: &[ReportLine], currency: Currency) -> Result<ReportTotals, AmountError> {
    let mut total = Amount::zero(currency);
    let mut by_purpose = Vec::new();
    for purpose in Purpose::ALL {
        let mut sum = Amount::zero(currency);
        for line in lines.iter().filter(|line| line.purpose == purpose) {
            sum = sum.checked_add(line.amount)?;
        }
        if sum.is_positive() {
            by_purpose.push((purpose, sum));
        }
        total = total.checked_add(sum)?;
    }
    let administration = by_purpose
        .iter()
        .find(|(purpose, _)| *purpose == Purpose::Administration)
        .map_or(Amount::zero(currency), |(_, amount)| *amount);
    Ok(ReportTotals {
        total,
        by_purpose,
        administration,
    })
}

/// True when administration exceeds `cap_percent` of the report's total.
pub fn administration_exceeds_cap(totals: &ReportTotals, cap_percent: Decimal) -> bool {
    // administration / total > cap / 100  ⇔  administration × 100 > cap × total (exact).
    let administration = Decimal::from(totals.administration.minor()) * Decimal::from(100);
    let allowed = cap_percent * Decimal::from(totals.total.minor());
    administration > allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn xof() -> Currency {
        Currency::from_code("XOF").unwrap()
    }

    fn line(purpose: &str, amount: &str, members: i64) -> ReportLineInput {
        ReportLineInput {
            purpose: purpose.to_owned(),
            amount: amount.to_owned(),
            members_count: members,
        }
    }

    #[test]
    fn every_bad_line_is_reported_at_once() {
        // Proves validation names each bad field by its path.
        let errors = validate_report_lines(
            &[
                line("premium_subsidy", "1000", 10),
                line("holidays", "10.5", -1),
                line("training", "0", 3),
            ],
            xof(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lines[1].purpose",
                "lines[1].amount",
                "lines[1].members_count",
                "lines[2].amount"
            ]
        );
        assert!(validate_report_lines(&[], xof()).is_err());
    }

    #[test]
    fn totals_by_purpose_and_the_administration_cap() {
        // Proves the totals and the cap comparison: 15 % of 1,000 is allowed, 15.1 % is not.
        let (_, totals) = validate_report_lines(
            &[
                line("premium_subsidy", "600", 120),
                line("administration", "150", 0),
                line("care_reimbursement", "250", 40),
            ],
            xof(),
        )
        .unwrap();
        assert_eq!(totals.total.minor(), 1000);
        assert_eq!(totals.administration.minor(), 150);
        assert_eq!(totals.by_purpose.len(), 3);
        assert!(!administration_exceeds_cap(&totals, Decimal::from(15)));
        assert!(administration_exceeds_cap(&totals, Decimal::new(149, 1)));
    }

    proptest! {
        #[test]
        fn purpose_totals_sum_to_the_total(amounts in proptest::collection::vec((0usize..5, 1i64..1_000_000), 1..40)) {
            // Proves no amount is lost between lines, purposes and the total.
            let lines: Vec<ReportLineInput> = amounts
                .iter()
                .map(|(purpose, amount)| line(Purpose::ALL[*purpose].as_str(), &amount.to_string(), 1))
                .collect();
            let (_, totals) = validate_report_lines(&lines, xof()).unwrap();
            let sum: i64 = totals.by_purpose.iter().map(|(_, amount)| amount.minor()).sum();
            prop_assert_eq!(sum, totals.total.minor());
            prop_assert_eq!(sum, amounts.iter().map(|(_, amount)| amount).sum::<i64>());
        }
    }
}
