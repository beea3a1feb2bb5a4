//! The network's eye on facts: a fact a beneficiary declares about itself is `submitted` and counts
//! for eligibility only once an admin verifies it; an admin may instead reject it with a reason.
//! A decision is final (a corrected declaration is a new fact). The evidence document a fact
//! names is read with the fact's own rights.

use ledger_core::conditions::FactStatus;
use ledger_store::WriteRequest;
use ledger_store::facts::FactRow;
use ledger_store::records::{FactDecisionRecord, Record};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::eligibility::{FactView, visible_beneficiary};
use crate::error::AppError;
use crate::fields::{parse_id, reason_field};
use crate::policy::Operation;
use crate::runner::{Command, Planned, Query, Status};
use crate::{App, Caller};

/// A verification carries no fields: the body is an empty JSON object, `{}` (it is what the
/// Idempotency-Key's request fingerprint covers).
#[derive(Debug, ToSchema)]
pub struct VerifyFactBody {}

/// Why a fact is rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectFactBody {
    pub reason: String,
}

/// A fact of a beneficiary the caller may see, both ids as given in the path; 404 otherwise.
async fn visible_fact(
    app: &App,
    caller: &Caller,
    beneficiary: &str,
    fact: &str,
) -> Result<FactRow, AppError> {
    let organisation = visible_beneficiary(app, caller, beneficiary).await?;
    let not_found = || AppError::not_found("no such fact");
    let id = parse_id(fact).ok_or_else(not_found)?;
    app.store
        .fact_row(id)
        .await?
        .filter(|row| row.organisation_id == organisation.id.as_uuid())
        .ok_or_else(not_found)
}

/// The write of a decision on a submitted fact, with the fact as it reads afterwards.
fn decide(
    app: &App,
    caller: &Caller,
    mut fact: FactRow,
    decision: FactStatus,
    reason: Option<String>,
) -> Result<Planned<FactView>, AppError> {
    let status = fact.status()?;
    if !status.awaits_decision() {
        return Err(AppError::conflict(
            "fact_already_decided",
            format!(
                "this fact is already {}; a decision is final (a corrected declaration is a new fact)",
                status.as_str()
            ),
        ));
    }
    let now = app.sources.timestamp();
    let decided_by = format!("{} ({})", caller.subject, caller.organisation);
    fact.decision = Some(decision.as_str().to_owned());
    fact.reason = reason.clone();
    fact.decided_by = Some(decided_by.clone());
    fact.decided_at = Some(now.to_datetime());
    let view = FactView::of_row(&fact)?;
    let write = WriteRequest {
        records: vec![Record::FactDecision(FactDecisionRecord {
            fact_id: fact.id,
            decision,
            reason,
            decided_by,
            created_at: now,
        })],
        ..WriteRequest::default()
    };
    Ok(Planned::new(Status::Created, view, write))
}

/// Verify a submitted fact (admin): it counts for eligibility from its `as_of` date.
#[derive(Debug)]
pub struct VerifyFact {
    pub beneficiary: String,
    pub fact: String,
}

impl Command for VerifyFact {
    const OPERATION: Operation = Operation::VerifyFact;
    type Output = FactView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<FactView>, AppError> {
        let fact = visible_fact(app, caller, &self.beneficiary, &self.fact).await?;
        decide(app, caller, fact, FactStatus::Verified, None)
    }
}

/// Reject a submitted fact (admin), with a reason: it never counts.
#[derive(Debug)]
pub struct RejectFact {
    pub beneficiary: String,
    pub fact: String,
    pub body: RejectFactBody,
}

impl Command for RejectFact {
    const OPERATION: Operation = Operation::RejectFact;
    type Output = FactView;

    async fn plan(self, app: &App, caller: &Caller) -> Result<Planned<FactView>, AppError> {
        let fact = visible_fact(app, caller, &self.beneficiary, &self.fact).await?;
        let reason = reason_field(&self.body.reason)?;
        decide(
            app,
            caller,
            fact,
            FactStatus::Rejected,
            Some(reason.as_str().to_owned()),
        )
    }
}

/// An evidence document as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    pub media_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
}

/// The evidence document of a fact, for whoever may read the fact (the same operation as reading
/// facts); 404 when the fact has none.
#[derive(Debug)]
pub struct ReadFactEvidence {
    pub beneficiary: String,
    pub fact: String,
}

impl Query for ReadFactEvidence {
    const OPERATION: Operation = Operation::ReadFacts;
    type Output = EvidenceFile;

    async fn read(self, app: &App, caller: &Caller) -> Result<EvidenceFile, AppError> {
        let fact = visible_fact(app, caller, &self.beneficiary, &self.fact).await?;
        let sha256 = fact
            .evidence_sha256
            .ok_or_else(|| AppError::not_found("this fact has no evidence document"))?;
        let document = app.store.evidence_document(&sha256).await?.ok_or_else(|| {
            AppError::internal_message("a fact names a missing evidence document")
        })?;
        // Assert on read what the address promises.
        if ledger_core::evidence::sha256_hex(&document.content) != document.sha256 {
            return Err(AppError::internal_message(
                "a stored evidence document does not match its SHA-256",
            ));
        }
        Ok(EvidenceFile {
            media_type: document.media_type,
            sha256: document.sha256,
            content: document.content,
        })
    }
}
