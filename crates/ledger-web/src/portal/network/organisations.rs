//! Organisations and their versions (issue 21 item 4): the list, an organisation's page with the
//! version in force and its history (who changed what, when), and the form adding a version (the
//! API's `ChangeOrganisation`), whose refusals are shown at their fields.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use ledger_app::pagination::PageQuery;
use ledger_app::registry::{
    ChangeOrganisation, ChangeOrganisationBody, ListOrganisations, OrganisationHistory,
    ReadOrganisation,
};
use ledger_app::{AppError, FieldError, Operation, Refusal};
use minijinja::{Value, context};
use serde_json::json;

use super::super::visit::{SignedForm, Visit};
use super::super::{Fields, Portal, field};

/// Organisations listed (the network has far fewer).
const LISTED_ORGANISATIONS: u32 = 1000;

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/network/organisations", get(list))
        .route(
            "/portal/network/organisations/{id}",
            get(organisation).post(add_version),
        )
}

/// The version form as typed, with its errors by field.
#[derive(Debug, Default, serde::Serialize)]
struct VersionForm {
    effective_from: String,
    name: String,
    contact: String,
    covered_members: String,
    request_id: String,
    errors: BTreeMap<String, Vec<String>>,
}

const VERSION_FIELDS: [&str; 4] = ["effective_from", "name", "contact", "covered_members"];

impl VersionForm {
    fn read(fields: &Fields) -> VersionForm {
        let value = |name: &str| field(fields, name).unwrap_or_default().trim().to_owned();
        VersionForm {
            effective_from: value("effective_from"),
            name: value("name"),
            contact: value("contact"),
            covered_members: value("covered_members"),
            request_id: value("request_id"),
            errors: BTreeMap::new(),
        }
        .with_fields()
    }

    fn with_fields(mut self) -> VersionForm {
        for name in VERSION_FIELDS {
            self.errors.entry(name.to_owned()).or_default();
        }
        self
    }

    /// The API's body: the fields left empty keep the previous version's value; a members
    /// count that is not a whole number is an error at its field.
    fn body(&self) -> Result<serde_json::Value, Vec<FieldError>> {
        let mut body = json!({ "effective_from": self.effective_from });
        if !self.name.is_empty() {
            body["name"] = json!(self.name);
        }
        if !self.contact.is_empty() {
            body["contact"] = json!(self.contact);
        }
        if !self.covered_members.is_empty() {
            match self.covered_members.parse::<i64>() {
                Ok(members) => body["covered_members"] = json!(members),
                Err(_) => {
                    return Err(vec![FieldError::new(
                        "covered_members",
                        "must be a whole number",
                    )]);
                }
            }
        }
        Ok(body)
    }

    fn place(&mut self, errors: &[FieldError]) {
        for error in errors {
            let name = error.field.split('.').next().unwrap_or_default();
            let name = if VERSION_FIELDS.contains(&name) {
                name
            } else {
                "effective_from"
            };
            self.errors
                .entry(name.to_owned())
                .or_default()
                .push(error.message.clone());
        }
    }
}

/// Refuses whoever may not change organisations: these pages are the network's.
fn network_only(visit: &Visit) -> Result<(), AppError> {
    ledger_app::policy::require(Operation::ChangeOrganisation, visit.caller())
}

async fn list(visit: Visit) -> Response {
    if let Err(error) = network_only(&visit) {
        return visit.refused(&error);
    }
    let page = PageQuery {
        limit: Some(LISTED_ORGANISATIONS),
        cursor: None,
    };
    match visit
        .portal
        .app
        .query(visit.caller(), ListOrganisations(page))
        .await
    {
        Ok(page) => visit.page(
            StatusCode::OK,
            "portal_network_organisations.html",
            context! { organisations => Value::from_serialize(&page.items) },
        ),
        Err(error) => visit.refused(&error),
    }
}

/// An organisation's page with `form` (or an empty one).
async fn render(
    visit: &Visit,
    id: &str,
    status: StatusCode,
    form: Option<VersionForm>,
) -> Response {
    if let Err(error) = network_only(visit) {
        return visit.refused(&error);
    }
    let (portal, caller) = (&visit.portal, visit.caller());
    let organisation = match portal
        .app
        .query(caller, ReadOrganisation(id.to_owned()))
        .await
    {
        Ok(organisation) => organisation,
        Err(error) => return visit.refused(&error),
    };
    let history = match portal
        .app
        .query(caller, OrganisationHistory(id.to_owned()))
        .await
    {
        Ok(history) => history,
        Err(error) => return visit.refused(&error),
    };
    let form = form.unwrap_or_else(|| {
        VersionForm {
            request_id: portal.app.sources.id().to_string(),
            ..VersionForm::default()
        }
        .with_fields()
    });
    visit.page(
        status,
        "portal_network_organisation.html",
        context! {
            organisation => Value::from_serialize(&organisation),
            history => Value::from_serialize(&history),
            form => Value::from_serialize(&form),
        },
    )
}

async fn organisation(Path(id): Path<String>, visit: Visit) -> Response {
    render(&visit, &id, StatusCode::OK, None).await
}

/// Adds a version with the API's command: the organisation's page on success, the form with its
/// errors at their fields otherwise (nothing recorded).
async fn add_version(Path(id): Path<String>, SignedForm { visit, fields }: SignedForm) -> Response {
    let mut form = VersionForm::read(&fields);
    let invalid = |mut form: VersionForm, errors: &[FieldError]| {
        form.place(errors);
        form
    };
    let body = match form.body() {
        Ok(body) => body,
        Err(errors) => {
            let form = invalid(form, &errors);
            return render(&visit, &id, StatusCode::UNPROCESSABLE_ENTITY, Some(form)).await;
        }
    };
    let parsed = match serde_json::from_value::<ChangeOrganisationBody>(body.clone()) {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::error!(%error, "the version form built a body the command does not read");
            return visit.refused(&AppError::internal(error));
        }
    };
    let target = format!("POST\n/portal/network/organisations/{id}");
    let Some(key) = super::form_key(&form.request_id, &target, &body) else {
        return visit.keep(super::bad_form(&visit.headers, &visit.uri));
    };
    let command = ChangeOrganisation {
        id: id.clone(),
        body: parsed,
    };
    match visit.portal.app.run(visit.caller(), &key, command).await {
        Ok(_) => visit.see_other(&format!("/portal/network/organisations/{id}")),
        Err(error) if error.refusal == Refusal::Invalid => {
            form.place(&error.errors);
            render(&visit, &id, StatusCode::UNPROCESSABLE_ENTITY, Some(form)).await
        }
        Err(error) => visit.refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_keep_the_previous_version_and_errors_find_their_field() {
        // Proves the form sends only what was typed, refuses a members count that is not a
        // number at its field, and places the command's errors at theirs.
        let fields: Fields = [
            ("effective_from", " 2027-01-01 "),
            ("name", ""),
            ("contact", "Awa, +226 70 00 00 00"),
            ("covered_members", "6500"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        let form = VersionForm::read(&fields);
        let body = form.body().unwrap_or_default();
        assert_eq!(
            body,
            json!({"effective_from": "2027-01-01", "contact": "Awa, +226 70 00 00 00",
                   "covered_members": 6500})
        );
        let mut form = VersionForm {
            covered_members: "many".to_owned(),
            ..VersionForm::default()
        }
        .with_fields();
        let errors = form.body().err().unwrap_or_default();
        form.place(&errors);
        form.place(&[FieldError::new("fee_schedule.fixed", "is wrong")]);
        assert_eq!(form.errors["covered_members"], ["must be a whole number"]);
        assert_eq!(form.errors["effective_from"], ["is wrong"]);
        assert!(form.errors["name"].is_empty());
    }
}
