//! Held funds (issue 21 item 4): what each programme holds for mutuals that did not meet its
//! conditions, with the conditions they fail today, and the return of a mutual's held funds to
//! the pool with a reason (four eyes: the request is a proposal another admin approves on the
//! network's home, as for the API's `ReturnHeld`).

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use ledger_app::transfers::held_funds::{ListHeldFunds, ReturnHeld, ReturnHeldFunds};
use ledger_app::{Operation, Refusal, approvals};
use minijinja::{Value, context};
use serde_json::json;

use super::super::session::SignedIn;
use super::super::{
    Fields, Portal, field, form_page, refused, require_signed_in, see_other, signed_form,
};
use crate::i18n::negotiate;

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

async fn render(
    portal: &Portal,
    signed: &SignedIn,
    headers: &HeaderMap,
    uri: &Uri,
    status: StatusCode,
    problem: Refused,
) -> Response {
    let lang = negotiate(headers);
    match portal.app.query(&signed.caller, ListHeldFunds).await {
        Ok(held) => form_page(
            portal,
            status,
            "portal_network_held.html",
            headers,
            uri,
            Some(signed),
            context! {
                held => Value::from_serialize(&held),
                request_id => portal.app.sources.id().to_string(),
                four_eyes => portal.app.needs_approval(Operation::ReturnHeldFunds),
                problem => Value::from_serialize(&problem),
            },
        ),
        Err(error) => refused(&error, lang, uri),
    }
}

async fn held(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => {
            render(
                &portal,
                &signed,
                &headers,
                &uri,
                StatusCode::OK,
                Refused::default(),
            )
            .await
        }
        Err(response) => response,
    }
}

/// Returns a mutual's held funds to the pool, or proposes it when a second admin must approve.
async fn return_held(
    State(portal): State<Portal>,
    Path((programme, beneficiary)): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match signed_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let reason = field(&fields, "reason")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let body = json!({ "reason": reason });
    let target = format!("POST\n/portal/network/held/{programme}/{beneficiary}/return");
    let request_id = field(&fields, "request_id").unwrap_or_default();
    let Some(key) = super::form_key(request_id, &target, &body) else {
        return super::bad_form(&headers, &uri);
    };
    let command = ReturnHeld {
        programme_id: programme.clone(),
        beneficiary_id: beneficiary.clone(),
        body: ReturnHeldFunds {
            reason: reason.clone(),
        },
    };
    let caller = &signed.caller;
    let (answer, next) = if portal.app.needs_approval(Operation::ReturnHeldFunds) {
        let targets = [programme.as_str(), beneficiary.as_str()];
        let proposed = approvals::propose(&portal.app, caller, &targets, &key, command).await;
        (proposed.map(|_| ()), "/portal/network#proposals")
    } else {
        let done = portal.app.run(caller, &key, command).await;
        (done.map(|_| ()), "/portal/network/held")
    };
    match answer {
        Ok(()) => {
            let mut response = see_other(next);
            signed.keep(portal.cookies, &mut response);
            response
        }
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
            render(&portal, &signed, &headers, &uri, status, problem).await
        }
        Err(error) => refused(&error, lang, &uri),
    }
}
