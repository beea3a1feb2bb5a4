//! Reads of the journal: balances, the chain head, and the committed transactions in chain order,
//! a page at a time or as a stream of pages read ahead (exports, verification).

use ledger_core::{AccountId, ChainHash, JournalRecord};

use crate::backend::{Backend, on_pool};
use crate::error::StoreError;
use crate::rows::{
    self, PostingRow, TransactionRow, hash_from_db, sequence_from_db, sequence_to_db,
};
use crate::store::Store;

/// The most transactions one journal read returns; callers page with `after_sequence`.
pub const MAX_JOURNAL_PAGE: u32 = 1_000;
/// Journal pages [`Store::journal_pages`] reads at once, each on its own connection (SQLite serves
/// one connection's rows on one thread). A third gave little and took memory (docs/benchmarks.md).
const JOURNAL_PAGES_IN_FLIGHT: usize = 2;
/// Pages [`Store::journal_pages_ahead`] holds ready for its receiver, beyond those being read.
const JOURNAL_PAGES_AHEAD: usize = 2;

/// Journal pages read ahead on a task of their own ([`Store::journal_pages_ahead`]).
#[derive(Debug)]
pub struct JournalPagesAhead {
    pages: tokio::sync::mpsc::Receiver<Result<Vec<JournalRecord>, StoreError>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl JournalPagesAhead {
    /// The next page, in chain order; `None` once the range is read. A reader that stopped
    /// early (it panicked) is [`StoreError::ReaderStopped`], never a silent end: an export must
    /// not end short with its end record written.
    pub async fn next(&mut self) -> Option<Result<Vec<JournalRecord>, StoreError>> {
        if let Some(page) = self.pages.recv().await {
            return Some(page);
        }
        match self.reader.take()?.await {
            Ok(()) => None,
            Err(_) => Some(Err(StoreError::ReaderStopped)),
        }
    }
}

impl Store {
    /// The account's balance in minor units: current, or as of a sequence number (inclusive).
    pub async fn balance(
        &self,
        id: AccountId,
        at_sequence: Option<u64>,
    ) -> Result<i64, StoreError> {
        let balance: Option<i64> = match at_sequence {
            None => on_pool!(self.backend(), pool => {
                sqlx::query_scalar("SELECT balance_minor FROM account_balances WHERE account_id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(pool)
                    .await?
            }),
            Some(sequence) => {
                let sequence = sequence_to_db(sequence)?;
                on_pool!(self.backend(), pool => {
                    sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM journal_postings \
                         WHERE account_id = $1 AND sequence <= $2",
                    )
                    .bind(id.as_uuid())
                    .bind(sequence)
                    .fetch_optional(pool)
                    .await?
                })
            }
        };
        Ok(balance.unwrap_or(0))
    }

    /// The last committed sequence and hash (0 and the genesis hash for an empty journal).
    pub async fn chain_head(&self) -> Result<(u64, ChainHash), StoreError> {
        let (sequence, hash): (i64, Vec<u8>) = on_pool!(self.backend(), pool => {
            sqlx::query_as("SELECT last_sequence, last_hash FROM chain_head WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok((sequence_from_db(sequence)?, hash_from_db(&hash)?))
    }

    /// Up to `limit` (at most [`MAX_JOURNAL_PAGE`]) committed transactions after `after_sequence`,
    /// in chain order, with their postings.
    pub async fn journal_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        self.journal_page(after_sequence, u64::MAX, limit).await
    }

    /// The committed transactions with sequences from `from_sequence` to `last_sequence`, in pages
    /// of [`MAX_JOURNAL_PAGE`] sequences, in chain order; [`JOURNAL_PAGES_IN_FLIGHT`] pages are
    /// read at once (on as many connections), so reading overlaps itself and whatever consumes the
    /// pages.
    /// A page is a fixed range of sequences: a damaged journal's missing sequences only make
    /// pages shorter (the chain check reports them), and the stream always ends.
    pub fn journal_pages(
        &self,
        from_sequence: u64,
        last_sequence: u64,
    ) -> impl futures::Stream<Item = Result<Vec<JournalRecord>, StoreError>> + Send + 'static {
        use futures::StreamExt;
        let width = u64::from(MAX_JOURNAL_PAGE);
        let first_after = from_sequence.saturating_sub(1);
        let starts = (first_after < last_sequence)
            .then(|| (first_after..last_sequence).step_by(usize::try_from(width).unwrap_or(1)))
            .into_iter()
            .flatten();
        let store = self.clone();
        futures::stream::iter(starts)
            .map(move |after| {
                let store = store.clone();
                let through = after.saturating_add(width).min(last_sequence);
                async move { store.journal_page(after, through, MAX_JOURNAL_PAGE).await }
            })
            .buffered(JOURNAL_PAGES_IN_FLIGHT)
    }

    /// [`Store::journal_pages`] read on a task of its own, ahead of the receiver: reading the next
    /// pages overlaps whatever the caller does with the current one (rendering, writing), and
    /// memory stays bounded at [`JOURNAL_PAGES_AHEAD`] pages plus those being read. The task stops
    /// at the end of the range, after sending the first error, or when the receiver is dropped.
    pub fn journal_pages_ahead(&self, from_sequence: u64, last_sequence: u64) -> JournalPagesAhead {
        let (sender, pages) = tokio::sync::mpsc::channel(JOURNAL_PAGES_AHEAD);
        let read = self.journal_pages(from_sequence, last_sequence);
        let reader = tokio::spawn(async move {
            use futures::StreamExt;
            let mut read = std::pin::pin!(read);
            while let Some(page) = read.next().await {
                let failed = page.is_err();
                if sender.send(page).await.is_err() || failed {
                    return;
                }
            }
        });
        JournalPagesAhead {
            pages,
            reader: Some(reader),
        }
    }

    /// At most `limit` transactions with `after < sequence <= through`, in chain order.
    async fn journal_page(
        &self,
        after: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        let after = sequence_to_db(after)?;
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let limit = i64::from(limit.clamp(1, MAX_JOURNAL_PAGE));
        if let Backend::Sqlite(pool) = self.backend() {
            // The whole page as one value (see `rows::SELECT_PACKED_PAGE`); a page with anything
            // unusual in it is read again row by row, as on PostgreSQL.
            let (count, packed): (i64, Option<String>) = sqlx::query_as(rows::SELECT_PACKED_PAGE)
                .bind(after)
                .bind(through)
                .bind(limit)
                .fetch_one(pool)
                .await?;
            if let Some(records) = rows::unpack_page(count, packed.as_deref().unwrap_or_default()) {
                return Ok(records);
            }
        }
        self.journal_page_by_rows(after, through, limit).await
    }

    /// [`Store::journal_page`] read row by row: the transactions, then their postings.
    async fn journal_page_by_rows(
        &self,
        after: i64,
        through: i64,
        limit: i64,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        let (transactions, postings): (Vec<TransactionRow>, Vec<PostingRow>) = on_pool!(self.backend(), pool => {
            let transactions: Vec<TransactionRow> = sqlx::query_as(concat!(
                rows::select_transaction!(),
                " WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3"
            ))
            .bind(after)
            .bind(through)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let last = transactions.last().map_or(after, |row| row.sequence);
            let postings: Vec<PostingRow> = sqlx::query_as(
                "SELECT sequence, account_id, currency, amount_minor FROM journal_postings \
                 WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence, posting_index",
            )
            .bind(after)
            .bind(last)
            .fetch_all(pool)
            .await?;
            (transactions, postings)
        });
        rows::assemble_records(transactions, postings)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use chrono::NaiveDate;
    use ledger_core::{
        Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, Posting, Timestamp,
        TransactionDraft, TransactionId, TransactionKind,
    };
    use uuid::Uuid;

    use super::*;
    use crate::store::StoreOptions;

    #[tokio::test]
    async fn pages_read_ahead_end_in_an_error_when_their_reader_stops_early() {
        // Proves a reader that dies mid-range (a panic drops its sender like a normal end) is
        // reported, so an export never ends short with its end record written.
        let (sender, pages) = tokio::sync::mpsc::channel(JOURNAL_PAGES_AHEAD);
        let reader = tokio::spawn(async move {
            sender.send(Ok(Vec::new())).await.unwrap();
            panic!("the reader dies");
        });
        let mut ahead = JournalPagesAhead {
            pages,
            reader: Some(reader),
        };
        assert!(matches!(ahead.next().await, Some(Ok(page)) if page.is_empty()));
        assert!(matches!(
            ahead.next().await,
            Some(Err(StoreError::ReaderStopped))
        ));
        assert!(ahead.next().await.is_none());
    }

    #[tokio::test]
    async fn pages_read_ahead_end_when_the_range_is_read() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
        let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let mut ahead = store.journal_pages_ahead(1, 0);
        assert!(ahead.next().await.is_none(), "an empty range");
    }

    #[tokio::test]
    async fn sqlite_pages_are_read_as_one_packed_value() {
        // Proves SQLite's fast read (one packed value per page) decodes an ordinary journal by
        // itself, with texts holding its separators and non-ASCII letters, and agrees with the
        // row-by-row read: were it to fall back silently, exports would be right but slow.
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
        let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let now = Timestamp::from_datetime(chrono::Utc::now());
        let mut chart = HashMap::new();
        for code in ["cash", "pool"] {
            let account = Account {
                id: AccountId::from_uuid(Uuid::new_v4()),
                code: AccountCode::parse(code).unwrap(),
                name: code.into(),
                kind: AccountKind::Asset,
                currency: Currency::eur(),
                owner_organisation: None,
            };
            store.open_account(&account, now).await.unwrap();
            chart.insert(account.id, account);
        }
        let ids: Vec<AccountId> = chart.keys().copied().collect();
        for minor in 1..=3_i64 {
            let amount = Amount::from_minor(minor * 100, Currency::eur()).unwrap();
            let transaction = TransactionDraft {
                id: TransactionId::from_uuid(Uuid::new_v4()),
                kind: TransactionKind::Adjustment,
                effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                recorded_at: now,
                actor: Actor::system(),
                memo: format!("12:34, section {minor}; Montréal"),
                metadata: serde_json::Map::from_iter([("note".to_owned(), "a:b,c".into())]),
                postings: vec![
                    Posting {
                        account_id: ids[0],
                        amount,
                    },
                    Posting {
                        account_id: ids[1],
                        amount: amount.negated(),
                    },
                ],
            }
            .validate(&chart)
            .unwrap();
            store.append(transaction).await.unwrap();
        }
        let pool = store.sqlite_pool().unwrap();
        let (count, packed): (i64, Option<String>) = sqlx::query_as(rows::SELECT_PACKED_PAGE)
            .bind(0_i64)
            .bind(i64::MAX)
            .bind(1000_i64)
            .fetch_one(pool)
            .await
            .unwrap();
        let packed_records =
            rows::unpack_page(count, &packed.unwrap()).expect("the packed page decodes");
        let row_records = store.journal_page_by_rows(0, i64::MAX, 1000).await.unwrap();
        assert_eq!(packed_records.len(), 3);
        assert_eq!(packed_records, row_records);
        assert_eq!(packed_records[2].memo, "12:34, section 3; Montréal");
        assert!(store.verify().await.unwrap().is_valid());
    }
}
