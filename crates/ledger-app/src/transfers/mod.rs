//! Fee coverage, transfer runs (plan and execution), transfers and their confirmation, disputes
//! and the return of held funds.

pub mod confirmation;
pub mod fee_schedule;
pub mod held_funds;
pub mod listing;
pub mod settlement;

use ledger_core::Currency;

use crate::error::AppError;

/// A currency code the store holds (checked when written).
pub fn stored_currency(code: &str) -> Result<Currency, AppError> {
    Currency::from_code(code).map_err(AppError::internal_message)
}
