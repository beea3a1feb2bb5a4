//! Organisations: the network registers them; every role reads them, with the details of the
//! version in force today ([`super::organisation_versions`]).

use ledger_core::OrganisationId;
use ledger_core::organisation::{
    MAX_REGISTRY_IDENTIFIER_LENGTH, Organisation, OrganisationKind, Slug, parse_country, parse_name,
};
use ledger_store::WriteRequest;
use ledger_store::records::Record;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::checks::{check, currency_field};
use super::fee_schedules::{FeeScheduleBody, fee_schedule_record};
use super::organisation_versions::{Details, details_on};
use crate::error::{AppError, FieldError};
use crate::fields::{parse_id, text_field};
use crate::pagination::{Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    /// Short stable name: a-z, 0-9, `-`.
    pub slug: String,
    pub name: String,
    /// contributor | beneficiary | network | auditor
    pub kind: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 4217: the organisation's own currency (a beneficiary is paid in it).
    pub currency: String,
    /// Members covered (the weight of pro-rata allocation).
    pub covered_members: Option<i64>,
    /// IATI organisation identifier, e.g. `FR-RNA-W751234567`.
    pub registry_identifier: Option<String>,
    /// A beneficiary's expected bank fees per transfer (overrides the programme's).
    pub fee_schedule: Option<FeeScheduleBody>,
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub country: String,
    pub currency: String,
    pub covered_members: Option<u64>,
    pub registry_identifier: Option<String>,
    /// Who to reach, from the version in force.
    pub contact: Option<String>,
    /// The version of the details shown: the one in force today (0: as registered; every
    /// version is at `GET /v1/organisations/{id}/history`).
    pub version: i32,
    /// From when that version is in force (`null` for version 0).
    pub version_effective_from: Option<String>,
}

impl From<Organisation> for OrganisationView {
    fn from(organisation: Organisation) -> Self {
        OrganisationView {
            id: organisation.id.as_uuid(),
            slug: organisation.slug.to_string(),
            name: organisation.name,
            kind: organisation.kind.as_str().to_owned(),
            country: organisation.country,
            currency: organisation.currency.code().to_owned(),
            covered_members: organisation.covered_members,
            registry_identifier: organisation.registry_identifier,
            contact: None,
            version: 0,
            version_effective_from: None,
        }
    }
}

impl OrganisationView {
    /// The organisation with the details of a version.
    pub fn with_details(organisation: Organisation, details: &Details) -> OrganisationView {
        OrganisationView {
            contact: details.contact.clone(),
            version: details.version,
            version_effective_from: details.effective_from.map(|date| date.to_string()),
            ..OrganisationView::from(details.apply(organisation))
        }
    }
}

/// Register an organisation (the network).
#[derive(Debug)]
pub struct RegisterOrganisation(pub CreateOrganisation);

impl Command for RegisterOrganisation {
    const OPERATION: Operation = Operation::RegisterOrganisation;
    type Output = OrganisationView;

    async fn plan(
        self,
        app: &App,
        _caller: &Caller,
    ) -> Result<Planned<OrganisationView>, AppError> {
        let body = self.0;
        let mut errors = Vec::new();
        let slug = check(Slug::parse(&body.slug), "slug", &mut errors);
        let name = check(parse_name(&body.name), "name", &mut errors);
        let kind = OrganisationKind::parse(&body.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                "must be contributor, beneficiary, network or auditor",
            ));
        }
        let country = check(parse_country(&body.country), "country", &mut errors);
        let currency = currency_field(&body.currency, "currency", &mut errors);
        let covered_members = match body.covered_members {
            Some(members) if members < 0 => {
                errors.push(FieldError::new("covered_members", "must not be negative"));
                None
            }
            other => other.map(|members| members as u64),
        };
        if let Some(identifier) = &body.registry_identifier {
            text_field(
                "registry_identifier",
                identifier,
                MAX_REGISTRY_IDENTIFIER_LENGTH,
                ledger_core::text::TextKind::Identifier,
                &mut errors,
            );
        }
        if let Some(slug) = &slug
            && app
                .store
                .organisation_by_slug(slug.as_str())
                .await?
                .is_some()
        {
            return Err(AppError::conflict(
                "slug_taken",
                format!("an organisation with slug `{slug}` exists"),
            ));
        }
        let id = OrganisationId::from_uuid(app.sources.id());
        let fee_schedule = body.fee_schedule.as_ref().and_then(|schedule| {
            if kind.is_some_and(|kind| kind != OrganisationKind::Beneficiary) {
                errors.push(FieldError::new(
                    "fee_schedule",
                    "only beneficiaries receive transfers",
                ));
                return None;
            }
            fee_schedule_record(
                schedule,
                id.as_uuid(),
                "fee_schedule",
                app.sources.timestamp(),
                &mut errors,
            )
        });
        let (Some(slug), Some(name), Some(kind), Some(country), Some(currency), true) =
            (slug, name, kind, country, currency, errors.is_empty())
        else {
            return Err(AppError::validation(errors));
        };
        let organisation = Organisation {
            id,
            slug,
            name,
            kind,
            country,
            currency,
            covered_members,
            registry_identifier: body.registry_identifier,
        };
        let view = OrganisationView::from(organisation.clone());
        let mut records = vec![Record::Organisation(organisation)];
        records.extend(fee_schedule.map(Record::FeeSchedule));
        let write = WriteRequest {
            records,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}

/// List organisations.
#[derive(Debug)]
pub struct ListOrganisations(pub PageQuery);

impl Query for ListOrganisations {
    const OPERATION: Operation = Operation::ListOrganisations;
    type Output = Page<OrganisationView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<OrganisationView>, AppError> {
        let (limit, after) = self.0.parse()?;
        let rows = app.store.organisations(after, limit + 1).await?;
        let versions = app.store.all_organisation_versions().await?;
        let today = app.sources.today()?.naive();
        Ok(page(
            rows,
            limit,
            |row| row.id.as_uuid(),
            |organisation| {
                // A version's fee schedule is not shown here: the registered one is not needed.
                let details = Details::in_force(
                    &organisation,
                    None,
                    versions
                        .get(&organisation.id.as_uuid())
                        .map_or(&[], Vec::as_slice),
                    today,
                );
                OrganisationView::with_details(organisation, &details)
            },
        ))
    }
}

/// One organisation; the id as given in the path.
#[derive(Debug)]
pub struct ReadOrganisation(pub String);

impl Query for ReadOrganisation {
    const OPERATION: Operation = Operation::ReadOrganisation;
    type Output = OrganisationView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<OrganisationView, AppError> {
        let not_found = || AppError::not_found("no such organisation");
        let id = parse_id(&self.0).ok_or_else(not_found)?;
        let organisation = app
            .store
            .organisation(OrganisationId::from_uuid(id))
            .await?
            .ok_or_else(not_found)?;
        let details = details_on(app, &organisation, app.sources.today()?.naive()).await?;
        Ok(OrganisationView::with_details(organisation, &details))
    }
}
