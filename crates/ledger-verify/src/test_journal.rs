//! A small chained journal for the unit tests.

use ledger_core::{GENESIS_HASH, JournalRecord, RecordPosting};
use uuid::Uuid;

/// `count` transactions chained from genesis, each moving `sequence × 100` EUR minor units from
/// one account to another.
pub(crate) fn chain_of(count: usize) -> Vec<JournalRecord> {
    let mut previous = GENESIS_HASH;
    (1..=count as u64)
        .map(|sequence| {
            let minor = i64::try_from(sequence).unwrap_or(i64::MAX) * 100;
            let mut record = JournalRecord {
                sequence,
                transaction_id: Uuid::from_u128(0x7000 + u128::from(sequence)),
                kind: "adjustment".into(),
                effective_date: "2026-11-23".into(),
                recorded_at: "2026-11-23T03:25:16.000000Z".into(),
                actor_subject: "system".into(),
                actor_organisation: String::new(),
                memo: format!("transaction {sequence}"),
                metadata: "{}".into(),
                postings: vec![
                    RecordPosting {
                        account_id: Uuid::from_u128(0xca5e_0001),
                        currency: "EUR".into(),
                        amount_minor: minor,
                    },
                    RecordPosting {
                        account_id: Uuid::from_u128(0xb001_0002),
                        currency: "EUR".into(),
                        amount_minor: -minor,
                    },
                ],
                previous_hash: previous,
                hash: GENESIS_HASH,
            };
            record.hash = record.compute_hash();
            previous = record.hash;
            record
        })
        .collect()
}
