//! API keys: stored as the hash of the whole key, found by their visible prefix, revoked once.

use chrono::{DateTime, Utc};
use ledger_core::OrganisationId;
use uuid::Uuid;

use super::events::SecurityEventRow;
use crate::backend::{BeginWrite, on_pool};
use crate::error::StoreError;
use crate::idempotency::{
    INSERT_IDEMPOTENCY_UNLESS_USED, IdempotencyRow, SELECT_IDEMPOTENCY, insert_entry,
};
use crate::seek::{Seek, seek_sql};
use crate::store::Store;
use crate::{IdempotencyEntry, StoredResponse};

macro_rules! key_columns {
    () => {
        "id, organisation_id, created_by, name, role, prefix, secret_hash, created_at, expires_at, last_used_at, revoked_at"
    };
}

/// An API key as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub created_by: Uuid,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub secret_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Inserts an API key row, in the transaction given.
macro_rules! insert_key {
    ($executor:expr, $key:expr) => {
        sqlx::query(
            "INSERT INTO api_keys (id, organisation_id, created_by, name, role, prefix, secret_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind($key.id)
        .bind($key.organisation_id)
        .bind($key.created_by)
        .bind(&$key.name)
        .bind(&$key.role)
        .bind(&$key.prefix)
        .bind($key.secret_hash.as_slice())
        .bind($key.created_at)
        .bind($key.expires_at)
        .execute($executor)
        .await?
    };
}

/// What storing a key under a request's idempotency entry did.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyCreation {
    /// The key, its event and the entry were stored.
    Created,
    /// The request's key was already used: nothing was stored; its first answer.
    Replayed(StoredResponse),
}

impl Store {
    /// Stores a new API key, records `event` and keeps `request` (the idempotency entry of the
    /// request that asked for it), in one transaction; when `request`'s key is already used (a
    /// double submission, even a concurrent one: the entry's primary key decides), nothing is
    /// stored and the first answer is returned.
    pub async fn create_api_key_once(
        &self,
        key: &ApiKeyRow,
        event: &SecurityEventRow,
        request: &IdempotencyEntry,
    ) -> Result<KeyCreation, StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            let inserted =
                insert_entry!(&mut *transaction, INSERT_IDEMPOTENCY_UNLESS_USED, request)
                    .rows_affected();
            if inserted == 0 {
                let first: IdempotencyRow = sqlx::query_as(SELECT_IDEMPOTENCY)
                    .bind(&request.scope)
                    .bind(&request.key)
                    .fetch_one(&mut *transaction)
                    .await?;
                transaction.rollback().await?;
                return Ok(KeyCreation::Replayed(StoredResponse::try_from(first)?));
            }
            insert_key!(&mut *transaction, key);
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
        });
        Ok(KeyCreation::Created)
    }

    /// Stores a new API key and records `event`, in one transaction.
    pub async fn create_api_key(
        &self,
        key: &ApiKeyRow,
        event: &SecurityEventRow,
    ) -> Result<(), StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            insert_key!(&mut *transaction, key);
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
        });
        Ok(())
    }

    /// The API key with this visible prefix.
    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE prefix = $1"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ApiKeyRow>(sql).bind(prefix).fetch_optional(pool).await?
        }))
    }

    /// An API key by id.
    pub async fn api_key(&self, id: Uuid) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = concat!("SELECT ", key_columns!(), " FROM api_keys WHERE id = $1");
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ApiKeyRow>(sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// A page of the API keys, optionally of one organisation, in id (creation) order from `seek`.
    pub async fn api_keys(
        &self,
        organisation: Option<OrganisationId>,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<ApiKeyRow>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!(
            "id",
            "$2",
            "$3",
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE ($1 IS NULL OR organisation_id = $1)"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, ApiKeyRow>(seek.pick(&QUERIES))
                .bind(organisation.map(|id| id.as_uuid()))
                .bind(seek.id())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Notes that a key was used at `now` (callers do so at most once a minute per key).
    pub async fn touch_api_key(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self.backend(), pool => {
            sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Revokes a key (if live) and records `event`, in one transaction. False when it was not live.
    pub async fn revoke_api_key(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<bool, StoreError> {
        self.change_once(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            id,
            now,
            event,
        )
        .await
    }
}
