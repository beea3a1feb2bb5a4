//! Programmes: the network opens them with their accounts; every role reads them with their
//! balances.

use std::collections::BTreeSet;

use ledger_core::chart;
use ledger_core::organisation::{
    AllocationPolicy, ConditionCode, ConditionRule, MAX_CONDITIONS, OrganisationKind, Programme,
    parse_name,
};
use ledger_core::{Currency, PeriodKind};
use ledger_store::WriteRequest;
use ledger_store::records::Record;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::checks::{check, currency_field};
use super::fee_schedules::{FeeScheduleBody, fee_schedule_record};
use super::programme_versions::rules_in_force;
use crate::error::{AppError, FieldError};
use crate::fields::parse_id;
use crate::money::{DecimalText, Money};
use crate::pagination::{Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

/// A new programme.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgramme {
    pub name: String,
    /// `EUR`: the solidarity euro.
    pub currency: String,
    /// Per member and period, decimal string, e.g. `"1.00"`.
    #[schema(value_type = String)]
    pub rate_per_member: DecimalText,
    /// month | quarter | year
    pub period: String,
    /// `{"policy": "pro_rata_covered_members"}` or `{"policy": "fixed_weights", "weights": {"<beneficiary id>": 3}}`.
    #[schema(value_type = Object)]
    pub allocation: serde_json::Value,
    /// `[{"code": "local_cofinancing", "parameter": "10"}, ...]`
    #[serde(default)]
    pub conditions: Vec<ConditionInput>,
    /// Shares below this are carried forward, decimal string.
    #[schema(value_type = String)]
    pub minimum_transfer: DecimalText,
    /// Maximum administration share of a redistribution report, decimal string 0–100.
    #[schema(value_type = String)]
    pub admin_cost_cap_percent: DecimalText,
    /// Expected bank fees per transfer for beneficiaries that set none of their own.
    pub fee_schedule: Option<FeeScheduleBody>,
}

/// A redistribution condition as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionInput {
    /// mutual_operational | contribution_rates_defined | local_cofinancing | public_cofinancing |
    /// reporting_up_to_date | admin_cost_cap | governance
    pub code: String,
    #[schema(value_type = Option<String>)]
    pub parameter: Option<DecimalText>,
}

/// A programme, with its current balances.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeView {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    pub rate_per_member: Money,
    pub period: String,
    #[schema(value_type = Object)]
    pub allocation: AllocationPolicy,
    #[schema(value_type = Vec<Object>)]
    pub conditions: Vec<ConditionRule>,
    pub minimum_transfer: Money,
    pub admin_cost_cap_percent: String,
    pub balances: ProgrammeBalances,
    /// The version of the rules shown: the one in force for today's period (0: as opened; every
    /// version is at `GET /v1/programmes/{id}/history`).
    pub version: i32,
    /// The first period of that version (`null` for version 0).
    pub version_effective_period: Option<String>,
}

/// Where the programme's money is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeBalances {
    /// Pledged by contributors, not yet received.
    pub pledged_outstanding: Money,
    /// Received and not yet allocated (unrestricted).
    pub pool: Money,
}

async fn programme_view(app: &App, programme: Programme) -> Result<ProgrammeView, AppError> {
    let currency = programme.currency;
    // Net-asset accounts hold credit (negative) balances; shown as positive amounts.
    let pledged = -app
        .store
        .balance(chart::programme_pledged(programme.id, currency).id, None)
        .await?;
    let pool = -app
        .store
        .balance(chart::programme_pool(programme.id, currency).id, None)
        .await?;
    Ok(ProgrammeView {
        id: programme.id,
        name: programme.name,
        currency: currency.code().to_owned(),
        rate_per_member: programme.rate_per_member.into(),
        period: programme.period.as_str().to_owned(),
        allocation: programme.allocation,
        conditions: programme.conditions,
        minimum_transfer: programme.minimum_transfer.into(),
        admin_cost_cap_percent: programme.admin_cost_cap_percent.to_string(),
        balances: ProgrammeBalances {
            pledged_outstanding: Money::from_minor(pledged, currency),
            pool: Money::from_minor(pool, currency),
        },
        version: 0,
        version_effective_period: None,
    })
}

/// An allocation policy as given, its beneficiaries checked, or problems under `allocation`.
pub(super) async fn parse_allocation(
    app: &App,
    value: &serde_json::Value,
    errors: &mut Vec<FieldError>,
) -> Result<Option<AllocationPolicy>, AppError> {
    let allocation = match serde_json::from_value::<AllocationPolicy>(value.clone()) {
        Ok(policy) => Some(policy),
        Err(error) => {
            errors.push(FieldError::new(
                "allocation",
                format!("not an allocation policy: {error}"),
            ));
            None
        }
    };
    if let Some(AllocationPolicy::FixedWeights { weights }) = &allocation {
        if weights.is_empty() || weights.values().all(|&weight| weight == 0) {
            errors.push(FieldError::new(
                "allocation.weights",
                "needs at least one positive weight",
            ));
        }
        for beneficiary in weights.keys() {
            let known = app.store.organisation(*beneficiary).await?;
            if known.is_none_or(|organisation| organisation.kind != OrganisationKind::Beneficiary) {
                errors.push(FieldError::new(
                    format!("allocation.weights.{beneficiary}"),
                    "is not a registered beneficiary",
                ));
            }
        }
    }
    Ok(allocation)
}

fn parse_period_kind(text: &str) -> Option<PeriodKind> {
    Some(match text {
        "month" => PeriodKind::Month,
        "quarter" => PeriodKind::Quarter,
        "year" => PeriodKind::Year,
        _ => return None,
    })
}

/// Open a programme and its accounts (the network).
#[derive(Debug)]
pub struct OpenProgramme(pub CreateProgramme);

impl Command for OpenProgramme {
    const OPERATION: Operation = Operation::CreateProgramme;
    type Output = ProgrammeView;

    async fn plan(self, app: &App, _caller: &Caller) -> Result<Planned<ProgrammeView>, AppError> {
        let body = self.0;
        let mut errors = Vec::new();
        let name = check(parse_name(&body.name), "name", &mut errors);
        let currency = currency_field(&body.currency, "currency", &mut errors);
        if currency.is_some_and(|currency| currency != Currency::eur()) {
            errors.push(FieldError::new(
                "currency",
                "programmes collect the solidarity euro: EUR",
            ));
        }
        let currency = Currency::eur();
        let rate = body
            .rate_per_member
            .positive_amount("rate_per_member", currency, &mut errors)
            .and_then(|rate| {
                ledger_core::limits::check_rate_per_member(rate)
                    .map_err(|message| errors.push(FieldError::new("rate_per_member", message)))
                    .ok()
                    .map(|()| rate)
            });
        let period = parse_period_kind(&body.period);
        if period.is_none() {
            errors.push(FieldError::new("period", "must be month, quarter or year"));
        }
        let allocation = parse_allocation(app, &body.allocation, &mut errors).await?;
        let conditions = parse_conditions(&body.conditions, &mut errors);
        let minimum_transfer =
            body.minimum_transfer
                .amount("minimum_transfer", currency, &mut errors);
        if minimum_transfer.is_some_and(|amount| amount.is_negative()) {
            errors.push(FieldError::new("minimum_transfer", "must not be negative"));
        }
        let cap = body
            .admin_cost_cap_percent
            .decimal("admin_cost_cap_percent", &mut errors);
        if cap.is_some_and(|cap| cap < Decimal::ZERO || cap > Decimal::ONE_HUNDRED) {
            errors.push(FieldError::new(
                "admin_cost_cap_percent",
                "must be between 0 and 100",
            ));
        }
        if let Some(name) = &name
            && app.store.programme_name_taken(name).await?
        {
            return Err(AppError::conflict(
                "name_taken",
                format!("a programme named `{name}` exists"),
            ));
        }
        let programme_id = app.sources.id();
        let fee_schedule = body.fee_schedule.as_ref().and_then(|schedule| {
            fee_schedule_record(
                schedule,
                programme_id,
                "fee_schedule",
                app.sources.timestamp(),
                &mut errors,
            )
        });
        let (
            Some(name),
            Some(rate),
            Some(period),
            Some(allocation),
            Some(minimum_transfer),
            Some(cap),
            true,
        ) = (
            name,
            rate,
            period,
            allocation,
            minimum_transfer,
            cap,
            errors.is_empty(),
        )
        else {
            return Err(AppError::validation(errors));
        };
        let programme = Programme {
            id: programme_id,
            name,
            currency,
            rate_per_member: rate,
            period,
            allocation,
            conditions,
            minimum_transfer,
            admin_cost_cap_percent: cap.normalize(),
        };
        let view = programme_view(app, programme.clone()).await?;
        let write = WriteRequest {
            records: vec![
                Record::Programme(programme.clone()),
                Record::Account(chart::fund_bank(currency)),
                Record::Account(chart::programme_pledged(programme.id, currency)),
                Record::Account(chart::programme_pool(programme.id, currency)),
            ]
            .into_iter()
            .chain(fee_schedule.map(Record::FeeSchedule))
            .collect(),
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}

pub(super) fn parse_conditions(
    inputs: &[ConditionInput],
    errors: &mut Vec<FieldError>,
) -> Vec<ConditionRule> {
    if inputs.len() > MAX_CONDITIONS {
        errors.push(FieldError::new(
            "conditions",
            format!("at most {MAX_CONDITIONS} conditions"),
        ));
        return Vec::new();
    }
    let mut seen = BTreeSet::new();
    let mut rules = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let field = |name: &str| format!("conditions[{index}].{name}");
        let Ok(code) =
            serde_json::from_value::<ConditionCode>(serde_json::Value::String(input.code.clone()))
        else {
            errors.push(FieldError::new(field("code"), "is not a known condition"));
            continue;
        };
        if !seen.insert(code) {
            errors.push(FieldError::new(field("code"), "appears twice"));
        }
        let parameter = match (code.parameter_meaning(), &input.parameter) {
            (Some(_), Some(text)) => {
                let value = text.decimal(&field("parameter"), errors);
                if value.is_some_and(|value| value < Decimal::ZERO) {
                    errors.push(FieldError::new(field("parameter"), "must not be negative"));
                }
                value
            }
            (Some(meaning), None) => {
                errors.push(FieldError::new(
                    field("parameter"),
                    format!("is required: {meaning}"),
                ));
                None
            }
            (None, Some(_)) => {
                errors.push(FieldError::new(
                    field("parameter"),
                    "this condition takes no parameter",
                ));
                None
            }
            (None, None) => None,
        };
        rules.push(ConditionRule { code, parameter });
    }
    rules
}

/// List programmes, with their balances.
#[derive(Debug)]
pub struct ListProgrammes(pub PageQuery);

impl Query for ListProgrammes {
    const OPERATION: Operation = Operation::ListProgrammes;
    type Output = Page<ProgrammeView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<ProgrammeView>, AppError> {
        let (limit, after) = self.0.parse()?;
        let rows = app.store.programmes(after, limit + 1).await?;
        let listed = page(rows, limit, |row| row.id, |row| row);
        let mut items = Vec::with_capacity(listed.items.len());
        for programme in listed.items {
            items.push(programme_view(app, programme).await?);
        }
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }
}

/// One programme with its balances; the id as given in the path.
#[derive(Debug)]
pub struct ReadProgramme(pub String);

impl Query for ReadProgramme {
    const OPERATION: Operation = Operation::ReadProgramme;
    type Output = ProgrammeView;

    async fn read(self, app: &App, _caller: &Caller) -> Result<ProgrammeView, AppError> {
        let not_found = || AppError::not_found("no such programme");
        let id = parse_id(&self.0).ok_or_else(not_found)?;
        let programme = app.store.programme(id).await?.ok_or_else(not_found)?;
        let today = app.sources.today()?.naive();
        let versions = app.store.programme_versions(programme.id).await?;
        let (programme, version) = rules_in_force(programme, &versions, today)?;
        let mut view = programme_view(app, programme).await?;
        view.version = version.map_or(0, |version| version.version_number);
        view.version_effective_period = version.map(|version| version.effective_period.clone());
        Ok(view)
    }
}
