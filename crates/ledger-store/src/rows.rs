//! Database rows and their conversion to domain values; the same row types decode on both engines.

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::{
    Account, AccountCode, AccountId, Currency, JournalRecord, OrganisationId, RecordPosting,
    Timestamp,
};
use uuid::Uuid;

use crate::writer::StoredResponse;
use crate::{StoreError, hash_from_db, sequence_from_db};

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

pub(crate) const SELECT_IDEMPOTENCY: &str = "SELECT request_fingerprint, response_status, response_body \
     FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2";

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

#[derive(Debug, sqlx::FromRow)]
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

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PostingRow {
    sequence: i64,
    account_id: Uuid,
    currency: String,
    amount_minor: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IdempotencyRow {
    request_fingerprint: Vec<u8>,
    response_status: i32,
    response_body: String,
}

impl TryFrom<IdempotencyRow> for StoredResponse {
    type Error = StoreError;
    fn try_from(row: IdempotencyRow) -> Result<StoredResponse, StoreError> {
        Ok(StoredResponse {
            fingerprint: <[u8; 32]>::try_from(row.request_fingerprint.as_slice()).map_err(
                |_| StoreError::Corrupt("idempotency fingerprint is not 32 bytes".into()),
            )?,
            response_status: u16::try_from(row.response_status)
                .map_err(|_| StoreError::Corrupt("stored HTTP status out of range".into()))?,
            response_body: row.response_body,
        })
    }
}

/// The text forms the hash covers, derived from typed columns exactly as `seal` derives them.
pub(crate) fn canonical_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
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
        records.push(JournalRecord {
            sequence: sequence_from_db(row.sequence)?,
            transaction_id: row.transaction_id,
            kind: row.kind,
            effective_date: canonical_date(row.effective_date),
            recorded_at: canonical_instant(row.recorded_at),
            actor_subject: row.actor_subject,
            actor_organisation: row
                .actor_organisation_id
                .map(|organisation| organisation.to_string())
                .unwrap_or_default(),
            memo: row.memo,
            metadata: row.metadata,
            postings: record_postings,
            previous_hash: hash_from_db(&row.previous_hash)?,
            hash: hash_from_db(&row.hash)?,
        });
    }
    Ok(records)
}

impl IdempotencyRow {
    pub(crate) fn new(
        request_fingerprint: Vec<u8>,
        response_status: i32,
        response_body: String,
    ) -> Self {
        IdempotencyRow {
            request_fingerprint,
            response_status,
            response_body,
        }
    }
}
