//! Signed checkpoints of the chain head, kept append-only (one per sequence), and the chain links
//! (sequence, previous hash, hash) a witness checks between two checkpoints.

use ledger_core::checkpoint::{ChainLink, Checkpoint, VerifyingKey};

use crate::backend::on_pool;
use crate::error::StoreError;
use crate::rows::{hash_from_db, sequence_from_db, sequence_to_db};
use crate::store::Store;

/// The most checkpoints one read returns; callers page with `after_sequence`.
pub const MAX_CHECKPOINT_PAGE: u32 = 1_000;

/// The most chain links one read returns: about 150 bytes of JSON each, so a page stays near
/// 1.5 MB; a witness asks for longer segments in pieces.
pub const MAX_CHAIN_LINK_PAGE: u32 = 10_000;

/// A stored checkpoint that the journal no longer agrees with: its transactions were changed,
/// removed or recomputed after the head was signed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointMismatch {
    pub sequence: u64,
    /// The hash the checkpoint signed.
    pub signed_hash: ledger_core::ChainHash,
    /// The journal's stored hash at that sequence; `None` when the journal ends before it.
    pub journal_hash: Option<ledger_core::ChainHash>,
}

/// A stored checkpoint and the public key that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub checkpoint: Checkpoint,
    pub public_key: VerifyingKey,
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    sequence: i64,
    hash: Vec<u8>,
    signed_at: String,
    key_id: String,
    public_key: Vec<u8>,
    signature: Vec<u8>,
}

macro_rules! select_checkpoint {
    () => {
        "SELECT sequence, hash, signed_at, key_id, public_key, signature FROM checkpoints"
    };
}

impl TryFrom<CheckpointRow> for StoredCheckpoint {
    type Error = StoreError;

    fn try_from(row: CheckpointRow) -> Result<Self, Self::Error> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("checkpoint {}: {what}", row.sequence));
        let public_key = <[u8; 32]>::try_from(row.public_key.as_slice())
            .ok()
            .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
            .ok_or_else(|| corrupt("the public key is not an Ed25519 key"))?;
        let signature = <[u8; 64]>::try_from(row.signature.as_slice())
            .map_err(|_| corrupt("the signature does not have 64 bytes"))?;
        let checkpoint = Checkpoint {
            sequence: sequence_from_db(row.sequence)?,
            hash: *hash_from_db(&row.hash)?.as_bytes(),
            signed_at: row.signed_at.clone(),
            key_id: row.key_id.clone(),
            signature,
        };
        // Asserted after the read: a stored checkpoint that does not verify must not be served.
        checkpoint
            .verify(&public_key)
            .map_err(|error| corrupt(&error.to_string()))?;
        Ok(StoredCheckpoint {
            checkpoint,
            public_key,
        })
    }
}

impl Store {
    /// Stores a checkpoint signed by `public_key`, unless one for its sequence is already stored
    /// (the first one stays: checkpoints are never replaced). True when this one was stored.
    /// Refuses a checkpoint that does not verify with the key, or whose hash is not the
    /// journal's hash at its sequence.
    pub async fn record_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        public_key: &VerifyingKey,
    ) -> Result<bool, StoreError> {
        checkpoint
            .verify(public_key)
            .map_err(|error| StoreError::Corrupt(format!("a checkpoint to store: {error}")))?;
        let expected = self.chain_hash_at(checkpoint.sequence).await?;
        if expected != Some(checkpoint.chain_hash()) {
            return Err(StoreError::Corrupt(format!(
                "a checkpoint to store names hash {} at sequence {}, the journal has {}",
                checkpoint.chain_hash(),
                checkpoint.sequence,
                expected.map_or_else(|| "no such sequence".to_owned(), |hash| hash.to_string())
            )));
        }
        let sequence = sequence_to_db(checkpoint.sequence)?;
        let inserted = on_pool!(self.backend(), pool => {
            sqlx::query(
                "INSERT INTO checkpoints (sequence, hash, signed_at, key_id, public_key, signature) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sequence) DO NOTHING",
            )
            .bind(sequence)
            .bind(checkpoint.hash.as_slice())
            .bind(&checkpoint.signed_at)
            .bind(&checkpoint.key_id)
            .bind(public_key.as_bytes().as_slice())
            .bind(checkpoint.signature.as_slice())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Every stored checkpoint whose hash is not the journal's stored hash at its sequence (or
    /// whose sequence the journal no longer has), in sequence order: what `verify` reports.
    pub async fn checkpoint_mismatches(&self) -> Result<Vec<CheckpointMismatch>, StoreError> {
        let rows: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT c.sequence, c.hash, j.hash FROM checkpoints c \
                 LEFT JOIN journal_transactions j ON j.sequence = c.sequence ORDER BY c.sequence",
            )
            .fetch_all(pool)
            .await?
        });
        let mut mismatches = Vec::new();
        for (sequence, signed, stored) in rows {
            let sequence = sequence_from_db(sequence)?;
            let signed_hash = hash_from_db(&signed)?;
            let journal_hash = match stored {
                Some(stored) => Some(hash_from_db(&stored)?),
                None if sequence == 0 => Some(ledger_core::GENESIS_HASH),
                None => None,
            };
            if journal_hash != Some(signed_hash) {
                mismatches.push(CheckpointMismatch {
                    sequence,
                    signed_hash,
                    journal_hash,
                });
            }
        }
        Ok(mismatches)
    }

    /// The chain hash after `sequence` (the genesis hash for 0), or `None` past the head.
    pub async fn chain_hash_at(
        &self,
        sequence: u64,
    ) -> Result<Option<ledger_core::ChainHash>, StoreError> {
        if sequence == 0 {
            return Ok(Some(ledger_core::GENESIS_HASH));
        }
        let sequence = sequence_to_db(sequence)?;
        let hash: Option<Vec<u8>> = on_pool!(self.backend(), pool => {
            sqlx::query_scalar("SELECT hash FROM journal_transactions WHERE sequence = $1")
                .bind(sequence)
                .fetch_optional(pool)
                .await?
        });
        hash.as_deref().map(hash_from_db).transpose()
    }

    /// The checkpoint of the highest sequence, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.checkpoint_at_or_before(u64::MAX).await
    }

    /// The checkpoint of the highest sequence not after `sequence`, if any.
    pub async fn checkpoint_at_or_before(
        &self,
        sequence: u64,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
        let row: Option<CheckpointRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                select_checkpoint!(),
                " WHERE sequence <= $1 ORDER BY sequence DESC LIMIT 1"
            ))
            .bind(sequence)
            .fetch_optional(pool)
            .await?
        });
        row.map(StoredCheckpoint::try_from).transpose()
    }

    /// Up to `limit` (at most [`MAX_CHECKPOINT_PAGE`]) checkpoints with a sequence after
    /// `after_sequence`, in sequence order (`None`: from the first, sequence 0 included).
    pub async fn checkpoints_after(
        &self,
        after_sequence: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let after = match after_sequence {
            Some(sequence) => sequence_to_db(sequence)?,
            None => -1,
        };
        let limit = i64::from(limit.clamp(1, MAX_CHECKPOINT_PAGE));
        let rows: Vec<CheckpointRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(
                select_checkpoint!(),
                " WHERE sequence > $1 ORDER BY sequence LIMIT $2"
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoredCheckpoint::try_from).collect()
    }

    /// The chain links of the transactions with `after_sequence < sequence <= through_sequence`,
    /// in order, at most `limit` (at most [`MAX_CHAIN_LINK_PAGE`]): stored hashes only, no content.
    pub async fn chain_links(
        &self,
        after_sequence: u64,
        through_sequence: u64,
        limit: u32,
    ) -> Result<Vec<ChainLink>, StoreError> {
        let after = sequence_to_db(after_sequence)?;
        let through = i64::try_from(through_sequence).unwrap_or(i64::MAX);
        let limit = i64::from(limit.clamp(1, MAX_CHAIN_LINK_PAGE));
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = on_pool!(self.backend(), pool => {
            sqlx::query_as(
                "SELECT sequence, previous_hash, hash FROM journal_transactions \
                 WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3",
            )
            .bind(after)
            .bind(through)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(sequence, previous_hash, hash)| {
                Ok(ChainLink {
                    sequence: sequence_from_db(sequence)?,
                    previous_hash: hash_from_db(&previous_hash)?,
                    hash: hash_from_db(&hash)?,
                })
            })
            .collect()
    }
}
