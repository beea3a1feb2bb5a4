//! Reading a beneficiary's fee schedule: the rule of which one applies is
//! [`FeeSchedule::applying`]; here the stored rows become schedules.

use ledger_core::settlement::FeeSchedule;
use ledger_core::{Amount, Currency, OrganisationId};
use ledger_store::transfers::FeeScheduleRow;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::App;
use crate::error::AppError;

/// A stored schedule row as a schedule (stored rows were checked when written).
pub fn schedule_of(row: &FeeScheduleRow) -> Result<FeeSchedule, AppError> {
    let currency = Currency::from_code(&row.currency).map_err(AppError::internal_message)?;
    let fixed =
        Amount::from_minor(row.fixed_minor, currency).map_err(AppError::internal_message)?;
    let percent: Decimal = row.percent.parse().map_err(AppError::internal_message)?;
    FeeSchedule::new(fixed, percent).map_err(AppError::internal_message)
}

/// The schedule a transfer of `programme` to `beneficiary` pays, read from the store.
pub async fn for_beneficiary(
    app: &App,
    beneficiary: OrganisationId,
    programme: Uuid,
    currency: Currency,
) -> Result<FeeSchedule, AppError> {
    let own = match app.store.fee_schedule(beneficiary.as_uuid()).await? {
        Some(row) => Some(schedule_of(&row)?),
        None => None,
    };
    let programme = match own {
        Some(_) => None,
        None => match app.store.fee_schedule(programme).await? {
            Some(row) => Some(schedule_of(&row)?),
            None => None,
        },
    };
    Ok(FeeSchedule::applying(own, programme, currency))
}
