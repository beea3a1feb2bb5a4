//! Idempotent writes: every POST that creates or moves something carries an `Idempotency-Key`.
//! The same key with the same request returns the first response again and writes nothing; the same
//! key with another request is a 409. Keys are scoped to the caller's organisation, never expire,
//! and are stored in the same database transaction as the effect (see the store's writer).
//!
//! "The same request" means the same meaning, not the same bytes: the method, the path and the
//! body's JSON value in canonical form ([`write_canonical_json`]: no insignificant whitespace,
//! object keys sorted, strings and numbers re-serialised), so a replay whose JSON differs only in
//! whitespace, key order or string escapes is a replay. Fingerprints stored before this rule were
//! of the body's bytes; they stay valid: a request matches a stored fingerprint by its canonical
//! form or by its exact bytes.

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
    /// SHA-256 of the method, the path and the body's canonical JSON: what is stored with the key.
    pub fingerprint: [u8; 32],
    /// SHA-256 of the method, the path and the body's bytes: how fingerprints were computed before
    /// the canonical form, so a key stored then still replays a byte-identical request.
    pub bytes_fingerprint: [u8; 32],
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
        let body = parse_json(&bytes)?;
        let mut bytes_hasher = hasher.clone();
        bytes_hasher.update(&bytes);
        let value: serde_json::Value = parse_json(&bytes)?;
        write_canonical_json(&value, &mut HashWriter(&mut hasher)).map_err(ApiError::internal)?;
        Ok(Idempotent {
            key,
            fingerprint: hasher.finalize().into(),
            bytes_fingerprint: bytes_hasher.finalize().into(),
            body,
        })
    }
}

/// Feeds what is written into a hasher.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes a JSON value in canonical form: no whitespace, object keys in order of their UTF-8 bytes
/// (at every depth), strings and numbers as serde_json writes them (so `"\u00e9"` and `"é"` are
/// one string). Two documents with the same meaning have the same canonical form. Recursion is
/// bounded by the parser's nesting limit (128).
pub fn write_canonical_json(
    value: &serde_json::Value,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                write_canonical_json(item, out)?;
            }
            out.write_all(b"]")
        }
        Value::Object(fields) => {
            let mut sorted: Vec<(&String, &Value)> = fields.iter().collect();
            sorted.sort_unstable_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
            out.write_all(b"{")?;
            for (index, (key, item)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical_json(item, out)?;
            }
            out.write_all(b"}")
        }
        scalar => serde_json::to_writer(&mut *out, scalar).map_err(std::io::Error::from),
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
    /// True when a stored response answers this request: same canonical form, or (for keys stored
    /// before the canonical form) the same bytes.
    fn matches(&self, stored: &StoredResponse) -> bool {
        stored.fingerprint == self.fingerprint || stored.fingerprint == self.bytes_fingerprint
    }

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
            Some(stored) if self.matches(&stored) => Ok(Some(stored_response(stored))),
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
            // A key stored under the bytes rule was seen by `replay`, which every handler calls
            // first; a key racing this request was stored under the canonical rule.
            WriteOutcome::Replayed(stored) if self.matches(&stored) => Ok(stored_response(stored)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        write_canonical_json(&value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_canonical_form_keeps_meaning_and_drops_layout() {
        // Proves whitespace, key order (at every depth) and string escapes do not change the
        // canonical form, while any change of value, type or array order does.
        let compact = r#"{"a":[1,{"c":"é","b":null}],"b":"1.00","z":true}"#;
        assert_eq!(
            canonical(compact),
            compact.replace(r#"{"c":"é","b":null}"#, r#"{"b":null,"c":"é"}"#)
        );
        assert_eq!(
            canonical(
                "{ \"z\" : true,\n \"b\": \"1.00\", \"a\": [ 1, { \"b\": null, \"c\": \"\\u00e9\" } ] }"
            ),
            canonical(compact)
        );
        for different in [
            r#"{"a":[{"c":"é","b":null},1],"b":"1.00","z":true}"#,
            r#"{"a":[1,{"c":"é","b":null}],"b":"1.0","z":true}"#,
            r#"{"a":[1,{"c":"é","b":null}],"b":1.00,"z":true}"#,
            r#"{"a":[1,{"c":"e","b":null}],"b":"1.00","z":true}"#,
            r#"{"a":[1,{"c":"é"}],"b":"1.00","z":true}"#,
        ] {
            assert_ne!(canonical(different), canonical(compact), "{different}");
        }
    }
}
