//! Reads of versioned registry details (migrations 0014): an organisation's versions and its bank
//! accounts, in recorded order. Never cached: what another instance recorded is seen by the next
//! read.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::OrganisationId;
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::store::Store;

/// A version of an organisation's details as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrganisationVersionRow {
    pub organisation_id: Uuid,
    pub version_number: i32,
    pub effective_from: NaiveDate,
    pub name: String,
    pub contact: Option<String>,
    pub covered_members: Option<i64>,
    pub fee_fixed_minor: Option<i64>,
    pub fee_currency: Option<String>,
    pub fee_percent: Option<String>,
    /// Comma-separated field names.
    pub changed_fields: String,
    pub changed_by: String,
    pub created_at: DateTime<Utc>,
}

/// A bank account as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BankAccountRow {
    pub organisation_id: Uuid,
    pub version_number: i32,
    pub holder_name: String,
    pub iban: Option<String>,
    pub account_number: Option<String>,
    pub bic: Option<String>,
    pub currency: String,
    pub proposed_by: String,
    pub approved_by: Option<String>,
    pub proposal_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A version of a programme's rules as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProgrammeVersionRow {
    pub programme_id: Uuid,
    pub version_number: i32,
    pub effective_period: String,
    pub effective_from: NaiveDate,
    /// JSON of `ledger_core::organisation::AllocationPolicy`.
    pub allocation: String,
    /// JSON of the `ledger_core::organisation::ConditionRule`s.
    pub conditions: String,
    pub minimum_transfer_minor: i64,
    pub admin_cost_cap_percent: String,
    pub changed_fields: String,
    pub changed_by: String,
    pub created_at: DateTime<Utc>,
}

macro_rules! select_version {
    () => {
        "SELECT organisation_id, version_number, effective_from, name, contact, covered_members, \
         fee_fixed_minor, fee_currency, fee_percent, changed_fields, changed_by, created_at \
         FROM organisation_versions"
    };
}

impl Store {
    /// An organisation's versions, in recorded order (version 1 first).
    pub async fn organisation_versions(
        &self,
        organisation: OrganisationId,
    ) -> Result<Vec<OrganisationVersionRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_version!(), " WHERE organisation_id = $1 ORDER BY version_number"))
                .bind(organisation.as_uuid())
                .fetch_all(pool)
                .await?
        }))
    }

    /// Every organisation's versions, each list in recorded order (a run or a listing reads all).
    pub async fn all_organisation_versions(
        &self,
    ) -> Result<HashMap<Uuid, Vec<OrganisationVersionRow>>, StoreError> {
        let rows: Vec<OrganisationVersionRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_version!(), " ORDER BY organisation_id, version_number"))
                .fetch_all(pool)
                .await?
        });
        let mut versions: HashMap<Uuid, Vec<OrganisationVersionRow>> = HashMap::new();
        for row in rows {
            versions.entry(row.organisation_id).or_default().push(row);
        }
        Ok(versions)
    }

    /// An organisation's bank accounts, in recorded order (the last is in force).
    pub async fn bank_accounts(
        &self,
        organisation: OrganisationId,
    ) -> Result<Vec<BankAccountRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT organisation_id, version_number, holder_name, iban, account_number, bic, currency, \
                 proposed_by, approved_by, proposal_id, created_at FROM bank_accounts \
                 WHERE organisation_id = $1 ORDER BY version_number",
            )
            .bind(organisation.as_uuid())
            .fetch_all(pool)
            .await?
        }))
    }

    /// A programme's rule versions, in recorded order (version 1 first).
    pub async fn programme_versions(
        &self,
        programme: Uuid,
    ) -> Result<Vec<ProgrammeVersionRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT programme_id, version_number, effective_period, effective_from, allocation, conditions, \
                 minimum_transfer_minor, admin_cost_cap_percent, changed_fields, changed_by, created_at \
                 FROM programme_versions WHERE programme_id = $1 ORDER BY version_number",
            )
            .bind(programme)
            .fetch_all(pool)
            .await?
        }))
    }
}
