//! The HTTP side of idempotent writes: every POST that creates or moves something carries an
//! `Idempotency-Key` header. What makes two requests the same, and how a replay is answered, is
//! [`ledger_app::idempotency`]; here the header and the body become an [`IdempotencyKey`], and a
//! command's [`Reply`] becomes a response (a replay says so in `Idempotent-Replayed: true`).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_app::{Command, IdempotencyKey, Reply};
use ledger_store::StoredResponse;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::Principal;
use crate::json::{parse_json, read_json_body};
use crate::problem::ApiError;

pub use ledger_app::idempotency::{MAX_IDEMPOTENCY_KEY_LENGTH, canonical_json};

/// A JSON body with its idempotency key and request fingerprint.
#[derive(Debug)]
pub struct Idempotent<T> {
    pub key: IdempotencyKey,
    pub body: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Idempotent<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(header) = request.headers().get("idempotency-key") else {
            return Err(ApiError::bad_request(
                "idempotency_key_required",
                "this request creates or moves something: send an Idempotency-Key header",
            ));
        };
        // A header that is not visible ASCII is refused by the key's own check.
        let key = header.to_str().unwrap_or("\u{7f}").to_owned();
        let target = format!("{}\n{}", request.method().as_str(), request.uri().path());
        let bytes = read_json_body(request, state).await?;
        let body = parse_json(&bytes)?;
        let key = IdempotencyKey::new(&key, &target, bytes)?;
        Ok(Idempotent { key, body })
    }
}

impl<T> Idempotent<T> {
    /// Runs the command made of this body (`command`, usually its constructor) with this key,
    /// and renders its reply.
    pub async fn run<C: Command>(
        self,
        state: &AppState,
        principal: &Principal,
        command: impl FnOnce(T) -> C,
    ) -> Result<Response, ApiError> {
        let Idempotent { key, body } = self;
        let reply = state.app.run(principal, &key, command(body)).await?;
        Ok(response_of(reply))
    }
}

impl<T> Idempotent<T> {
    /// Runs the command made of this body, or, when its operation needs a second admin
    /// (`ledger_app::approvals`), checks it and keeps it as a proposal: `202` with the proposal.
    /// `targets` are the ids of the request's path, in order.
    pub async fn run_or_propose<C: Command>(
        self,
        state: &AppState,
        principal: &Principal,
        targets: &[&str],
        command: impl FnOnce(T) -> C,
    ) -> Result<Response, ApiError> {
        if !state.app.needs_approval(C::OPERATION) {
            return self.run(state, principal, command).await;
        }
        let Idempotent { key, body } = self;
        let proposal =
            ledger_app::approvals::propose(&state.app, principal, targets, &key, command(body))
                .await?;
        Ok((StatusCode::ACCEPTED, crate::json::AppJson(proposal)).into_response())
    }
}

/// A command's reply as a response: the stored JSON with the stored status.
pub fn response_of<O>(reply: Reply<O>) -> Response {
    match reply {
        Reply::Done { status, body, .. } => (
            StatusCode::from_u16(status.http_code()).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Reply::Replayed(stored) => replayed(stored),
    }
}

fn replayed(stored: StoredResponse) -> Response {
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
