//! Four eyes on the network's pages: a proposal approved by another admin than its proposer (its
//! operation then runs) or rejected (its proposer included: a withdrawal), with the API's own
//! `ledger_app::approvals`.

use axum::extract::Path;
use axum::response::Response;
use ledger_app::approvals::{self, FourEyesCommands, ProposalView};
use ledger_app::{AppError, Operation};

use super::super::visit::{SignedForm, Visit};
use super::{Problem, render_home, render_run, shown_on_page, sign_head, status_of};

/// Where a proposal is shown: its run's page for an execution, the home page otherwise.
fn page_of(proposal: &ProposalView) -> String {
    match proposal.targets.first() {
        Some(run) if proposal.operation == Operation::ExecuteTransferRun.name() => {
            format!("/portal/network/runs/{run}")
        }
        _ => "/portal/network".to_owned(),
    }
}

/// Shows a refused decision on the proposal's page.
async fn decision_refused(visit: &Visit, proposal: &ProposalView, error: &AppError) -> Response {
    if !shown_on_page(error) {
        return visit.refused(error);
    }
    match proposal.targets.first() {
        Some(run) if proposal.operation == Operation::ExecuteTransferRun.name() => {
            render_run(visit, run, status_of(error), Problem::of(error)).await
        }
        _ => render_home(visit, status_of(error), None, Problem::of(error)).await,
    }
}

/// Approves a proposal as a second admin: its operation runs now (the run is executed). Its
/// proposer is refused (409, said on the page); a proposal decided meanwhile (a double click)
/// just shows where it stands.
pub(super) async fn approve(Path(id): Path<String>, form: SignedForm) -> Response {
    decide(form.visit, id, true).await
}

/// Rejects a proposal (its proposer included: a withdrawal); nothing runs.
pub(super) async fn reject(Path(id): Path<String>, form: SignedForm) -> Response {
    decide(form.visit, id, false).await
}

async fn decide(visit: Visit, id: String, approving: bool) -> Response {
    let (app, caller) = (&visit.portal.app, visit.caller());
    let proposal = match approvals::proposal(app, caller, &id).await {
        Ok(proposal) => proposal,
        Err(error) => return visit.refused(&error),
    };
    let decided = if approving {
        approvals::approve(app, caller, &id, &FourEyesCommands).await
    } else {
        approvals::reject(app, caller, &id).await
    };
    match decided {
        Ok(decided) => {
            if approving && decided.operation == Operation::ExecuteTransferRun.name() {
                sign_head(&visit.portal).await;
            }
            visit.see_other(&page_of(&decided))
        }
        Err(error) if error.code == "proposal_decided" => visit.see_other(&page_of(&proposal)),
        Err(error) => decision_refused(&visit, &proposal, &error).await,
    }
}
