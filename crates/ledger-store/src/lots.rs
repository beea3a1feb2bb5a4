//! The FIFO lot book ([`ledger_core::lots`]) kept up to date from the ledger: every bank receipt is
//! a lot, and the journal's movements of the pool, earmarked funds, holds, transfers in transit and
//! the beneficiaries' advances move its pieces, in chain order. Each store keeps the book in memory
//! and, on each read, applies only what was committed since (by chain sequence), so a read costs
//! the new events, not the whole history; several instances each follow the same journal.

use std::collections::HashMap;

use ledger_core::OrganisationId;
use ledger_core::lots::{Lot, LotBook, LotError, Place};
use ledger_core::redistribution::Purpose;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::backend::{Backend, on_pool};
use crate::error::StoreError;

/// Why a beneficiary's share was last held, by beneficiary: the failing conditions named in the
/// last hold's journal metadata.
pub type HoldReasons = HashMap<OrganisationId, Vec<String>>;

#[derive(Debug, sqlx::FromRow)]
struct LotRow {
    id: Uuid,
    amount_minor: i64,
    contributor_id: Uuid,
    programme_id: Uuid,
    batch_id: Uuid,
    period: String,
    earmark_beneficiary_id: Option<Uuid>,
    sequence: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct MovementRow {
    sequence: i64,
    kind: String,
    metadata: String,
    code: String,
    amount_minor: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct TransferRateRow {
    id: Uuid,
    beneficiary_id: Uuid,
    rate: Option<String>,
    local_currency: String,
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(corrupt)
}

/// The place an account code stands for, if it is one tracing follows.
fn place_of(
    code: &str,
    transfers: &HashMap<Uuid, TransferRateRow>,
) -> Result<Option<Place>, StoreError> {
    let parts: Vec<&str> = code.split(':').collect();
    Ok(match parts.as_slice() {
        ["programme", programme, "pool"] => Some(Place::Pool {
            programme: uuid(programme)?,
        }),
        ["programme", programme, "earmarked", beneficiary] => Some(Place::Earmarked {
            programme: uuid(programme)?,
            beneficiary: OrganisationId::from_uuid(uuid(beneficiary)?),
        }),
        ["programme", programme, "held", beneficiary] => Some(Place::Held {
            programme: uuid(programme)?,
            beneficiary: OrganisationId::from_uuid(uuid(beneficiary)?),
        }),
        ["transfer", transfer, "in_transit"] => {
            let transfer = uuid(transfer)?;
            transfers.get(&transfer).map(|row| Place::InTransit {
                beneficiary: OrganisationId::from_uuid(row.beneficiary_id),
                transfer,
            })
        }
        ["beneficiary", beneficiary, "redistributed", purpose, _] => {
            let beneficiary = OrganisationId::from_uuid(uuid(beneficiary)?);
            Purpose::parse(purpose).map(|purpose| Place::Redistributed {
                beneficiary,
                purpose,
            })
        }
        _ => None,
    })
}

/// Local minor units per EUR cent of a transfer's rate (1 when the beneficiary keeps EUR).
fn rate_per_cent(row: &TransferRateRow) -> Result<Decimal, StoreError> {
    let Some(rate) = &row.rate else {
        return Ok(Decimal::ONE);
    };
    let rate: Decimal = rate.parse().map_err(corrupt)?;
    let local = ledger_core::Currency::from_code(&row.local_currency).map_err(corrupt)?;
    Ok(rate * Decimal::from(local.minor_per_major()) / Decimal::from(100))
}

fn follow(result: Result<(), LotError>) -> Result<(), StoreError> {
    result.map_err(|error| {
        StoreError::Corrupt(format!("tracing could not follow the ledger: {error}"))
    })
}

impl LotLedger {
    /// What tracing reads of this book.
    pub(crate) fn view(&self) -> LotView<'_> {
        LotView {
            book: &self.book,
            reasons: &self.reasons,
            pledged: &self.pledged,
        }
    }

    /// The last chain sequence applied.
    pub(crate) fn through_sequence(&self) -> i64 {
        self.through_sequence
    }

    /// Applies receipts and movements with a sequence in `(through_sequence, head]`.
    pub(crate) async fn catch_up(
        &mut self,
        backend: &Backend,
        head: i64,
    ) -> Result<(), StoreError> {
        let ledger = self;
        let after = ledger.through_sequence;
        let (lots, movements, transfers, owed): NewEvents = on_pool!(backend, pool => {
            // What each contributor's batches still owe moves with the postings on their receivables:
            // new batches name their receivable account, then every account's movement is summed.
            let batches = sqlx::query_as(
                "SELECT b.receivable_account_id, b.contributor_id, b.period FROM contribution_batches b \
                 JOIN journal_transactions j ON j.transaction_id = b.pledge_transaction_id \
                 WHERE j.sequence > $1 AND j.sequence <= $2",
            )
            .bind(after)
            .bind(head)
            .fetch_all(pool)
            .await?;
            let moved = sqlx::query_as(
                "SELECT account_id, CAST(SUM(amount_minor) AS BIGINT) FROM journal_postings \
                 WHERE sequence > $1 AND sequence <= $2 GROUP BY account_id",
            )
            .bind(after)
            .bind(head)
            .fetch_all(pool)
            .await?;
            let lots = sqlx::query_as(
                "SELECT r.id, r.amount_minor, b.contributor_id, b.programme_id, b.id AS batch_id, b.period, \
                 b.earmark_beneficiary_id, j.sequence FROM batch_receipts r \
                 JOIN contribution_batches b ON b.id = r.batch_id \
                 JOIN journal_transactions j ON j.transaction_id = r.transaction_id \
                 WHERE j.sequence > $1 AND j.sequence <= $2 ORDER BY j.sequence",
            )
            .bind(after)
            .bind(head)
            .fetch_all(pool)
            .await?;
            let movements = sqlx::query_as(
                "SELECT p.sequence, t.kind, t.metadata, a.code, p.amount_minor FROM journal_postings p \
                 JOIN journal_transactions t ON t.sequence = p.sequence JOIN accounts a ON a.id = p.account_id \
                 WHERE p.sequence > $1 AND p.sequence <= $2 \
                 AND t.kind IN ('allocation', 'transfer', 'adjustment', 'reversal', 'settlement', 'redistribution') \
                 ORDER BY p.sequence, p.posting_index",
            )
            .bind(after)
            .bind(head)
            .fetch_all(pool)
            .await?;
            let transfers = sqlx::query_as(
                "SELECT t.id, t.beneficiary_id, t.rate, t.local_currency FROM transfers t \
                 JOIN journal_transactions j ON j.transaction_id = t.transaction_id \
                 WHERE j.sequence > $1 AND j.sequence <= $2",
            )
            .bind(after)
            .bind(head)
            .fetch_all(pool)
            .await?;
            (lots, movements, transfers, (batches, moved))
        });
        let (batches, moved) = owed;
        for (account, contributor, period) in batches {
            ledger
                .receivables
                .insert(account, (OrganisationId::from_uuid(contributor), period));
        }
        for (account, minor) in moved {
            if let Some(owner) = ledger.receivables.get(&account) {
                *ledger.pledged.entry(owner.clone()).or_default() += minor;
            }
        }
        ledger
            .transfers
            .extend(transfers.into_iter().map(|row| (row.id, row)));
        let LotLedger {
            book,
            reasons,
            lots_of_batch,
            transfers,
            through_sequence,
            ..
        } = ledger;
        let mut lots = lots.into_iter().peekable();
        let mut index = 0;
        while index < movements.len() {
            let sequence = movements[index].sequence;
            let end = movements[index..]
                .iter()
                .position(|row| row.sequence != sequence)
                .map_or(movements.len(), |offset| index + offset);
            // Every receipt recorded before this movement has entered its place.
            while let Some(lot) = lots.next_if(|lot| lot.sequence < sequence) {
                receive(book, lots_of_batch, lot);
            }
            apply(
                book,
                reasons,
                &movements[index..end],
                transfers,
                lots_of_batch,
            )?;
            index = end;
        }
        for lot in lots {
            receive(book, lots_of_batch, lot);
        }
        *through_sequence = head;
        Ok(())
    }
}

/// What one catch-up reads: receipts, movements, new transfers, new batches' receivable accounts
/// (account, contributor, period) and every account's movement in the range.
type NewEvents = (
    Vec<LotRow>,
    Vec<MovementRow>,
    Vec<TransferRateRow>,
    (Vec<(Uuid, Uuid, String)>, Vec<(Uuid, i64)>),
);

/// A store's lot book and what it needs to keep following the journal.
#[derive(Debug, Default)]
pub struct LotLedger {
    book: LotBook,
    reasons: HoldReasons,
    lots_of_batch: HashMap<Uuid, Vec<Uuid>>,
    transfers: HashMap<Uuid, TransferRateRow>,
    /// Each batch's receivable account: whose batch, for which period.
    receivables: HashMap<Uuid, (OrganisationId, String)>,
    /// What each contributor's batches of each period still owe (their receivables), minor units.
    pledged: HashMap<(OrganisationId, String), i64>,
    /// The last chain sequence applied.
    through_sequence: i64,
}

/// What tracing reads: the lot book, why shares were held, and what is still pledged.
#[derive(Debug, Clone, Copy)]
pub struct LotView<'a> {
    pub book: &'a LotBook,
    pub reasons: &'a HoldReasons,
    pledged: &'a HashMap<(OrganisationId, String), i64>,
}

impl LotView<'_> {
    /// What a contributor's batches (all, or one period's) still owe.
    pub fn pledged_outstanding(&self, contributor: OrganisationId, period: Option<&str>) -> i64 {
        self.pledged
            .iter()
            .filter(|((owner, owed_period), _)| {
                *owner == contributor && period.is_none_or(|period| owed_period == period)
            })
            .map(|(_, minor)| minor)
            .sum()
    }
}

fn receive(book: &mut LotBook, lots_of_batch: &mut HashMap<Uuid, Vec<Uuid>>, row: LotRow) {
    lots_of_batch.entry(row.batch_id).or_default().push(row.id);
    book.receive(Lot {
        id: row.id,
        contributor: OrganisationId::from_uuid(row.contributor_id),
        programme: row.programme_id,
        batch: row.batch_id,
        period: row.period,
        amount_minor: row.amount_minor,
        earmark: row.earmark_beneficiary_id.map(OrganisationId::from_uuid),
    });
}

/// Applies one transaction's movements of tracked places.
fn apply(
    book: &mut LotBook,
    reasons: &mut HoldReasons,
    postings: &[MovementRow],
    transfers: &HashMap<Uuid, TransferRateRow>,
    lots_of_batch: &HashMap<Uuid, Vec<Uuid>>,
) -> Result<(), StoreError> {
    let Some(first) = postings.first() else {
        return Ok(());
    };
    let mut tracked = Vec::new();
    for posting in postings {
        if let Some(place) = place_of(&posting.code, transfers)? {
            tracked.push((place, posting.amount_minor));
        }
    }
    let metadata: serde_json::Value = serde_json::from_str(&first.metadata).map_err(corrupt)?;
    match first.kind.as_str() {
        // Sources are debited, the one destination credited.
        "transfer" | "allocation" | "adjustment" => {
            let Some((destination, _)) = tracked.iter().find(|(_, amount)| *amount < 0) else {
                return Ok(());
            };
            let rate = match destination {
                Place::InTransit { transfer, .. } => {
                    transfers.get(transfer).map(rate_per_cent).transpose()?
                }
                _ => None,
            };
            for (source, amount) in tracked.iter().filter(|(_, amount)| *amount > 0) {
                follow(book.move_eur(*source, *destination, *amount, rate))?;
            }
            if first.kind == "allocation"
                && let Place::Held { beneficiary, .. } = destination
            {
                let failing = metadata["failing_conditions"]
                    .as_array()
                    .map(|codes| {
                        codes
                            .iter()
                            .filter_map(|code| code.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                reasons.insert(*beneficiary, failing);
            }
        }
        // A reversed report gives its purposes' money back to the mutual's received funds.
        "reversal" if metadata.get("report_id").is_some() => {
            for (source, amount) in tracked.iter().filter(|(_, amount)| *amount > 0) {
                if let Place::Redistributed { beneficiary, .. } = source {
                    book.move_local(
                        *source,
                        Place::Received {
                            beneficiary: *beneficiary,
                        },
                        Decimal::from(*amount),
                    )
                    .map_err(|error| corrupt(format!("tracing: {error}")))?;
                }
            }
        }
        // A reversed batch takes back its own lots' money.
        "reversal" => {
            let batch = metadata["batch_id"].as_str().map(uuid).transpose()?;
            for (source, amount) in tracked.iter().filter(|(_, amount)| *amount > 0) {
                let mut left = *amount;
                for lot in batch
                    .and_then(|batch| lots_of_batch.get(&batch))
                    .into_iter()
                    .flatten()
                {
                    left -= book
                        .refund_lot(*lot, *source, left)
                        .map_err(|error| corrupt(format!("tracing: {error}")))?;
                }
            }
        }
        // What arrived leaves transit (a top-up's transit holds no lots: fee coverage paid it).
        "settlement" => {
            for (source, amount) in tracked.iter().filter(|(_, amount)| *amount > 0) {
                if let Place::InTransit { beneficiary, .. } = source {
                    let available = book.total(*source).eur_minor.min(*amount);
                    follow(book.move_eur(
                        *source,
                        Place::Received {
                            beneficiary: *beneficiary,
                        },
                        available,
                        None,
                    ))?;
                }
            }
        }
        // An accepted report moves received money, in local units, to its purposes.
        "redistribution" => {
            for (destination, amount) in tracked.iter().filter(|(_, amount)| *amount < 0) {
                if let Place::Redistributed { beneficiary, .. } = destination {
                    book.move_local(
                        Place::Received {
                            beneficiary: *beneficiary,
                        },
                        *destination,
                        Decimal::from(-*amount),
                    )
                    .map_err(|error| corrupt(format!("tracing: {error}")))?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}
