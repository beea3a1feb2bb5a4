//! Reading the fields every operation shares: ids, dates, periods. Each problem is pushed as a
//! [`FieldError`] naming its field, so an operation reports every problem at once.

use ledger_core::{FundDate, Period};
use uuid::Uuid;

use crate::error::{AppError, FieldError};

/// An id in any of the UUID forms (hyphenated, simple, braced, URN), or `None`.
pub fn parse_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

/// A date `YYYY-MM-DD` in the fund's range, or a field error under `field`.
pub fn parse_date(text: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<FundDate> {
    FundDate::parse(text)
        .map_err(|error| errors.push(FieldError::new(field, error.to_string())))
        .ok()
}

/// Parses an optional period filter of a read (any of the three forms) into its canonical text;
/// a malformed one is refused naming the parameter, since it would match nothing and answer as if
/// there were nothing to see.
pub fn parse_period_filter(text: Option<&str>, field: &str) -> Result<Option<String>, AppError> {
    text.map(Period::parse_any)
        .transpose()
        .map(|period| period.map(|period| period.to_string()))
        .map_err(|message| AppError::validation(vec![FieldError::new(field, message)]))
}

/// A `reason` field (reversals, rejections, returns): trimmed, 1 to
/// [`ledger_core::memo::MAX_REASON_LENGTH`] characters.
pub fn reason_field(text: &str) -> Result<ledger_core::memo::Reason, AppError> {
    ledger_core::memo::Reason::parse(text)
        .map_err(|error| AppError::invalid_field("reason", error.to_string()))
}

/// A text field checked by the one text rule of the core (`ledger_core::text`), its error pushed
/// under `field`.
pub fn text_field<'a>(
    field: &str,
    text: &'a str,
    max_chars: usize,
    kind: ledger_core::text::TextKind,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    ledger_core::text::checked_text(text, max_chars, kind)
        .map_err(|error| errors.push(FieldError::new(field, error.to_string())))
        .ok()
}

/// The most characters of a bank reference (ISO 20022 references are at most 35; statements' own
/// references can be longer).
pub const MAX_BANK_REFERENCE_LENGTH: usize = 140;
