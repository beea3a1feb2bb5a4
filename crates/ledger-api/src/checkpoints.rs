//! Signed checkpoints of the chain head over HTTP: the checkpoints, the service's public key and
//! the chain links between two heads, published without sign-in so partners can witness the
//! ledger (`solidarity-ledger witness`). The signer and the reads are
//! [`ledger_app::checkpoints`]; format and trust model: `docs/hash-chain.md`, "Checkpoints".

use std::time::Duration;

use axum::extract::State;
use ledger_core::checkpoint::{SigningKey, key_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::json::AppJson;
use crate::problem::ApiError;
use crate::query::Query;
pub use ledger_app::checkpoints::{
    ChainLinkView, CheckpointPage, CheckpointSigner, CheckpointView, CheckpointsQuery,
    ConsistencyQuery, ConsistencyView, PublicKeyView,
};

/// How often the service signs its head by default (only when it moved since the last checkpoint).
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(600);

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

/// Signs the head after a write that checkpoints should follow at once (a transfer run's
/// execution), when the service signs checkpoints.
pub(crate) async fn sign_after_write(state: &AppState) {
    if let Some(signer) = &state.app.checkpoints {
        signer.sign_logged(&state.app).await;
    }
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(latest_checkpoint))
        .routes(routes!(list_checkpoints))
        .routes(routes!(public_key))
        .routes(routes!(consistency))
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
    Ok(AppJson(ledger_app::checkpoints::latest(&state.app).await?))
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
    Ok(AppJson(
        ledger_app::checkpoints::list(&state.app, &query).await?,
    ))
}

/// The public key the service signs checkpoints with, and its fingerprint (public, no sign-in).
#[utoipa::path(
    get, path = "/v1/checkpoints/public-key", tag = "checkpoints",
    responses(
        (status = 200, body = PublicKeyView),
        (status = 404, description = "this service does not sign checkpoints", body = crate::problem::Problem, content_type = "application/problem+json"))
)]
async fn public_key(State(state): State<AppState>) -> Result<AppJson<PublicKeyView>, ApiError> {
    Ok(AppJson(ledger_app::checkpoints::public_key(
        state.app.checkpoints.as_ref(),
    )?))
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
    Ok(AppJson(
        ledger_app::checkpoints::consistency(&state.app, &query).await?,
    ))
}
