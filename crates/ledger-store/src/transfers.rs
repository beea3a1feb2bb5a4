//! Reads of the southern side of the fund: facts about beneficiaries, fee schedules, fee-coverage
//! deposits, recorded transfer runs, transfers and their confirmations, and the receipts that arrived
//! after a period ended (which a run for that period must not spend).

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::OrganisationId;
use ledger_core::conditions::Fact;
use ledger_core::organisation::Organisation;
use uuid::Uuid;

use crate::backend::{Backend, on_pool};
use crate::error::StoreError;
use crate::registry::OrganisationRow;
use crate::seek::{Seek, seek_sql};
use crate::store::Store;

/// A recorded transfer run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferRunRow {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub period: String,
    pub as_of: NaiveDate,
    /// The plan as JSON.
    pub plan: String,
    pub fingerprint: String,
    pub planned_by: String,
    pub created_at: DateTime<Utc>,
    /// The execution's journal transaction, once executed.
    pub execution_transaction_id: Option<Uuid>,
    /// The version of the programme's rules the run used (0: as opened).
    pub programme_version: i32,
}

/// A recorded run of a programme, in short.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProgrammeRunRow {
    pub id: Uuid,
    pub period: String,
    pub created_at: DateTime<Utc>,
    /// The execution's journal transaction, once executed.
    pub execution_transaction_id: Option<Uuid>,
}

/// A transfer with its confirmation, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferRow {
    pub id: Uuid,
    pub kind: String,
    pub run_id: Option<Uuid>,
    pub root_transfer_id: Uuid,
    pub parent_transfer_id: Option<Uuid>,
    pub programme_id: Uuid,
    pub beneficiary_id: Uuid,
    pub period: String,
    pub amount_minor: i64,
    pub currency: String,
    pub fee_minor: i64,
    pub local_currency: String,
    pub rate: Option<String>,
    pub rate_source: Option<String>,
    pub expected_local_minor: i64,
    pub residue_minor: String,
    pub end_to_end_id: String,
    pub in_transit_account_id: Uuid,
    pub transaction_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub received_minor: Option<i64>,
    pub value_date: Option<NaiveDate>,
    pub bank_reference: Option<String>,
    pub fees_deducted_minor: Option<i64>,
    pub shortfall_minor: Option<i64>,
    pub surplus_minor: Option<i64>,
    pub top_up_transfer_id: Option<Uuid>,
    pub confirmation_transaction_id: Option<Uuid>,
    /// The open claim awaiting the network's review, if any (at most one per transfer).
    pub dispute_id: Option<Uuid>,
    /// What that claim says arrived, local minor units.
    pub disputed_received_minor: Option<i64>,
    /// The top-up that claim would need, minor units of `currency`.
    pub disputed_top_up_minor: Option<i64>,
}

impl TransferRow {
    /// pending (not confirmed), disputed (a claim awaits review), topped_up (confirmed short, a
    /// top-up was sent) or settled.
    pub fn status(&self) -> &'static str {
        match (
            self.received_minor,
            self.top_up_transfer_id,
            self.dispute_id,
        ) {
            (None, _, None) => "pending",
            (None, _, Some(_)) => "disputed",
            (Some(_), Some(_), _) => "topped_up",
            (Some(_), None, _) => "settled",
        }
    }
}

/// A claim on a transfer and, once decided, its resolution.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransferDisputeRow {
    pub id: Uuid,
    pub transfer_id: Uuid,
    pub claim_number: i32,
    pub received_minor: i64,
    pub received_currency: String,
    pub value_date: NaiveDate,
    pub bank_reference: String,
    pub fees_deducted_minor: Option<i64>,
    pub shortfall_minor: i64,
    pub top_up_minor: i64,
    pub already_paid_minor: i64,
    pub allowance_minor: i64,
    pub currency: String,
    pub claimed_by: String,
    pub created_at: DateTime<Utc>,
    /// `top_up` or `reject`; `None` while the claim is open.
    pub decision: Option<String>,
    pub established_minor: Option<i64>,
    pub bank_statement_reference: Option<String>,
    pub reason: Option<String>,
    pub transaction_id: Option<Uuid>,
    pub top_up_transfer_id: Option<Uuid>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which transfers to list.
#[derive(Debug, Clone, Default)]
pub struct TransferFilter {
    pub beneficiary_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    /// pending, disputed, settled or topped_up.
    pub status: Option<String>,
}

/// The stored fee schedule of an organisation or a programme.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FeeScheduleRow {
    pub fixed_minor: i64,
    pub currency: String,
    pub percent: String,
}

macro_rules! select_transfer {
    () => {
        "SELECT t.id, t.kind, t.run_id, t.root_transfer_id, t.parent_transfer_id, t.programme_id, t.beneficiary_id, \
         t.period, t.amount_minor, t.currency, t.fee_minor, t.local_currency, t.rate, t.rate_source, \
         t.expected_local_minor, t.residue_minor, t.end_to_end_id, t.in_transit_account_id, t.transaction_id, \
         t.created_at, c.received_minor, c.value_date, c.bank_reference, c.fees_deducted_minor, c.shortfall_minor, \
         c.surplus_minor, c.top_up_transfer_id, c.transaction_id AS confirmation_transaction_id, \
         d.id AS dispute_id, d.received_minor AS disputed_received_minor, d.top_up_minor AS disputed_top_up_minor \
         FROM transfers t LEFT JOIN transfer_confirmations c ON c.transfer_id = t.id \
         LEFT JOIN transfer_disputes d ON d.transfer_id = t.id \
           AND NOT EXISTS (SELECT 1 FROM transfer_dispute_resolutions r WHERE r.dispute_id = d.id)"
    };
}

impl Store {
    /// Every beneficiary organisation, in id order.
    pub async fn beneficiaries(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows: Vec<OrganisationRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT id, slug, name, kind, country, currency, covered_members, registry_identifier \
                 FROM organisations WHERE kind = 'beneficiary' ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Organisation::try_from).collect()
    }

    /// The fee schedule set for an organisation or a programme.
    pub async fn fee_schedule(&self, owner_id: Uuid) -> Result<Option<FeeScheduleRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as("SELECT fixed_minor, currency, percent FROM fee_schedules WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Receipts into a programme's pool or earmarked funds whose value date is after `after`, by
    /// earmark (`None`: the pool), for batches not reversed: money a run for an earlier period must
    /// leave alone.
    pub async fn receipts_after(
        &self,
        programme_id: Uuid,
        after: NaiveDate,
    ) -> Result<Vec<(Option<Uuid>, i64)>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT b.earmark_beneficiary_id, CAST(SUM(r.amount_minor) AS BIGINT) \
                 FROM batch_receipts r JOIN contribution_batches b ON b.id = r.batch_id \
                 WHERE b.programme_id = $1 AND r.value_date > $2 \
                   AND NOT EXISTS (SELECT 1 FROM batch_reversals v WHERE v.batch_id = b.id) \
                 GROUP BY b.earmark_beneficiary_id",
            )
            .bind(programme_id)
            .bind(after)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Every recorded run of a programme (dry runs are not recorded), oldest first: its period and
    /// whether it was executed. What a change of the programme's rules checks against.
    pub async fn programme_runs(
        &self,
        programme_id: Uuid,
    ) -> Result<Vec<ProgrammeRunRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.id, r.period, r.created_at, e.transaction_id AS execution_transaction_id \
                 FROM transfer_runs r LEFT JOIN transfer_run_executions e ON e.run_id = r.id \
                 WHERE r.programme_id = $1 ORDER BY r.created_at, r.id",
            )
            .bind(programme_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// One recorded run.
    pub async fn transfer_run(&self, id: Uuid) -> Result<Option<TransferRunRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.id, r.programme_id, r.period, r.as_of, r.plan, r.fingerprint, r.planned_by, r.created_at, \
                 e.transaction_id AS execution_transaction_id, r.programme_version \
                 FROM transfer_runs r LEFT JOIN transfer_run_executions e ON e.run_id = r.id WHERE r.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Recorded runs, newest first (ids are time-ordered), those before `before`.
    pub async fn transfer_runs(
        &self,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<TransferRunRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT r.id, r.programme_id, r.period, r.as_of, r.plan, r.fingerprint, r.planned_by, r.created_at, \
                 e.transaction_id AS execution_transaction_id, r.programme_version \
                 FROM transfer_runs r LEFT JOIN transfer_run_executions e ON e.run_id = r.id \
                 WHERE ($1 IS NULL OR r.id < $1) ORDER BY r.id DESC LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// One transfer with its confirmation.
    pub async fn transfer(&self, id: Uuid) -> Result<Option<TransferRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_transfer!(), " WHERE t.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The transfer whose ISO 20022 EndToEndId is `end_to_end_id`, if any.
    pub async fn transfer_by_end_to_end_id(
        &self,
        end_to_end_id: &str,
    ) -> Result<Option<TransferRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(select_transfer!(), " WHERE t.end_to_end_id = $1"))
                .bind(end_to_end_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A page of the transfers matching `filter`, in id (creation) order from `seek`.
    pub async fn transfers(
        &self,
        filter: &TransferFilter,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<TransferRow>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!(
            "t.id",
            "$3",
            "$5",
            select_transfer!(),
            " WHERE ($1 IS NULL OR t.beneficiary_id = $1) AND ($2 IS NULL OR t.run_id = $2) \
              AND ($4 IS NULL OR ($4 = 'pending' AND c.transfer_id IS NULL AND d.id IS NULL) \
                   OR ($4 = 'disputed' AND c.transfer_id IS NULL AND d.id IS NOT NULL) \
                   OR ($4 = 'settled' AND c.transfer_id IS NOT NULL AND c.top_up_transfer_id IS NULL) \
                   OR ($4 = 'topped_up' AND c.top_up_transfer_id IS NOT NULL))"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(seek.pick(&QUERIES))
            .bind(filter.beneficiary_id)
            .bind(filter.run_id)
            .bind(seek.id())
            .bind(filter.status.as_deref())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// What a transfer chain (a run's transfer and its top-ups) has delivered so far, local minor units.
    pub async fn chain_received(&self, root_transfer_id: Uuid) -> Result<i64, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(c.received_minor), 0) AS BIGINT) FROM transfer_confirmations c \
                 JOIN transfers t ON t.id = c.transfer_id WHERE t.root_transfer_id = $1",
            )
            .bind(root_transfer_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// What fee coverage paid for a chain's top-ups so far (amounts and their expected fees), minor
    /// units of the transfers' currency: what counts against the chain's allowance for top-ups
    /// without review (`ledger_core::settlement::review_top_up`).
    pub async fn chain_top_ups_paid(&self, root_transfer_id: Uuid) -> Result<i64, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(amount_minor + fee_minor), 0) AS BIGINT) FROM transfers \
                 WHERE root_transfer_id = $1 AND kind = 'top_up'",
            )
            .bind(root_transfer_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Every claim on a transfer with its resolution, in the order they were made.
    pub async fn transfer_disputes(
        &self,
        transfer_id: Uuid,
    ) -> Result<Vec<TransferDisputeRow>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT d.id, d.transfer_id, d.claim_number, d.received_minor, d.received_currency, d.value_date, \
                 d.bank_reference, d.fees_deducted_minor, d.shortfall_minor, d.top_up_minor, d.already_paid_minor, \
                 d.allowance_minor, d.currency, d.claimed_by, d.created_at, r.decision, r.established_minor, \
                 r.bank_statement_reference, r.reason, r.transaction_id, r.top_up_transfer_id, r.resolved_by, \
                 r.created_at AS resolved_at \
                 FROM transfer_disputes d LEFT JOIN transfer_dispute_resolutions r ON r.dispute_id = d.id \
                 WHERE d.transfer_id = $1 ORDER BY d.claim_number",
            )
            .bind(transfer_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Every confirmation received by a beneficiary: value date and amount in its currency.
    pub async fn settled_for(
        &self,
        beneficiary: OrganisationId,
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT c.value_date, c.received_minor FROM transfer_confirmations c \
                 JOIN transfers t ON t.id = c.transfer_id WHERE t.beneficiary_id = $1 ORDER BY c.value_date",
            )
            .bind(beneficiary.as_uuid())
            .fetch_all(pool)
            .await?
        }))
    }
}

/// Rows of two of the three reads of [`Store::beneficiary_book`] (facts are [`crate::facts::FactRow`]s).
type SettledTuple = (Uuid, NaiveDate, i64);
type ScheduleTuple = (Uuid, i64, String, String);

/// Everything a transfer run reads about all beneficiaries at once (a run may cover many).
#[derive(Debug, Clone, Default)]
pub struct BeneficiaryBook {
    /// Facts by organisation, each list in recorded order.
    pub facts: std::collections::HashMap<Uuid, Vec<Fact>>,
    /// Confirmations by beneficiary: value date and amount received (its currency's minor units).
    pub settled: std::collections::HashMap<Uuid, Vec<(NaiveDate, i64)>>,
    /// Fee schedules by owner (organisation or programme).
    pub fee_schedules: std::collections::HashMap<Uuid, FeeScheduleRow>,
}

impl Store {
    /// Facts, confirmations and fee schedules of every organisation, in three reads.
    pub async fn beneficiary_book(&self) -> Result<BeneficiaryBook, StoreError> {
        let facts = self.all_fact_rows().await?;
        let (settled, schedules): (Vec<SettledTuple>, Vec<ScheduleTuple>) = on_pool!(self.backend(), pool => {
            let settled = sqlx::query_as(
                "SELECT t.beneficiary_id, c.value_date, c.received_minor FROM transfer_confirmations c \
                 JOIN transfers t ON t.id = c.transfer_id ORDER BY c.value_date",
            )
            .fetch_all(pool)
            .await?;
            let schedules = sqlx::query_as("SELECT owner_id, fixed_minor, currency, percent FROM fee_schedules")
                .fetch_all(pool)
                .await?;
            (settled, schedules)
        });
        let mut book = BeneficiaryBook::default();
        for row in &facts {
            let list = book.facts.entry(row.organisation_id).or_default();
            list.push(row.to_fact(list.len())?);
        }
        for (beneficiary, value_date, received_minor) in settled {
            book.settled
                .entry(beneficiary)
                .or_default()
                .push((value_date, received_minor));
        }
        for (owner, fixed_minor, currency, percent) in schedules {
            book.fee_schedules.insert(
                owner,
                FeeScheduleRow {
                    fixed_minor,
                    currency,
                    percent,
                },
            );
        }
        Ok(book)
    }

    /// Current balances of many accounts (absent accounts have none and are left out).
    pub async fn balances(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, i64>, StoreError> {
        match self.backend() {
            Backend::Postgres(pool) => Ok(sqlx::query_as::<_, (Uuid, i64)>(
                "SELECT account_id, balance_minor FROM account_balances WHERE account_id = ANY($1)",
            )
            .bind(ids)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect()),
            // SQLite has no arrays; it runs in-process, so one read per account is cheap.
            Backend::Sqlite(pool) => {
                let mut found = std::collections::HashMap::with_capacity(ids.len());
                for id in ids {
                    let balance: Option<i64> = sqlx::query_scalar(
                        "SELECT balance_minor FROM account_balances WHERE account_id = $1",
                    )
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
                    if let Some(balance) = balance {
                        found.insert(*id, balance);
                    }
                }
                Ok(found)
            }
        }
    }
}
