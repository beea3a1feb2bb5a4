//! One runner for every operation. A write is a [`Command`]: the runner checks the caller against
//! the policy, answers a replayed idempotency key with its first response, lets the command plan
//! (read, check every field, build the write), commits the write with the key in one database
//! transaction, and turns a balance guard that failed under the writer's lock into the command's
//! refusal. A read is a [`Query`]: the policy check, then the read.
//!
//! A caller whose API key this instance knew already (not read for this request) is checked by
//! the operation: a write's key is checked by the writer inside the write's transaction (no read
//! before it); anything else a write answers (a replay, a refusal) and every query and action
//! read the key first ([`crate::people::authenticate::confirm`]).

use std::future::Future;

use ledger_core::AccountId;
use ledger_store::{IdempotencyEntry, KeyGuard, StoredResponse, WriteOutcome, WriteRequest};
use serde::Serialize;

use crate::App;
use crate::caller::{Caller, Via};
use crate::error::AppError;
use crate::idempotency::{IdempotencyKey, conflict};
use crate::people::authenticate::confirm;
use crate::policy::{Operation, require};

/// How a write answered: the doors map these to their own statuses (HTTP 200, 201, 202).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done; nothing new was created (an acceptance, a resolution).
    Done,
    /// Something new exists now.
    Created,
    /// Recorded for review; the money has not moved yet.
    Accepted,
}

impl Status {
    /// The HTTP status this answer is stored and replayed with.
    pub fn http_code(self) -> u16 {
        match self {
            Status::Done => 200,
            Status::Created => 201,
            Status::Accepted => 202,
        }
    }
}

/// Names the refusal for a balance guard that did not hold under the writer's lock: the account
/// and its balance then.
pub type GuardRefusal = Box<dyn FnOnce(AccountId, i64) -> AppError + Send>;

/// What a command will do once committed: the answer and the write that makes it true.
pub struct Planned<O> {
    pub status: Status,
    pub output: O,
    pub write: WriteRequest,
    pub on_guard: GuardRefusal,
}

impl<O: std::fmt::Debug> std::fmt::Debug for Planned<O> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Planned")
            .field("status", &self.status)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

impl<O> Planned<O> {
    /// A plan whose write carries no guard that can fail (a failure would be a defect).
    pub fn new(status: Status, output: O, write: WriteRequest) -> Planned<O> {
        Planned {
            status,
            output,
            write,
            on_guard: Box::new(|account, balance| {
                AppError::internal_message(format!(
                    "an unexpected guard failed on account {account} (balance {balance})"
                ))
            }),
        }
    }

    /// The refusal when one of the write's guards fails.
    pub fn on_guard(
        mut self,
        refusal: impl FnOnce(AccountId, i64) -> AppError + Send + 'static,
    ) -> Planned<O> {
        self.on_guard = Box::new(refusal);
        self
    }
}

/// A write operation.
pub trait Command: Send + Sized {
    /// The operation's row in the policy table.
    const OPERATION: Operation;
    /// Look the key up before planning, so a replay costs one read and never re-checks. A command
    /// whose acceptance cannot change once given (the hot batch path) sets this to `false`: the
    /// writer finds its key at commit and answers the first response, and a refused plan still
    /// looks the key up, so a reused key answers the first response rather than new errors.
    const REPLAY_BEFORE_PLAN: bool = true;
    /// The answer (a view of what was written).
    type Output: Serialize + Send;

    /// Reads what it needs, checks every field (all problems at once) and builds the write.
    fn plan(
        self,
        app: &App,
        caller: &Caller,
    ) -> impl Future<Output = Result<Planned<Self::Output>, AppError>> + Send;
}

/// A read operation.
pub trait Query: Send + Sized {
    const OPERATION: Operation;
    type Output: Send;

    fn read(
        self,
        app: &App,
        caller: &Caller,
    ) -> impl Future<Output = Result<Self::Output, AppError>> + Send;
}

/// An operation whose effect is not replayed by idempotency key: the security operations, whose
/// answers carry a secret that must never be stored (an invitation, an API key), or whose effect is
/// the same however often they run (a revocation, disabling a user). The policy is checked first,
/// as for every operation. (An action may still take a key to run once, never storing the secret:
/// `people::keys::CreateApiKeyOnce` keeps the key's view, not the key.)
pub trait Action: Send + Sized {
    const OPERATION: Operation;
    type Output: Send;

    fn perform(
        self,
        app: &App,
        caller: &Caller,
    ) -> impl Future<Output = Result<Self::Output, AppError>> + Send;
}

/// A write's answer: fresh, or the first answer to the same key and request.
#[derive(Debug)]
pub enum Reply<O> {
    Done {
        status: Status,
        output: O,
        /// The output as JSON: what was stored with the key and what a replay will answer.
        body: String,
    },
    Replayed(StoredResponse),
}

impl<O> Reply<O> {
    /// The HTTP status and JSON body of this answer.
    pub fn http(&self) -> (u16, &str) {
        match self {
            Reply::Done { status, body, .. } => (status.http_code(), body),
            Reply::Replayed(stored) => (stored.response_status, &stored.response_body),
        }
    }
}

/// Idempotency keys are scoped to the caller's organisation.
pub(crate) fn scope(caller: &Caller) -> String {
    caller.organisation.to_string()
}

impl App {
    /// Runs a read: the policy, then the query.
    pub async fn query<Q: Query>(&self, caller: &Caller, query: Q) -> Result<Q::Output, AppError> {
        require(Q::OPERATION, caller)?;
        confirm(self, caller).await?;
        query.read(self, caller).await
    }

    /// Runs an action: the policy, then the action.
    pub async fn perform<A: Action>(
        &self,
        caller: &Caller,
        action: A,
    ) -> Result<A::Output, AppError> {
        require(A::OPERATION, caller)?;
        confirm(self, caller).await?;
        action.perform(self, caller).await
    }

    /// The first answer to `key`, if it was used with this request; a conflict if it was used
    /// with another.
    pub async fn replay(
        &self,
        caller: &Caller,
        key: &IdempotencyKey,
    ) -> Result<Option<StoredResponse>, AppError> {
        match self
            .store
            .idempotency_record(&scope(caller), key.key())
            .await?
        {
            None => Ok(None),
            Some(stored) if key.matches(&stored) => Ok(Some(stored)),
            Some(_) => Err(conflict()),
        }
    }

    /// Runs a write: policy → replay → plan → commit → guard refusal.
    pub async fn run<C: Command>(
        &self,
        caller: &Caller,
        key: &IdempotencyKey,
        command: C,
    ) -> Result<Reply<C::Output>, AppError> {
        require(C::OPERATION, caller)?;
        if C::REPLAY_BEFORE_PLAN
            && let Some(stored) = self.replay(caller, key).await?
        {
            confirm(self, caller).await?;
            return Ok(Reply::Replayed(stored));
        }
        let planned = match command.plan(self, caller).await {
            Ok(planned) => planned,
            Err(refusal) => {
                // Nothing of a refusal is told to a key that is no longer live.
                confirm(self, caller).await?;
                if !C::REPLAY_BEFORE_PLAN
                    && let Some(stored) = self.replay(caller, key).await?
                {
                    return Ok(Reply::Replayed(stored));
                }
                return Err(refusal);
            }
        };
        self.commit(caller, key, planned).await
    }

    /// Writes a plan with its key and answer, in one database transaction (what [`App::run`]
    /// does after planning; tests commit plans made earlier to race them).
    pub async fn commit<O: Serialize>(
        &self,
        caller: &Caller,
        key: &IdempotencyKey,
        planned: Planned<O>,
    ) -> Result<Reply<O>, AppError> {
        let Planned {
            status,
            output,
            mut write,
            on_guard,
        } = planned;
        let body = serde_json::to_string(&output).map_err(AppError::internal)?;
        if let Some(approval) = &self.approval {
            let recorded = serde_json::to_value(approval).map_err(AppError::internal)?;
            write.transactions = std::mem::take(&mut write.transactions)
                .into_iter()
                .map(|transaction| transaction.with_metadata("approval", recorded.clone()))
                .collect::<Result<_, _>>()
                .map_err(AppError::internal)?;
        }
        if let Via::ApiKey {
            key_id,
            read_now: false,
            ..
        } = caller.via
        {
            write.key = Some(KeyGuard {
                key_id,
                at: self.sources.now(),
            });
        }
        write.idempotency = Some(IdempotencyEntry {
            scope: scope(caller),
            key: key.key().to_owned(),
            fingerprint: key.fingerprint(),
            response_status: status.http_code(),
            response_body: body.clone(),
            created_at: self.sources.timestamp(),
        });
        let outcome = self.store.write(write).await?;
        if !matches!(outcome, WriteOutcome::Committed(_)) {
            // The writer checked the key only if it wrote: a refusal is told to a live key alone.
            confirm(self, caller).await?;
        }
        match outcome {
            WriteOutcome::Committed(_) => Ok(Reply::Done {
                status,
                output,
                body,
            }),
            // A key stored under the older byte rule was seen by `replay` before planning; a key
            // racing this request was stored under the canonical rule.
            WriteOutcome::Replayed(stored) if key.matches(&stored) => Ok(Reply::Replayed(stored)),
            WriteOutcome::GuardFailed {
                account_id,
                balance_minor,
            } => Err(on_guard(account_id, balance_minor)),
            // `confirm` above refuses a key that is not live; one that is live again cannot be
            // (a revocation and an expiry are final).
            WriteOutcome::KeyRefused => Err(AppError::internal_message(
                "the writer refused an API key that reads as live",
            )),
            _ => Err(conflict()),
        }
    }
}
