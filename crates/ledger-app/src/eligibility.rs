//! Eligibility of southern mutuals: facts posted by the network or the mutual itself (append-only,
//! with their evidence; a mutual's own declaration counts once the network verified it, see
//! [`crate::fact_review`]), and the verdict of a programme's redistribution conditions as of a
//! date — every condition with its parameter, what was observed, the facts used and the facts
//! still waiting for verification. The verdict logic is the core's ([`ledger_core::conditions`]);
//! this module gathers its inputs.

use chrono::NaiveDate;
use ledger_core::conditions::{
    self, ConditionVerdict, Eligibility, FactCode, FactStatus, MAX_EVIDENCE_REFERENCE_LENGTH,
    MAX_FACT_VALUE_LENGTH, ReportingState, SettledTransfer,
};
use ledger_core::evidence::{EvidenceDocument, MAX_EVIDENCE_DOCUMENT_BYTES};
use ledger_core::organisation::{Organisation, OrganisationKind, Programme};
use ledger_core::{Amount, OrganisationId};
use ledger_store::WriteRequest;
use ledger_store::facts::FactRow;
use ledger_store::records::{EvidenceDocumentRecord, FactRecord, Record};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{AppError, FieldError};
use crate::fields::{parse_date, parse_id, text_field};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

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
    /// The evidence itself, optional: a PDF, PNG or JPEG file (told by its content) of at most
    /// 4 MiB, in standard base64. It is stored once by its SHA-256, which the fact records.
    pub evidence_document: Option<String>,
}

/// A recorded fact.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactView {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub code: String,
    pub value: String,
    pub as_of: String,
    pub evidence_reference: String,
    /// The SHA-256 of the attached evidence document (download it from
    /// `/v1/organisations/{id}/facts/{fact_id}/evidence`).
    pub evidence_sha256: Option<String>,
    /// submitted (a beneficiary's own declaration, not counted yet) | verified (counts) | rejected
    pub status: String,
    /// Why the network rejected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// Who verified or rejected it, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

impl From<(&conditions::Fact, OrganisationId)> for FactView {
    fn from((fact, organisation): (&conditions::Fact, OrganisationId)) -> Self {
        FactView {
            id: fact.id,
            organisation_id: organisation.as_uuid(),
            code: fact.code.as_str().to_owned(),
            value: fact.value.clone(),
            as_of: fact.as_of.to_string(),
            evidence_reference: fact.evidence_reference.clone(),
            evidence_sha256: fact.evidence_sha256.clone(),
            status: fact.status.as_str().to_owned(),
            rejection_reason: None,
            decided_by: None,
            decided_at: None,
        }
    }
}

impl FactView {
    /// A stored fact with its decision.
    pub fn of_row(row: &FactRow) -> Result<FactView, AppError> {
        Ok(FactView {
            id: row.id,
            organisation_id: row.organisation_id,
            code: row.code.clone(),
            value: row.value.clone(),
            as_of: row.as_of.to_string(),
            evidence_reference: row.evidence_reference.clone(),
            evidence_sha256: row.evidence_sha256.clone(),
            status: row.status()?.as_str().to_owned(),
            rejection_reason: row.reason.clone(),
            decided_by: row.decided_by.clone(),
            decided_at: row
                .decided_at
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        })
    }
}

/// The evidence document of a fact being recorded, from its base64 form.
fn evidence_document(text: &str) -> Result<EvidenceDocument, String> {
    use base64::Engine;
    // Base64 carries 3 bytes in 4 characters: refuse a text too long before decoding it.
    if text.len() > MAX_EVIDENCE_DOCUMENT_BYTES.div_ceil(3) * 4 {
        return Err(format!(
            "the document is larger than {MAX_EVIDENCE_DOCUMENT_BYTES} bytes"
        ));
    }
    let content = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|error| format!("must be standard base64: {error}"))?;
    EvidenceDocument::accept(content).map_err(|error| error.to_string())
}

/// A beneficiary the caller may see (`id` as given): the network and auditors any, a beneficiary
/// itself; anything else is 404 (its existence is not disclosed). Which roles may ask at all is
/// the operation's row in the policy table.
pub async fn visible_beneficiary(
    app: &App,
    caller: &Caller,
    id: &str,
) -> Result<Organisation, AppError> {
    let not_found = || AppError::not_found("no such beneficiary");
    let id = OrganisationId::from_uuid(parse_id(id).ok_or_else(not_found)?);
    if !caller.may_see(id) {
        return Err(not_found());
    }
    let organisation = app.store.organisation(id).await?.ok_or_else(not_found)?;
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

/// Record a fact about a beneficiary (the network, or the beneficiary itself); `beneficiary` is
/// the id as given in the path. Facts are never changed: a newer fact supersedes an older one from
/// its `as_of` date.
#[derive(Debug)]
pub struct RecordFact {
    pub beneficiary: String,
    pub body: CreateFact,
}

impl Command for RecordFact {
    const OPERATION: Operation = Operation::RecordFact;
    type Output = FactView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<FactView>, AppError> {
        let organisation = visible_beneficiary(app, caller, &self.beneficiary).await?;
        let body = &self.body;
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
        let evidence = text_field(
            "evidence_reference",
            &body.evidence_reference,
            MAX_EVIDENCE_REFERENCE_LENGTH,
            ledger_core::text::TextKind::Identifier,
            &mut errors,
        )
        .unwrap_or_default();
        let document = match body.evidence_document.as_deref().map(evidence_document) {
            None => None,
            Some(Ok(document)) => Some(document),
            Some(Err(message)) => {
                errors.push(FieldError::new("evidence_document", message));
                None
            }
        };
        let (Some(code), Some(value), Some(as_of), true) = (code, value, as_of, errors.is_empty())
        else {
            return Err(AppError::validation(errors));
        };
        let now = app.sources.timestamp();
        // The network's own facts count at once; a beneficiary's declaration waits for its eye.
        let posted_status = FactStatus::on_posting(caller.role == crate::Role::Admin);
        let fact = FactRecord {
            id: app.sources.id(),
            organisation_id: organisation.id,
            code: code.as_str().to_owned(),
            value: value.clone(),
            as_of,
            evidence_reference: evidence.to_owned(),
            posted_status,
            evidence_sha256: document
                .as_ref()
                .map(|document| document.sha256().to_owned()),
            recorded_by: format!("{} ({})", caller.subject, caller.organisation),
            created_at: now,
        };
        let view = FactView {
            id: fact.id,
            organisation_id: organisation.id.as_uuid(),
            code: fact.code.clone(),
            value,
            as_of: as_of.to_string(),
            evidence_reference: fact.evidence_reference.clone(),
            evidence_sha256: fact.evidence_sha256.clone(),
            status: posted_status.as_str().to_owned(),
            rejection_reason: None,
            decided_by: None,
            decided_at: None,
        };
        let mut records = Vec::with_capacity(2);
        if let Some(document) = document {
            records.push(Record::EvidenceDocument(EvidenceDocumentRecord {
                sha256: document.sha256().to_owned(),
                media_type: document.kind().media_type(),
                content: document.into_content(),
                created_at: now,
            }));
        }
        records.push(Record::Fact(fact));
        let write = WriteRequest {
            records,
            ..WriteRequest::default()
        };
        Ok(Planned::new(Status::Created, view, write))
    }
}

/// Every fact recorded about a beneficiary, oldest first, with where each stands with the
/// network; the id as given in the path.
#[derive(Debug)]
pub struct ListFacts(pub String);

impl Query for ListFacts {
    const OPERATION: Operation = Operation::ReadFacts;
    type Output = Vec<FactView>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Vec<FactView>, AppError> {
        let organisation = visible_beneficiary(app, caller, &self.0).await?;
        app.store
            .fact_rows(organisation.id)
            .await?
            .iter()
            .map(FactView::of_row)
            .collect()
    }
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

/// One condition's verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionVerdictView {
    pub code: String,
    pub passed: bool,
    /// Decimal string, when the condition takes one.
    pub parameter: Option<String>,
    pub observed: Option<String>,
    pub explanation: String,
    pub facts: Vec<FactView>,
    /// Facts that would count for this condition on the date but are submitted and wait for the
    /// network's verification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_facts: Vec<FactView>,
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

/// Each condition's verdict as shown, with the facts it used.
pub fn verdict_views(
    conditions: &[ConditionVerdict],
    organisation: OrganisationId,
) -> Vec<ConditionVerdictView> {
    conditions
        .iter()
        .map(|verdict| ConditionVerdictView {
            code: verdict.code.as_str().to_owned(),
            passed: verdict.passed,
            parameter: verdict.parameter.map(|parameter| parameter.to_string()),
            observed: verdict.observed.clone(),
            explanation: verdict.explanation.clone(),
            facts: verdict
                .facts
                .iter()
                .map(|fact| FactView::from((fact, organisation)))
                .collect(),
            pending_facts: verdict
                .pending
                .iter()
                .map(|fact| FactView::from((fact, organisation)))
                .collect(),
        })
        .collect()
}

/// Judges a programme's conditions for a beneficiary as of a date, from its facts and the ledger.
pub async fn eligibility_of(
    app: &App,
    programme: &Programme,
    organisation: &Organisation,
    as_of: NaiveDate,
) -> Result<Eligibility, AppError> {
    let facts = app.store.facts(organisation.id).await?;
    let settled = app.store.settled_for(organisation.id).await?;
    let accounted = app
        .store
        .report_totals(organisation.id.as_uuid())
        .await?
        .accepted_minor;
    eligibility_from(programme, organisation, &facts, &settled, accounted, as_of)
}

/// The verdict from facts, confirmations and accepted reports already read (a run reads them for
/// every beneficiary at once).
pub fn eligibility_from(
    programme: &Programme,
    organisation: &Organisation,
    facts: &[conditions::Fact],
    settled: &[(NaiveDate, i64)],
    accounted_minor: i64,
    as_of: NaiveDate,
) -> Result<Eligibility, AppError> {
    let settled = settled
        .iter()
        .filter(|(value_date, _)| *value_date <= as_of)
        .map(|(value_date, received_minor)| {
            Amount::from_minor(*received_minor, organisation.currency)
                .map(|received| SettledTransfer {
                    value_date: *value_date,
                    received,
                })
                .map_err(AppError::internal_message)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Accepted redistribution reports account for the oldest settled transfers first.
    let reporting = ReportingState {
        settled,
        accounted_minor,
    };
    Ok(conditions::evaluate(
        &programme.conditions,
        facts,
        &reporting,
        as_of,
    ))
}

/// Whether a beneficiary meets a programme's conditions as of a date (the network, auditors, or
/// the beneficiary itself); `beneficiary` is the id as given in the path.
#[derive(Debug)]
pub struct ReadEligibility {
    pub beneficiary: String,
    pub query: EligibilityQuery,
}

impl Query for ReadEligibility {
    const OPERATION: Operation = Operation::ReadEligibility;
    type Output = EligibilityView;

    async fn read(self, app: &App, caller: &Caller) -> Result<EligibilityView, AppError> {
        let organisation = visible_beneficiary(app, caller, &self.beneficiary).await?;
        let query = self.query;
        let mut errors = Vec::new();
        let programme = match parse_id(&query.programme_id) {
            Some(id) => app.store.programme(id).await?,
            None => None,
        };
        if programme.is_none() {
            errors.push(FieldError::new("programme_id", "no such programme"));
        }
        let as_of = match &query.as_of {
            Some(text) => parse_date(text, "as_of", &mut errors),
            None => Some(app.sources.today()?),
        };
        let (Some(programme), Some(as_of), true) = (programme, as_of, errors.is_empty()) else {
            return Err(AppError::validation(errors));
        };
        let eligibility = eligibility_of(app, &programme, &organisation, as_of.naive()).await?;
        Ok(EligibilityView {
            organisation_id: organisation.id.as_uuid(),
            programme_id: programme.id,
            as_of: as_of.to_string(),
            eligible: eligibility.eligible,
            conditions: verdict_views(&eligibility.conditions, organisation.id),
        })
    }
}
