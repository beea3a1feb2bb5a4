//! Facts to verify (issue 21 item 4): every fact the mutuals declared about themselves that awaits
//! the network's decision, with its evidence document, verified or rejected with a reason by the
//! API's review commands (`ledger_app::fact_review`).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ledger_app::eligibility::{FactView, ListFacts};
use ledger_app::fact_review::{ReadFactEvidence, RejectFact, RejectFactBody, VerifyFact};
use ledger_app::pagination::PageQuery;
use ledger_app::registry::ListOrganisations;
use ledger_app::{AppError, Operation, Refusal};
use minijinja::{Value, context};
use serde_json::json;

use super::super::session::SignedIn;
use super::super::{
    Fields, Portal, field, form_page, refused, require_signed_in, see_other, signed_form,
};
use crate::i18n::negotiate;

/// Organisations read to find the mutuals (the network has far fewer).
const LISTED_ORGANISATIONS: u32 = 1000;

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
async fn render(
    portal: &Portal,
    signed: &SignedIn,
    headers: &HeaderMap,
    uri: &Uri,
    status: StatusCode,
    problem: Refused,
) -> Response {
    let lang = negotiate(headers);
    let caller = &signed.caller;
    // A page for those who decide (a mutual sees its own facts on its own pages): refused as
    // the review commands refuse, before reading every mutual's facts.
    if let Err(error) = ledger_app::policy::require(Operation::VerifyFact, caller) {
        return refused(&error, lang, uri);
    }
    let organisations = match portal
        .app
        .query(
            caller,
            ListOrganisations(PageQuery {
                limit: Some(LISTED_ORGANISATIONS),
                cursor: None,
            }),
        )
        .await
    {
        Ok(page) => page.items,
        Err(error) => return refused(&error, lang, uri),
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
            Err(error) => return refused(&error, lang, uri),
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
    form_page(
        portal,
        status,
        "portal_network_facts.html",
        headers,
        uri,
        Some(signed),
        context! {
            pending => Value::from_serialize(&pending),
            request_id => portal.app.sources.id().to_string(),
            problem => Value::from_serialize(&problem),
        },
    )
}

async fn facts(
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

/// A fact's evidence document, as the API serves it (to whoever may read the fact).
async fn evidence(
    State(portal): State<Portal>,
    Path((organisation, fact)): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    let signed = match require_signed_in(&portal, &headers, &extensions, &uri).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let query = ReadFactEvidence {
        beneficiary: organisation,
        fact,
    };
    match portal.app.query(&signed.caller, query).await {
        Ok(file) => {
            let mut response = (StatusCode::OK, file.content).into_response();
            let headers = response.headers_mut();
            if let Ok(media_type) = HeaderValue::from_str(&file.media_type) {
                headers.insert(header::CONTENT_TYPE, media_type);
            }
            if let Ok(disposition) =
                HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.sha256))
            {
                headers.insert(header::CONTENT_DISPOSITION, disposition);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => refused(&error, lang, &uri),
    }
}

/// Runs a decision; back to the list on success, the list with the error at the fact otherwise.
async fn decide(
    portal: Portal,
    (organisation, fact): (String, String),
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    fields: Fields,
    verifying: bool,
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
    let body = if verifying {
        json!({})
    } else {
        json!({ "reason": reason })
    };
    let request_id = field(&fields, "request_id").unwrap_or_default();
    let target = format!(
        "POST\n/portal/network/organisations/{organisation}/facts/{fact}/{}",
        if verifying {
            "verification"
        } else {
            "rejection"
        }
    );
    let Some(key) = super::form_key(request_id, &target, &body) else {
        return super::bad_form(&headers, &uri);
    };
    let answer = if verifying {
        let command = VerifyFact {
            beneficiary: organisation,
            fact: fact.clone(),
        };
        portal
            .app
            .run(&signed.caller, &key, command)
            .await
            .map(|_| ())
    } else {
        let command = RejectFact {
            beneficiary: organisation,
            fact: fact.clone(),
            body: RejectFactBody {
                reason: reason.clone(),
            },
        };
        portal
            .app
            .run(&signed.caller, &key, command)
            .await
            .map(|_| ())
    };
    match answer {
        Ok(()) => {
            let mut response = see_other("/portal/network/facts");
            signed.keep(portal.cookies, &mut response);
            response
        }
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            render(
                &portal,
                &signed,
                &headers,
                &uri,
                status,
                refusal_at(&fact, reason, &error),
            )
            .await
        }
        Err(error) => refused(&error, lang, &uri),
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

async fn verify(
    State(portal): State<Portal>,
    Path(ids): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    decide(portal, ids, headers, extensions, uri, fields, true).await
}

async fn reject(
    State(portal): State<Portal>,
    Path(ids): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    Form(fields): Form<Fields>,
) -> Response {
    decide(portal, ids, headers, extensions, uri, fields, false).await
}
