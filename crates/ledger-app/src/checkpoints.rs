//! Signed checkpoints of the chain head: the service signs its head with its Ed25519 key (on a
//! schedule and after each transfer run execution) and publishes the checkpoints, its public key
//! and the chain links between two heads, without sign-in, so partners can witness the ledger.
//! Format and trust model: `docs/hash-chain.md`, "Checkpoints".
//!
//! The reads here are public (no caller, no row in the policy table): hashes and signatures reveal
//! no content.

use std::sync::Arc;
use std::time::Duration;

use ledger_core::checkpoint::{
    ChainLink, Checkpoint, SigningKey, VerifyingKey, key_id, public_key_hex,
};
use ledger_store::StoreError;
use ledger_store::checkpoints::{MAX_CHAIN_LINK_PAGE, MAX_CHECKPOINT_PAGE, StoredCheckpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::App;
use crate::error::{AppError, FieldError};

/// Checkpoints per page when the client does not say.
const DEFAULT_CHECKPOINT_PAGE: u32 = 100;

/// Signs the chain head with the service's key and stores the checkpoint.
#[derive(Clone)]
pub struct CheckpointSigner {
    signing_key: Arc<SigningKey>,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CheckpointSigner")
            .field("key_id", &key_id(&self.public_key()))
            .finish()
    }
}

impl CheckpointSigner {
    pub fn new(signing_key: SigningKey) -> CheckpointSigner {
        CheckpointSigner {
            signing_key: Arc::new(signing_key),
        }
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// Signs and stores the current head, at the application's time, unless a checkpoint of that
    /// sequence is stored already (the head did not move). Returns the new checkpoint, if one was
    /// stored.
    pub async fn sign_head(&self, app: &App) -> Result<Option<Checkpoint>, StoreError> {
        let store = &app.store;
        let (sequence, hash) = store.chain_head().await?;
        if let Some(latest) = store.latest_checkpoint().await?
            && latest.checkpoint.sequence == sequence
        {
            return Ok(None);
        }
        let checkpoint =
            Checkpoint::sign(&self.signing_key, sequence, hash, app.sources.timestamp());
        let stored = store
            .record_checkpoint(&checkpoint, &self.public_key())
            .await?;
        Ok(stored.then_some(checkpoint))
    }

    /// Signs the head every `interval` (the first time at once), for as long as the task runs.
    pub fn spawn_schedule(self, app: App, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.sign_logged(&app).await;
            }
        })
    }

    /// [`CheckpointSigner::sign_head`], with a failure logged rather than returned: a checkpoint
    /// is an extra after a write that has already succeeded, and the schedule tries again.
    pub async fn sign_logged(&self, app: &App) {
        match self.sign_head(app).await {
            Ok(Some(checkpoint)) => tracing::info!(
                sequence = checkpoint.sequence,
                key_id = %checkpoint.key_id,
                "signed a checkpoint"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(error = %error, "could not sign a checkpoint"),
        }
    }
}

/// A signed checkpoint, in the JSON form of `docs/hash-chain.md`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    /// The last transaction covered (0: the empty journal).
    pub sequence: u64,
    /// The chain hash after it: 64 lower-case hex digits.
    pub hash: String,
    /// RFC 3339, UTC, whole seconds, `Z`.
    pub signed_at: String,
    /// First 16 hex digits of SHA-256 of the signing public key.
    pub key_id: String,
    /// Ed25519 signature: 128 lower-case hex digits.
    pub signature: String,
}

impl From<&Checkpoint> for CheckpointView {
    fn from(checkpoint: &Checkpoint) -> Self {
        CheckpointView {
            sequence: checkpoint.sequence,
            hash: hex::encode(checkpoint.hash),
            signed_at: checkpoint.signed_at.clone(),
            key_id: checkpoint.key_id.clone(),
            signature: hex::encode(checkpoint.signature),
        }
    }
}

/// The latest checkpoint, read *before* a view is computed: the view counts every transaction up
/// to its sequence (and possibly later ones, committed meanwhile), so a partner can tie what it
/// was shown to a head it keeps.
pub async fn checkpoint_before_read(app: &App) -> Result<Option<CheckpointView>, AppError> {
    Ok(app
        .store
        .latest_checkpoint()
        .await?
        .map(|stored| CheckpointView::from(&stored.checkpoint)))
}

/// The latest checkpoint: the highest sequence signed; 404 before the first.
pub async fn latest(app: &App) -> Result<CheckpointView, AppError> {
    checkpoint_before_read(app)
        .await?
        .ok_or_else(|| AppError::not_found("no checkpoint has been signed yet"))
}

/// Which checkpoints to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointsQuery {
    /// Only checkpoints with a higher sequence (default: from the first, sequence 0 included).
    pub after_sequence: Option<String>,
    /// Checkpoints per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
}

/// A page of checkpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointPage {
    /// In sequence order.
    pub checkpoints: Vec<CheckpointView>,
    /// Pass as `after_sequence` for the next page; `null` on the last page.
    pub next_after_sequence: Option<u64>,
}

/// The history of checkpoints, oldest first, paged by sequence.
pub async fn list(app: &App, query: &CheckpointsQuery) -> Result<CheckpointPage, AppError> {
    let mut errors = Vec::new();
    let after = parse_number(
        query.after_sequence.as_deref(),
        "after_sequence",
        &mut errors,
    );
    let limit = match parse_number(query.limit.as_deref(), "limit", &mut errors) {
        None => DEFAULT_CHECKPOINT_PAGE,
        Some(limit) => match u32::try_from(limit) {
            Ok(limit) if (1..=MAX_CHECKPOINT_PAGE).contains(&limit) => limit,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be between 1 and {MAX_CHECKPOINT_PAGE}"),
                ));
                DEFAULT_CHECKPOINT_PAGE
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    // One more than asked, to know whether a next page exists.
    let mut stored = app.store.checkpoints_after(after, limit + 1).await?;
    let more = stored.len() > limit as usize;
    stored.truncate(limit as usize);
    let next_after_sequence = more
        .then(|| stored.last().map(|last| last.checkpoint.sequence))
        .flatten();
    Ok(CheckpointPage {
        checkpoints: stored
            .iter()
            .map(|StoredCheckpoint { checkpoint, .. }| CheckpointView::from(checkpoint))
            .collect(),
        next_after_sequence,
    })
}

/// The key checkpoints are signed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyView {
    /// `Ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key: 64 lower-case hex digits.
    pub public_key: String,
    /// Its fingerprint and the `key_id` of its checkpoints: the first 16 hex digits of SHA-256
    /// of the 32 bytes.
    pub key_id: String,
}

/// The public key `signer` signs checkpoints with; 404 when the service signs none.
pub fn public_key(signer: Option<&CheckpointSigner>) -> Result<PublicKeyView, AppError> {
    let signer =
        signer.ok_or_else(|| AppError::not_found("this service does not sign checkpoints"))?;
    let public_key = signer.public_key();
    Ok(PublicKeyView {
        algorithm: "Ed25519",
        public_key: public_key_hex(&public_key),
        key_id: key_id(&public_key),
    })
}

/// Which segment of the chain to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The kept head's sequence: links start after it (0: from the first transaction).
    pub from_sequence: Option<String>,
    /// The new head's sequence: links end with it; at most 10,000 after `from_sequence`.
    pub to_sequence: Option<String>,
}

/// The chain between two heads.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyView {
    pub from_sequence: u64,
    pub to_sequence: u64,
    /// Sequences `from_sequence + 1` to `to_sequence`, in order.
    #[schema(value_type = Vec<ChainLinkView>)]
    pub links: Vec<ChainLink>,
}

/// One link of the chain: a transaction's stored hashes, without its content.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainLinkView {
    pub sequence: u64,
    /// The hash it chains onto: 64 lower-case hex digits.
    pub previous_hash: String,
    /// Its own hash.
    pub hash: String,
}

/// The stored (sequence, previous hash, hash) of each transaction between two heads, so a witness
/// can check that a new head extends the one it kept.
pub async fn consistency(app: &App, query: &ConsistencyQuery) -> Result<ConsistencyView, AppError> {
    let mut errors = Vec::new();
    let from = parse_number(query.from_sequence.as_deref(), "from_sequence", &mut errors);
    let to = parse_number(query.to_sequence.as_deref(), "to_sequence", &mut errors);
    if query.from_sequence.is_none() {
        errors.push(FieldError::new("from_sequence", "is required"));
    }
    if query.to_sequence.is_none() {
        errors.push(FieldError::new("to_sequence", "is required"));
    }
    let (head, _) = app.store.chain_head().await?;
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            errors.push(FieldError::new(
                "to_sequence",
                "must not be before from_sequence",
            ));
        } else if to - from > u64::from(MAX_CHAIN_LINK_PAGE) {
            errors.push(FieldError::new(
                "to_sequence",
                format!(
                    "at most {MAX_CHAIN_LINK_PAGE} links per request: ask for the segment in pieces"
                ),
            ));
        } else if to > head {
            errors.push(FieldError::new(
                "to_sequence",
                format!("is past the chain head ({head})"),
            ));
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let links = app.store.chain_links(from, to, MAX_CHAIN_LINK_PAGE).await?;
    Ok(ConsistencyView {
        from_sequence: from,
        to_sequence: to,
        links,
    })
}

/// A sequence number or count: decimal digits only, within the range the database stores.
fn parse_number(text: Option<&str>, field: &str, errors: &mut Vec<FieldError>) -> Option<u64> {
    let text = text?;
    let parsed = text
        .bytes()
        .all(|byte| byte.is_ascii_digit())
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .filter(|number| i64::try_from(*number).is_ok());
    if parsed.is_none() {
        errors.push(FieldError::new(field, "must be a whole number, 0 or more"));
    }
    parsed
}
