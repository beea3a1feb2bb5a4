//! A southern mutual's pages (role `beneficiary`), at `/portal/mutual`: its transfers to confirm
//! (what arrived, fees deducted on the way; a shortfall takes the API's top-up or dispute path),
//! its redistribution reports by purpose, its eligibility per programme with what is missing, its
//! facts with their evidence, and its printable statement in its own currency. Each page runs the
//! API's own query or command as the signed-in caller: another mutual's transfer, report or fact
//! is a 404 as in the API, and a user of another role is refused by the policy (403).

mod eligibility;
mod reports;
mod statement;
mod transfers;

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::get;
use ledger_app::registry::{OrganisationView, ReadOrganisation};
use ledger_app::{AppError, IdempotencyKey};
use serde::de::DeserializeOwned;

use super::Portal;
use super::visit::Visit;

/// The mutual's routes.
pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/mutual", get(transfers::home))
        .route(
            "/portal/mutual/transfers/{id}",
            get(transfers::transfer).post(transfers::confirm),
        )
        .route(
            "/portal/mutual/reports",
            get(reports::reports).post(reports::submit),
        )
        .route(
            "/portal/mutual/eligibility",
            get(eligibility::eligibility).post(eligibility::declare),
        )
        .route(
            "/portal/mutual/facts/{fact}/evidence",
            get(eligibility::evidence),
        )
        .route("/portal/mutual/statement", get(statement::statement))
}

/// One problem shown at a field: a message key and the command's own words (in English).
#[derive(Debug, serde::Serialize)]
pub(crate) struct Problem {
    pub(crate) key: &'static str,
    pub(crate) detail: String,
}

/// A form's problems by field: every field the template reads is present (templates are strict).
pub(crate) type Problems = BTreeMap<String, Vec<Problem>>;

/// Problems with every one of `fields` present and empty.
pub(crate) fn no_problems(fields: &[&str]) -> Problems {
    fields
        .iter()
        .map(|field| ((*field).to_owned(), Vec::new()))
        .collect()
}

/// The signed-in mutual's own organisation (its name and currency).
pub(crate) async fn own_organisation(visit: &Visit) -> Result<OrganisationView, AppError> {
    visit
        .portal
        .app
        .query(visit.caller(), ReadOrganisation(own_id(visit)))
        .await
}

/// The caller's organisation id as the application's queries take it from a path.
pub(crate) fn own_id(visit: &Visit) -> String {
    visit.caller().organisation.to_string()
}

/// Builds `C` from the JSON `body` the API would receive and runs it once per `request_id`: a
/// double click writes once (the replay is a success too, as the first answer was).
pub(crate) async fn run_form<B, C>(
    visit: &Visit,
    request_id: &str,
    target: &str,
    body: &serde_json::Value,
    command: impl FnOnce(B) -> C,
) -> Result<(), AppError>
where
    B: DeserializeOwned,
    C: ledger_app::Command,
{
    let parsed = serde_json::from_value::<B>(body.clone()).map_err(|error| {
        tracing::error!(%error, target, "a mutual's form built a body its command does not read");
        AppError::internal(error)
    })?;
    let key = IdempotencyKey::new(request_id, target, body.to_string().into_bytes())?;
    visit
        .portal
        .app
        .run(visit.caller(), &key, command(parsed))
        .await
        .map(|_| ())
}
