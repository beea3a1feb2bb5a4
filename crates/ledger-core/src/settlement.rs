//! Loss-free transfers: expected bank fees (always paid from fee coverage, never from the pool) and
//! what a beneficiary's confirmation means — the shortfall an intermediary bank took, made good by a
//! top-up from fee coverage, or a surplus recorded as such.
//!
//! The expected local amount of a transfer is its EUR amount times the recorded rate, rounded once
//! (see [`crate::fx`]). A top-up is the smallest EUR amount whose conversion covers the shortfall,
//! so the beneficiary always ends with at least what was expected.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::fx::{ExchangeRate, FxError};
use crate::money::{Amount, AmountError, Currency};

/// The most a fee percentage may be: a bank that keeps more than this is not a channel to use.
pub const MAX_FEE_PERCENT: u32 = 100;

/// Why a fee schedule is refused, naming the part at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeeScheduleError {
    #[error("the fixed fee must not be negative")]
    NegativeFixed,
    #[error("the fee percentage must be between 0 and {MAX_FEE_PERCENT}")]
    PercentOutOfRange,
}

impl FeeScheduleError {
    /// The part of the schedule at fault: `fixed` or `percent`.
    pub fn part(self) -> &'static str {
        match self {
            FeeScheduleError::NegativeFixed => "fixed",
            FeeScheduleError::PercentOutOfRange => "percent",
        }
    }
}

/// The bank fees a transfer to one beneficiary is expected to cost: a fixed EUR amount plus a
/// percentage of the amount sent, rounded up to the cent (fee coverage reserves at least enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub fixed: Amount,
    pub percent: Decimal,
}

impl FeeSchedule {
    /// No fees (the default when neither the organisation nor the programme sets a schedule).
    pub fn none(currency: Currency) -> FeeSchedule {
        FeeSchedule {
            fixed: Amount::zero(currency),
            percent: Decimal::ZERO,
        }
    }

    /// The one rule for which schedule a transfer to a beneficiary pays: the beneficiary's own,
    /// else its programme's, else no fee (in `currency`).
    pub fn applying(
        own: Option<FeeSchedule>,
        programme: Option<FeeSchedule>,
        currency: Currency,
    ) -> FeeSchedule {
        own.or(programme)
            .unwrap_or_else(|| FeeSchedule::none(currency))
    }

    /// A schedule; the percentage must be within 0..=[`MAX_FEE_PERCENT`] and the fixed part not negative.
    pub fn new(fixed: Amount, percent: Decimal) -> Result<FeeSchedule, FeeScheduleError> {
        if fixed.is_negative() {
            return Err(FeeScheduleError::NegativeFixed);
        }
        if percent < Decimal::ZERO || percent > Decimal::from(MAX_FEE_PERCENT) {
            return Err(FeeScheduleError::PercentOutOfRange);
        }
        Ok(FeeSchedule {
            fixed,
            percent: percent.normalize(),
        })
    }

    /// The fee expected for sending `amount`: fixed + ⌈amount × percent / 100⌉ in minor units.
    pub fn expected_fee(&self, amount: Amount) -> Result<Amount, AmountError> {
        if amount.currency() != self.fixed.currency() {
            return Err(AmountError::Overflow);
        }
        let proportional = Decimal::from(amount.minor())
            .checked_mul(self.percent)
            .and_then(|product| product.checked_div(Decimal::from(100)))
            .ok_or(AmountError::Overflow)?
            .round_dp_with_strategy(0, RoundingStrategy::AwayFromZero);
        let proportional = i64::try_from(proportional).map_err(|_| AmountError::Overflow)?;
        self.fixed
            .checked_add(Amount::from_minor(proportional, amount.currency())?)
    }
}

/// How a transfer's EUR amount becomes the beneficiary's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedLocal {
    /// `None` when the beneficiary keeps its books in EUR (nothing to convert).
    pub rate: Option<ExchangeRate>,
    /// The amount the beneficiary must hold in the end.
    pub amount: Amount,
    /// What rounding once left out, in the local minor unit (|residue| ≤ 0.5).
    pub residue_minor: Decimal,
}

/// The expected local amount of `amount` for a beneficiary in `local`.
pub fn expected_local(
    amount: Amount,
    local: Currency,
    rate: Option<&ExchangeRate>,
) -> Result<ExpectedLocal, FxError> {
    if amount.currency() == local {
        return Ok(ExpectedLocal {
            rate: None,
            amount,
            residue_minor: Decimal::ZERO,
        });
    }
    let rate = rate.ok_or(FxError::NoRate {
        from: amount.currency(),
        to: local,
    })?;
    if rate.to() != local {
        return Err(FxError::WrongCurrency {
            expected: local,
            found: rate.to(),
        });
    }
    let conversion = rate.convert(amount)?;
    Ok(ExpectedLocal {
        rate: Some(rate.clone()),
        amount: conversion.converted,
        residue_minor: conversion.residue_minor,
    })
}

/// The smallest amount in the rate's source currency (EUR) whose conversion covers `shortfall`.
pub fn top_up_for(
    shortfall: Amount,
    source: Currency,
    rate: Option<&ExchangeRate>,
) -> Result<Amount, FxError> {
    let Some(rate) = rate else {
        // Same currency: the shortfall itself.
        return Ok(shortfall);
    };
    let back = rate.convert_back(shortfall)?;
    // Start from the exact EUR value rounded up to the cent.
    let scale = Decimal::from(source.minor_per_major());
    let minor = back
        .exact
        .checked_mul(scale)
        .ok_or(FxError::Overflow)?
        .round_dp_with_strategy(0, RoundingStrategy::ToPositiveInfinity);
    let mut candidate =
        Amount::from_minor(i64::try_from(minor).map_err(|_| FxError::Overflow)?, source)?;
    // Rounding the conversion once (half away from zero) can land either side of the exact value:
    // step until the candidate is the smallest that covers the shortfall.
    let cent = Amount::from_minor(1, source)?;
    while rate.convert(candidate)?.converted.minor() < shortfall.minor() {
        candidate = candidate.checked_add(cent)?;
    }
    while candidate.minor() > 1
        && rate
            .convert(candidate.checked_sub(cent)?)?
            .converted
            .minor()
            >= shortfall.minor()
    {
        candidate = candidate.checked_sub(cent)?;
    }
    Ok(candidate)
}

/// Where a transfer chain (a transfer and its top-ups) stands after a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementOutcome {
    /// Still missing for the beneficiary to hold what was expected (zero when whole).
    pub shortfall: Amount,
    /// Received above what was expected.
    pub surplus: Amount,
}

/// Compares what the chain's beneficiary has received so far (this confirmation included) with what
/// the original transfer promised.
pub fn settle(expected: Amount, received_total: Amount) -> Result<SettlementOutcome, AmountError> {
    let currency = expected.currency();
    if received_total.currency() != currency {
        return Err(AmountError::Overflow);
    }
    let difference = expected.checked_sub(received_total)?;
    Ok(if difference.is_positive() {
        SettlementOutcome {
            shortfall: difference,
            surplus: Amount::zero(currency),
        }
    } else {
        SettlementOutcome {
            shortfall: Amount::zero(currency),
            surplus: difference.negated(),
        }
    })
}

/// What fee coverage may make good of one transfer without review, beyond the transfer's expected
/// fee, in minor units of the transfer's currency (EUR cents): 5.00 EUR.
///
/// Why: the expected fee is what the beneficiary's schedule predicts (fixed + percent), but a
/// receiving or correspondent bank may add a small charge of its own the schedule does not list
/// (a "lifting fee" of a few euros), and the receiving bank's conversion may round differently
/// from ours. Five euros covers those without letting a claim move real money: anything above
/// the expected fee plus this waits for the network to read the bank statement.
pub const TOP_UP_TOLERANCE_MINOR: i64 = 500;

// The tolerance is small and positive: at most 100.00 EUR, far inside any balance's range.
const _: () = assert!(TOP_UP_TOLERANCE_MINOR > 0 && TOP_UP_TOLERANCE_MINOR <= 10_000);

/// How much fee coverage may pay at once, without review, to make good one transfer and all its
/// top-ups: the transfer's expected fee plus [`TOP_UP_TOLERANCE_MINOR`].
pub fn immediate_top_up_allowance(expected_fee: Amount) -> Result<Amount, AmountError> {
    expected_fee.checked_add(Amount::from_minor(
        TOP_UP_TOLERANCE_MINOR,
        expected_fee.currency(),
    )?)
}

/// Whether a shortfall's top-up is paid at once or waits for the network's review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpReview {
    /// Within the allowance: the top-up is sent at once, as the confirmation is booked.
    Immediate,
    /// Beyond it: a disputed settlement; no money moves until an admin establishes, from the bank
    /// statement, what arrived.
    Disputed,
}

/// The rule that bounds top-ups a beneficiary's own claim can trigger.
///
/// `top_up` is the EUR amount this confirmation's shortfall needs; `already_paid` is what fee
/// coverage already paid on the same chain (the original transfer and its top-ups) for earlier
/// top-ups, their sending fees included; `expected_fee` is the original transfer's expected fee.
/// The top-up is immediate while `already_paid + top_up` stays within
/// [`immediate_top_up_allowance`]. Counting earlier top-ups' fees is what stops a repeated claim
/// on each top-up ("1 XOF arrived") from draining fee coverage one fixed fee at a time: whatever
/// the sequence of claims, fee coverage pays at most the allowance plus one top-up's fee per
/// transfer without review.
pub fn review_top_up(
    top_up: Amount,
    already_paid: Amount,
    expected_fee: Amount,
) -> Result<TopUpReview, AmountError> {
    let currency = expected_fee.currency();
    if top_up.currency() != currency || already_paid.currency() != currency {
        return Err(AmountError::Overflow);
    }
    let allowance = immediate_top_up_allowance(expected_fee)?;
    let total = already_paid.checked_add(top_up)?;
    Ok(if total.minor() <= allowance.minor() {
        TopUpReview::Immediate
    } else {
        TopUpReview::Disputed
    })
}

/// Why a confirmation's value date cannot be right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueDateError {
    #[error("must not be before {executed_on}, the day the transfer was executed")]
    BeforeExecution { executed_on: NaiveDate },
    #[error("must not be after {today}, today")]
    InTheFuture { today: NaiveDate },
}

/// A confirmation's value date lies between the day the transfer was executed (money cannot
/// arrive before it is sent) and today (a statement cannot show tomorrow). `today` is passed in:
/// the core reads no clock.
pub fn check_value_date(
    value_date: NaiveDate,
    executed_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), ValueDateError> {
    if value_date < executed_on {
        return Err(ValueDateError::BeforeExecution { executed_on });
    }
    if value_date > today {
        return Err(ValueDateError::InTheFuture { today });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    fn xof(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::from_code("XOF").unwrap()).unwrap()
    }

    fn xof_rate() -> ExchangeRate {
        ExchangeRate::fixed(Currency::eur(), Currency::from_code("XOF").unwrap()).unwrap()
    }

    #[test]
    fn fees_are_fixed_plus_percent_rounded_up() {
        // Proves the fee schedule's arithmetic and its limits.
        let schedule = FeeSchedule::new(eur(1500), Decimal::from_str("0.5").unwrap()).unwrap();
        assert_eq!(schedule.expected_fee(eur(100_000)).unwrap(), eur(2000));
        // 0.5 % of 10.01 EUR is 5.005 cents: rounded up to 6.
        assert_eq!(schedule.expected_fee(eur(1001)).unwrap(), eur(1506));
        assert_eq!(
            FeeSchedule::none(Currency::eur())
                .expected_fee(eur(5))
                .unwrap(),
            eur(0)
        );
        assert_eq!(
            FeeSchedule::new(eur(-1), Decimal::ZERO).map_err(FeeScheduleError::part),
            Err("fixed")
        );
        assert_eq!(
            FeeSchedule::new(eur(0), Decimal::from(101)).map_err(FeeScheduleError::part),
            Err("percent")
        );
    }

    #[test]
    fn a_2500_xof_deduction_is_made_good_by_the_smallest_euro_top_up() {
        // Proves the issue's example: 2,500 XOF taken on the way needs 3.82 EUR, which converts to
        // 2,506 XOF ≥ 2,500.
        let rate = xof_rate();
        let top_up = top_up_for(xof(2500), Currency::eur(), Some(&rate)).unwrap();
        assert_eq!(top_up, eur(382));
        assert_eq!(rate.convert(top_up).unwrap().converted, xof(2506));
        assert!(rate.convert(eur(381)).unwrap().converted.minor() < 2500);
    }

    #[test]
    fn settle_reports_shortfall_or_surplus() {
        // Proves the comparison of received with expected.
        let outcome = settle(xof(1000), xof(900)).unwrap();
        assert_eq!((outcome.shortfall, outcome.surplus), (xof(100), xof(0)));
        let outcome = settle(xof(1000), xof(1003)).unwrap();
        assert_eq!((outcome.shortfall, outcome.surplus), (xof(0), xof(3)));
    }

    #[test]
    fn the_allowance_is_the_expected_fee_plus_the_tolerance() {
        // Proves the bound: exactly fee + tolerance is paid at once, one cent more is disputed.
        let fee = eur(1800);
        assert_eq!(immediate_top_up_allowance(fee).unwrap(), eur(2300));
        assert_eq!(
            review_top_up(eur(2300), eur(0), fee).unwrap(),
            TopUpReview::Immediate
        );
        assert_eq!(
            review_top_up(eur(2301), eur(0), fee).unwrap(),
            TopUpReview::Disputed
        );
        // No schedule: only the tolerance.
        assert_eq!(
            review_top_up(eur(500), eur(0), eur(0)).unwrap(),
            TopUpReview::Immediate
        );
        assert_eq!(
            review_top_up(eur(501), eur(0), eur(0)).unwrap(),
            TopUpReview::Disputed
        );
    }

    #[test]
    fn the_issue_claim_of_one_xof_is_disputed() {
        // Proves the issue's case: 1 XOF out of 11,418,512 expected needs a 17,407 EUR top-up, far
        // beyond the transfer's expected fee, so it is disputed.
        let rate = xof_rate();
        let top_up = top_up_for(xof(11_418_511), Currency::eur(), Some(&rate)).unwrap();
        assert!(top_up.minor() > 1_740_000);
        let fee = eur(1500 + 8704); // 15.00 + 0.5 % of 17,407.xx EUR
        assert_eq!(
            review_top_up(top_up, eur(0), fee).unwrap(),
            TopUpReview::Disputed
        );
    }

    #[test]
    fn earlier_top_ups_and_their_fees_use_up_the_allowance() {
        // Proves a repeated claim on the top-up is bounded the same way: what earlier top-ups cost
        // (amount and fee) counts against the same allowance.
        let fee = eur(4500);
        // 3.82 EUR sent with its 15.02 EUR fee: 18.84 of 50.00 used.
        assert_eq!(
            review_top_up(eur(382), eur(0), fee).unwrap(),
            TopUpReview::Immediate
        );
        assert_eq!(
            review_top_up(eur(382), eur(1884), fee).unwrap(),
            TopUpReview::Immediate
        );
        assert_eq!(
            review_top_up(eur(382), eur(4900), fee).unwrap(),
            TopUpReview::Disputed
        );
        assert!(review_top_up(xof(1), eur(0), fee).is_err());
    }

    #[test]
    fn a_value_date_lies_between_execution_and_today() {
        // Proves both bounds, inclusive.
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        let (executed, today) = (day("2026-10-01"), day("2026-10-08"));
        assert!(check_value_date(executed, executed, today).is_ok());
        assert!(check_value_date(today, executed, today).is_ok());
        assert_eq!(
            check_value_date(day("2026-09-30"), executed, today),
            Err(ValueDateError::BeforeExecution {
                executed_on: executed
            })
        );
        assert_eq!(
            check_value_date(day("2026-10-09"), executed, today),
            Err(ValueDateError::InTheFuture { today })
        );
    }

    proptest! {

        #[test]
        fn no_sequence_of_claims_pays_more_than_the_allowance_and_one_fee_without_review(
            fee_minor in 0i64..100_000,
            claims in proptest::collection::vec(1i64..5_000_000, 1..40),
            percent_tenths in 0u32..20,
        ) {
            // Proves the bound whatever a beneficiary claims, over and over: the top-ups paid at
            // once on one transfer, with their own fees, never exceed the allowance plus the fee of
            // one top-up.
            let rate = xof_rate();
            let expected_fee = eur(fee_minor);
            let schedule = FeeSchedule::new(eur(1500), Decimal::new(i64::from(percent_tenths), 1)).unwrap();
            let allowance = immediate_top_up_allowance(expected_fee).unwrap().minor();
            let mut paid = 0i64;
            let mut largest_fee = 0i64;
            for shortfall in claims {
                let top_up = top_up_for(xof(shortfall), Currency::eur(), Some(&rate)).unwrap();
                if review_top_up(top_up, eur(paid), expected_fee).unwrap() == TopUpReview::Immediate {
                    let top_up_fee = schedule.expected_fee(top_up).unwrap().minor();
                    prop_assert!(paid + top_up.minor() <= allowance);
                    paid += top_up.minor() + top_up_fee;
                    largest_fee = largest_fee.max(top_up_fee);
                }
            }
            prop_assert!(paid <= allowance + largest_fee);
        }

        #[test]
        fn top_ups_always_cover_the_shortfall_and_are_the_smallest(
            shortfall in 1i64..100_000_000,
        ) {
            // Proves no loss: the beneficiary receives at least the shortfall, and one cent less
            // would not do.
            let rate = xof_rate();
            let top_up = top_up_for(xof(shortfall), Currency::eur(), Some(&rate)).unwrap();
            prop_assert!(rate.convert(top_up).unwrap().converted.minor() >= shortfall);
            let less = eur(top_up.minor() - 1);
            prop_assert!(rate.convert(less).unwrap().converted.minor() < shortfall);
        }

        #[test]
        fn expected_local_is_within_half_a_unit_of_the_exact_value(cents in 1i64..10_000_000_000) {
            // Proves rounding once: the residue is at most half a minor unit.
            let expected = expected_local(eur(cents), Currency::from_code("XOF").unwrap(), Some(&xof_rate())).unwrap();
            prop_assert!(expected.residue_minor.abs() <= Decimal::from_str("0.5").unwrap());
        }
    }
}
