//! Signed checkpoints of the chain head: the service signs its head with its Ed25519 key (on a
//! schedule and after each transfer run execution) and publishes the checkpoints, its public key
//! and the chain links between two heads, without sign-in, so partners can witness the ledger
//! (`solidarity-ledger witness`). Format and trust model: `docs/hash-chain.md`, "Checkpoints".

use std::sync::Arc;
use std::time::Duration;

use crate::query::Query;
use axum::extract::State;
use chrono::Utc;
use ledger_core::Timestamp;
use ledger_core::checkpoint::{
    ChainLink, Checkpoint, SigningKey, VerifyingKey, key_id, public_key_hex,
};
use ledger_store::checkpoints::{MAX_CHAIN_LINK_PAGE, MAX_CHECKPOINT_PAGE, StoredCheckpoint};
use ledger_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::json::AppJson;
use crate::problem::{ApiError, FieldError};

/// How often the service signs its head by default (only when it moved since the last checkpoint).
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(600);

/// Checkpoints per page when the client does not say.
const DEFAULT_CHECKPOINT_PAGE: u32 = 100;

/// How the service signs checkpoints.
#[derive(Clone)]
pub struct CheckpointSettings {
    /// The Ed25519 key checkpoints are signed with.
    pub signing_key: SigningKey,
    /// How often the head is signed when it moved.
    pub interval: Duration,
}

impl std::fmt::Debug for CheckpointSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret key: only which key it is.
        formatter
            .debug_struct("CheckpointSettings")
            .field("key_id", &key_id(&self.signing_key.verifying_key()))
            .field("interval", &self.interval)
            .finish()
    }
}

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

    /// Signs and stores the current head unless a checkpoint of that sequence is stored already
    /// (the head did not move). Returns the new checkpoint, if one was stored.
    pub async fn sign_head(&self, store: &Store) -> Result<Option<Checkpoint>, StoreError> {
        let (sequence, hash) = store.chain_head().await?;
        if let Some(latest) = store.latest_checkpoint().await?
            && latest.checkpoint.sequence == sequence
        {
            return Ok(None);
        }
        let now = Timestamp::from_datetime(Utc::now());
        let checkpoint = Checkpoint::sign(&self.signing_key, sequence, hash, now);
        let stored = store
            .record_checkpoint(&checkpoint, &self.public_key())
            .await?;
        Ok(stored.then_some(checkpoint))
    }

    /// Signs the head every `interval` (the first time at once), for as long as the task runs.
    pub fn spawn_schedule(self, store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.sign_logged(&store).await;
            }
        })
    }

    /// [`CheckpointSigner::sign_head`], with a failure logged rather than returned: a checkpoint
    /// is an extra after a write that has already succeeded, and the schedule tries again.
    pub async fn sign_logged(&self, store: &Store) {
        match self.sign_head(store).await {
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

/// Signs the head after a write that checkpoints should follow at once (a transfer run's
/// execution), when the service signs checkpoints.
pub(crate) async fn sign_after_write(state: &AppState) {
    if let Some(signer) = &state.checkpoints {
        signer.sign_logged(&state.store).await;
    }
}

/// The latest checkpoint, read *before* a view is computed: the view counts every transaction up
/// to its sequence (and possibly later ones, committed meanwhile), so a partner can tie what it
/// was shown to a head it keeps.
pub(crate) async fn checkpoint_before_read(
    state: &AppState,
) -> Result<Option<CheckpointView>, ApiError> {
    Ok(state
        .store
        .latest_checkpoint()
        .await?
        .map(|stored| CheckpointView::from(&stored.checkpoint)))
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest_checkpoint))
        .routes(routes!(list_checkpoints))
        .routes(routes!(public_key))
        .routes(routes!(consistency))
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

/// The latest checkpoint: the highest sequence signed (public, no sign-in).
#[utoipa::path(
    get, path = "/v1/checkpoints/latest", tag = "checkpoints",
    responses(
        (status = 200, body = CheckpointView),
        (status = 404, description = "no checkpoint signed yet", body = crate::problem::Problem, content_type = "application/problem+json"))
)]
async fn latest_checkpoint(
    State(state): State<AppState>,
) -> Result<AppJson<CheckpointView>, ApiError> {
    let latest = state
        .store
        .latest_checkpoint()
        .await?
        .ok_or_else(|| ApiError::not_found("no checkpoint has been signed yet"))?;
    Ok(AppJson(CheckpointView::from(&latest.checkpoint)))
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

/// The history of checkpoints, oldest first, paged by sequence (public, no sign-in).
#[utoipa::path(
    get, path = "/v1/checkpoints", tag = "checkpoints", params(CheckpointsQuery),
    responses(
        (status = 200, body = CheckpointPage),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
async fn list_checkpoints(
    State(state): State<AppState>,
    Query(query): Query<CheckpointsQuery>,
) -> Result<AppJson<CheckpointPage>, ApiError> {
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
        return Err(ApiError::validation(errors));
    }
    // One more than asked, to know whether a next page exists.
    let mut stored = state.store.checkpoints_after(after, limit + 1).await?;
    let more = stored.len() > limit as usize;
    stored.truncate(limit as usize);
    let next_after_sequence = more
        .then(|| stored.last().map(|last| last.checkpoint.sequence))
        .flatten();
    Ok(AppJson(CheckpointPage {
        checkpoints: stored
            .iter()
            .map(|StoredCheckpoint { checkpoint, .. }| CheckpointView::from(checkpoint))
            .collect(),
        next_after_sequence,
    }))
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

/// The public key the service signs checkpoints with, and its fingerprint (public, no sign-in).
#[utoipa::path(
    get, path = "/v1/checkpoints/public-key", tag = "checkpoints",
    responses(
        (status = 200, body = PublicKeyView),
        (status = 404, description = "this service does not sign checkpoints", body = crate::problem::Problem, content_type = "application/problem+json"))
)]
async fn public_key(State(state): State<AppState>) -> Result<AppJson<PublicKeyView>, ApiError> {
    let signer = state
        .checkpoints
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this service does not sign checkpoints"))?;
    let public_key = signer.public_key();
    Ok(AppJson(PublicKeyView {
        algorithm: "Ed25519",
        public_key: public_key_hex(&public_key),
        key_id: key_id(&public_key),
    }))
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
/// can check that a new head extends the one it kept (public, no sign-in: hashes reveal no
/// content). What this proves and what it does not: `docs/hash-chain.md`, "Checkpoints".
#[utoipa::path(
    get, path = "/v1/checkpoints/consistency", tag = "checkpoints", params(ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyView),
        (status = 422, body = crate::problem::Problem, content_type = "application/problem+json"))
)]
async fn consistency(
    State(state): State<AppState>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<AppJson<ConsistencyView>, ApiError> {
    let mut errors = Vec::new();
    let from = parse_number(query.from_sequence.as_deref(), "from_sequence", &mut errors);
    let to = parse_number(query.to_sequence.as_deref(), "to_sequence", &mut errors);
    if query.from_sequence.is_none() {
        errors.push(FieldError::new("from_sequence", "is required"));
    }
    if query.to_sequence.is_none() {
        errors.push(FieldError::new("to_sequence", "is required"));
    }
    let (head, _) = state.store.chain_head().await?;
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
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let links = state
        .store
        .chain_links(from, to, MAX_CHAIN_LINK_PAGE)
        .await?;
    Ok(AppJson(ConsistencyView {
        from_sequence: from,
        to_sequence: to,
        links,
    }))
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
