//! Reads of facts about beneficiaries with where each stands with the network (submitted,
//! verified, rejected: the fact's posted status and its decision, migrations 0014), and of the
//! evidence documents facts name.

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::OrganisationId;
use ledger_core::conditions::{Fact, FactCode, FactStatus};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::store::Store;

/// A fact as stored, with its decision if any.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FactRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub code: String,
    pub value: String,
    pub as_of: NaiveDate,
    pub evidence_reference: String,
    /// `submitted` or `verified`, as posted.
    pub posted_status: String,
    pub evidence_sha256: Option<String>,
    /// `verified` or `rejected`, once decided.
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

impl FactRow {
    /// Where the fact stands: its decision, or its status as posted.
    pub fn status(&self) -> Result<FactStatus, StoreError> {
        let text = self.decision.as_deref().unwrap_or(&self.posted_status);
        FactStatus::parse(text).ok_or_else(|| StoreError::Corrupt(format!("fact status {text}")))
    }

    /// The fact as the core judges it; `recorded_order` is its position among its organisation's
    /// facts in recorded order.
    pub fn to_fact(&self, recorded_order: usize) -> Result<Fact, StoreError> {
        Ok(Fact {
            id: self.id,
            code: FactCode::parse(&self.code)
                .ok_or_else(|| StoreError::Corrupt(format!("fact code {}", self.code)))?,
            value: self.value.clone(),
            as_of: self.as_of,
            evidence_reference: self.evidence_reference.clone(),
            recorded_order: i64::try_from(recorded_order)
                .map_err(|_| StoreError::Corrupt("too many facts".into()))?,
            status: self.status()?,
            evidence_sha256: self.evidence_sha256.clone(),
        })
    }
}

/// The columns of [`FactRow`], facts as `f` and decisions as `d`.
macro_rules! select_fact {
    () => {
        "SELECT f.id, f.organisation_id, f.code, f.value, f.as_of, f.evidence_reference, f.posted_status, \
         f.evidence_sha256, d.decision, d.reason, d.decided_by, d.created_at AS decided_at, f.recorded_by, \
         f.created_at FROM organisation_facts f LEFT JOIN fact_decisions d ON d.fact_id = f.id"
    };
}

/// An evidence document as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceDocumentRow {
    pub sha256: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

impl Store {
    /// Every fact about an organisation, in recorded order.
    pub async fn fact_rows(
        &self,
        organisation: OrganisationId,
    ) -> Result<Vec<FactRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_fact!(), " WHERE f.organisation_id = $1 ORDER BY f.id"))
                .bind(organisation.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Every fact about every organisation, in recorded order (a run judges all beneficiaries).
    pub async fn all_fact_rows(&self) -> Result<Vec<FactRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_fact!(), " ORDER BY f.id"))
                .fetch_all(pool)
                .await?
        }))
    }

    /// One fact by id.
    pub async fn fact_row(&self, id: Uuid) -> Result<Option<FactRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_fact!(), " WHERE f.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Facts about an organisation as the core judges them, in recorded order.
    pub async fn facts(&self, organisation: OrganisationId) -> Result<Vec<Fact>, StoreError> {
        self.fact_rows(organisation)
            .await?
            .iter()
            .enumerate()
            .map(|(order, row)| row.to_fact(order))
            .collect()
    }

    /// The evidence document with this SHA-256, if stored.
    pub async fn evidence_document(
        &self,
        sha256: &str,
    ) -> Result<Option<EvidenceDocumentRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as("SELECT sha256, media_type, content FROM evidence_documents WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(pool)
                .await?
        }))
    }
}
