//! Reads of the fund's registry: organisations, programmes and contribution batches, with the
//! derived state of each batch (received, outstanding, reversed) read from the ledger.

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::organisation::{Organisation, OrganisationKind, Programme, Slug};
use ledger_core::{Amount, Currency, OrganisationId, Period, PeriodKind};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::seek::{Seek, seek_sql};
use crate::store::Store;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrganisationRow {
    id: Uuid,
    slug: String,
    name: String,
    kind: String,
    country: String,
    currency: String,
    covered_members: Option<i64>,
    registry_identifier: Option<String>,
}

fn corrupt(what: &str) -> impl FnOnce(String) -> StoreError + '_ {
    move |error| StoreError::Corrupt(format!("{what}: {error}"))
}

fn currency(code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).map_err(|error| StoreError::Corrupt(error.to_string()))
}

impl TryFrom<OrganisationRow> for Organisation {
    type Error = StoreError;
    fn try_from(row: OrganisationRow) -> Result<Organisation, StoreError> {
        Ok(Organisation {
            id: OrganisationId::from_uuid(row.id),
            slug: Slug::parse(&row.slug).map_err(corrupt("organisation slug"))?,
            name: row.name,
            kind: OrganisationKind::parse(&row.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("organisation kind {}", row.kind)))?,
            country: row.country,
            currency: currency(&row.currency)?,
            covered_members: row
                .covered_members
                .map(|members| {
                    u64::try_from(members)
                        .map_err(|_| StoreError::Corrupt("negative members".into()))
                })
                .transpose()?,
            registry_identifier: row.registry_identifier,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ProgrammeRow {
    id: Uuid,
    name: String,
    currency: String,
    rate_per_member_minor: i64,
    period_kind: String,
    allocation: String,
    conditions: String,
    minimum_transfer_minor: i64,
    admin_cost_cap_percent: String,
}

impl TryFrom<ProgrammeRow> for Programme {
    type Error = StoreError;
    fn try_from(row: ProgrammeRow) -> Result<Programme, StoreError> {
        let currency = currency(&row.currency)?;
        let amount = |minor| {
            Amount::from_minor(minor, currency)
                .map_err(|error| StoreError::Corrupt(error.to_string()))
        };
        Ok(Programme {
            id: row.id,
            name: row.name,
            currency,
            rate_per_member: amount(row.rate_per_member_minor)?,
            period: match row.period_kind.as_str() {
                "month" => PeriodKind::Month,
                "quarter" => PeriodKind::Quarter,
                "year" => PeriodKind::Year,
                other => return Err(StoreError::Corrupt(format!("period kind {other}"))),
            },
            allocation: serde_json::from_str(&row.allocation)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            conditions: serde_json::from_str(&row.conditions)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            minimum_transfer: amount(row.minimum_transfer_minor)?,
            admin_cost_cap_percent: row
                .admin_cost_cap_percent
                .parse::<Decimal>()
                .map_err(|error| StoreError::Corrupt(error.to_string()))?,
        })
    }
}

/// A contribution batch with its state derived from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchSummary {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub contributor_id: Uuid,
    pub period: String,
    pub earmark_beneficiary_id: Option<Uuid>,
    pub currency: String,
    pub members_total: i64,
    pub amount_minor: i64,
    pub solidarity_minor: i64,
    pub donation_minor: i64,
    pub line_count: i32,
    pub receivable_account_id: Uuid,
    pub pledge_transaction_id: Uuid,
    pub submitted_by: String,
    pub created_at: DateTime<Utc>,
    /// Everything received, overpayments included.
    pub received_minor: i64,
    /// Overpayments recorded as donations.
    pub overpaid_minor: i64,
    /// What is still due: the batch receivable's balance.
    pub outstanding_minor: i64,
    pub reversal_reason: Option<String>,
    /// Batches of the same contributor, programme and period written before this one (stored with
    /// the batch, migrations 0008: constant time per listed batch).
    pub earlier_in_period: i64,
    /// The ISO 11649 creditor reference to pay it with; `None` for batches stored before
    /// migration 0015.
    pub creditor_reference: Option<String>,
}

/// A batch that still owes something, with its contributor's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenBatchRow {
    pub batch_id: Uuid,
    pub outstanding_minor: i64,
    pub contributor_name: String,
}

/// One line of a batch as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchLineRow {
    pub line_index: i32,
    pub reference: String,
    pub members: i64,
    pub amount_minor: i64,
    pub kind: String,
}

/// Which batches to list.
#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    pub contributor_id: Option<Uuid>,
    pub programme_id: Option<Uuid>,
    pub period: Option<String>,
}

/// A receipt as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReceiptRow {
    pub id: Uuid,
    pub amount_minor: i64,
    pub overpayment_minor: i64,
    pub value_date: NaiveDate,
    pub bank_reference: String,
    pub transaction_id: Uuid,
    /// What the contributor sent in another currency (minor units), its currency and the bank's
    /// rate (units of it per unit credited).
    pub original_amount_minor: Option<i64>,
    pub original_currency: Option<String>,
    pub original_rate: Option<String>,
}

/// A receipt sent in another currency, with its batch's contributor.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OriginalReceiptRow {
    pub batch_id: Uuid,
    pub transaction_id: Uuid,
    pub value_date: NaiveDate,
    pub amount_minor: i64,
    pub currency: String,
    pub original_amount_minor: i64,
    pub original_currency: String,
    pub original_rate: String,
}

macro_rules! select_batch {
    () => {
        "SELECT b.id, b.programme_id, b.contributor_id, b.period, b.earmark_beneficiary_id, b.currency, \
         b.members_total, b.amount_minor, b.solidarity_minor, b.donation_minor, b.line_count, \
         b.receivable_account_id, b.pledge_transaction_id, b.submitted_by, b.created_at, \
         CAST(COALESCE((SELECT SUM(r.amount_minor) FROM batch_receipts r WHERE r.batch_id = b.id), 0) AS BIGINT) AS received_minor, \
         CAST(COALESCE((SELECT SUM(r.overpayment_minor) FROM batch_receipts r WHERE r.batch_id = b.id), 0) AS BIGINT) AS overpaid_minor, \
         CAST(COALESCE((SELECT a.balance_minor FROM account_balances a WHERE a.account_id = b.receivable_account_id), 0) AS BIGINT) AS outstanding_minor, \
         (SELECT v.reason FROM batch_reversals v WHERE v.batch_id = b.id) AS reversal_reason, \
         b.period_ordinal - 1 AS earlier_in_period, b.creditor_reference \
         FROM contribution_batches b"
    };
}

impl Store {
    /// One organisation by id, as registered (version 0). Found organisations are remembered (the
    /// registered row never changes: later details are versions, `crate::versions`, never
    /// cached), so only the first read of each reaches the database.
    pub async fn organisation(
        &self,
        id: OrganisationId,
    ) -> Result<Option<Organisation>, StoreError> {
        if let Some(organisation) = self.memory().organisations.get(&id) {
            return Ok(Some(organisation));
        }
        let row: Option<OrganisationRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                "SELECT id, slug, name, kind, country, currency, covered_members, registry_identifier ",
                "FROM organisations WHERE id = $1"
            ))
            .bind(id.as_uuid())
            .fetch_optional(pool)
            .await?
        });
        let organisation = row.map(Organisation::try_from).transpose()?;
        if let Some(organisation) = &organisation {
            self.memory()
                .organisations
                .remember(organisation.id, organisation.clone());
        }
        Ok(organisation)
    }

    /// One organisation by slug.
    pub async fn organisation_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Organisation>, StoreError> {
        let row: Option<OrganisationRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                "SELECT id, slug, name, kind, country, currency, covered_members, registry_identifier ",
                "FROM organisations WHERE slug = $1"
            ))
            .bind(slug)
            .fetch_optional(pool)
            .await?
        });
        row.map(Organisation::try_from).transpose()
    }

    /// Organisations in id order after `after`.
    pub async fn organisations(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Organisation>, StoreError> {
        let rows: Vec<OrganisationRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                "SELECT id, slug, name, kind, country, currency, covered_members, registry_identifier ",
                "FROM organisations WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Organisation::try_from).collect()
    }

    /// One programme by id. Found programmes are remembered (they never change), as organisations.
    pub async fn programme(&self, id: Uuid) -> Result<Option<Programme>, StoreError> {
        if let Some(programme) = self.memory().programmes.get(&id) {
            return Ok(Some(programme));
        }
        let row: Option<ProgrammeRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT id, name, currency, rate_per_member_minor, period_kind, allocation, conditions, \
                 minimum_transfer_minor, admin_cost_cap_percent FROM programmes WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let programme = row.map(Programme::try_from).transpose()?;
        if let Some(programme) = &programme {
            self.memory()
                .programmes
                .remember(programme.id, programme.clone());
        }
        Ok(programme)
    }

    /// True when the contributor has submitted at least one batch (reversed ones included) for the
    /// programme and period. A `true` is remembered: batches are never deleted.
    pub async fn has_batch_in_period(
        &self,
        contributor: OrganisationId,
        programme: Uuid,
        period: &Period,
    ) -> Result<bool, StoreError> {
        let key = crate::memo::period_key(contributor, programme, period);
        if self.memory().periods_with_batches.get(&key).is_some() {
            return Ok(true);
        }
        let found: bool = on_pool!(self.backend(), pool => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM contribution_batches \
                 WHERE programme_id = $1 AND period = $2 AND contributor_id = $3)",
            )
            .bind(programme)
            .bind(&key.2)
            .bind(contributor.as_uuid())
            .fetch_one(pool)
            .await?
        });
        if found {
            self.memory().periods_with_batches.remember(key, ());
        }
        Ok(found)
    }

    /// What the contributor's batches for the programme and period pledge together (reversed ones
    /// included), 0 without any: the running total stored with the period's latest batch.
    pub async fn contributor_period_total(
        &self,
        contributor: OrganisationId,
        programme: Uuid,
        period: &Period,
    ) -> Result<i64, StoreError> {
        let total: Option<i64> = on_pool!(self.backend(), pool => {
            sqlx::query_scalar(
                "SELECT period_total_minor FROM contribution_batches \
                 WHERE contributor_id = $1 AND programme_id = $2 AND period = $3 \
                 ORDER BY period_ordinal DESC LIMIT 1",
            )
            .bind(contributor.as_uuid())
            .bind(programme)
            .bind(period.to_string())
            .fetch_optional(pool)
            .await?
        });
        Ok(total.unwrap_or(0))
    }

    /// Programmes in id order after `after`.
    pub async fn programmes(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Programme>, StoreError> {
        let rows: Vec<ProgrammeRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT id, name, currency, rate_per_member_minor, period_kind, allocation, conditions, \
                 minimum_transfer_minor, admin_cost_cap_percent FROM programmes \
                 WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Programme::try_from).collect()
    }

    /// True when a programme with this name exists.
    pub async fn programme_name_taken(&self, name: &str) -> Result<bool, StoreError> {
        let count: i64 = on_pool!(self.backend(), pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM programmes WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        });
        Ok(count > 0)
    }

    /// One batch with its derived state.
    pub async fn batch(&self, id: Uuid) -> Result<Option<BatchSummary>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_batch!(), " WHERE b.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The batch with this ISO 11649 creditor reference (electronic form), if any.
    pub async fn batch_by_creditor_reference(
        &self,
        creditor_reference: &str,
    ) -> Result<Option<BatchSummary>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_batch!(), " WHERE b.creditor_reference = $1"))
                .bind(creditor_reference)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The newest `limit` batches in `currency` that still owe something and are not reversed,
    /// with their contributor's registered name: what an unmatched credit may be proposed.
    pub async fn open_batches(
        &self,
        currency: &str,
        limit: u32,
    ) -> Result<Vec<OpenBatchRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT b.id AS batch_id, a.balance_minor AS outstanding_minor, o.name AS contributor_name \
                 FROM contribution_batches b \
                 JOIN account_balances a ON a.account_id = b.receivable_account_id \
                 JOIN organisations o ON o.id = b.contributor_id \
                 WHERE b.currency = $1 AND a.balance_minor > 0 \
                   AND NOT EXISTS (SELECT 1 FROM batch_reversals v WHERE v.batch_id = b.id) \
                 ORDER BY b.id DESC LIMIT $2",
            )
            .bind(currency)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// A page of the batches matching `filter`, in submission order from `seek`.
    pub async fn batches(
        &self,
        filter: &BatchFilter,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<BatchSummary>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!(
            "b.id",
            "$4",
            "$5",
            select_batch!(),
            " WHERE ($1 IS NULL OR b.contributor_id = $1) AND ($2 IS NULL OR b.programme_id = $2) \
              AND ($3 IS NULL OR b.period = $3)"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(seek.pick(&QUERIES))
            .bind(filter.contributor_id)
            .bind(filter.programme_id)
            .bind(filter.period.as_deref())
            .bind(seek.id())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// The lines of a batch in submission order.
    pub async fn batch_lines(&self, id: Uuid) -> Result<Vec<BatchLineRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT line_index, reference, members, amount_minor, kind FROM contribution_lines \
                 WHERE batch_id = $1 ORDER BY line_index",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The receipts of a batch in the order recorded.
    pub async fn batch_receipts(&self, id: Uuid) -> Result<Vec<ReceiptRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT id, amount_minor, overpayment_minor, value_date, bank_reference, transaction_id, \
                 original_amount_minor, original_currency, original_rate \
                 FROM batch_receipts WHERE batch_id = $1 ORDER BY created_at, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// A contributor's receipts sent in another currency, in value-date order.
    pub async fn original_receipts(
        &self,
        contributor: OrganisationId,
    ) -> Result<Vec<OriginalReceiptRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.batch_id, r.transaction_id, r.value_date, r.amount_minor, b.currency, \
                 r.original_amount_minor, r.original_currency, r.original_rate \
                 FROM batch_receipts r JOIN contribution_batches b ON b.id = r.batch_id \
                 WHERE b.contributor_id = $1 AND r.original_currency IS NOT NULL \
                 ORDER BY r.value_date, r.created_at, r.id",
            )
            .bind(contributor.as_uuid())
            .fetch_all(pool)
            .await?
        }))
    }
}
