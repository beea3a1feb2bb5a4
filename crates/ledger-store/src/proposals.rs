//! Proposals awaiting a second admin's approval (four eyes), and their decisions. Both are
//! append-only; a proposal is pending while it has no decision.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::store::Store;

/// A proposal as stored, with its decision when there is one.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProposalRow {
    pub id: Uuid,
    pub operation: String,
    pub path: String,
    pub body: String,
    pub organisation_id: Uuid,
    pub idempotency_key: String,
    pub proposed_by: String,
    pub proposer_user: Option<Uuid>,
    pub proposed_at: DateTime<Utc>,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub result_status: Option<i32>,
    pub result_body: Option<String>,
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub proposal_id: Uuid,
    /// `approved` or `rejected`.
    pub decision: &'static str,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    pub result_status: Option<u16>,
    pub result_body: Option<String>,
}

macro_rules! select_proposal {
    () => {
        "SELECT p.id, p.operation, p.path, p.body, p.organisation_id, p.idempotency_key, p.proposed_by, \
         p.proposer_user, p.proposed_at, d.decision, d.decided_by, d.decided_at, d.result_status, d.result_body \
         FROM proposals p LEFT JOIN proposal_decisions d ON d.proposal_id = p.id"
    };
}

impl Store {
    /// Stores a proposal, unless its organisation already proposed with this idempotency key:
    /// then the stored one is answered (compare its operation, path and body to tell a replay
    /// from a conflict).
    pub async fn propose(&self, proposal: &ProposalRow) -> Result<ProposalRow, StoreError> {
        let inserted = on_pool!(self.backend(), pool => {
            sqlx::query(
                "INSERT INTO proposals (id, operation, path, body, organisation_id, idempotency_key, proposed_by, proposer_user, proposed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (organisation_id, idempotency_key) DO NOTHING",
            )
            .bind(proposal.id)
            .bind(&proposal.operation)
            .bind(&proposal.path)
            .bind(&proposal.body)
            .bind(proposal.organisation_id)
            .bind(&proposal.idempotency_key)
            .bind(&proposal.proposed_by)
            .bind(proposal.proposer_user)
            .bind(proposal.proposed_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(proposal.clone());
        }
        let sql = concat!(
            select_proposal!(),
            " WHERE p.organisation_id = $1 AND p.idempotency_key = $2"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ProposalRow>(sql)
                .bind(proposal.organisation_id)
                .bind(&proposal.idempotency_key)
                .fetch_one(pool)
                .await?
        }))
    }

    /// The proposal an organisation made with an idempotency key, if any.
    pub async fn proposal_by_key(
        &self,
        organisation_id: Uuid,
        key: &str,
    ) -> Result<Option<ProposalRow>, StoreError> {
        let sql = concat!(
            select_proposal!(),
            " WHERE p.organisation_id = $1 AND p.idempotency_key = $2"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ProposalRow>(sql)
                .bind(organisation_id)
                .bind(key)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A proposal by id, with its decision.
    pub async fn proposal(&self, id: Uuid) -> Result<Option<ProposalRow>, StoreError> {
        let sql = concat!(select_proposal!(), " WHERE p.id = $1");
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ProposalRow>(sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Proposals, oldest first, only pending ones when asked, after `after` (paging by id).
    pub async fn proposals(
        &self,
        pending_only: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ProposalRow>, StoreError> {
        let sql = concat!(
            select_proposal!(),
            " WHERE ($1 = FALSE OR d.proposal_id IS NULL) AND ($2 IS NULL OR p.id > $2) ORDER BY p.id LIMIT $3"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ProposalRow>(sql)
                .bind(pending_only)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Records a decision; `false` when the proposal was already decided (nothing written).
    pub async fn decide(&self, decision: &Decision) -> Result<bool, StoreError> {
        let inserted = on_pool!(self.backend(), pool => {
            sqlx::query(
                "INSERT INTO proposal_decisions (proposal_id, decision, decided_by, decided_at, result_status, result_body) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (proposal_id) DO NOTHING",
            )
            .bind(decision.proposal_id)
            .bind(decision.decision)
            .bind(&decision.decided_by)
            .bind(decision.decided_at)
            .bind(decision.result_status.map(i32::from))
            .bind(&decision.result_body)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }
}
