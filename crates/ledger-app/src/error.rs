//! Why an operation was refused. Doors translate a refusal into their own form (the HTTP door: a
//! problem document with the status of its [`Refusal`]); the reasons themselves are decided here
//! and in the core, once.

use ledger_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one field of an input (`lines[3].amount`, `period`, a spreadsheet's cell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as a path into the input.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<ledger_core::contribution::FieldError> for FieldError {
    fn from(error: ledger_core::contribution::FieldError) -> Self {
        FieldError::new(error.field, error.message)
    }
}

/// The kind of a refusal: what the caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is malformed (a missing key, an unreadable file).
    BadRequest,
    /// The caller did not prove who it is (no credential, a wrong password, a revoked key).
    Unauthenticated,
    /// Too many attempts: try again after `retry_after_seconds`.
    Throttled,
    /// The caller may not do this.
    Forbidden,
    /// The thing does not exist, or is not the caller's to see.
    NotFound,
    /// The books' state forbids it now (a guard, a limit, a reused key, a stale plan).
    Conflict,
    /// One or more fields are wrong; `errors` names each.
    Invalid,
    /// The service cannot answer now (the database is not ready).
    Unavailable,
    /// A defect or an outage: logged, never the caller's fault.
    Internal,
}

/// An operation's refusal: its kind, a stable machine-readable code, a sentence for people, and
/// every field problem.
#[derive(Debug)]
pub struct AppError {
    pub refusal: Refusal,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// When a throttled caller may try again.
    pub retry_after_seconds: Option<u64>,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn new(refusal: Refusal, code: &'static str, detail: impl Into<String>) -> AppError {
        AppError {
            refusal,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            source: None,
            retry_after_seconds: None,
        }
    }

    /// The caller did not prove who it is (`code` says why).
    pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(Refusal::Unauthenticated, code, detail)
    }

    /// Too many attempts; try again in `retry_after_seconds`.
    pub fn throttled(
        code: &'static str,
        detail: impl Into<String>,
        retry_after_seconds: u64,
    ) -> AppError {
        AppError {
            retry_after_seconds: Some(retry_after_seconds.max(1)),
            ..AppError::new(Refusal::Throttled, code, detail)
        }
    }

    /// Every field problem at once (`validation_failed`).
    pub fn validation(errors: Vec<FieldError>) -> AppError {
        let detail = match errors.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            _ => format!("{} problems in the request", errors.len()),
        };
        AppError {
            errors,
            ..AppError::new(Refusal::Invalid, "validation_failed", detail)
        }
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::validation(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: impl Into<String>) -> AppError {
        AppError::new(Refusal::NotFound, "not_found", what)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(Refusal::Conflict, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> AppError {
        AppError::new(Refusal::Forbidden, "forbidden", detail)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(Refusal::BadRequest, code, detail)
    }

    pub fn internal_message(message: impl std::fmt::Display) -> AppError {
        AppError::internal(std::io::Error::other(message.to_string()))
    }

    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError {
            source: Some(Box::new(source)),
            ..AppError::new(
                Refusal::Internal,
                "internal_error",
                "the service failed to handle the request; it has been logged",
            )
        }
    }

    /// The field named by a refusal about exactly one field.
    pub fn field(&self) -> Option<&str> {
        match self.errors.as_slice() {
            [only] => Some(only.field.as_str()),
            _ => None,
        }
    }
}

/// A flow the core could not book as asked: a defect (the application checks inputs first).
impl From<ledger_core::postings::PostingError> for AppError {
    fn from(error: ledger_core::postings::PostingError) -> Self {
        AppError::internal(error)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UniqueViolation(constraint) => {
                tracing::info!(constraint = %constraint, "unique constraint refused a write");
                AppError::conflict(
                    "conflict",
                    "the request conflicts with a concurrent one; nothing was written",
                )
            }
            StoreError::BalanceLimit(_) | StoreError::BalanceOverflow(_) => AppError::conflict(
                "limit_exceeded",
                format!(
                    "an account's balance would pass the limit max_account_balance ({} minor units); nothing was written",
                    ledger_core::limits::MAX_ACCOUNT_BALANCE_MINOR
                ),
            ),
            StoreError::LimitExceeded(limit) => {
                AppError::conflict("limit_exceeded", limit_detail(limit))
            }
            // The same refusal as the read before the write (registry::programme_versions), for a
            // run recorded since this version was planned.
            StoreError::PeriodAlreadyPlanned => AppError {
                errors: vec![FieldError::new(
                    "effective_period",
                    "a run was recorded for this period or a later one while the change was planned",
                )],
                ..AppError::conflict(
                    "period_already_planned",
                    "a run was recorded for the effective period or a later one while these rules \
                     were planned: give an effective_period after the last planned period; nothing \
                     was written",
                )
            },
            // Not a field's fault: the same request planned again uses the new rules.
            StoreError::ProgrammeRulesChanged => AppError::conflict(
                "programme_rules_changed",
                "new programme rules for this run's period were recorded while the run was \
                 planned: plan it again; nothing was written",
            ),
            other => AppError::internal(other),
        }
    }
}

fn limit_detail(limit: &str) -> String {
    match limit {
        "max_contributor_period_amount" => format!(
            "the contributor's batches for this programme and period would total more than {} \
             (limit max_contributor_period_amount); nothing was written",
            ledger_core::money::decimal_string(
                ledger_core::limits::MAX_CONTRIBUTOR_PERIOD_AMOUNT_MINOR,
                ledger_core::Currency::eur()
            )
        ),
        other => format!("the request would pass the limit {other}; nothing was written"),
    }
}
