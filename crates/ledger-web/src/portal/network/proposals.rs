//! Four eyes on the network's pages: a proposal approved by another admin than its proposer (its
//! operation then runs) or rejected (its proposer included: a withdrawal), with the API's own
//! `ledger_app::approvals`.

use axum::extract::{Form, Path, State};
use axum::http::{Extensions, HeaderMap, Uri};
use axum::response::Response;
use ledger_app::approvals::{self, FourEyesCommands, ProposalView};
use ledger_app::{AppError, Operation};

use super::super::session::SignedIn;
use super::super::{Fields, Portal, refused, see_other, signed_form};
use super::{Problem, render_home, render_run, shown_on_page, sign_head, status_of};
use crate::i18n::negotiate;

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
async fn decision_refused(
    portal: &Portal,
    signed: &SignedIn,
    headers: &HeaderMap,
    uri: &Uri,
    proposal: &ProposalView,
    error: &AppError,
) -> Response {
    let lang = negotiate(headers);
    if !shown_on_page(error) {
        return refused(error, lang, uri);
    }
    match proposal.targets.first() {
        Some(run) if proposal.operation == Operation::ExecuteTransferRun.name() => {
            render_run(
                portal,
                signed,
                headers,
                uri,
                run,
                status_of(error),
                Problem::of(error),
            )
            .await
        }
        _ => {
            render_home(
                portal,
                signed,
                headers,
                uri,
                status_of(error),
                None,
                Problem::of(error),
            )
            .await
        }
    }
}

/// Approves a proposal as a second admin: its operation runs now (the run is executed). Its
/// proposer is refused (409, said on the page); a proposal decided meanwhile (a double click)
/// just shows where it stands.
pub(super) async fn approve(
    State(portal): State<Portal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    decide(portal, id, headers, extensions, uri, fields, true).await
}

/// Rejects a proposal (its proposer included: a withdrawal); nothing runs.
pub(super) async fn reject(
    State(portal): State<Portal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    decide(portal, id, headers, extensions, uri, fields, false).await
}

async fn decide(
    portal: Portal,
    id: String,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    fields: Fields,
    approving: bool,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let proposal = match approvals::proposal(&portal.app, &signed.caller, &id).await {
        Ok(proposal) => proposal,
        Err(error) => return refused(&error, lang, &uri),
    };
    let decided = if approving {
        approvals::approve(&portal.app, &signed.caller, &id, &FourEyesCommands).await
    } else {
        approvals::reject(&portal.app, &signed.caller, &id).await
    };
    match decided {
        Ok(decided) => {
            if approving && decided.operation == Operation::ExecuteTransferRun.name() {
                sign_head(&portal).await;
            }
            let mut response = see_other(&page_of(&decided));
            signed.keep(portal.cookies, &mut response);
            response
        }
        Err(error) if error.code == "proposal_decided" => see_other(&page_of(&proposal)),
        Err(error) => decision_refused(&portal, &signed, &headers, &uri, &proposal, &error).await,
    }
}
