//! Fee coverage, transfer runs (plan and execution), transfers and their confirmation, disputes
//! and the return of held funds.

pub mod confirmation;
pub mod execution;
pub mod fee_coverage;
pub mod fee_schedule;
pub mod held_funds;
pub mod listing;
pub mod runs;
pub mod settlement;
pub mod views;

use ledger_core::{Account, Currency};

use crate::App;
use crate::error::AppError;

pub use views::{ConfirmationView, OpenDisputeView, RateView, TransferView, row_of, transfer_view};

/// The fund's currency: fee coverage and every transfer are kept in euros.
pub fn eur() -> Currency {
    Currency::eur()
}

/// The currency of a stored row (always valid: it was checked when written).
pub fn stored_currency(code: &str) -> Result<Currency, AppError> {
    Currency::from_code(code).map_err(AppError::internal_message)
}

/// A net-asset account's balance, shown positive: such accounts hold credit (negative) balances.
pub async fn credit_balance(app: &App, account: &Account) -> Result<i64, AppError> {
    Ok(-app.store.balance(account.id, None).await?)
}
