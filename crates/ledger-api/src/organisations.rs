//! Organisations and programmes: the network (admin) registers them; every authenticated role reads.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use ledger_core::chart;
use ledger_core::organisation::{
    AllocationPolicy, ConditionCode, ConditionRule, MAX_CONDITIONS, MAX_REGISTRY_IDENTIFIER_LENGTH,
    Organisation, OrganisationKind, Programme, Slug, parse_country, parse_name,
};
use ledger_core::{Currency, OrganisationId, PeriodKind};
use ledger_store::WriteRequest;
use ledger_store::records::Record;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::money::{DecimalText, Money};
use crate::pagination::{Page, PageQuery, page};
use crate::problem::{ApiError, FieldError};
use crate::query::Query;
use ledger_app::Operation;
use ledger_app::policy::require;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_organisation, list_organisations))
        .routes(routes!(get_organisation))
        .routes(routes!(create_programme, list_programmes))
        .routes(routes!(get_programme))
}

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
    pub fee_schedule: Option<crate::transfers::FeeScheduleBody>,
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
        }
    }
}

fn check<T>(result: Result<T, String>, field: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    result
        .map_err(|message| errors.push(FieldError::new(field, message)))
        .ok()
}

fn currency_field(code: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<Currency> {
    check(
        Currency::from_code(code).map_err(|error| error.to_string()),
        field,
        errors,
    )
}

/// Register an organisation (admin).
#[utoipa::path(
    post, path = "/v1/organisations", tag = "organisations",
    request_body = CreateOrganisation,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = OrganisationView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_organisation(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateOrganisation>,
) -> Result<Response, ApiError> {
    require(Operation::RegisterOrganisation, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let body = &request.body;
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
        crate::batches::text_field(
            "registry_identifier",
            identifier,
            MAX_REGISTRY_IDENTIFIER_LENGTH,
            ledger_core::text::TextKind::Identifier,
            &mut errors,
        );
    }
    if let Some(slug) = &slug
        && state
            .store
            .organisation_by_slug(slug.as_str())
            .await?
            .is_some()
    {
        return Err(ApiError::conflict(
            "slug_taken",
            format!("an organisation with slug `{slug}` exists"),
        ));
    }
    let id = OrganisationId::from_uuid(Uuid::now_v7());
    let fee_schedule = body.fee_schedule.as_ref().and_then(|schedule| {
        if kind.is_some_and(|kind| kind != OrganisationKind::Beneficiary) {
            errors.push(FieldError::new(
                "fee_schedule",
                "only beneficiaries receive transfers",
            ));
            return None;
        }
        crate::transfers::fee_schedule_record(schedule, id.as_uuid(), "fee_schedule", &mut errors)
    });
    let (Some(slug), Some(name), Some(kind), Some(country), Some(currency), true) =
        (slug, name, kind, country, currency, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let organisation = Organisation {
        id,
        slug,
        name,
        kind,
        country,
        currency,
        covered_members,
        registry_identifier: body.registry_identifier.clone(),
    };
    let view = OrganisationView::from(organisation.clone());
    let mut records = vec![Record::Organisation(organisation)];
    records.extend(fee_schedule.map(Record::FeeSchedule));
    let write = WriteRequest {
        records,
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the organisation could not be registered"),
        )
        .await
}

/// List organisations.
#[utoipa::path(
    get, path = "/v1/organisations", tag = "organisations", params(PageQuery),
    responses((status = 200, body = Page<OrganisationView>)), security(("bearer" = []))
)]
async fn list_organisations(
    State(state): State<AppState>,
    _principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<AppJson<Page<OrganisationView>>, ApiError> {
    let (limit, after) = query.parse()?;
    let rows = state.store.organisations(after, limit + 1).await?;
    Ok(AppJson(page(
        rows,
        limit,
        |row| row.id.as_uuid(),
        OrganisationView::from,
    )))
}

/// One organisation.
#[utoipa::path(
    get, path = "/v1/organisations/{id}", tag = "organisations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganisationView), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_organisation(
    State(state): State<AppState>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<OrganisationView>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::not_found("no such organisation"))?;
    let organisation = state
        .store
        .organisation(OrganisationId::from_uuid(id))
        .await?
        .ok_or_else(|| ApiError::not_found("no such organisation"))?;
    Ok(AppJson(organisation.into()))
}

pub(crate) use ledger_app::fields::parse_id;

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
    pub fee_schedule: Option<crate::transfers::FeeScheduleBody>,
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
}

/// Where the programme's money is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeBalances {
    /// Pledged by contributors, not yet received.
    pub pledged_outstanding: Money,
    /// Received and not yet allocated (unrestricted).
    pub pool: Money,
}

async fn programme_view(state: &AppState, programme: Programme) -> Result<ProgrammeView, ApiError> {
    let currency = programme.currency;
    // Net-asset accounts hold credit (negative) balances; shown as positive amounts.
    let pledged = -state
        .store
        .balance(chart::programme_pledged(programme.id, currency).id, None)
        .await?;
    let pool = -state
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
    })
}

fn parse_period_kind(text: &str) -> Option<PeriodKind> {
    Some(match text {
        "month" => PeriodKind::Month,
        "quarter" => PeriodKind::Quarter,
        "year" => PeriodKind::Year,
        _ => return None,
    })
}

/// Open a programme and its accounts (admin).
#[utoipa::path(
    post, path = "/v1/programmes", tag = "programmes",
    request_body = CreateProgramme,
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = ProgrammeView), (status = 403, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn create_programme(
    State(state): State<AppState>,
    principal: Principal,
    request: Idempotent<CreateProgramme>,
) -> Result<Response, ApiError> {
    require(Operation::CreateProgramme, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let body = &request.body;
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
    let allocation = match serde_json::from_value::<AllocationPolicy>(body.allocation.clone()) {
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
            let known = state.store.organisation(*beneficiary).await?;
            if known.is_none_or(|organisation| organisation.kind != OrganisationKind::Beneficiary) {
                errors.push(FieldError::new(
                    format!("allocation.weights.{beneficiary}"),
                    "is not a registered beneficiary",
                ));
            }
        }
    }
    let conditions = parse_conditions(&body.conditions, &mut errors);
    let minimum_transfer = body
        .minimum_transfer
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
        && state.store.programme_name_taken(name).await?
    {
        return Err(ApiError::conflict(
            "name_taken",
            format!("a programme named `{name}` exists"),
        ));
    }
    let programme_id = Uuid::now_v7();
    let fee_schedule = body.fee_schedule.as_ref().and_then(|schedule| {
        crate::transfers::fee_schedule_record(schedule, programme_id, "fee_schedule", &mut errors)
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
        return Err(ApiError::validation(errors));
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
    let view = programme_view(&state, programme.clone()).await?;
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
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the programme could not be opened"),
        )
        .await
}

fn parse_conditions(inputs: &[ConditionInput], errors: &mut Vec<FieldError>) -> Vec<ConditionRule> {
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

/// List programmes.
#[utoipa::path(
    get, path = "/v1/programmes", tag = "programmes", params(PageQuery),
    responses((status = 200, body = Page<ProgrammeView>)), security(("bearer" = []))
)]
async fn list_programmes(
    State(state): State<AppState>,
    _principal: Principal,
    Query(query): Query<PageQuery>,
) -> Result<AppJson<Page<ProgrammeView>>, ApiError> {
    let (limit, after) = query.parse()?;
    let rows = state.store.programmes(after, limit + 1).await?;
    let listed = page(rows, limit, |row| row.id, |row| row);
    let mut items = Vec::with_capacity(listed.items.len());
    for programme in listed.items {
        items.push(programme_view(&state, programme).await?);
    }
    Ok(AppJson(Page {
        items,
        next_cursor: listed.next_cursor,
    }))
}

/// One programme with its balances.
#[utoipa::path(
    get, path = "/v1/programmes/{id}", tag = "programmes",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ProgrammeView), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_programme(
    State(state): State<AppState>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<ProgrammeView>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::not_found("no such programme"))?;
    let programme = state
        .store
        .programme(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such programme"))?;
    Ok(AppJson(programme_view(&state, programme).await?))
}
