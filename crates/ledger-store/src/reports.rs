//! Reads of redistribution reports: one report with its lines and decision, lists, and the totals
//! that decide whether a new report fits what a beneficiary received and has not yet accounted for.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::seek::{Seek, seek_sql};
use crate::store::Store;

/// A report with its decision, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: Uuid,
    pub beneficiary_id: Uuid,
    pub period: String,
    pub currency: String,
    pub total_minor: i64,
    pub administration_minor: i64,
    pub notes: Option<String>,
    pub submitted_by: String,
    pub created_at: DateTime<Utc>,
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub transaction_id: Option<Uuid>,
    /// Set when an accepted report was reversed by the network.
    pub reversal_reason: Option<String>,
}

impl ReportRow {
    /// submitted, accepted, rejected or reversed.
    pub fn status(&self) -> &str {
        if self.reversal_reason.is_some() {
            return "reversed";
        }
        self.decision.as_deref().unwrap_or("submitted")
    }
}

/// A report line.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportLineRow {
    pub purpose: String,
    pub amount_minor: i64,
    pub members_count: i64,
}

/// A beneficiary's reports in minor units of its currency: accepted, and submitted awaiting a decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportTotalsRow {
    pub accepted_minor: i64,
    pub pending_minor: i64,
}

macro_rules! select_report {
    () => {
        "SELECT r.id, r.beneficiary_id, r.period, r.currency, r.total_minor, r.administration_minor, r.notes, \
         r.submitted_by, r.created_at, d.decision, d.reason, d.transaction_id, v.reason AS reversal_reason \
         FROM redistribution_reports r LEFT JOIN redistribution_report_decisions d ON d.report_id = r.id \
         LEFT JOIN redistribution_report_reversals v ON v.report_id = r.id"
    };
}

impl Store {
    /// One report.
    pub async fn report(&self, id: Uuid) -> Result<Option<ReportRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_report!(), " WHERE r.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A report's lines, in order.
    pub async fn report_lines(&self, id: Uuid) -> Result<Vec<ReportLineRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT purpose, amount_minor, members_count FROM redistribution_report_lines \
                 WHERE report_id = $1 ORDER BY line_index",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// A page of the reports of one beneficiary or all, in id (filing) order from `seek`.
    pub async fn reports(
        &self,
        beneficiary_id: Option<Uuid>,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<ReportRow>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!(
            "r.id",
            "$2",
            "$3",
            select_report!(),
            " WHERE ($1 IS NULL OR r.beneficiary_id = $1)"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(seek.pick(&QUERIES))
            .bind(beneficiary_id)
            .bind(seek.id())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Accepted and pending report totals of one beneficiary.
    pub async fn report_totals(&self, beneficiary_id: Uuid) -> Result<ReportTotalsRow, StoreError> {
        let (accepted_minor, pending_minor): (i64, i64) = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(CASE WHEN d.decision = 'accepted' AND v.report_id IS NULL THEN r.total_minor ELSE 0 END), 0) AS BIGINT), \
                        CAST(COALESCE(SUM(CASE WHEN d.decision IS NULL THEN r.total_minor ELSE 0 END), 0) AS BIGINT) \
                 FROM redistribution_reports r LEFT JOIN redistribution_report_decisions d ON d.report_id = r.id \
                 LEFT JOIN redistribution_report_reversals v ON v.report_id = r.id \
                 WHERE r.beneficiary_id = $1",
            )
            .bind(beneficiary_id)
            .fetch_one(pool)
            .await?
        });
        Ok(ReportTotalsRow {
            accepted_minor,
            pending_minor,
        })
    }

    /// Accepted report totals of every beneficiary (what `reporting_up_to_date` reads in a run).
    pub async fn accepted_report_totals(
        &self,
    ) -> Result<std::collections::HashMap<Uuid, i64>, StoreError> {
        let rows: Vec<(Uuid, i64)> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.beneficiary_id, CAST(SUM(r.total_minor) AS BIGINT) FROM redistribution_reports r \
                 JOIN redistribution_report_decisions d ON d.report_id = r.id AND d.decision = 'accepted' \
                 WHERE NOT EXISTS (SELECT 1 FROM redistribution_report_reversals v WHERE v.report_id = r.id) \
                 GROUP BY r.beneficiary_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// The programmes that have sent transfers to a beneficiary (their caps bind its reports).
    pub async fn programmes_paying(&self, beneficiary_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_scalar("SELECT DISTINCT programme_id FROM transfers WHERE beneficiary_id = $1")
                .bind(beneficiary_id)
                .fetch_all(pool)
                .await?
        }))
    }
}
