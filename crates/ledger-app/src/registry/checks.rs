//! Field checks the registry's operations share.

use ledger_core::Currency;

use crate::error::FieldError;

/// The value of `result`, or its message pushed under `field`.
pub(super) fn check<T>(
    result: Result<T, String>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    result
        .map_err(|message| errors.push(FieldError::new(field, message)))
        .ok()
}

/// An ISO 4217 currency code, or a problem under `field`.
pub(super) fn currency_field(
    code: &str,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Currency> {
    check(
        Currency::from_code(code).map_err(|error| error.to_string()),
        field,
        errors,
    )
}
