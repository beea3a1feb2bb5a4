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

/// Fee schedule given on an organisation or a programme.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeScheduleBody {
    /// Fixed EUR per transfer, decimal string.
    #[schema(value_type = String)]
    pub fixed: crate::money::DecimalText,
    /// Percentage of the amount sent, decimal string.
    #[schema(value_type = String)]
    pub percent: crate::money::DecimalText,
}

/// Parses a fee schedule under `field`, as the record to store for `owner_id`, written `now`.
pub fn record(
    body: &FeeScheduleBody,
    owner_id: Uuid,
    field: &str,
    now: ledger_core::Timestamp,
    errors: &mut Vec<crate::error::FieldError>,
) -> Option<ledger_store::records::FeeScheduleRecord> {
    let eur = Currency::eur();
    let fixed = body.fixed.amount(&format!("{field}.fixed"), eur, errors);
    let percent = body.percent.decimal(&format!("{field}.percent"), errors);
    let (fixed, percent) = (fixed?, percent?);
    match FeeSchedule::new(fixed, percent) {
        Ok(schedule) => Some(ledger_store::records::FeeScheduleRecord {
            owner_id,
            fixed_minor: schedule.fixed.minor(),
            currency: eur.code().to_owned(),
            percent: schedule.percent.to_string(),
            created_at: now,
        }),
        Err(message) => {
            errors.push(crate::error::FieldError::new(field, message));
            None
        }
    }
}
