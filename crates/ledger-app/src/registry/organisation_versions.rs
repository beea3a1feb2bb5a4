//! Organisation details as versions: the network records a new name, contact, covered members or
//! fee schedule with the date it takes effect; nothing registered is ever changed. A run, a verdict
//! or a view uses the version in force at its date ([`ledger_core::versions::in_force`]); the
//! organisation as registered is version 0, in force until a version takes effect.

use chrono::NaiveDate;
use ledger_core::organisation::{Organisation, OrganisationKind, parse_name};
use ledger_core::versions::{check_effective_from, in_force};
use ledger_core::{Amount, Currency, OrganisationId};
use ledger_store::WriteRequest;
use ledger_store::records::{OrganisationVersionRecord, Record};
use ledger_store::transfers::FeeScheduleRow;
use ledger_store::versions::OrganisationVersionRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::checks::check;
use super::fee_schedules::{FeeScheduleBody, fee_schedule_record};
use crate::error::{AppError, FieldError};
use crate::fields::{parse_date, parse_id, text_field};
use crate::money::Money;
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

/// The most characters of an organisation's contact (a person, an address, a telephone).
pub const MAX_CONTACT_LENGTH: usize = 300;

/// An organisation's details as in force on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// 0: as registered.
    pub version: i32,
    pub effective_from: Option<NaiveDate>,
    pub name: String,
    pub contact: Option<String>,
    pub covered_members: Option<u64>,
    pub fee_schedule: Option<FeeScheduleRow>,
}

impl Details {
    /// The organisation as registered (version 0), with its fee schedule as given then.
    pub fn registered(
        organisation: &Organisation,
        fee_schedule: Option<FeeScheduleRow>,
    ) -> Details {
        Details {
            version: 0,
            effective_from: None,
            name: organisation.name.clone(),
            contact: None,
            covered_members: organisation.covered_members,
            fee_schedule,
        }
    }

    fn of_version(version: &OrganisationVersionRow) -> Details {
        let fee_schedule = match (
            version.fee_fixed_minor,
            &version.fee_currency,
            &version.fee_percent,
        ) {
            (Some(fixed_minor), Some(currency), Some(percent)) => Some(FeeScheduleRow {
                fixed_minor,
                currency: currency.clone(),
                percent: percent.clone(),
            }),
            _ => None,
        };
        Details {
            version: version.version_number,
            effective_from: Some(version.effective_from),
            name: version.name.clone(),
            contact: version.contact.clone(),
            covered_members: version
                .covered_members
                .and_then(|members| u64::try_from(members).ok()),
            fee_schedule,
        }
    }

    /// The details in force on `date`: the last version effective by then, or as registered.
    pub fn in_force(
        organisation: &Organisation,
        registered_fee_schedule: Option<&FeeScheduleRow>,
        versions: &[OrganisationVersionRow],
        date: NaiveDate,
    ) -> Details {
        match in_force(versions, |version| version.effective_from, date) {
            Some(version) => Details::of_version(version),
            None => Details::registered(organisation, registered_fee_schedule.cloned()),
        }
    }

    /// The organisation with these details' name and covered members.
    pub fn apply(&self, organisation: Organisation) -> Organisation {
        Organisation {
            name: self.name.clone(),
            covered_members: self.covered_members,
            ..organisation
        }
    }
}

/// The details an organisation has in force on `date`, read from the store.
pub async fn details_on(
    app: &App,
    organisation: &Organisation,
    date: NaiveDate,
) -> Result<Details, AppError> {
    let versions = app.store.organisation_versions(organisation.id).await?;
    let fee = app.store.fee_schedule(organisation.id.as_uuid()).await?;
    Ok(Details::in_force(
        organisation,
        fee.as_ref(),
        &versions,
        date,
    ))
}

/// A new version of an organisation's details. Fields left out keep the previous version's value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeOrganisationBody {
    /// `YYYY-MM-DD`: the date from which the version is in force, on or after the previous
    /// version's.
    #[schema(format = Date)]
    pub effective_from: String,
    pub name: Option<String>,
    /// Who to reach: a person, an address, a telephone (at most 300 characters).
    pub contact: Option<String>,
    /// Members covered from that date (the weight of pro-rata allocation).
    pub covered_members: Option<i64>,
    /// A beneficiary's expected bank fees per transfer from that date.
    pub fee_schedule: Option<FeeScheduleBody>,
}

/// A fee schedule as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeeScheduleView {
    pub fixed: Money,
    /// Decimal string.
    pub percent: String,
}

/// One version of an organisation's details.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationVersionView {
    pub organisation_id: Uuid,
    /// 0: as registered.
    pub version: i32,
    /// From when it is in force; `null` for version 0 (from the start).
    pub effective_from: Option<String>,
    pub name: String,
    pub contact: Option<String>,
    pub covered_members: Option<u64>,
    pub fee_schedule: Option<FeeScheduleView>,
    /// What this version changed against the previous one.
    pub changed_fields: Vec<String>,
    /// Who recorded it (`null` for version 0), and when.
    pub changed_by: Option<String>,
    pub recorded_at: Option<String>,
}

fn fee_view(row: &FeeScheduleRow) -> Result<FeeScheduleView, AppError> {
    let currency = Currency::from_code(&row.currency).map_err(AppError::internal_message)?;
    Ok(FeeScheduleView {
        fixed: Amount::from_minor(row.fixed_minor, currency)
            .map_err(AppError::internal_message)?
            .into(),
        percent: row.percent.clone(),
    })
}

fn version_view(
    organisation: OrganisationId,
    details: &Details,
    changed_fields: Vec<String>,
    changed_by: Option<String>,
    recorded_at: Option<String>,
) -> Result<OrganisationVersionView, AppError> {
    Ok(OrganisationVersionView {
        organisation_id: organisation.as_uuid(),
        version: details.version,
        effective_from: details.effective_from.map(|date| date.to_string()),
        name: details.name.clone(),
        contact: details.contact.clone(),
        covered_members: details.covered_members,
        fee_schedule: details.fee_schedule.as_ref().map(fee_view).transpose()?,
        changed_fields,
        changed_by,
        recorded_at,
    })
}

fn timestamp_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// An organisation by the id given in the path, or 404.
async fn organisation_of(app: &App, id: &str) -> Result<Organisation, AppError> {
    let not_found = || AppError::not_found("no such organisation");
    let id = parse_id(id).ok_or_else(not_found)?;
    app.store
        .organisation(OrganisationId::from_uuid(id))
        .await?
        .ok_or_else(not_found)
}

/// Record a new version of an organisation's details (the network); `id` as given in the path.
#[derive(Debug)]
pub struct ChangeOrganisation {
    pub id: String,
    pub body: ChangeOrganisationBody,
}

impl Command for ChangeOrganisation {
    const OPERATION: Operation = Operation::ChangeOrganisation;
    type Output = OrganisationVersionView;

    async fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> Result<Planned<OrganisationVersionView>, AppError> {
        let organisation = organisation_of(app, &self.id).await?;
        let versions = app.store.organisation_versions(organisation.id).await?;
        let registered_fee = app.store.fee_schedule(organisation.id.as_uuid()).await?;
        let previous = match versions.last() {
            Some(last) => Details::of_version(last),
            None => Details::registered(&organisation, registered_fee),
        };
        let body = self.body;
        let mut errors = Vec::new();
        let effective_from = parse_date(&body.effective_from, "effective_from", &mut errors);
        if let (Some(next), Some(last)) = (effective_from, previous.effective_from)
            && let Err(error) = check_effective_from(Some(last), next.naive())
        {
            errors.push(FieldError::new("effective_from", error.to_string()));
        }
        let name = match &body.name {
            Some(name) => check(parse_name(name), "name", &mut errors),
            None => Some(previous.name.clone()),
        };
        let contact = match &body.contact {
            Some(contact) => text_field(
                "contact",
                contact,
                MAX_CONTACT_LENGTH,
                ledger_core::text::TextKind::Identifier,
                &mut errors,
            )
            .map(|text| Some(text.to_owned())),
            None => Some(previous.contact.clone()),
        };
        let covered_members = match body.covered_members {
            Some(members) => match u64::try_from(members) {
                Ok(members) => Some(Some(members)),
                Err(_) => {
                    errors.push(FieldError::new("covered_members", "must not be negative"));
                    None
                }
            },
            None => Some(previous.covered_members),
        };
        let fee_schedule = match &body.fee_schedule {
            Some(_) if organisation.kind != OrganisationKind::Beneficiary => {
                errors.push(FieldError::new(
                    "fee_schedule",
                    "only beneficiaries receive transfers",
                ));
                None
            }
            Some(schedule) => fee_schedule_record(
                schedule,
                organisation.id.as_uuid(),
                "fee_schedule",
                app.sources.timestamp(),
                &mut errors,
            )
            .map(|record| {
                Some(FeeScheduleRow {
                    fixed_minor: record.fixed_minor,
                    currency: record.currency,
                    percent: record.percent,
                })
            }),
            None => Some(previous.fee_schedule.clone()),
        };
        let (
            Some(effective_from),
            Some(name),
            Some(contact),
            Some(covered_members),
            Some(fee_schedule),
            true,
        ) = (
            effective_from,
            name,
            contact,
            covered_members,
            fee_schedule,
            errors.is_empty(),
        )
        else {
            return Err(AppError::validation(errors));
        };
        let next = Details {
            version: previous.version + 1,
            effective_from: Some(effective_from.naive()),
            name,
            contact,
            covered_members,
            fee_schedule,
        };
        let mut changed_fields = Vec::new();
        if next.name != previous.name {
            changed_fields.push("name");
        }
        if next.contact != previous.contact {
            changed_fields.push("contact");
        }
        if next.covered_members != previous.covered_members {
            changed_fields.push("covered_members");
        }
        if next.fee_schedule != previous.fee_schedule {
            changed_fields.push("fee_schedule");
        }
        if changed_fields.is_empty() {
            return Err(AppError::validation(vec![FieldError::new(
                "effective_from",
                "this version changes nothing: give a name, contact, covered_members or fee_schedule that differs from the version in force",
            )]));
        }
        let now = app.sources.timestamp();
        let changed_by = format!("{} ({})", caller.subject, caller.organisation);
        let view = version_view(
            organisation.id,
            &next,
            changed_fields
                .iter()
                .map(|field| (*field).to_owned())
                .collect(),
            Some(changed_by.clone()),
            Some(timestamp_text(now.to_datetime())),
        )?;
        let covered_members = next
            .covered_members
            .map(|members| {
                i64::try_from(members)
                    .map_err(|_| AppError::invalid_field("covered_members", "is too large"))
            })
            .transpose()?;
        let write = WriteRequest {
            records: vec![Record::OrganisationVersion(OrganisationVersionRecord {
                organisation_id: organisation.id,
                version_number: next.version,
                effective_from,
                name: next.name,
                contact: next.contact,
                covered_members,
                fee_schedule: next
                    .fee_schedule
                    .map(|row| (row.fixed_minor, row.currency, row.percent)),
                changed_fields,
                changed_by,
                created_at: now,
            })],
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}

/// Every version of an organisation's details, oldest first, and which is in force today.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationHistoryView {
    pub organisation_id: Uuid,
    /// The version in force today.
    pub current_version: i32,
    pub versions: Vec<OrganisationVersionView>,
}

/// An organisation's history (every role that may read the organisation); `id` as given.
#[derive(Debug)]
pub struct OrganisationHistory(pub String);

impl Query for OrganisationHistory {
    const OPERATION: Operation = Operation::ReadOrganisation;
    type Output = OrganisationHistoryView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<OrganisationHistoryView, AppError> {
        let organisation = organisation_of(app, &self.0).await?;
        let versions = app.store.organisation_versions(organisation.id).await?;
        let registered_fee = app.store.fee_schedule(organisation.id.as_uuid()).await?;
        let today = app.sources.today()?.naive();
        let current = Details::in_force(&organisation, registered_fee.as_ref(), &versions, today);
        let mut views = vec![version_view(
            organisation.id,
            &Details::registered(&organisation, registered_fee),
            Vec::new(),
            None,
            None,
        )?];
        for version in &versions {
            views.push(version_view(
                organisation.id,
                &Details::of_version(version),
                version
                    .changed_fields
                    .split(',')
                    .filter(|field| !field.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Some(version.changed_by.clone()),
                Some(timestamp_text(version.created_at)),
            )?);
        }
        Ok(OrganisationHistoryView {
            organisation_id: organisation.id.as_uuid(),
            current_version: current.version,
            versions: views,
        })
    }
}
