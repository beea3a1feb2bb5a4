//! Four eyes: the operations that move or give back money outside the normal flow (executing a
//! transfer run, returning held funds, reversing a batch, reversing an accepted report) or decide
//! where it goes (setting a bank account) need a second admin. When [`App::approvals_required`] is 2, the first admin's request is kept as a
//! proposal ([`propose`]); another admin approves it ([`approve`]: the operation then runs as
//! proposed, and every transaction it books carries both names in its metadata, so an export shows
//! them) or rejects it. The proposer never approves its own proposal, with any credential.

use crate::people::event_kinds::SecurityEventKind;
use ledger_store::proposals::{Decision, ProposalRow};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::AppError;
use crate::fields::parse_id;
use crate::idempotency::{IdempotencyKey, conflict};
use crate::pagination::{Page, PageQuery, page};
use crate::policy::{Operation, require};
use crate::runner::{Command, Query};

/// Admins an operation of [`FOUR_EYES`] needs by default: a proposer and an approver.
pub const DEFAULT_APPROVALS_REQUIRED: u8 = 2;

/// The operations that need a second admin.
pub const FOUR_EYES: &[Operation] = &[
    Operation::ExecuteTransferRun,
    Operation::ReturnHeldFunds,
    Operation::ReverseBatch,
    Operation::ReverseReport,
    Operation::SetBankAccount,
];

/// Who proposed and who approved an operation, written into the metadata of every transaction it
/// books (key `approval`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub proposal_id: Uuid,
    pub proposed_by: String,
    pub proposed_at: String,
    pub approved_by: String,
    pub approved_at: String,
}

impl App {
    /// Whether `operation`, run by an admin now, must first be proposed.
    pub fn needs_approval(&self, operation: Operation) -> bool {
        self.approvals_required > 1 && FOUR_EYES.contains(&operation)
    }
}

/// A proposal as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalView {
    pub id: Uuid,
    /// execute_transfer_run | return_held_funds | reverse_batch | reverse_report |
    /// set_bank_account
    pub operation: String,
    /// What it acts on: the ids of the request's path, in order.
    pub targets: Vec<String>,
    /// The request's body, as it will run.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub proposed_by: String,
    pub proposed_at: String,
    /// awaiting_approval | approved | rejected
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// What the approved operation answered (its HTTP status and body).
    pub result_status: Option<u16>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
}

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    ledger_core::Timestamp::from_datetime(at).to_canonical_string()
}

impl ProposalView {
    pub fn of(row: &ProposalRow) -> ProposalView {
        ProposalView {
            id: row.id,
            operation: row.operation.clone(),
            targets: serde_json::from_str(&row.path).unwrap_or_default(),
            body: serde_json::from_str(&row.body).unwrap_or(serde_json::Value::Null),
            proposed_by: row.proposed_by.clone(),
            proposed_at: time(row.proposed_at),
            status: match row.decision.as_deref() {
                None => "awaiting_approval".to_owned(),
                Some(decision) => decision.to_owned(),
            },
            decided_by: row.decided_by.clone(),
            decided_at: row.decided_at.map(time),
            result_status: row
                .result_status
                .and_then(|status| u16::try_from(status).ok()),
            result: row
                .result_body
                .as_deref()
                .and_then(|body| serde_json::from_str(body).ok()),
        }
    }
}

/// Keeps `command` (of one of the [`FOUR_EYES`] operations, on `targets`, with the request's
/// body) as a proposal, after checking it as it would run now (the policy, every field, what it
/// reads), so a proposal that could not run is refused at once. Proposing again with the same
/// idempotency key and request answers the same proposal; with another request, a conflict.
pub async fn propose<C: Command>(
    app: &App,
    caller: &Caller,
    targets: &[&str],
    key: &IdempotencyKey,
    command: C,
) -> Result<ProposalView, AppError> {
    require(C::OPERATION, caller)?;
    crate::people::authenticate::confirm(app, caller).await?;
    let body = std::str::from_utf8(key.body())
        .map_err(|_| AppError::bad_request("malformed_json", "the body is not UTF-8"))?;
    let path = serde_json::to_string(targets).map_err(AppError::internal)?;
    let operation = C::OPERATION.name();
    let matches = |stored: &ProposalRow| {
        stored.operation == operation && stored.path == path && same_json(&stored.body, body)
    };
    if let Some(stored) = app
        .store
        .proposal_by_key(caller.organisation.as_uuid(), key.key())
        .await?
    {
        return if matches(&stored) {
            Ok(ProposalView::of(&stored))
        } else {
            Err(conflict())
        };
    }
    command.plan(app, caller).await?;
    let row = ProposalRow {
        id: app.sources.id(),
        operation: operation.clone(),
        path: path.clone(),
        body: body.to_owned(),
        organisation_id: caller.organisation.as_uuid(),
        idempotency_key: key.key().to_owned(),
        proposed_by: caller.subject.clone(),
        proposer_user: caller.user_id(),
        proposed_at: app.sources.now(),
        decision: None,
        decided_by: None,
        decided_at: None,
        result_status: None,
        result_body: None,
    };
    let stored = app.store.propose(&row).await?;
    if !matches(&stored) {
        return Err(conflict());
    }
    if stored.id == row.id {
        record(app, caller, SecurityEventKind::ProposalCreated, &stored).await?;
    }
    Ok(ProposalView::of(&stored))
}

/// Puts a decision or a proposal on the security record.
async fn record(
    app: &App,
    caller: &Caller,
    kind: SecurityEventKind,
    proposal: &ProposalRow,
) -> Result<(), AppError> {
    let mut recorded = crate::people::event(
        app,
        kind,
        &caller.subject,
        None,
        None,
        serde_json::json!({
            "proposal_id": proposal.id,
            "operation": proposal.operation,
            "targets": serde_json::from_str::<serde_json::Value>(&proposal.path).unwrap_or_default(),
            "proposed_by": proposal.proposed_by,
        }),
    );
    recorded.organisation_id = Some(caller.organisation.as_uuid());
    recorded.user_id = caller.user_id();
    app.store.record_security_event(&recorded).await?;
    Ok(())
}

/// Two JSON texts with the same meaning (whitespace and key order aside).
fn same_json(left: &str, right: &str) -> bool {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    parse(left).is_some() && parse(left) == parse(right)
}

/// A pending proposal.
async fn pending(app: &App, id: &str) -> Result<ProposalRow, AppError> {
    let not_found = || AppError::not_found("no such proposal");
    let id = parse_id(id).ok_or_else(not_found)?;
    let proposal = app.store.proposal(id).await?.ok_or_else(not_found)?;
    if let Some(decision) = &proposal.decision {
        return Err(AppError::conflict(
            "proposal_decided",
            format!("this proposal was already {decision}"),
        ));
    }
    Ok(proposal)
}

fn proposed_by_caller(proposal: &ProposalRow, caller: &Caller) -> bool {
    match (proposal.proposer_user, caller.user_id()) {
        (Some(proposer), Some(approver)) => proposer == approver,
        _ => proposal.proposed_by == caller.subject,
    }
}

/// Runs an approved proposal's operation: the operation (by its name), its targets, its body and
/// the idempotency key it runs under; answers the operation's HTTP status and JSON body.
pub trait Dispatch {
    fn run(
        &self,
        app: &App,
        caller: &Caller,
        operation: &str,
        targets: &[String],
        key: &IdempotencyKey,
    ) -> impl std::future::Future<Output = Result<(u16, String), AppError>> + Send;
}

/// Approves a proposal (another admin than its proposer): its operation runs now, as proposed,
/// with the approval written into every transaction it books. A refused operation (the run
/// already executed, a plan gone stale) leaves the proposal pending, to be rejected.
pub async fn approve(
    app: &App,
    caller: &Caller,
    id: &str,
    dispatch: &impl Dispatch,
) -> Result<ProposalView, AppError> {
    require(Operation::ApproveProposal, caller)?;
    let proposal = pending(app, id).await?;
    if proposed_by_caller(&proposal, caller) {
        return Err(AppError::conflict(
            "approval_by_proposer",
            "the admin who proposed this cannot approve it: another admin must",
        ));
    }
    let approved_at = app.sources.now();
    let mut approving = app.clone();
    approving.approval = Some(Approval {
        proposal_id: proposal.id,
        proposed_by: proposal.proposed_by.clone(),
        proposed_at: time(proposal.proposed_at),
        approved_by: caller.subject.clone(),
        approved_at: time(approved_at),
    });
    let targets: Vec<String> = serde_json::from_str(&proposal.path).map_err(AppError::internal)?;
    // One key per proposal: an approval retried after a failure, or raced by another admin's,
    // replays the first run instead of running twice.
    let key = IdempotencyKey::new(
        &format!("proposal-{}", proposal.id),
        &format!("APPROVE\n{}", proposal.operation),
        proposal.body.clone().into_bytes(),
    )?;
    let (status, body) = dispatch
        .run(&approving, caller, &proposal.operation, &targets, &key)
        .await?;
    app.store
        .decide(&Decision {
            proposal_id: proposal.id,
            decision: "approved",
            decided_by: caller.subject.clone(),
            decided_at: approved_at,
            result_status: Some(status),
            result_body: Some(body),
        })
        .await?;
    record(app, caller, SecurityEventKind::ProposalApproved, &proposal).await?;
    let decided = app
        .store
        .proposal(proposal.id)
        .await?
        .ok_or_else(|| AppError::internal_message("a decided proposal vanished"))?;
    Ok(ProposalView::of(&decided))
}

/// Rejects a proposal (any admin, its proposer included: a withdrawal); nothing runs.
pub async fn reject(app: &App, caller: &Caller, id: &str) -> Result<ProposalView, AppError> {
    require(Operation::RejectProposal, caller)?;
    let proposal = pending(app, id).await?;
    let decided = app
        .store
        .decide(&Decision {
            proposal_id: proposal.id,
            decision: "rejected",
            decided_by: caller.subject.clone(),
            decided_at: app.sources.now(),
            result_status: None,
            result_body: None,
        })
        .await?;
    if !decided {
        return Err(AppError::conflict(
            "proposal_decided",
            "this proposal was decided meanwhile",
        ));
    }
    record(app, caller, SecurityEventKind::ProposalRejected, &proposal).await?;
    let row = app
        .store
        .proposal(proposal.id)
        .await?
        .ok_or_else(|| AppError::internal_message("a decided proposal vanished"))?;
    Ok(ProposalView::of(&row))
}

/// Proposals, oldest first (`pending`: only those awaiting approval).
#[derive(Debug)]
pub struct ListProposals {
    pub pending: bool,
    pub page: PageQuery,
}

impl Query for ListProposals {
    const OPERATION: Operation = Operation::ListProposals;
    type Output = Page<ProposalView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<ProposalView>, AppError> {
        let (limit, after) = self.page.parse()?;
        let rows = app.store.proposals(self.pending, after, limit + 1).await?;
        Ok(page(
            rows,
            limit,
            |row| row.id,
            |row| ProposalView::of(&row),
        ))
    }
}

/// One proposal.
pub async fn proposal(app: &App, caller: &Caller, id: &str) -> Result<ProposalView, AppError> {
    require(Operation::ListProposals, caller)?;
    let not_found = || AppError::not_found("no such proposal");
    let id: Uuid = parse_id(id).ok_or_else(not_found)?;
    let row = app.store.proposal(id).await?.ok_or_else(not_found)?;
    Ok(ProposalView::of(&row))
}

/// The four-eyes operations' commands, built from a proposal: the targets are the ids of the
/// request's path, the body its JSON (checked when it was proposed).
#[derive(Debug, Clone, Copy, Default)]
pub struct FourEyesCommands;

fn proposed_body<T: serde::de::DeserializeOwned>(key: &IdempotencyKey) -> Result<T, AppError> {
    serde_json::from_slice(key.body()).map_err(AppError::internal)
}

fn answer<O>(reply: crate::runner::Reply<O>) -> (u16, String) {
    let (status, body) = reply.http();
    (status, body.to_owned())
}

impl Dispatch for FourEyesCommands {
    async fn run(
        &self,
        app: &App,
        caller: &Caller,
        operation: &str,
        targets: &[String],
        key: &IdempotencyKey,
    ) -> Result<(u16, String), AppError> {
        let target = |index: usize| targets.get(index).cloned().unwrap_or_default();
        let unknown = || {
            AppError::internal_message(format!(
                "a proposal of an operation that needs no approval: {operation}"
            ))
        };
        let operation = FOUR_EYES
            .iter()
            .copied()
            .find(|four_eyes| four_eyes.name() == operation)
            .ok_or_else(unknown)?;
        Ok(match operation {
            Operation::ExecuteTransferRun => {
                let command = crate::transfers::execution::ExecuteTransferRun {
                    id: target(0),
                    body: proposed_body(key)?,
                };
                answer(app.run(caller, key, command).await?)
            }
            Operation::ReturnHeldFunds => {
                let command = crate::transfers::held_funds::ReturnHeld {
                    programme_id: target(0),
                    beneficiary_id: target(1),
                    body: proposed_body(key)?,
                };
                answer(app.run(caller, key, command).await?)
            }
            Operation::ReverseBatch => {
                let command = crate::contributions::ReverseBatch {
                    batch: target(0),
                    body: proposed_body(key)?,
                };
                answer(app.run(caller, key, command).await?)
            }
            Operation::ReverseReport => {
                let command = crate::reports::ReverseReportCommand {
                    id: target(0),
                    body: proposed_body(key)?,
                };
                answer(app.run(caller, key, command).await?)
            }
            Operation::SetBankAccount => {
                let command = crate::bank_accounts::SetBankAccount {
                    organisation: target(0),
                    body: proposed_body(key)?,
                };
                answer(app.run(caller, key, command).await?)
            }
            _ => return Err(unknown()),
        })
    }
}
