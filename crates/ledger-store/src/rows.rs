//! Database rows and their conversion to domain values; the same row types decode on both engines.

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::{
    Account, AccountCode, AccountId, ChainHash, Currency, JournalRecord, OrganisationId,
    RecordPosting, Timestamp,
};
use uuid::Uuid;

use crate::error::StoreError;

/// The columns of an [`AccountRow`]; a macro so queries can `concat!` their conditions onto it and
/// stay static strings.
macro_rules! select_account {
    () => {
        "SELECT id, code, name, kind, currency, owner_organisation_id FROM accounts"
    };
}
pub(crate) use select_account;

/// The columns of a [`TransactionRow`], for `concat!` like [`select_account`].
macro_rules! select_transaction {
    () => {
        "SELECT sequence, transaction_id, kind, effective_date, recorded_at, actor_subject, \
         actor_organisation_id, memo, metadata, posting_count, previous_hash, hash FROM journal_transactions"
    };
}
pub(crate) use select_transaction;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: Uuid,
    code: String,
    name: String,
    kind: String,
    currency: String,
    owner_organisation_id: Option<Uuid>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(row: AccountRow) -> Result<Account, StoreError> {
        Ok(Account {
            id: AccountId::from_uuid(row.id),
            code: AccountCode::parse(&row.code).map_err(StoreError::Corrupt)?,
            name: row.name,
            kind: row.kind.parse().map_err(StoreError::Corrupt)?,
            currency: Currency::from_code(&row.currency)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?,
            owner_organisation: row.owner_organisation_id.map(OrganisationId::from_uuid),
        })
    }
}

/// Decoded by column position, in [`select_transaction!`]'s order: exports read a million of these,
/// and looking each column up by name cost more than decoding it.
#[derive(Debug)]
pub(crate) struct TransactionRow {
    pub(crate) sequence: i64,
    transaction_id: Uuid,
    kind: String,
    effective_date: NaiveDate,
    recorded_at: DateTime<Utc>,
    actor_subject: String,
    actor_organisation_id: Option<Uuid>,
    memo: String,
    metadata: String,
    posting_count: i32,
    previous_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Decoded by column position: `sequence, account_id, currency, amount_minor`.
#[derive(Debug)]
pub(crate) struct PostingRow {
    sequence: i64,
    account_id: Uuid,
    currency: String,
    amount_minor: i64,
}

impl<'r, R> sqlx::FromRow<'r, R> for TransactionRow
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(TransactionRow {
            sequence: row.try_get(0)?,
            transaction_id: row.try_get(1)?,
            kind: row.try_get(2)?,
            effective_date: row.try_get(3)?,
            recorded_at: row.try_get(4)?,
            actor_subject: row.try_get(5)?,
            actor_organisation_id: row.try_get(6)?,
            memo: row.try_get(7)?,
            metadata: row.try_get(8)?,
            posting_count: row.try_get(9)?,
            previous_hash: row.try_get(10)?,
            hash: row.try_get(11)?,
        })
    }
}

impl<'r, R> sqlx::FromRow<'r, R> for PostingRow
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(PostingRow {
            sequence: row.try_get(0)?,
            account_id: row.try_get(1)?,
            currency: row.try_get(2)?,
            amount_minor: row.try_get(3)?,
        })
    }
}

pub(crate) fn sequence_to_db(sequence: u64) -> Result<i64, StoreError> {
    i64::try_from(sequence)
        .map_err(|_| StoreError::Corrupt(format!("sequence {sequence} out of range")))
}

pub(crate) fn sequence_from_db(sequence: i64) -> Result<u64, StoreError> {
    u64::try_from(sequence)
        .map_err(|_| StoreError::Corrupt(format!("negative sequence {sequence}")))
}

pub(crate) fn hash_from_db(bytes: &[u8]) -> Result<ChainHash, StoreError> {
    ChainHash::from_slice(bytes).ok_or_else(|| {
        StoreError::Corrupt(format!("a stored hash has {} bytes, not 32", bytes.len()))
    })
}

/// The text forms the hash covers, derived from typed columns exactly as `seal` derives them.
pub(crate) fn canonical_date(date: NaiveDate) -> String {
    use chrono::Datelike;
    use std::fmt::Write;
    if !(0..=9999).contains(&date.year()) {
        return date.format("%Y-%m-%d").to_string();
    }
    // The same text as `%Y-%m-%d` for four-digit years, without interpreting a format string for
    // each of the million dates of an export.
    let mut text = String::with_capacity(10);
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    );
    text
}

pub(crate) fn canonical_instant(instant: DateTime<Utc>) -> String {
    Timestamp::from_datetime(instant).to_canonical_string()
}

/// Joins transactions with their postings (both in chain order) into journal records. Nothing is
/// checked here on purpose: a missing, extra or altered posting must reach the chain verifier, which
/// reports it at its sequence.
pub(crate) fn assemble_records(
    transactions: Vec<TransactionRow>,
    postings: Vec<PostingRow>,
) -> Result<Vec<JournalRecord>, StoreError> {
    let mut postings = postings.into_iter().peekable();
    let mut records = Vec::with_capacity(transactions.len());
    for row in transactions {
        // Postings of sequences with no transaction row (a deleted transaction) are skipped here; the
        // verifier reports the gap in sequence numbers.
        while postings
            .next_if(|posting| posting.sequence < row.sequence)
            .is_some()
        {}
        let mut record_postings =
            Vec::with_capacity(usize::try_from(row.posting_count).unwrap_or(0));
        while let Some(posting) = postings.next_if(|posting| posting.sequence == row.sequence) {
            record_postings.push(RecordPosting {
                account_id: posting.account_id,
                currency: posting.currency,
                amount_minor: posting.amount_minor,
            });
        }
        records.push(row.into_record(record_postings)?);
    }
    Ok(records)
}

impl TransactionRow {
    fn into_record(self, postings: Vec<RecordPosting>) -> Result<JournalRecord, StoreError> {
        Ok(JournalRecord {
            sequence: sequence_from_db(self.sequence)?,
            transaction_id: self.transaction_id,
            kind: self.kind,
            effective_date: canonical_date(self.effective_date),
            recorded_at: canonical_instant(self.recorded_at),
            actor_subject: self.actor_subject,
            actor_organisation: self
                .actor_organisation_id
                .map(|organisation| organisation.to_string())
                .unwrap_or_default(),
            memo: self.memo,
            metadata: self.metadata,
            postings,
            previous_hash: hash_from_db(&self.previous_hash)?,
            hash: hash_from_db(&self.hash)?,
        })
    }
}

/// A whole page of SQLite's journal as one text value: every transaction's fields in
/// [`select_transaction!`]'s order, each as `LENGTH:BYTES` (its `octet_length`, so no stored text
/// can be mistaken for a separator), binary ids and hashes in hexadecimal, the organisation `-`
/// when there is none, and the postings packed (see [`unpack_postings`]). Parameters:
/// after, through, limit. One value per page spares SQLite's per-row and per-value hand-over
/// between threads, which is most of the cost of reading the journal row by row. The count of
/// transactions comes first, so a transaction whose text came out NULL cannot go missing. The
/// aggregates take no `ORDER BY`, which made SQLite sort every transaction's postings (and the
/// page) in a temporary b-tree: the order SQLite visits rows in, along the primary keys, is
/// checked when the page is decoded instead ([`unpack_page`]).
pub(crate) const SELECT_PACKED_PAGE: &str = "SELECT count(*), group_concat(\
       octet_length(t.sequence) || ':' || t.sequence \
    || (2 * length(t.transaction_id)) || ':' || hex(t.transaction_id) \
    || octet_length(t.kind) || ':' || t.kind \
    || octet_length(t.effective_date) || ':' || t.effective_date \
    || octet_length(t.recorded_at) || ':' || t.recorded_at \
    || octet_length(t.actor_subject) || ':' || t.actor_subject \
    || CASE WHEN t.actor_organisation_id IS NULL THEN '1:-' \
            ELSE (2 * length(t.actor_organisation_id)) || ':' || hex(t.actor_organisation_id) END \
    || octet_length(t.memo) || ':' || t.memo \
    || octet_length(t.metadata) || ':' || t.metadata \
    || octet_length(t.posting_count) || ':' || t.posting_count \
    || (2 * length(t.previous_hash)) || ':' || hex(t.previous_hash) \
    || (2 * length(t.hash)) || ':' || hex(t.hash) \
    || octet_length(t.postings) || ':' || t.postings, \
    '') FROM ( \
      SELECT j.*, ifnull((SELECT group_concat(p.posting_index || ' ' || hex(p.account_id) || ' ' \
            || p.amount_minor || ' ' || hex(CAST(p.currency AS BLOB)), ',') \
          FROM journal_postings p WHERE p.sequence = j.sequence), '') AS postings \
      FROM journal_transactions j WHERE j.sequence > $1 AND j.sequence <= $2 \
      ORDER BY j.sequence LIMIT $3) t";

/// The records of a [`SELECT_PACKED_PAGE`] value, decoded as the row-by-row read decodes them;
/// `None` when any field is not what the ledger writes (the caller then reads the page row by row,
/// which reports such a field as it always has).
pub(crate) fn unpack_page(count: i64, packed: &str) -> Option<Vec<JournalRecord>> {
    let mut rest = packed;
    let mut field = || -> Option<&str> {
        let colon = rest.find(':')?;
        let length: usize = rest[..colon].parse().ok()?;
        let value = rest.get(colon + 1..colon + 1 + length)?;
        rest = &rest[colon + 1 + length..];
        Some(value)
    };
    let mut records: Vec<JournalRecord> = Vec::with_capacity(MAX_PAGE_GUESS);
    while let Some(sequence) = field() {
        let sequence = sequence_from_db(sequence.parse().ok()?).ok()?;
        // Concatenated in the order SQLite visited them, which the query does not fix: anything
        // but chain order sends the page to the row read.
        if records.last().is_some_and(|last| last.sequence >= sequence) {
            return None;
        }
        let transaction_id = uuid_from_hex(field()?)?;
        let kind = field()?.to_owned();
        let effective_date = NaiveDate::parse_from_str(field()?, "%F").ok()?;
        let recorded_at = DateTime::parse_from_rfc3339(field()?).ok()?;
        let actor_subject = field()?.to_owned();
        let actor_organisation = match field()? {
            "-" => String::new(),
            organisation => uuid_from_hex(organisation)?.to_string(),
        };
        let memo = field()?.to_owned();
        let metadata = field()?.to_owned();
        let _posting_count: i32 = field()?.parse().ok()?;
        let previous_hash = ledger_core::ChainHash::from_hex_bytes(field()?.as_bytes())?;
        let hash = ledger_core::ChainHash::from_hex_bytes(field()?.as_bytes())?;
        let postings = match field()? {
            "" => Vec::new(),
            packed_postings => unpack_postings(packed_postings)?,
        };
        records.push(JournalRecord {
            sequence,
            transaction_id,
            kind,
            effective_date: canonical_date(effective_date),
            recorded_at: canonical_instant(recorded_at.with_timezone(&Utc)),
            actor_subject,
            actor_organisation,
            memo,
            metadata,
            postings,
            previous_hash,
            hash,
        });
    }
    (rest.is_empty() && i64::try_from(records.len()).ok() == Some(count)).then_some(records)
}

/// Records in a typical page, to size the vector once.
const MAX_PAGE_GUESS: usize = 1_000;

/// A 16-byte id written by SQLite's `hex()` (32 digits).
fn uuid_from_hex(text: &str) -> Option<Uuid> {
    (text.len() == 32)
        .then(|| Uuid::try_parse(text).ok())
        .flatten()
}

/// The postings of a transaction packed by [`SELECT_PACKED_PAGE`]: `INDEX ACCOUNT AMOUNT CURRENCY`
/// per posting, separated by commas, the account id and the currency's bytes in hexadecimal. They
/// must come in posting order, 0, 1, 2, ... (SQLite visits them along the primary key; the query
/// does not promise it, so it is checked).
fn unpack_postings(packed: &str) -> Option<Vec<RecordPosting>> {
    packed
        .split(',')
        .enumerate()
        .map(|(position, posting)| {
            let mut parts = posting.split(' ');
            let (Some(index), Some(account), Some(amount), Some(currency), None) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return None;
            };
            if index.parse::<usize>().ok()? != position {
                return None;
            }
            Some(RecordPosting {
                account_id: uuid_from_hex(account)?,
                amount_minor: amount.parse().ok()?,
                currency: String::from_utf8(hex::decode(currency).ok()?).ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One transaction as [`SELECT_PACKED_PAGE`] packs it, with these postings (already packed).
    fn packed_transaction(sequence: u64, postings: &str) -> String {
        let hash = "AB".repeat(32);
        let id = "0123456789ABCDEF0123456789ABCDEF";
        let fields = [
            sequence.to_string(),
            id.to_owned(),
            "pledge".to_owned(),
            "2026-11-23".to_owned(),
            "2026-11-23T03:25:16.123456Z".to_owned(),
            "treasurer".to_owned(),
            "-".to_owned(),
            "memo".to_owned(),
            "{}".to_owned(),
            "2".to_owned(),
            hash.clone(),
            hash,
            postings.to_owned(),
        ];
        fields
            .iter()
            .map(|field| format!("{}:{field}", field.len()))
            .collect()
    }

    #[test]
    fn packed_pages_out_of_chain_or_posting_order_go_to_the_row_read() {
        // Proves the packed read's aggregates, which take no ORDER BY, are trusted only in order:
        // transactions in rising sequence, postings 0, 1, 2, ...; otherwise `None` (row read).
        let account = "00112233445566778899AABBCCDDEEFF";
        let in_order = format!("0 {account} 100 455552,1 {account} -100 455552");
        let swapped = format!("1 {account} -100 455552,0 {account} 100 455552");
        let page = packed_transaction(1, &in_order) + &packed_transaction(2, &in_order);
        let records = unpack_page(2, &page).expect("an ordinary page decodes");
        assert_eq!(records[1].postings[1].amount_minor, -100);
        assert_eq!(records[1].postings[1].currency, "EUR");
        let backwards = packed_transaction(2, &in_order) + &packed_transaction(1, &in_order);
        assert!(unpack_page(2, &backwards).is_none());
        let repeated = packed_transaction(2, &in_order) + &packed_transaction(2, &in_order);
        assert!(unpack_page(2, &repeated).is_none());
        let postings_swapped = packed_transaction(1, &swapped);
        assert!(unpack_page(1, &postings_swapped).is_none());
    }

    #[test]
    fn canonical_dates_are_the_text_the_format_string_gives() {
        // Proves the hand-written date text is `%Y-%m-%d` exactly (the hash covers it), on both
        // sides of the four-digit years it handles itself.
        for (year, month, day) in [
            (2026, 11, 23),
            (2024, 2, 29),
            (0, 1, 1),
            (7, 3, 9),
            (999, 12, 31),
            (9999, 12, 31),
            (10_000, 1, 1),
            (-1, 6, 15),
        ] {
            #[allow(clippy::unwrap_used)]
            let date = NaiveDate::from_ymd_opt(year, month, day).unwrap();
            assert_eq!(
                canonical_date(date),
                date.format("%Y-%m-%d").to_string(),
                "{year}"
            );
        }
    }
}
