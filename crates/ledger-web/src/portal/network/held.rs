//! Held funds (issue 21 item 4): what each programme holds for mutuals that did not meet its
//! conditions, with the conditions they fail today, and the return of a mutual's held funds to
//! the pool with a reason (four eyes: the request is a proposal another admin approves on the
//! network's home, as for the API's `ReturnHeld`).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use ledger_app::transfers::held_funds::{ListHeldFunds, ReturnHeld, ReturnHeldFunds};
use ledger_app::{Operation, Refusal, approvals};
use minijinja::{Value, context};
use serde_json::json;

use super::super::Portal;
use super::super::visit::{SignedForm, Visit};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/network/held", get(held))
        .route(
            "/portal/network/held/{programme}/{beneficiary}/return",
            post(return_held),
        )
}

/// A refused return, shown at its row.
#[derive(Debug, Default, serde::Serialize)]
struct Refused {
    programme: String,
    beneficiary: String,
    reason: String,
    detail: String,
}

async fn render(visit: &Visit, status: StatusCode, problem: Refused) -> Response {
    let portal = &visit.portal;
    match portal.app.query(visit.caller(), ListHeldFunds).await {
        Ok(held) => visit.page(
            status,
            "portal_network_held.html",
            context! {
                held => Value::from_serialize(&held),
                request_id => portal.app.sources.id().to_string(),
                four_eyes => portal.app.needs_approval(Operation::ReturnHeldFunds),
                problem => Value::from_serialize(&problem),
            },
        ),
        Err(error) => visit.refused(&error),
    }
}

async fn held(visit: Visit) -> Response {
    render(&visit, StatusCode::OK, Refused::default()).await
}

/// Returns a mutual's held funds to the pool, or proposes it when a second admin must approve.
async fn return_held(
    Path((programme, beneficiary)): Path<(String, String)>,
    form: SignedForm,
) -> Response {
    let visit = &form.visit;
    let portal = &visit.portal;
    let reason = form.field("reason").unwrap_or_default().trim().to_owned();
    let body = json!({ "reason": reason });
    let target = format!("POST\n/portal/network/held/{programme}/{beneficiary}/return");
    let request_id = form.field("request_id").unwrap_or_default();
    let Some(key) = super::form_key(request_id, &target, &body) else {
        return visit.keep(super::bad_form(&visit.headers, &visit.uri));
    };
    let command = ReturnHeld {
        programme_id: programme.clone(),
        beneficiary_id: beneficiary.clone(),
        body: ReturnHeldFunds {
            reason: reason.clone(),
        },
    };
    let caller = visit.caller();
    let (answer, next) = if portal.app.needs_approval(Operation::ReturnHeldFunds) {
        let targets = [programme.as_str(), beneficiary.as_str()];
        let proposed = approvals::propose(&portal.app, caller, &targets, &key, command).await;
        (proposed.map(|_| ()), "/portal/network#proposals")
    } else {
        let done = portal.app.run(caller, &key, command).await;
        (done.map(|_| ()), "/portal/network/held")
    };
    match answer {
        Ok(()) => visit.see_other(next),
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            let detail = error
                .errors
                .first()
                .map_or_else(|| error.detail.clone(), |first| first.message.clone());
            let problem = Refused {
                programme,
                beneficiary,
                reason,
                detail,
            };
            render(visit, status, problem).await
        }
        Err(error) => visit.refused(&error),
    }
}
