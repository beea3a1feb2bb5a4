//! Reading a beneficiary's fee schedule: the rule of which one applies is
//! [`FeeSchedule::applying`]; here the stored rows become schedules.

use ledger_core::organisation::{Organisation, Programme};
use ledger_core::settlement::FeeSchedule;
use ledger_core::{Amount, Currency, Period};
use ledger_store::transfers::FeeScheduleRow;
use rust_decimal::Decimal;

use crate::App;
use crate::error::AppError;
use crate::registry::details_on;

/// A stored schedule row as a schedule (stored rows were checked when written).
pub fn schedule_of(row: &FeeScheduleRow) -> Result<FeeSchedule, AppError> {
    let currency = Currency::from_code(&row.currency).map_err(AppError::internal_message)?;
    let fixed =
        Amount::from_minor(row.fixed_minor, currency).map_err(AppError::internal_message)?;
    let percent: Decimal = row.percent.parse().map_err(AppError::internal_message)?;
    FeeSchedule::new(fixed, percent).map_err(AppError::internal_message)
}

/// The schedule a transfer of `programme` to `beneficiary` for `period` pays, read from the
/// store: the beneficiary's own schedule of the version of its details in force at the end of
/// the period (the date a run of that period reads them), else the programme's. A top-up pays by
/// the same version as the transfer it makes good, so a later change of schedule never changes
/// the fee of a period already planned.
pub async fn for_beneficiary(
    app: &App,
    beneficiary: &Organisation,
    programme: &Programme,
    period: &str,
    currency: Currency,
) -> Result<FeeSchedule, AppError> {
    let period = Period::parse(period, programme.period).map_err(AppError::internal_message)?;
    let details = details_on(app, beneficiary, period.end()).await?;
    let own = details.fee_schedule.as_ref().map(schedule_of).transpose()?;
    let programme = match own {
        Some(_) => None,
        None => match app.store.fee_schedule(programme.id).await? {
            Some(row) => Some(schedule_of(&row)?),
            None => None,
        },
    };
    Ok(FeeSchedule::applying(own, programme, currency))
}
