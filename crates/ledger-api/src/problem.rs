//! API errors, rendered as RFC 9457 `application/problem+json` with a stable machine `code`.
//!
//! Every error a client can meet goes through [`ApiError`]; internal failures return a generic body
//! and are logged once, here, with their cause chain.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

pub use ledger_app::FieldError;

/// Problem details (RFC 9457) as this API sends them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:solidarity-ledger:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`, `idempotency_conflict`.
    pub code: String,
    /// The offending field, when there is exactly one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error answered to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<String>,
    errors: Vec<FieldError>,
    /// The underlying failure of an internal error, logged and never shown.
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// Seconds a throttled client should wait (`Retry-After`); 32 bits keep the error small.
    retry_after_seconds: Option<std::num::NonZeroU32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            source: None,
            retry_after_seconds: None,
        }
    }

    /// 429 with `Retry-After`: the client must wait `retry_after_seconds` before trying again.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_seconds: u64) -> ApiError {
        let seconds = u32::try_from(retry_after_seconds).unwrap_or(u32::MAX);
        ApiError {
            retry_after_seconds: Some(
                std::num::NonZeroU32::new(seconds).unwrap_or(std::num::NonZeroU32::MIN),
            ),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail)
        }
    }

    /// 422 listing every problem found.
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} problems in the request", errors.len()),
        };
        let field = match errors.as_slice() {
            [only] => Some(only.field.clone()),
            _ => None,
        };
        ApiError {
            field,
            errors,
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            )
        }
    }

    /// 422 about a single field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 500 with a generic body; `source` is logged when the response is made.
    /// An internal error described by a message (an invariant that did not hold, stored data that
    /// does not parse): logged, never shown to the client.
    pub fn internal_message(message: impl std::fmt::Display) -> ApiError {
        ApiError::internal(std::io::Error::other(message.to_string()))
    }

    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError {
            source: Some(Box::new(source)),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the service failed to handle the request; it has been logged",
            )
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The problem document this error renders.
    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:solidarity-ledger:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            field: self.field.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl From<ledger_store::StoreError> for ApiError {
    fn from(error: ledger_store::StoreError) -> Self {
        ApiError::from(ledger_app::AppError::from(error))
    }
}

impl From<ledger_app::AppError> for ApiError {
    fn from(error: ledger_app::AppError) -> Self {
        use ledger_app::Refusal;
        let status = match error.refusal {
            Refusal::BadRequest => StatusCode::BAD_REQUEST,
            Refusal::Unauthenticated => StatusCode::UNAUTHORIZED,
            Refusal::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Forbidden => StatusCode::FORBIDDEN,
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::Conflict => StatusCode::CONFLICT,
            Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let field = error.field().map(str::to_owned);
        let retry_after_seconds = error
            .retry_after_seconds
            .map(|seconds| u32::try_from(seconds).unwrap_or(u32::MAX))
            .and_then(std::num::NonZeroU32::new);
        ApiError {
            field,
            retry_after_seconds,
            errors: error.errors,
            source: error.source,
            ..ApiError::new(status, error.code, error.detail)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            let mut chain = source.to_string();
            let mut cause = source.source();
            while let Some(next) = cause {
                chain.push_str(": ");
                chain.push_str(&next.to_string());
                cause = next.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.get()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"solidarity-ledger\""),
            );
        }
        response
    }
}

/// The code for a bare error status (one produced by axum or a tower layer, not by our handlers).
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "request_header_too_large",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::SERVICE_UNAVAILABLE => "not_ready",
        status if status.is_server_error() => "internal_error",
        _ => "error",
    }
}
