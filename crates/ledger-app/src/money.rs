//! Money and decimal fields of request bodies. They are read as raw JSON first so that a JSON number
//! (`12.5`) is reported as a field error beside every other problem, not as the first parse error.

use ledger_core::{Amount, Currency};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// A decimal string field as received: the text, or why it is not a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalText(Result<String, String>);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(DecimalText(match value {
            serde_json::Value::String(text) => Ok(text),
            serde_json::Value::Number(_) => {
                Err("must be a decimal string such as \"12.50\", not a JSON number".to_owned())
            }
            _ => Err("must be a decimal string such as \"12.50\"".to_owned()),
        }))
    }
}

impl DecimalText {
    /// The amount in `currency`, or a field error under `field`.
    pub fn amount(
        &self,
        field: &str,
        currency: Currency,
        errors: &mut Vec<FieldError>,
    ) -> Option<Amount> {
        match &self.0 {
            Err(message) => {
                errors.push(FieldError::new(field, message.clone()));
                None
            }
            Ok(text) => match Amount::parse(text, currency) {
                Ok(amount) => Some(amount),
                Err(error) => {
                    errors.push(FieldError::new(
                        field,
                        ledger_core::contribution::amount_message(&error),
                    ));
                    None
                }
            },
        }
    }

    /// A strictly positive amount.
    pub fn positive_amount(
        &self,
        field: &str,
        currency: Currency,
        errors: &mut Vec<FieldError>,
    ) -> Option<Amount> {
        let amount = self.amount(field, currency, errors)?;
        if amount.is_positive() {
            Some(amount)
        } else {
            errors.push(FieldError::new(field, "must be greater than zero"));
            None
        }
    }

    /// A plain decimal (percentages, rates), written as a string.
    pub fn decimal(&self, field: &str, errors: &mut Vec<FieldError>) -> Option<Decimal> {
        match &self.0 {
            Err(message) => {
                errors.push(FieldError::new(field, message.clone()));
                None
            }
            Ok(text) => {
                let plain = !text.is_empty()
                    && text
                        .bytes()
                        .all(|byte| byte.is_ascii_digit() || byte == b'.' || byte == b'-');
                match text.parse::<Decimal>() {
                    Ok(value) if plain => Some(value),
                    _ => {
                        errors.push(FieldError::new(
                            field,
                            "must be a decimal string such as \"12.5\"",
                        ));
                        None
                    }
                }
            }
        }
    }

    /// A decimal string another door read (a bank statement's amount), as if sent as JSON.
    pub fn from_text(text: String) -> DecimalText {
        DecimalText(Ok(text))
    }

    /// The raw text, when it is one (for fields whose parse depends on others).
    pub fn text(&self) -> Result<&str, &str> {
        self.0.as_deref().map_err(String::as_str)
    }
}

/// Money in a response: `{"amount": "1250.00", "currency": "EUR"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Money {
    /// Decimal string with exactly the currency's minor unit digits.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<Amount> for Money {
    fn from(amount: Amount) -> Self {
        Money {
            amount: amount.to_decimal_string(),
            currency: amount.currency().code().to_owned(),
        }
    }
}

impl Money {
    /// From minor units (an amount, a balance or a sum: any `i64`), always as the currency's
    /// decimal text, never as raw minor units.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money {
            amount: ledger_core::money::decimal_string(minor, currency),
            currency: currency.code().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_reported_as_field_errors() {
        // Proves JSON numbers and strings with too many decimals become field errors, not parse failures.
        let values: Vec<DecimalText> =
            serde_json::from_str(r#"["12.50", 12.5, "1.005", null]"#).unwrap();
        let mut errors = Vec::new();
        assert_eq!(
            values[0]
                .amount("a", Currency::eur(), &mut errors)
                .unwrap()
                .minor(),
            1250
        );
        assert!(
            values[1]
                .amount("b", Currency::eur(), &mut errors)
                .is_none()
        );
        assert!(
            values[2]
                .amount("c", Currency::eur(), &mut errors)
                .is_none()
        );
        assert!(
            values[3]
                .amount("d", Currency::eur(), &mut errors)
                .is_none()
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["b", "c", "d"]);
        assert!(errors[0].message.contains("not a JSON number"));
    }

    #[test]
    fn balances_beyond_the_largest_amount_keep_their_decimal_point() {
        // Proves a total above the largest single amount (the attack's 9223372036854775807 minor
        // units) is shown in euros with its decimals, not as raw minor units.
        let money = Money::from_minor(i64::MAX, Currency::eur());
        assert_eq!(money.amount, "92233720368547758.07");
        assert_eq!(
            Money::from_minor(-1_000_000_000_000_001, Currency::eur()).amount,
            "-10000000000000.01"
        );
    }
}
