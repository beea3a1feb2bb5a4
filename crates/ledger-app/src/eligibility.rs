//! Eligibility's shared parts: the views of facts and verdicts (shown by the eligibility reads and
//! in every transfer-run plan) and the verdict of a programme's conditions from what was read
//! (the rules are the core's, [`ledger_core::conditions`]).

use chrono::NaiveDate;
use ledger_core::conditions::{
    self, ConditionVerdict, Eligibility, ReportingState, SettledTransfer,
};
use ledger_core::organisation::{Organisation, Programme};
use ledger_core::{Amount, OrganisationId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;

/// A recorded fact.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactView {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub code: String,
    pub value: String,
    pub as_of: String,
    pub evidence_reference: String,
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
        }
    }
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
}

/// The verdicts with the facts each used.
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
        })
        .collect()
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
