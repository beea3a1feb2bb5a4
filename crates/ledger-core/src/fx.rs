//! Currency conversion for transfers from the euro pool to southern mutuals.
//!
//! Rules: a rate is the number of target units for one source unit; the CFA francs (XOF, XAF) are
//! pegged to the euro at exactly 655.957; any other rate is a decimal recorded with its source. The
//! whole amount is converted and rounded once, half away from zero, to the target's minor unit; the
//! difference is reported as the rounding residue so it can be posted, never dropped. Going back
//! divides by the same rate; an inverted rate is never used.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::money::{Amount, AmountError, Currency};

/// The fixed parity of the CFA francs: 655.957 XOF (or XAF) for one euro.
pub const CFA_FRANC_PER_EURO: Decimal = Decimal::from_parts(655_957, 0, 0, false, 3);

/// The most characters a rate source may have (a bank's or central bank's name and a reference).
pub const MAX_RATE_SOURCE_LENGTH: usize = 200;

/// Where a rate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateSource {
    /// A treaty parity (EUR → XOF/XAF), which needs no other source.
    FixedParity,
    /// A rate observed somewhere (a bank's confirmation, a central bank fixing), named by `source`.
    Recorded { source: String },
}

/// Why a rate or a conversion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FxError {
    #[error("a rate must be greater than zero")]
    NonPositiveRate,
    #[error("a rate converts between two different currencies")]
    SameCurrency,
    #[error("a recorded rate needs a source of 1 to {MAX_RATE_SOURCE_LENGTH} characters")]
    MissingSource,
    #[error("a rate's source {0}")]
    SourceText(crate::text::TextError),
    #[error("{from}→{to} is a fixed parity of {parity}; another rate is not accepted")]
    ContradictsParity {
        from: Currency,
        to: Currency,
        parity: Decimal,
    },
    #[error("no rate is known for {from}→{to}; record one with its source")]
    NoRate { from: Currency, to: Currency },
    #[error("this rate converts {expected}, not {found}")]
    WrongCurrency { expected: Currency, found: Currency },
    #[error("the converted amount does not fit")]
    Overflow,
    #[error(transparent)]
    Amount(#[from] AmountError),
}

/// A rate from one currency to another with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeRate {
    from: Currency,
    to: Currency,
    rate: Decimal,
    source: RateSource,
}

/// The result of a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The amount in the target currency, rounded once to its minor unit.
    pub converted: Amount,
    /// The unrounded result, in the target's major units.
    pub exact: Decimal,
    /// `exact − converted`, in the target's minor units: what rounding left out (|residue| ≤ 0.5).
    pub residue_minor: Decimal,
}

fn fixed_parity(from: Currency, to: Currency) -> Option<Decimal> {
    (from.code() == "EUR" && matches!(to.code(), "XOF" | "XAF")).then_some(CFA_FRANC_PER_EURO)
}

impl ExchangeRate {
    /// The treaty rate for a pair, if it has one (EUR → XOF, EUR → XAF).
    pub fn fixed(from: Currency, to: Currency) -> Option<ExchangeRate> {
        fixed_parity(from, to).map(|rate| ExchangeRate {
            from,
            to,
            rate,
            source: RateSource::FixedParity,
        })
    }

    /// A rate recorded with its source. A pegged pair only accepts its parity.
    pub fn recorded(
        from: Currency,
        to: Currency,
        rate: Decimal,
        source: &str,
    ) -> Result<ExchangeRate, FxError> {
        if from == to {
            return Err(FxError::SameCurrency);
        }
        if rate <= Decimal::ZERO {
            return Err(FxError::NonPositiveRate);
        }
        if let Some(parity) = fixed_parity(from, to) {
            if rate != parity {
                return Err(FxError::ContradictsParity { from, to, parity });
            }
            return Ok(ExchangeRate::fixed(from, to).unwrap_or(ExchangeRate {
                from,
                to,
                rate,
                source: RateSource::FixedParity,
            }));
        }
        let source = source.trim();
        if source.is_empty() || source.chars().count() > MAX_RATE_SOURCE_LENGTH {
            return Err(FxError::MissingSource);
        }
        crate::text::refuse_control_characters(source, crate::text::TextKind::Identifier)
            .map_err(FxError::SourceText)?;
        Ok(ExchangeRate {
            from,
            to,
            rate: rate.normalize(),
            source: RateSource::Recorded {
                source: source.to_owned(),
            },
        })
    }

    /// The fixed rate for a pair when there is one, otherwise the recorded one given, otherwise an error.
    pub fn resolve(
        from: Currency,
        to: Currency,
        recorded: Option<(Decimal, &str)>,
    ) -> Result<ExchangeRate, FxError> {
        match (ExchangeRate::fixed(from, to), recorded) {
            (Some(fixed), None) => Ok(fixed),
            (_, Some((rate, source))) => ExchangeRate::recorded(from, to, rate, source),
            (None, None) => Err(FxError::NoRate { from, to }),
        }
    }

    pub fn from(&self) -> Currency {
        self.from
    }

    pub fn to(&self) -> Currency {
        self.to
    }

    pub fn rate(&self) -> Decimal {
        self.rate
    }

    pub fn source(&self) -> &RateSource {
        &self.source
    }

    /// Converts an amount in `from` into `to`: multiply, then round once.
    pub fn convert(&self, amount: Amount) -> Result<Conversion, FxError> {
        if amount.currency() != self.from {
            return Err(FxError::WrongCurrency {
                expected: self.from,
                found: amount.currency(),
            });
        }
        let exact = major(amount)
            .checked_mul(self.rate)
            .ok_or(FxError::Overflow)?;
        conversion(exact, self.to)
    }

    /// Converts an amount in `to` back into `from`, dividing by the same rate (never an inverted one).
    pub fn convert_back(&self, amount: Amount) -> Result<Conversion, FxError> {
        if amount.currency() != self.to {
            return Err(FxError::WrongCurrency {
                expected: self.to,
                found: amount.currency(),
            });
        }
        let exact = major(amount)
            .checked_div(self.rate)
            .ok_or(FxError::Overflow)?;
        conversion(exact, self.from)
    }
}

/// An amount in major units as an exact decimal.
fn major(amount: Amount) -> Decimal {
    Decimal::new(amount.minor(), u32::from(amount.currency().minor_units()))
}

fn conversion(exact: Decimal, target: Currency) -> Result<Conversion, FxError> {
    let units = u32::from(target.minor_units());
    let rounded = exact.round_dp_with_strategy(units, RoundingStrategy::MidpointAwayFromZero);
    let scale = Decimal::from(target.minor_per_major());
    let rounded_minor = rounded.checked_mul(scale).ok_or(FxError::Overflow)?;
    let minor = i64::try_from(rounded_minor).map_err(|_| FxError::Overflow)?;
    let converted = Amount::from_minor(minor, target)?;
    let residue_minor = exact
        .checked_mul(scale)
        .and_then(|exact_minor| exact_minor.checked_sub(rounded_minor))
        .ok_or(FxError::Overflow)?
        .normalize();
    Ok(Conversion {
        converted,
        exact: exact.normalize(),
        residue_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn currency(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    #[test]
    fn cfa_francs_use_the_fixed_parity() {
        // Proves EUR→XOF/XAF is 655.957 exactly, rounded once half away from zero.
        let rate = ExchangeRate::fixed(Currency::eur(), currency("XOF")).unwrap();
        assert_eq!(rate.rate(), Decimal::from_str("655.957").unwrap());
        let one_euro = rate.convert(eur(100)).unwrap();
        assert_eq!(one_euro.converted.minor(), 656);
        assert_eq!(one_euro.residue_minor, Decimal::from_str("-0.043").unwrap());
        // 125,000.00 EUR → 81,994,625 XOF exactly, no residue.
        let pool = rate.convert(eur(12_500_000)).unwrap();
        assert_eq!(pool.converted.minor(), 81_994_625);
        assert_eq!(pool.residue_minor, Decimal::ZERO);
        // 0.50 EUR → 327.9785 → 328.
        assert_eq!(rate.convert(eur(50)).unwrap().converted.minor(), 328);
        assert!(ExchangeRate::fixed(Currency::eur(), currency("XAF")).is_some());
        assert!(ExchangeRate::fixed(Currency::eur(), currency("CDF")).is_none());
    }

    #[test]
    fn converting_back_divides_by_the_same_rate() {
        // Proves the reverse direction divides by the recorded rate.
        let rate = ExchangeRate::fixed(Currency::eur(), currency("XOF")).unwrap();
        let xof = Amount::from_minor(655_957, currency("XOF")).unwrap();
        let back = rate.convert_back(xof).unwrap();
        assert_eq!(back.converted, eur(100_000));
        assert_eq!(back.residue_minor, Decimal::ZERO);
        assert!(matches!(
            rate.convert_back(eur(1)),
            Err(FxError::WrongCurrency { .. })
        ));
    }

    #[test]
    fn recorded_rates_need_a_source_and_may_not_contradict_a_parity() {
        // Proves the rules on recorded rates.
        let cdf = currency("CDF");
        let rate = Decimal::from_str("3150.25").unwrap();
        let recorded =
            ExchangeRate::recorded(Currency::eur(), cdf, rate, "BCC fixing 2026-11-20").unwrap();
        assert_eq!(
            recorded.convert(eur(100)).unwrap().converted.minor(),
            315_025
        );
        assert_eq!(
            ExchangeRate::recorded(Currency::eur(), cdf, rate, "  "),
            Err(FxError::MissingSource)
        );
        assert_eq!(
            ExchangeRate::recorded(Currency::eur(), cdf, Decimal::ZERO, "x"),
            Err(FxError::NonPositiveRate)
        );
        assert!(matches!(
            ExchangeRate::recorded(Currency::eur(), currency("XOF"), rate, "x"),
            Err(FxError::ContradictsParity { .. })
        ));
        assert_eq!(
            ExchangeRate::resolve(Currency::eur(), cdf, None),
            Err(FxError::NoRate {
                from: Currency::eur(),
                to: cdf
            })
        );
        assert_eq!(
            ExchangeRate::recorded(cdf, cdf, rate, "x"),
            Err(FxError::SameCurrency)
        );
    }

    proptest! {
        #[test]
        fn conversion_is_within_half_a_minor_unit(minor in 0..=crate::money::MAX_AMOUNT_MINOR, rate_milli in 1..10_000_000_i64, target in prop::sample::select(vec!["CDF", "JPY", "BHD", "SEK"])) {
            // Proves rounding happens once and loses less than half a minor unit, and the residue is exact.
            let to = Currency::from_code(target).unwrap();
            let rate = ExchangeRate::recorded(Currency::eur(), to, Decimal::new(rate_milli, 3), "test").unwrap();
            if let Ok(result) = rate.convert(eur(minor)) {
                let half = Decimal::new(5, 1);
                prop_assert!(result.residue_minor.abs() <= half);
                let scale = Decimal::from(to.minor_per_major());
                prop_assert_eq!(Decimal::from(result.converted.minor()) + result.residue_minor, result.exact * scale);
            }
        }

        #[test]
        fn cfa_conversion_is_within_half_a_franc(minor in 0..=crate::money::MAX_AMOUNT_MINOR / 1000) {
            // Proves the pegged conversion never loses a minor unit beyond rounding.
            let rate = ExchangeRate::fixed(Currency::eur(), Currency::from_code("XOF").unwrap()).unwrap();
            let result = rate.convert(eur(minor)).unwrap();
            prop_assert!(result.residue_minor.abs() <= Decimal::new(5, 1));
        }
    }
}
