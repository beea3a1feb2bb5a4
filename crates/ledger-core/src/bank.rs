//! Bank accounts of beneficiaries and of the network: an IBAN (checksum and the country's format,
//! checked by `iban_validate`) or, where a country has no IBAN, a national account number with the
//! bank's BIC; the holder's name; the account's currency. A value of these types is valid: it can
//! only come from parsing.

use iban::{Iban, IbanLike};

use crate::money::Currency;
use crate::text::{TextKind, checked_text};

/// The most characters of a national account number (ISO 20022's `Othr/Id` holds 34).
pub const MAX_ACCOUNT_NUMBER_LENGTH: usize = 34;
/// The most characters of an account holder's name (ISO 20022's `Nm` holds 140).
pub const MAX_HOLDER_NAME_LENGTH: usize = 140;

/// A Business Identifier Code (ISO 9362): 4 letters (bank), 2 letters (country), 2 letters or
/// digits (location), and optionally 3 letters or digits (branch).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bic(String);

impl Bic {
    pub fn parse(text: &str) -> Result<Bic, String> {
        let text = text.trim();
        let bytes = text.as_bytes();
        let letters =
            |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_uppercase);
        let alphanumeric = |range: std::ops::Range<usize>| {
            bytes[range]
                .iter()
                .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
        };
        let valid = matches!(bytes.len(), 8 | 11)
            && letters(0..4)
            && letters(4..6)
            && alphanumeric(6..bytes.len());
        if valid {
            Ok(Bic(text.to_owned()))
        } else {
            Err("must be a BIC of 8 or 11 characters: 4 letters (bank), 2 letters (country), 2 letters or digits (location), optionally 3 letters or digits (branch), upper case".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an account is: an IBAN (with the bank's BIC when known) or a national account number
/// with the bank's BIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountIdentifier {
    Iban { iban: String, bic: Option<Bic> },
    National { account_number: String, bic: Bic },
}

/// A bank account to pay or be paid through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub holder_name: String,
    pub identifier: AccountIdentifier,
    pub currency: Currency,
}

/// One problem with a bank account as given, under the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccountProblem {
    pub field: &'static str,
    pub message: String,
}

/// A bank account as given, before checking.
#[derive(Debug, Clone, Copy, Default)]
pub struct BankAccountInput<'a> {
    pub holder_name: &'a str,
    pub iban: Option<&'a str>,
    pub account_number: Option<&'a str>,
    pub bic: Option<&'a str>,
    pub currency: &'a str,
}

/// The IBAN in its electronic form (no spaces), if valid: checksum, length and format of its
/// country.
pub fn parse_iban(text: &str) -> Result<String, String> {
    text.parse::<Iban>()
        .map(|iban| iban.electronic_str().to_owned())
        .map_err(|error| {
            format!(
                "is not a valid IBAN ({error}): check its country code, length and check digits"
            )
        })
}

impl BankAccount {
    /// Checks every field at once: an IBAN or a national account number (not both, not neither),
    /// a BIC of the right form (required with a national account number), a holder's name and an
    /// ISO 4217 currency.
    pub fn parse(input: BankAccountInput<'_>) -> Result<BankAccount, Vec<BankAccountProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, message: String| {
            problems.push(BankAccountProblem { field, message });
        };
        let holder_name = match checked_text(
            input.holder_name,
            MAX_HOLDER_NAME_LENGTH,
            TextKind::Identifier,
        ) {
            Ok(name) => Some(name.to_owned()),
            Err(error) => {
                problem("holder_name", error.to_string());
                None
            }
        };
        let bic = match input.bic.map(Bic::parse).transpose() {
            Ok(bic) => bic,
            Err(message) => {
                problem("bic", message);
                None
            }
        };
        let bic_given = input.bic.is_some();
        let identifier = match (input.iban, input.account_number) {
            (Some(_), Some(_)) => {
                problem(
                    "account_number",
                    "give an IBAN or a national account number, not both".to_owned(),
                );
                None
            }
            (None, None) => {
                problem(
                    "iban",
                    "give an IBAN or, where the country has none, an account_number with the bank's bic".to_owned(),
                );
                None
            }
            (Some(iban), None) => match parse_iban(iban) {
                Ok(iban) => Some(AccountIdentifier::Iban {
                    iban,
                    bic: bic.clone(),
                }),
                Err(message) => {
                    problem("iban", message);
                    None
                }
            },
            (None, Some(number)) => {
                let number =
                    match checked_text(number, MAX_ACCOUNT_NUMBER_LENGTH, TextKind::Identifier) {
                        Ok(number)
                            if number
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ') =>
                        {
                            Some(number.to_owned())
                        }
                        Ok(_) => {
                            problem(
                                "account_number",
                                "may hold letters, digits, spaces and `-` only".to_owned(),
                            );
                            None
                        }
                        Err(error) => {
                            problem("account_number", error.to_string());
                            None
                        }
                    };
                if !bic_given {
                    problem(
                        "bic",
                        "is required with a national account number".to_owned(),
                    );
                }
                match (number, bic.clone()) {
                    (Some(account_number), Some(bic)) => Some(AccountIdentifier::National {
                        account_number,
                        bic,
                    }),
                    _ => None,
                }
            }
        };
        let currency = match Currency::from_code(input.currency) {
            Ok(currency) => Some(currency),
            Err(error) => {
                problem("currency", error.to_string());
                None
            }
        };
        match (holder_name, identifier, currency, problems.is_empty()) {
            (Some(holder_name), Some(identifier), Some(currency), true) => Ok(BankAccount {
                holder_name,
                identifier,
                currency,
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        iban: Option<&'a str>,
        account: Option<&'a str>,
        bic: Option<&'a str>,
    ) -> BankAccountInput<'a> {
        BankAccountInput {
            holder_name: "Mutuelle de l'éducation",
            iban,
            account_number: account,
            bic,
            currency: "XOF",
        }
    }

    fn fields(result: Result<BankAccount, Vec<BankAccountProblem>>) -> Vec<&'static str> {
        result
            .unwrap_err()
            .iter()
            .map(|problem| problem.field)
            .collect()
    }

    #[test]
    fn an_iban_is_checked_by_checksum_and_country_format() {
        // Proves a valid IBAN is kept in electronic form (spaces dropped), and a wrong check digit,
        // a wrong length for its country or an unknown country is refused under `iban`.
        let account = BankAccount::parse(input(
            Some("DE44 5001 0517 5407 3249 31"),
            None,
            Some("INGDDEFFXXX"),
        ))
        .unwrap();
        assert_eq!(
            account.identifier,
            AccountIdentifier::Iban {
                iban: "DE44500105175407324931".to_owned(),
                bic: Some(Bic::parse("INGDDEFFXXX").unwrap())
            }
        );
        for wrong in [
            "DE45500105175407324931",
            "DE4450010517540732493",
            "ZZ44500105175407324931",
            "not an iban",
        ] {
            assert_eq!(
                fields(BankAccount::parse(input(Some(wrong), None, None))),
                ["iban"],
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_national_account_needs_a_bic_of_the_right_form() {
        // Proves a national account number is accepted with a BIC of 8 or 11 characters, refused
        // without one or with a malformed one, and that an IBAN and an account number together,
        // or neither, are refused; every problem is reported at once.
        let account =
            BankAccount::parse(input(None, Some("00012 34567 89"), Some("RAWBCDKI"))).unwrap();
        assert!(matches!(
            account.identifier,
            AccountIdentifier::National { .. }
        ));
        assert_eq!(
            fields(BankAccount::parse(input(None, Some("123"), None))),
            ["bic"]
        );
        for bic in ["RAWB", "rawbcdki", "RAWB12KI", "RAWBCDKI12", "RAWBCDKI-12"] {
            assert_eq!(
                fields(BankAccount::parse(input(None, Some("123"), Some(bic)))),
                ["bic"],
                "{bic}"
            );
        }
        assert_eq!(
            fields(BankAccount::parse(input(
                Some("DE44500105175407324931"),
                Some("123"),
                None
            ))),
            ["account_number"]
        );
        assert_eq!(
            fields(BankAccount::parse(input(None, None, None))),
            ["iban"]
        );
        let mut bad = input(None, Some("12;34"), Some("RAWBCDKI"));
        bad.holder_name = "";
        bad.currency = "XXXX";
        assert_eq!(
            fields(BankAccount::parse(bad)),
            ["holder_name", "account_number", "currency"]
        );
    }
}
