//! Money: ISO 4217 currencies with their minor units, and exact amounts held as integer minor units.
//!
//! Amounts never pass through floating point. Text is parsed strictly: a value with more decimals than
//! the currency has is an error, never a rounding.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest magnitude of a single amount, in minor units: 10^15 (ten trillion euros, or a
/// quadrillion CFA francs). Far above any solidarity flow, and small enough that summing more than
/// 9,000 such amounts still fits an `i64`; sums are checked anyway.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// An ISO 4217 currency that has a minor unit (EUR has 2, XOF and XAF none, BHD 3, CLF 4).
///
/// Codes without a minor unit in the standard (gold `XAU`, the testing code `XTS`, ...) are not money
/// for this ledger and are refused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    iso: iso_currency::Currency,
    minor_units: u8,
}

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CurrencyError {
    #[error("`{0}` is not an ISO 4217 currency code")]
    Unknown(String),
    #[error("`{0}` has no minor unit in ISO 4217 and cannot be used for money")]
    NoMinorUnit(String),
}

impl Currency {
    /// Looks up an upper-case ISO 4217 alphabetic code such as `EUR`.
    pub fn from_code(code: &str) -> Result<Currency, CurrencyError> {
        let iso = iso_currency::Currency::from_code(code)
            .ok_or_else(|| CurrencyError::Unknown(code.to_owned()))?;
        let minor_units = iso
            .exponent()
            .and_then(|exponent| u8::try_from(exponent).ok())
            .ok_or_else(|| CurrencyError::NoMinorUnit(code.to_owned()))?;
        Ok(Currency { iso, minor_units })
    }

    /// The euro, the fund's base currency.
    pub fn eur() -> Currency {
        Currency {
            iso: iso_currency::Currency::EUR,
            minor_units: 2,
        }
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.iso.code()
    }

    /// How many decimal places the currency's minor unit has.
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    /// 10^minor_units: how many minor units make one major unit.
    pub fn minor_per_major(&self) -> i64 {
        10_i64.pow(u32::from(self.minor_units))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::from_code(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money: a signed integer count of the currency's minor units.
///
/// Positive and negative amounts exist (a journal posting is a signed amount: debit positive, credit
/// negative); callers that need a positive amount check [`Amount::is_positive`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    minor: i64,
    currency: Currency,
}

/// Why a text or an arithmetic result is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error(
        "`{text}` is not a plain decimal amount (digits, an optional leading `-`, and at most one `.` followed by digits)"
    )]
    Malformed { text: String },
    #[error("`{text}` has a superfluous leading zero")]
    LeadingZero { text: String },
    #[error("`{text}` has more decimals than {currency} allows ({allowed})")]
    TooManyDecimals {
        text: String,
        currency: Currency,
        allowed: u8,
    },
    #[error("amount exceeds the maximum of {MAX_AMOUNT_MINOR} minor units")]
    TooLarge,
    #[error("currencies differ: {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("arithmetic overflow")]
    Overflow,
}

impl Amount {
    /// Builds an amount from minor units, refusing magnitudes above [`MAX_AMOUNT_MINOR`].
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Amount, AmountError> {
        if minor
            .checked_abs()
            .is_none_or(|magnitude| magnitude > MAX_AMOUNT_MINOR)
        {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount { minor, currency })
    }

    /// Zero in a currency.
    pub fn zero(currency: Currency) -> Amount {
        Amount { minor: 0, currency }
    }

    /// Parses a decimal string strictly: `"1.5"` EUR is 150 minor units; `"1.005"` EUR, `"10.0"` XOF,
    /// `"1e3"`, `" 1"`, `"+1"`, `""`, `"1,00"`, `"NaN"`, `"01"`, `"1."` and `".5"` are errors.
    pub fn parse(text: &str, currency: Currency) -> Result<Amount, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        let malformed = || AmountError::Malformed {
            text: text.to_owned(),
        };
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (integer_digits, fraction_digits) = match unsigned.split_once('.') {
            Some((integer, fraction)) => (integer, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(integer_digits) || fraction_digits.is_some_and(|f| !all_digits(f)) {
            return Err(malformed());
        }
        if integer_digits.len() > 1 && integer_digits.starts_with('0') {
            return Err(AmountError::LeadingZero {
                text: text.to_owned(),
            });
        }
        let fraction_digits = fraction_digits.unwrap_or("");
        let allowed = currency.minor_units();
        if fraction_digits.len() > usize::from(allowed) {
            return Err(AmountError::TooManyDecimals {
                text: text.to_owned(),
                currency,
                allowed,
            });
        }
        // At most 16 integer digits can stay under the maximum; longer input is too large, not malformed.
        if integer_digits.len() > 16 {
            return Err(AmountError::TooLarge);
        }
        let integer: i64 = integer_digits.parse().map_err(|_| malformed())?;
        let mut fraction: i64 = 0;
        for position in 0..usize::from(allowed) {
            let digit = fraction_digits
                .as_bytes()
                .get(position)
                .map_or(0, |byte| i64::from(byte - b'0'));
            fraction = fraction * 10 + digit;
        }
        let magnitude = integer
            .checked_mul(currency.minor_per_major())
            .and_then(|scaled| scaled.checked_add(fraction))
            .ok_or(AmountError::TooLarge)?;
        if negative && magnitude == 0 {
            // "-0" and "-0.00" have a canonical spelling without the sign.
            return Err(malformed());
        }
        Amount::from_minor(if negative { -magnitude } else { magnitude }, currency)
    }

    /// The signed count of minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: &Amount) -> Result<(), AmountError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(AmountError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`, refusing another currency and results above the maximum.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_currency(&other)?;
        let sum = self
            .minor
            .checked_add(other.minor)
            .ok_or(AmountError::Overflow)?;
        Amount::from_minor(sum, self.currency)
    }

    /// `self - other`, refusing another currency and results above the maximum.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_currency(&other)?;
        let difference = self
            .minor
            .checked_sub(other.minor)
            .ok_or(AmountError::Overflow)?;
        Amount::from_minor(difference, self.currency)
    }

    /// `self × count`, for instance a per-member rate times a member count.
    pub fn checked_mul(self, count: u64) -> Result<Amount, AmountError> {
        let count = i64::try_from(count).map_err(|_| AmountError::Overflow)?;
        let product = self.minor.checked_mul(count).ok_or(AmountError::Overflow)?;
        Amount::from_minor(product, self.currency)
    }

    /// The opposite amount (a debit becomes a credit).
    pub fn negated(self) -> Amount {
        // Cannot overflow: magnitudes are bounded by MAX_AMOUNT_MINOR.
        Amount {
            minor: -self.minor,
            currency: self.currency,
        }
    }

    /// The canonical decimal text without the currency: `"1250.00"`, `"-3.10"`, `"655957"`.
    pub fn to_decimal_string(&self) -> String {
        decimal_string(self.minor, self.currency)
    }
}

/// Any count of minor units (the whole `i64` range, balances and sums included) as the currency's
/// canonical decimal text: `"1250.00"`, `"-92233720368547758.08"`. Display never falls back to raw
/// minor units, whatever the magnitude.
pub fn decimal_string(minor: i64, currency: Currency) -> String {
    let units = u32::from(currency.minor_units());
    let magnitude = minor.unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    if units == 0 {
        return format!("{sign}{magnitude}");
    }
    let scale = 10_u64.pow(units);
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = units as usize
    )
}

impl fmt::Display for Amount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.to_decimal_string(), self.currency)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

/// The JSON form of money: `{"amount": "1250.00", "currency": "EUR"}`.
#[derive(Serialize, Deserialize)]
struct MoneyJson {
    amount: String,
    currency: String,
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyJson {
            amount: self.to_decimal_string(),
            currency: self.currency.code().to_owned(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = MoneyJson::deserialize(deserializer)?;
        let currency = Currency::from_code(&json.currency).map_err(serde::de::Error::custom)?;
        Amount::parse(&json.amount, currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn any_count_of_minor_units_displays_with_its_decimal_point() {
        // Proves balances beyond the largest single amount, up to the ends of the i64 range, still
        // display as decimals of their currency (the API once showed "9223372036854775807").
        let eur = Currency::eur();
        assert_eq!(decimal_string(i64::MAX, eur), "92233720368547758.07");
        assert_eq!(decimal_string(i64::MIN, eur), "-92233720368547758.08");
        let xof = Currency::from_code("XOF").unwrap();
        assert_eq!(decimal_string(i64::MAX, xof), "9223372036854775807");
        assert_eq!(decimal_string(-5, eur), "-0.05");
    }

    use super::*;
    use proptest::prelude::*;

    fn currency(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    #[test]
    fn currencies_carry_their_iso_4217_minor_units() {
        // Proves the table we rely on matches ISO 4217 for the fund's currencies and the edge cases.
        for (code, units) in [
            ("EUR", 2),
            ("XOF", 0),
            ("XAF", 0),
            ("CDF", 2),
            ("SEK", 2),
            ("AUD", 2),
            ("CAD", 2),
            ("JPY", 0),
            ("BHD", 3),
            ("CLF", 4),
        ] {
            assert_eq!(currency(code).minor_units(), units, "{code}");
        }
        assert_eq!(Currency::eur(), currency("EUR"));
    }

    #[test]
    fn unknown_and_unitless_codes_are_refused() {
        // Proves that only real currencies with a minor unit are money here.
        assert_eq!(
            Currency::from_code("EUX"),
            Err(CurrencyError::Unknown("EUX".into()))
        );
        assert_eq!(
            Currency::from_code("eur"),
            Err(CurrencyError::Unknown("eur".into()))
        );
        assert_eq!(
            Currency::from_code("XAU"),
            Err(CurrencyError::NoMinorUnit("XAU".into()))
        );
        assert!(Currency::from_code("").is_err());
    }

    #[test]
    fn parses_valid_amounts_exactly() {
        // Proves the accepted spellings and their minor-unit values.
        let eur = Currency::eur();
        assert_eq!(Amount::parse("1.5", eur).unwrap().minor(), 150);
        assert_eq!(Amount::parse("1250.00", eur).unwrap().minor(), 125_000);
        assert_eq!(Amount::parse("0.01", eur).unwrap().minor(), 1);
        assert_eq!(Amount::parse("0", eur).unwrap().minor(), 0);
        assert_eq!(Amount::parse("-3.1", eur).unwrap().minor(), -310);
        assert_eq!(
            Amount::parse("655957", currency("XOF")).unwrap().minor(),
            655_957
        );
        assert_eq!(
            Amount::parse("1.234", currency("BHD")).unwrap().minor(),
            1234
        );
        assert_eq!(
            Amount::parse("10000000000000.00", eur).unwrap().minor(),
            MAX_AMOUNT_MINOR
        );
    }

    #[test]
    fn refuses_every_loose_spelling() {
        // Proves that nothing but a plain decimal within the currency's precision is an amount.
        let eur = Currency::eur();
        let xof = currency("XOF");
        let cases = [
            ("1.005", eur),
            ("10.0", xof),
            ("1e3", eur),
            (" 1", eur),
            ("1 ", eur),
            ("+1", eur),
            ("", eur),
            ("1,00", eur),
            ("NaN", eur),
            ("inf", eur),
            ("01", eur),
            ("1.", eur),
            (".5", eur),
            ("-", eur),
            ("--1", eur),
            ("-0", eur),
            ("-0.00", eur),
            ("1.2.3", eur),
            ("１", eur),
            ("10000000000000.01", eur),
            ("99999999999999999999999", eur),
        ];
        for (text, currency) in cases {
            assert!(
                Amount::parse(text, currency).is_err(),
                "`{text}` {currency} should be refused"
            );
        }
        assert_eq!(Amount::parse("", eur), Err(AmountError::Empty));
        assert!(matches!(
            Amount::parse("1.005", eur),
            Err(AmountError::TooManyDecimals { allowed: 2, .. })
        ));
        assert!(matches!(
            Amount::parse("10.0", xof),
            Err(AmountError::TooManyDecimals { allowed: 0, .. })
        ));
        assert_eq!(
            Amount::parse("10000000000000.01", eur),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn formats_canonically() {
        // Proves the canonical text the API and the hash chain show.
        let eur = Currency::eur();
        assert_eq!(
            Amount::from_minor(150, eur).unwrap().to_decimal_string(),
            "1.50"
        );
        assert_eq!(
            Amount::from_minor(-5, eur).unwrap().to_decimal_string(),
            "-0.05"
        );
        assert_eq!(Amount::zero(eur).to_decimal_string(), "0.00");
        let xof = currency("XOF");
        assert_eq!(
            Amount::from_minor(-655_957, xof).unwrap().to_string(),
            "-655957 XOF"
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        // Proves that mixing currencies and exceeding the maximum are errors, not wraps.
        let eur = Currency::eur();
        let xof = currency("XOF");
        let one = Amount::from_minor(100, eur).unwrap();
        assert!(matches!(
            one.checked_add(Amount::from_minor(1, xof).unwrap()),
            Err(AmountError::CurrencyMismatch { .. })
        ));
        let max = Amount::from_minor(MAX_AMOUNT_MINOR, eur).unwrap();
        assert_eq!(max.checked_add(one), Err(AmountError::TooLarge));
        assert_eq!(one.checked_mul(3).unwrap().minor(), 300);
        assert_eq!(one.checked_mul(u64::MAX), Err(AmountError::Overflow));
        assert_eq!(
            Amount::from_minor(i64::MIN, eur),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            one.checked_sub(max).unwrap().minor(),
            100 - MAX_AMOUNT_MINOR
        );
    }

    #[test]
    fn json_form_is_a_decimal_string_with_currency() {
        // Proves money crosses JSON as strings and that JSON numbers are refused.
        let amount = Amount::from_minor(125_000, Currency::eur()).unwrap();
        let json = serde_json::to_value(amount).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount": "1250.00", "currency": "EUR"})
        );
        let back: Amount = serde_json::from_value(json).unwrap();
        assert_eq!(back, amount);
        assert!(
            serde_json::from_str::<Amount>(r#"{"amount": 1250.0, "currency": "EUR"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<Amount>(r#"{"amount": "1.001", "currency": "EUR"}"#).is_err()
        );
        assert!(serde_json::from_str::<Amount>(r#"{"amount": "1", "currency": "ZZZ"}"#).is_err());
    }

    proptest! {
        #[test]
        fn canonical_text_round_trips(minor in -MAX_AMOUNT_MINOR..=MAX_AMOUNT_MINOR, code in prop::sample::select(vec!["EUR", "XOF", "BHD", "CLF", "CDF"])) {
            // Proves parse(format(x)) == x for every amount in range and several precisions.
            let currency = Currency::from_code(code).unwrap();
            let amount = Amount::from_minor(minor, currency).unwrap();
            let text = amount.to_decimal_string();
            prop_assert_eq!(Amount::parse(&text, currency).unwrap(), amount);
        }

        #[test]
        fn parsing_never_panics(text in ".{0,24}") {
            // Proves arbitrary input yields a value or an error, never a crash.
            let _ = Amount::parse(&text, Currency::eur());
        }
    }
}
