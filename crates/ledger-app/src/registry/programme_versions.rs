//! Programme rules as versions: the network changes conditions and their parameters, the
//! allocation policy, the minimum transfer or the admin cap from a period on; the programme as
//! opened is version 0. A run uses the version of its period and records which, so past plans and
//! verdicts never change meaning.

use chrono::NaiveDate;
use ledger_core::organisation::{AllocationPolicy, ConditionRule, Programme};
use ledger_core::versions::{check_effective_from, in_force};
use ledger_core::{Amount, FundDate, Period};
use ledger_store::WriteRequest;
use ledger_store::records::{ProgrammeVersionRecord, Record};
use ledger_store::versions::ProgrammeVersionRow;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::programmes::{ConditionInput, parse_allocation, parse_conditions};
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::money::{DecimalText, Money};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

/// The programme with the rules of `version`.
fn with_version(
    programme: Programme,
    version: &ProgrammeVersionRow,
) -> Result<Programme, AppError> {
    Ok(Programme {
        allocation: serde_json::from_str(&version.allocation).map_err(AppError::internal)?,
        conditions: serde_json::from_str(&version.conditions).map_err(AppError::internal)?,
        minimum_transfer: Amount::from_minor(version.minimum_transfer_minor, programme.currency)
            .map_err(AppError::internal_message)?,
        admin_cost_cap_percent: version
            .admin_cost_cap_percent
            .parse::<Decimal>()
            .map_err(AppError::internal_message)?,
        ..programme
    })
}

/// The programme with the rules in force on `date`, and the version they come from (`None`: as
/// opened).
pub fn rules_in_force(
    programme: Programme,
    versions: &[ProgrammeVersionRow],
    date: NaiveDate,
) -> Result<(Programme, Option<&ProgrammeVersionRow>), AppError> {
    match in_force(versions, |version| version.effective_from, date) {
        Some(version) => Ok((with_version(programme, version)?, Some(version))),
        None => Ok((programme, None)),
    }
}

/// The programme with the rules of `period` (in force at its start), and their version number.
pub async fn programme_for_period(
    app: &App,
    programme: Programme,
    period: &Period,
) -> Result<(Programme, i32), AppError> {
    let versions = app.store.programme_versions(programme.id).await?;
    let (programme, version) = rules_in_force(programme, &versions, period.start())?;
    Ok((
        programme,
        version.map_or(0, |version| version.version_number),
    ))
}

/// The programme with the rules of version `number` (what a recorded run used).
pub async fn programme_at_version(
    app: &App,
    programme: Programme,
    number: i32,
) -> Result<Programme, AppError> {
    if number == 0 {
        return Ok(programme);
    }
    let versions = app.store.programme_versions(programme.id).await?;
    let version = versions
        .iter()
        .find(|version| version.version_number == number)
        .ok_or_else(|| AppError::internal_message("a run names an unknown programme version"))?;
    with_version(programme, version)
}

/// New rules from a period on. Rules left out keep the previous version's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeProgrammeBody {
    /// The first period the rules apply to, in the programme's form (`2026-11`, `2026-Q4`,
    /// `2026`); never before the previous version's.
    pub effective_period: String,
    #[schema(value_type = Option<Object>)]
    pub allocation: Option<serde_json::Value>,
    pub conditions: Option<Vec<ConditionInput>>,
    #[schema(value_type = Option<String>)]
    pub minimum_transfer: Option<DecimalText>,
    #[schema(value_type = Option<String>)]
    pub admin_cost_cap_percent: Option<DecimalText>,
}

/// One version of a programme's rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeVersionView {
    pub programme_id: Uuid,
    /// 0: as opened.
    pub version: i32,
    /// The first period it applies to (`null` for version 0: from the start).
    pub effective_period: Option<String>,
    #[schema(value_type = Object)]
    pub allocation: AllocationPolicy,
    #[schema(value_type = Vec<Object>)]
    pub conditions: Vec<ConditionRule>,
    pub minimum_transfer: Money,
    pub admin_cost_cap_percent: String,
    /// What this version changed against the previous one.
    pub changed_fields: Vec<String>,
    /// Who recorded it (`null` for version 0), and when.
    pub changed_by: Option<String>,
    pub recorded_at: Option<String>,
}

fn view(
    programme: &Programme,
    version: Option<&ProgrammeVersionRow>,
) -> Result<ProgrammeVersionView, AppError> {
    Ok(ProgrammeVersionView {
        programme_id: programme.id,
        version: version.map_or(0, |version| version.version_number),
        effective_period: version.map(|version| version.effective_period.clone()),
        allocation: programme.allocation.clone(),
        conditions: programme.conditions.clone(),
        minimum_transfer: programme.minimum_transfer.into(),
        admin_cost_cap_percent: programme.admin_cost_cap_percent.to_string(),
        changed_fields: version.map_or_else(Vec::new, |version| {
            version
                .changed_fields
                .split(',')
                .filter(|field| !field.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        changed_by: version.map(|version| version.changed_by.clone()),
        recorded_at: version.map(|version| {
            ledger_core::Timestamp::from_datetime(version.created_at).to_canonical_string()
        }),
    })
}

async fn programme_of(app: &App, id: &str) -> Result<Programme, AppError> {
    let not_found = || AppError::not_found("no such programme");
    let id = parse_id(id).ok_or_else(not_found)?;
    app.store.programme(id).await?.ok_or_else(not_found)
}

/// Past plans never change meaning: rules may not take effect from a period that already has a
/// recorded run (planned or executed; dry runs are not recorded), nor from one before it, since
/// the new version would then govern that run's period. Such a change is a `409
/// period_already_planned` naming each run; rules for the periods after the last run are
/// recorded as usual. A run records the version it used, and a later plan of the same period
/// can only find that version in force. This read names the runs; the database holds the same
/// rule inside the write's transaction (migrations 0025), so a run recorded between this read and
/// the write refuses the version with the same code (`StoreError::PeriodAlreadyPlanned`), and a
/// run planned with the version this one supersedes is refused in turn (`409
/// programme_rules_changed`).
async fn refuse_planned_periods(
    app: &App,
    programme: &Programme,
    effective: &Period,
) -> Result<(), AppError> {
    let mut planned = Vec::new();
    for run in app.store.programme_runs(programme.id).await? {
        let period =
            Period::parse(&run.period, programme.period).map_err(AppError::internal_message)?;
        if period.start() >= effective.start() {
            let state = match run.execution_transaction_id {
                Some(_) => "executed",
                None => "planned",
            };
            planned.push((run.id, run.period, state));
        }
    }
    let Some((first, first_period, first_state)) = planned.first() else {
        return Ok(());
    };
    Err(AppError {
        errors: planned
            .iter()
            .map(|(id, period, state)| {
                FieldError::new(
                    "effective_period",
                    format!("the period {period} already has the {state} run {id}"),
                )
            })
            .collect(),
        ..AppError::conflict(
            "period_already_planned",
            format!(
                "rules from {effective} would change the meaning of the {first_state} run {first} \
                 for {first_period}: give an effective_period after the last planned period"
            ),
        )
    })
}

/// Record new rules for a programme from a period on (the network); `id` as given in the path.
#[derive(Debug)]
pub struct ChangeProgramme {
    pub id: String,
    pub body: ChangeProgrammeBody,
}

impl Command for ChangeProgramme {
    const OPERATION: Operation = Operation::ChangeProgramme;
    type Output = ProgrammeVersionView;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<ProgrammeVersionView>, AppError> {
        let opened = programme_of(app, &self.id).await?;
        let versions = app.store.programme_versions(opened.id).await?;
        let previous = match versions.last() {
            Some(last) => with_version(opened.clone(), last)?,
            None => opened.clone(),
        };
        let body = self.body;
        let mut errors = Vec::new();
        let period = match Period::parse(&body.effective_period, opened.period) {
            Ok(period) => Some(period),
            Err(message) => {
                errors.push(FieldError::new("effective_period", message));
                None
            }
        };
        if let (Some(period), Some(last)) = (&period, versions.last())
            && let Err(error) = check_effective_from(Some(last.effective_from), period.start())
        {
            errors.push(FieldError::new("effective_period", error.to_string()));
        }
        let allocation = match &body.allocation {
            Some(value) => parse_allocation(app, value, &mut errors).await?,
            None => Some(previous.allocation.clone()),
        };
        let conditions = match &body.conditions {
            Some(inputs) => parse_conditions(inputs, &mut errors),
            None => previous.conditions.clone(),
        };
        let minimum_transfer = match &body.minimum_transfer {
            Some(text) => text
                .amount("minimum_transfer", opened.currency, &mut errors)
                .filter(|amount| {
                    let negative = amount.is_negative();
                    if negative {
                        errors.push(FieldError::new("minimum_transfer", "must not be negative"));
                    }
                    !negative
                }),
            None => Some(previous.minimum_transfer),
        };
        let cap = match &body.admin_cost_cap_percent {
            Some(text) => text
                .decimal("admin_cost_cap_percent", &mut errors)
                .filter(|cap| {
                    let valid = *cap >= Decimal::ZERO && *cap <= Decimal::ONE_HUNDRED;
                    if !valid {
                        errors.push(FieldError::new(
                            "admin_cost_cap_percent",
                            "must be between 0 and 100",
                        ));
                    }
                    valid
                })
                .map(|cap| cap.normalize()),
            None => Some(previous.admin_cost_cap_percent),
        };
        let (Some(period), Some(allocation), Some(minimum_transfer), Some(cap), true) =
            (period, allocation, minimum_transfer, cap, errors.is_empty())
        else {
            return Err(AppError::validation(errors));
        };
        refuse_planned_periods(app, &opened, &period).await?;
        let mut changed_fields = Vec::new();
        if allocation != previous.allocation {
            changed_fields.push("allocation");
        }
        if conditions != previous.conditions {
            changed_fields.push("conditions");
        }
        if minimum_transfer != previous.minimum_transfer {
            changed_fields.push("minimum_transfer");
        }
        if cap != previous.admin_cost_cap_percent {
            changed_fields.push("admin_cost_cap_percent");
        }
        if changed_fields.is_empty() {
            return Err(AppError::validation(vec![FieldError::new(
                "effective_period",
                "these rules change nothing: give an allocation, conditions, minimum_transfer or admin_cost_cap_percent that differs from the version in force",
            )]));
        }
        let effective_from =
            FundDate::from_naive(period.start()).map_err(AppError::internal_message)?;
        let record = ProgrammeVersionRecord {
            programme_id: opened.id,
            version_number: versions
                .last()
                .map_or(1, |last| last.version_number.saturating_add(1)),
            effective_period: period.to_string(),
            effective_from,
            allocation,
            conditions,
            minimum_transfer_minor: minimum_transfer.minor(),
            admin_cost_cap_percent: cap.to_string(),
            changed_fields,
            changed_by: format!("{} ({})", caller.subject, caller.organisation),
            created_at: app.sources.timestamp(),
        };
        let row = ProgrammeVersionRow {
            programme_id: record.programme_id,
            version_number: record.version_number,
            effective_period: record.effective_period.clone(),
            effective_from: period.start(),
            allocation: serde_json::to_string(&record.allocation).map_err(AppError::internal)?,
            conditions: serde_json::to_string(&record.conditions).map_err(AppError::internal)?,
            minimum_transfer_minor: record.minimum_transfer_minor,
            admin_cost_cap_percent: record.admin_cost_cap_percent.clone(),
            changed_fields: record.changed_fields.join(","),
            changed_by: record.changed_by.clone(),
            created_at: record.created_at.to_datetime(),
        };
        let output = view(&with_version(opened, &row)?, Some(&row))?;
        let write = WriteRequest {
            records: vec![Record::ProgrammeVersion(record)],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, output, write))
    }
}

/// Every version of a programme's rules, oldest first, and which is in force today.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeHistoryView {
    pub programme_id: Uuid,
    pub current_version: i32,
    pub versions: Vec<ProgrammeVersionView>,
}

/// A programme's rule history (every role); `id` as given in the path.
#[derive(Debug)]
pub struct ProgrammeHistory(pub String);

impl Query for ProgrammeHistory {
    const OPERATION: Operation = Operation::ReadProgramme;
    type Output = ProgrammeHistoryView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<ProgrammeHistoryView, AppError> {
        let opened = programme_of(app, &self.0).await?;
        let versions = app.store.programme_versions(opened.id).await?;
        let today = app.sources.today()?.naive();
        let current = in_force(&versions, |version| version.effective_from, today)
            .map_or(0, |version| version.version_number);
        let mut views = vec![view(&opened, None)?];
        for version in &versions {
            views.push(view(
                &with_version(opened.clone(), version)?,
                Some(version),
            )?);
        }
        Ok(ProgrammeHistoryView {
            programme_id: opened.id,
            current_version: current,
            versions: views,
        })
    }
}
