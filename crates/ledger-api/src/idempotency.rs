//! Idempotent writes: every POST that creates or moves something carries an `Idempotency-Key`.
//! The same key with the same request returns the first response again and writes nothing; the same
//! key with another request is a 409. Keys are scoped to the caller's organisation, never expire,
//! and are stored in the same database transaction as the effect (see the store's writer).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_store::{IdempotencyEntry, StoredResponse, WriteOutcome, WriteRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Principal;
use crate::json::{parse_json, read_json_body};
use crate::problem::ApiError;

/// The longest key accepted (the API contract: 1–255 printable ASCII characters).
pub const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 255;

/// A JSON body with its idempotency key and request fingerprint.
#[derive(Debug)]
pub struct Idempotent<T> {
    pub key: String,
    /// SHA-256 of the method, the path and the body bytes.
    pub fingerprint: [u8; 32],
    pub body: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Idempotent<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = match request.headers().get("idempotency-key") {
            None => {
                return Err(ApiError::bad_request(
                    "idempotency_key_required",
                    "this request creates or moves something: send an Idempotency-Key header",
                ));
            }
            Some(value) => value
                .to_str()
                .ok()
                .filter(|key| {
                    !key.is_empty()
                        && key.len() <= MAX_IDEMPOTENCY_KEY_LENGTH
                        && key.bytes().all(|byte| (0x20..=0x7e).contains(&byte))
                })
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_idempotency_key",
                        "an Idempotency-Key is 1 to 255 printable ASCII characters",
                    )
                })?
                .to_owned(),
        };
        let mut hasher = Sha256::new();
        hasher.update(request.method().as_str().as_bytes());
        hasher.update(b"\n");
        hasher.update(request.uri().path().as_bytes());
        hasher.update(b"\n");
        let bytes = read_json_body(request, state).await?;
        hasher.update(&bytes);
        let fingerprint = hasher.finalize().into();
        let body = parse_json(&bytes)?;
        Ok(Idempotent {
            key,
            fingerprint,
            body,
        })
    }
}

fn scope(principal: &Principal) -> String {
    principal.organisation.to_string()
}

fn stored_response(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.response_status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(stored.response_body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

impl<T> Idempotent<T> {
    /// The first response, if this key was already used with this request; a 409 if it was used
    /// with another. Checked before any work, so a replay costs one read.
    pub async fn replay(
        &self,
        state: &AppState,
        principal: &Principal,
    ) -> Result<Option<Response>, ApiError> {
        match state
            .store
            .idempotency_record(&scope(principal), &self.key)
            .await?
        {
            None => Ok(None),
            Some(stored) if stored.fingerprint == self.fingerprint => {
                Ok(Some(stored_response(stored)))
            }
            Some(_) => Err(conflict()),
        }
    }

    /// Writes `request` with this key and `body` as the response to remember, and answers with it.
    /// `on_guard` names the error for a balance guard that fails under the lock.
    pub async fn commit<B: Serialize>(
        &self,
        state: &AppState,
        principal: &Principal,
        status: StatusCode,
        body: &B,
        mut request: WriteRequest,
        on_guard: impl FnOnce(ledger_core::AccountId, i64) -> ApiError,
    ) -> Result<Response, ApiError> {
        let response_body = serde_json::to_string(body).map_err(ApiError::internal)?;
        request.idempotency = Some(IdempotencyEntry {
            scope: scope(principal),
            key: self.key.clone(),
            fingerprint: self.fingerprint,
            response_status: status.as_u16(),
            response_body: response_body.clone(),
            created_at: ledger_core::Timestamp::from_datetime(chrono::Utc::now()),
        });
        match state.store.write(request).await? {
            WriteOutcome::Committed(_) => Ok((
                status,
                [(header::CONTENT_TYPE, "application/json")],
                response_body,
            )
                .into_response()),
            WriteOutcome::Replayed(stored) if stored.fingerprint == self.fingerprint => {
                Ok(stored_response(stored))
            }
            WriteOutcome::GuardFailed {
                account_id,
                balance_minor,
            } => Err(on_guard(account_id, balance_minor)),
            _ => Err(conflict()),
        }
    }
}

fn conflict() -> ApiError {
    ApiError::conflict(
        "idempotency_conflict",
        "this Idempotency-Key was already used with a different request",
    )
}
