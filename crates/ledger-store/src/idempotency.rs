//! Idempotency keys: the response remembered for each key a caller used, how it is stored and how
//! the writer looks keys up. A key is decided under the chain-head lock with the write it guards
//! (see [`crate::writer`]), so a replay never writes twice.

use std::collections::HashMap;

use ledger_core::Timestamp;
use sqlx::{PgConnection, SqliteConnection};

use crate::error::StoreError;

/// The response to remember for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyEntry {
    /// Whose key it is (keys of different callers never collide).
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request (method, path, body): the same key with another request is a conflict.
    pub fingerprint: [u8; 32],
    pub response_status: u16,
    pub response_body: String,
    pub created_at: Timestamp,
}

impl IdempotencyEntry {
    /// The response this entry stores, as a later lookup of its key returns it.
    pub(crate) fn stored_response(&self) -> StoredResponse {
        StoredResponse {
            fingerprint: self.fingerprint,
            response_status: self.response_status,
            response_body: self.response_body.clone(),
        }
    }

    /// Its scope and key, as [`KeyMap`] holds them.
    pub(crate) fn scoped_key(&self) -> (String, String) {
        (self.scope.clone(), self.key.clone())
    }
}

/// A response stored under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub fingerprint: [u8; 32],
    pub response_status: u16,
    pub response_body: String,
}

/// Responses already stored, by (scope, key).
pub(crate) type KeyMap = HashMap<(String, String), StoredResponse>;

pub(crate) const SELECT_IDEMPOTENCY: &str = "SELECT request_fingerprint, response_status, response_body \
     FROM idempotency_records WHERE scope = $1 AND idempotency_key = $2";

const INSERT_IDEMPOTENCY: &str = "INSERT INTO idempotency_records \
    (scope, idempotency_key, request_fingerprint, response_status, response_body, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

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

/// The (scope, key) of every entry.
pub(crate) fn keys<'a>(
    entries: impl Iterator<Item = &'a IdempotencyEntry>,
) -> Vec<(String, String)> {
    entries.map(IdempotencyEntry::scoped_key).collect()
}

/// The responses already stored under these keys, on SQLite (one lookup per key).
pub(crate) async fn used_keys_sqlite(
    connection: &mut SqliteConnection,
    wanted: Vec<(String, String)>,
) -> Result<KeyMap, StoreError> {
    let mut used_keys = KeyMap::new();
    for (scope, key) in wanted {
        let row: Option<IdempotencyRow> = sqlx::query_as(SELECT_IDEMPOTENCY)
            .bind(&scope)
            .bind(&key)
            .fetch_optional(&mut *connection)
            .await?;
        if let Some(row) = row {
            used_keys.insert((scope, key), StoredResponse::try_from(row)?);
        }
    }
    Ok(used_keys)
}

/// The responses already stored under these keys, on PostgreSQL (one statement for all).
pub(crate) async fn used_keys_postgres(
    connection: &mut PgConnection,
    wanted: Vec<(String, String)>,
) -> Result<KeyMap, StoreError> {
    let mut used_keys = KeyMap::new();
    if wanted.is_empty() {
        return Ok(used_keys);
    }
    let (scopes, keys): (Vec<String>, Vec<String>) = wanted.into_iter().unzip();
    let rows: Vec<(String, String, Vec<u8>, i32, String)> = sqlx::query_as(
        "SELECT r.scope, r.idempotency_key, r.request_fingerprint, r.response_status, r.response_body \
         FROM idempotency_records r JOIN UNNEST($1::text[], $2::text[]) AS wanted (scope, idempotency_key) \
         ON r.scope = wanted.scope AND r.idempotency_key = wanted.idempotency_key",
    )
    .bind(&scopes)
    .bind(&keys)
    .fetch_all(&mut *connection)
    .await?;
    for (scope, key, request_fingerprint, response_status, response_body) in rows {
        let stored = StoredResponse::try_from(IdempotencyRow {
            request_fingerprint,
            response_status,
            response_body,
        })?;
        used_keys.insert((scope, key), stored);
    }
    Ok(used_keys)
}

/// Runs `$sql` (an insert of one idempotency record) with `$entry`'s values, on either engine.
macro_rules! insert_entry {
    ($executor:expr, $sql:expr, $entry:expr) => {
        sqlx::query($sql)
            .bind(&$entry.scope)
            .bind(&$entry.key)
            .bind($entry.fingerprint.as_slice())
            .bind(i32::from($entry.response_status))
            .bind(&$entry.response_body)
            .bind($entry.created_at.to_datetime())
            .execute($executor)
            .await?
    };
}
pub(crate) use insert_entry;

/// Stores one entry unless its (scope, key) is already stored (then nothing: rows affected 0).
pub(crate) const INSERT_IDEMPOTENCY_UNLESS_USED: &str = "INSERT INTO idempotency_records \
    (scope, idempotency_key, request_fingerprint, response_status, response_body, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, idempotency_key) DO NOTHING";

/// Stores the entries on SQLite, one statement each.
pub(crate) async fn insert_sqlite(
    connection: &mut SqliteConnection,
    entries: &[&IdempotencyEntry],
) -> Result<(), StoreError> {
    for entry in entries {
        insert_entry!(&mut *connection, INSERT_IDEMPOTENCY, entry);
    }
    Ok(())
}

/// Column arrays of entries to store (PostgreSQL binds them with UNNEST, in the writer's one
/// statement).
#[derive(Default)]
pub(crate) struct KeyColumns<'a> {
    pub(crate) scope: Vec<&'a str>,
    pub(crate) key: Vec<&'a str>,
    pub(crate) fingerprint: Vec<Vec<u8>>,
    pub(crate) status: Vec<i32>,
    pub(crate) body: Vec<&'a str>,
    pub(crate) created_at: Vec<chrono::DateTime<chrono::Utc>>,
}

impl<'a> KeyColumns<'a> {
    pub(crate) fn of(entries: &[&'a IdempotencyEntry]) -> KeyColumns<'a> {
        let mut columns = KeyColumns::default();
        for entry in entries {
            columns.scope.push(entry.scope.as_str());
            columns.key.push(entry.key.as_str());
            columns.fingerprint.push(entry.fingerprint.to_vec());
            columns.status.push(i32::from(entry.response_status));
            columns.body.push(entry.response_body.as_str());
            columns.created_at.push(entry.created_at.to_datetime());
        }
        columns
    }
}
