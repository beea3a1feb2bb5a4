//! Eligibility of southern mutuals: facts posted by the network or the mutual itself (append-only,
//! with their evidence), and the verdict of a programme's redistribution conditions as of a date —
//! every condition with its parameter, what was observed and the facts used. The verdict logic is
//! the core's ([`ledger_core::conditions`]); this module gathers its inputs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use ledger_core::conditions::{
    Eligibility, FactCode, MAX_EVIDENCE_REFERENCE_LENGTH, MAX_FACT_VALUE_LENGTH,
};
use ledger_core::organisation::{Organisation, OrganisationKind, Programme};
use ledger_core::{FundDate, OrganisationId, Timestamp};
use ledger_store::WriteRequest;
use ledger_store::records::{FactRecord, Record};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Principal;
use crate::idempotency::Idempotent;
use crate::json::AppJson;
use crate::organisations::parse_id;
use crate::problem::{ApiError, FieldError};
use crate::query::Query;
use ledger_app::Operation;
pub use ledger_app::eligibility::{ConditionVerdictView, FactView};
use ledger_app::eligibility::{eligibility_from, verdict_views};
use ledger_app::policy::require;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_fact, list_facts))
        .routes(routes!(get_eligibility))
}

/// A fact about a beneficiary.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFact {
    /// mutual_operational | contribution_rates_defined | local_cofinancing_percent |
    /// public_cofinancing_percent | admin_cost_percent | general_assembly_date
    pub code: String,
    /// `true`/`false` (JSON booleans or strings), a percentage as a decimal string, or a date.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// The date from which the fact holds, `YYYY-MM-DD` between 2000-01-01 and 2099-12-31.
    #[schema(format = Date)]
    pub as_of: String,
    /// Where the evidence is: minutes, statutes, a bank letter.
    pub evidence_reference: String,
}

/// A beneficiary the caller may see: admins and auditors any, a beneficiary itself; another
/// organisation is 404 for a beneficiary (its existence is not disclosed), 403 for other roles.
pub(crate) async fn visible_beneficiary(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<Organisation, ApiError> {
    require(Operation::ReadFacts, principal)?;
    let not_found = || ApiError::not_found("no such beneficiary");
    let id = OrganisationId::from_uuid(parse_id(id).ok_or_else(not_found)?);
    if !principal.sees_everything() && principal.organisation != id {
        return Err(not_found());
    }
    let organisation = state.store.organisation(id).await?.ok_or_else(not_found)?;
    if organisation.kind != OrganisationKind::Beneficiary {
        return Err(not_found());
    }
    Ok(organisation)
}

fn fact_value_text(value: &serde_json::Value) -> Result<String, String> {
    match value {
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        serde_json::Value::String(text) if text.chars().count() <= MAX_FACT_VALUE_LENGTH => {
            ledger_core::text::refuse_control_characters(
                text,
                ledger_core::text::TextKind::Identifier,
            )
            .map_err(|error| error.to_string())?;
            Ok(text.clone())
        }
        serde_json::Value::Number(_) => {
            Err("percentages are decimal strings such as \"12.5\", not JSON numbers".to_owned())
        }
        _ => Err(format!(
            "must be a boolean or a string of at most {MAX_FACT_VALUE_LENGTH} characters"
        )),
    }
}

/// Record a fact about a beneficiary (admin, or the beneficiary itself). Facts are never changed:
/// a newer fact supersedes an older one from its `as_of` date.
#[utoipa::path(
    post, path = "/v1/organisations/{id}/facts", tag = "eligibility",
    request_body = CreateFact,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = FactView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn post_fact(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    request: Idempotent<CreateFact>,
) -> Result<Response, ApiError> {
    require(Operation::RecordFact, &principal)?;
    if let Some(replay) = request.replay(&state, &principal).await? {
        return Ok(replay);
    }
    let organisation = visible_beneficiary(&state, &principal, &id).await?;
    let body = &request.body;
    let mut errors = Vec::new();
    let code = FactCode::parse(&body.code);
    if code.is_none() {
        let known: Vec<&str> = FactCode::ALL.iter().map(FactCode::as_str).collect();
        errors.push(FieldError::new(
            "code",
            format!("must be one of {}", known.join(", ")),
        ));
    }
    let value = match fact_value_text(&body.value) {
        Ok(text) => code.and_then(|code| match code.parse_value(&text) {
            Ok(value) => Some(value.to_text()),
            Err(message) => {
                errors.push(FieldError::new("value", message));
                None
            }
        }),
        Err(message) => {
            errors.push(FieldError::new("value", message));
            None
        }
    };
    let as_of = parse_date(&body.as_of, "as_of", &mut errors);
    let evidence = crate::batches::text_field(
        "evidence_reference",
        &body.evidence_reference,
        MAX_EVIDENCE_REFERENCE_LENGTH,
        ledger_core::text::TextKind::Identifier,
        &mut errors,
    )
    .unwrap_or_default();
    let (Some(code), Some(value), Some(as_of), true) = (code, value, as_of, errors.is_empty())
    else {
        return Err(ApiError::validation(errors));
    };
    let now = Timestamp::from_datetime(Utc::now());
    let fact = FactRecord {
        id: Uuid::now_v7(),
        organisation_id: organisation.id,
        code: code.as_str().to_owned(),
        value: value.clone(),
        as_of,
        evidence_reference: evidence.to_owned(),
        recorded_by: format!("{} ({})", principal.subject, principal.organisation),
        created_at: now,
    };
    let view = FactView {
        id: fact.id,
        organisation_id: organisation.id.as_uuid(),
        code: fact.code.clone(),
        value,
        as_of: as_of.to_string(),
        evidence_reference: fact.evidence_reference.clone(),
    };
    let write = WriteRequest {
        records: vec![Record::Fact(fact)],
        ..WriteRequest::default()
    };
    request
        .commit(
            &state,
            &principal,
            StatusCode::CREATED,
            &view,
            write,
            |_, _| ApiError::conflict("conflict", "the fact could not be recorded"),
        )
        .await
}

pub(crate) use ledger_app::fields::{parse_date, parse_period_filter};

/// Today's UTC date, read from the clock here so that the core stays clock-free.
pub(crate) fn today() -> Result<FundDate, ApiError> {
    FundDate::of_instant(Utc::now())
        .map_err(|error| ApiError::internal_message(format!("the clock's date: {error}")))
}

/// Every fact recorded about a beneficiary, oldest first.
#[utoipa::path(
    get, path = "/v1/organisations/{id}/facts", tag = "eligibility",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<FactView>), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn list_facts(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<FactView>>, ApiError> {
    let organisation = visible_beneficiary(&state, &principal, &id).await?;
    let facts = state.store.facts(organisation.id).await?;
    Ok(AppJson(
        facts
            .iter()
            .map(|fact| FactView::from((fact, organisation.id)))
            .collect(),
    ))
}

/// Which programme and date to judge by.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EligibilityQuery {
    pub programme_id: String,
    /// `YYYY-MM-DD` between 2000-01-01 and 2099-12-31; today by default.
    #[param(format = Date)]
    pub as_of: Option<String>,
}

/// A programme's conditions judged for one beneficiary.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    pub organisation_id: Uuid,
    pub programme_id: Uuid,
    pub as_of: String,
    pub eligible: bool,
    pub conditions: Vec<ConditionVerdictView>,
}

/// Judges a programme's conditions for a beneficiary as of a date, from its facts and the ledger.
pub(crate) async fn eligibility_of(
    state: &AppState,
    programme: &Programme,
    organisation: &Organisation,
    as_of: NaiveDate,
) -> Result<Eligibility, ApiError> {
    let facts = state.store.facts(organisation.id).await?;
    let settled = state.store.settled_for(organisation.id).await?;
    let accounted = state
        .store
        .report_totals(organisation.id.as_uuid())
        .await?
        .accepted_minor;
    Ok(eligibility_from(
        programme,
        organisation,
        &facts,
        &settled,
        accounted,
        as_of,
    )?)
}

/// Whether a beneficiary meets a programme's conditions as of a date (admin, auditor, or the
/// beneficiary itself): every condition with its parameter, observation and the facts used.
#[utoipa::path(
    get, path = "/v1/organisations/{id}/eligibility", tag = "eligibility",
    params(("id" = Uuid, Path), EligibilityQuery),
    responses((status = 200, body = EligibilityView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)),
    security(("bearer" = []))
)]
async fn get_eligibility(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<EligibilityQuery>,
) -> Result<AppJson<EligibilityView>, ApiError> {
    let organisation = visible_beneficiary(&state, &principal, &id).await?;
    let mut errors = Vec::new();
    let programme = match parse_id(&query.programme_id) {
        Some(id) => state.store.programme(id).await?,
        None => None,
    };
    if programme.is_none() {
        errors.push(FieldError::new("programme_id", "no such programme"));
    }
    let as_of = match &query.as_of {
        Some(text) => parse_date(text, "as_of", &mut errors),
        None => Some(today()?),
    };
    let (Some(programme), Some(as_of), true) = (programme, as_of, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let eligibility = eligibility_of(&state, &programme, &organisation, as_of.naive()).await?;
    Ok(AppJson(EligibilityView {
        organisation_id: organisation.id.as_uuid(),
        programme_id: programme.id,
        as_of: as_of.to_string(),
        eligible: eligibility.eligible,
        conditions: verdict_views(&eligibility.conditions, organisation.id),
    }))
}
