//! Facts to verify (issue 21 item 4): every fact the mutuals declared about themselves that awaits
//! the network's decision, with its evidence document, verified or rejected with a reason by the
//! API's review commands (`ledger_app::fact_review`).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use ledger_app::eligibility::{FactView, ListFacts};
use ledger_app::fact_review::{ReadFactEvidence, RejectFact, RejectFactBody, VerifyFact};
use ledger_app::{AppError, Operation, Refusal};
use minijinja::{Value, context};
use serde_json::json;

use super::super::visit::{SignedForm, Visit};
use super::super::{Portal, attachment};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/network/facts", get(facts))
        .route(
            "/portal/network/organisations/{organisation}/facts/{fact}/evidence",
            get(evidence),
        )
        .route(
            "/portal/network/organisations/{organisation}/facts/{fact}/verification",
            post(verify),
        )
        .route(
            "/portal/network/organisations/{organisation}/facts/{fact}/rejection",
            post(reject),
        )
}

/// A fact awaiting a decision, with its mutual's name.
#[derive(Debug, serde::Serialize)]
struct Pending {
    mutual: String,
    fact: FactView,
}

/// What a refused decision shows at its fact: the reason as typed and the error.
#[derive(Debug, Default, serde::Serialize)]
struct Refused {
    fact: String,
    reason: String,
    key: String,
    detail: String,
}

/// The page: every submitted fact of every mutual, oldest first per mutual.
async fn render(visit: &Visit, status: StatusCode, problem: Refused) -> Response {
    let (portal, caller) = (&visit.portal, visit.caller());
    // A page for those who decide (a mutual sees its own facts on its own pages): refused as
    // the review commands refuse, before reading every mutual's facts.
    if let Err(error) = ledger_app::policy::require(Operation::VerifyFact, caller) {
        return visit.refused(&error);
    }
    let organisations = match visit.organisations().await {
        Ok(organisations) => organisations,
        Err(error) => return visit.refused(&error),
    };
    let mut pending = Vec::new();
    for organisation in organisations
        .into_iter()
        .filter(|organisation| organisation.kind == "beneficiary")
    {
        let facts = match portal
            .app
            .query(caller, ListFacts(organisation.id.to_string()))
            .await
        {
            Ok(facts) => facts,
            Err(error) => return visit.refused(&error),
        };
        pending.extend(
            facts
                .into_iter()
                .filter(|fact| fact.status == "submitted")
                .map(|fact| Pending {
                    mutual: organisation.name.clone(),
                    fact,
                }),
        );
    }
    visit.page(
        status,
        "portal_network_facts.html",
        context! {
            pending => Value::from_serialize(&pending),
            request_id => portal.app.sources.id().to_string(),
            problem => Value::from_serialize(&problem),
        },
    )
}

async fn facts(visit: Visit) -> Response {
    render(&visit, StatusCode::OK, Refused::default()).await
}

/// A fact's evidence document, as the API serves it (to whoever may read the fact).
async fn evidence(Path((organisation, fact)): Path<(String, String)>, visit: Visit) -> Response {
    let query = ReadFactEvidence {
        beneficiary: organisation,
        fact,
    };
    match visit.portal.app.query(visit.caller(), query).await {
        Ok(file) => visit.keep(attachment(&file.media_type, &file.sha256, file.content)),
        Err(error) => visit.refused(&error),
    }
}

/// Runs a decision; back to the list on success, the list with the error at the fact otherwise.
async fn decide(
    form: SignedForm,
    (organisation, fact): (String, String),
    verifying: bool,
) -> Response {
    let visit = &form.visit;
    let (portal, caller) = (&visit.portal, visit.caller());
    let reason = form.field("reason").unwrap_or_default().trim().to_owned();
    let body = if verifying {
        json!({})
    } else {
        json!({ "reason": reason })
    };
    let request_id = form.field("request_id").unwrap_or_default();
    let target = format!(
        "POST\n/portal/network/organisations/{organisation}/facts/{fact}/{}",
        if verifying {
            "verification"
        } else {
            "rejection"
        }
    );
    let Some(key) = super::form_key(request_id, &target, &body) else {
        return visit.keep(super::bad_form(&visit.headers, &visit.uri));
    };
    let answer = if verifying {
        let command = VerifyFact {
            beneficiary: organisation,
            fact: fact.clone(),
        };
        portal.app.run(caller, &key, command).await.map(|_| ())
    } else {
        let command = RejectFact {
            beneficiary: organisation,
            fact: fact.clone(),
            body: RejectFactBody {
                reason: reason.clone(),
            },
        };
        portal.app.run(caller, &key, command).await.map(|_| ())
    };
    match answer {
        Ok(()) => visit.see_other("/portal/network/facts"),
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            render(visit, status, refusal_at(&fact, reason, &error)).await
        }
        Err(error) => visit.refused(&error),
    }
}

/// The refusal of a decision on `fact`, shown at it.
fn refusal_at(fact: &str, reason: String, error: &AppError) -> Refused {
    let by_field: BTreeMap<&str, &str> = error
        .errors
        .iter()
        .map(|refusal| (refusal.field.as_str(), refusal.message.as_str()))
        .collect();
    Refused {
        fact: fact.to_owned(),
        reason,
        key: if by_field.contains_key("reason") {
            "facts-error-reason".to_owned()
        } else if error.code == "fact_already_decided" {
            "facts-error-decided".to_owned()
        } else {
            "error-conflict".to_owned()
        },
        detail: by_field
            .get("reason")
            .map_or_else(|| error.detail.clone(), |message| (*message).to_owned()),
    }
}

async fn verify(Path(ids): Path<(String, String)>, form: SignedForm) -> Response {
    decide(form, ids, true).await
}

async fn reject(Path(ids): Path<(String, String)>, form: SignedForm) -> Response {
    decide(form, ids, false).await
}
