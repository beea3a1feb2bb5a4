//! The expected bank fees given with a beneficiary or a programme. Which schedule a transfer then
//! pays is [`ledger_core::settlement::FeeSchedule::applying`].

use ledger_core::settlement::FeeSchedule;
use ledger_core::{Currency, Timestamp};
use ledger_store::records::FeeScheduleRecord;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::FieldError;
use crate::money::DecimalText;

/// Fee schedule given on an organisation or a programme.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeScheduleBody {
    /// Fixed EUR per transfer, decimal string.
    #[schema(value_type = String)]
    pub fixed: DecimalText,
    /// Percentage of the amount sent, decimal string.
    #[schema(value_type = String)]
    pub percent: DecimalText,
}

/// Parses a fee schedule under `field`, as the record to store for `owner_id`, recorded at `now`.
pub fn fee_schedule_record(
    body: &FeeScheduleBody,
    owner_id: Uuid,
    field: &str,
    now: Timestamp,
    errors: &mut Vec<FieldError>,
) -> Option<FeeScheduleRecord> {
    let eur = Currency::eur();
    let fixed = body.fixed.amount(&format!("{field}.fixed"), eur, errors);
    let percent = body.percent.decimal(&format!("{field}.percent"), errors);
    let (fixed, percent) = (fixed?, percent?);
    match FeeSchedule::new(fixed, percent) {
        Ok(schedule) => Some(FeeScheduleRecord {
            owner_id,
            fixed_minor: schedule.fixed.minor(),
            currency: eur.code().to_owned(),
            percent: schedule.percent.to_string(),
            created_at: now,
        }),
        Err(error) => {
            errors.push(FieldError::new(
                format!("{field}.{}", error.part()),
                error.to_string(),
            ));
            None
        }
    }
}
