//! Organisations and their versions (issue 21 item 4): the list, an organisation's page with the
//! version in force and its history (who changed what, when), and the form adding a version (the
//! API's `ChangeOrganisation`), whose refusals are shown at their fields.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use ledger_app::pagination::ListOrder;
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

/// Organisations per page of the list (the oldest registered first).
const ORGANISATIONS_PER_PAGE: u32 = 50;

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
    /// The expected bank fees per transfer (a beneficiary's): fixed EUR and a percentage.
    fee_fixed: String,
    fee_percent: String,
    /// The schedule in force when the form was shown (hidden fields): fee fields left as they
    /// were prefilled change nothing, so a version that changes only a name records no schedule.
    fee_fixed_was: String,
    fee_percent_was: String,
    request_id: String,
    errors: BTreeMap<String, Vec<String>>,
}

const VERSION_FIELDS: [&str; 6] = [
    "effective_from",
    "name",
    "contact",
    "covered_members",
    "fee_fixed",
    "fee_percent",
];

impl VersionForm {
    fn read(fields: &Fields) -> VersionForm {
        let value = |name: &str| field(fields, name).unwrap_or_default().trim().to_owned();
        VersionForm {
            effective_from: value("effective_from"),
            name: value("name"),
            contact: value("contact"),
            covered_members: value("covered_members"),
            fee_fixed: value("fee_fixed"),
            fee_percent: value("fee_percent"),
            fee_fixed_was: value("fee_fixed_was"),
            fee_percent_was: value("fee_percent_was"),
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

    /// The API's body: the fields left empty keep the previous version's value (both fee fields
    /// empty, or both as prefilled from the schedule in force: that schedule is kept; otherwise
    /// both are sent, as typed, for the command to judge); a members count that is not a whole
    /// number is an error at its field.
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
        let typed = (self.fee_fixed.as_str(), self.fee_percent.as_str());
        let prefilled = (self.fee_fixed_was.as_str(), self.fee_percent_was.as_str());
        if typed != ("", "") && typed != prefilled {
            body["fee_schedule"] = json!({ "fixed": self.fee_fixed, "percent": self.fee_percent });
        }
        Ok(body)
    }

    /// The form's field for an error's path: `fee_schedule.fixed` is `fee_fixed`, a fee schedule
    /// refused whole is shown at its first field, anything else unknown at the date.
    fn field_of(path: &str) -> &str {
        match path {
            "fee_schedule.fixed" | "fee_schedule" => "fee_fixed",
            "fee_schedule.percent" => "fee_percent",
            _ => {
                let name = path.split('.').next().unwrap_or_default();
                if VERSION_FIELDS.contains(&name) {
                    name
                } else {
                    "effective_from"
                }
            }
        }
    }

    fn place(&mut self, errors: &[FieldError]) {
        for error in errors {
            let name = VersionForm::field_of(&error.field);
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

/// The organisations, a page at a time.
async fn list(visit: Visit) -> Response {
    if let Err(error) = network_only(&visit) {
        return visit.refused(&error);
    }
    let listed = ListOrganisations(PageQuery {
        limit: Some(ORGANISATIONS_PER_PAGE),
        cursor: visit.cursor(),
    });
    match visit.portal.app.query(visit.caller(), listed).await {
        Ok(page) => visit.page(
            StatusCode::OK,
            "portal_network_organisations.html",
            context! {
                organisations => Value::from_serialize(&page.items),
                paging => visit.paging(ListOrder::OldestFirst, page.next_cursor.as_deref()),
            },
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
    // The fee schedule in force, shown and the fee fields' starting values.
    let in_force = history
        .versions
        .iter()
        .find(|version| version.version == history.current_version)
        .and_then(|version| version.fee_schedule.as_ref());
    let form = form.unwrap_or_else(|| {
        let fee_fixed = in_force
            .map(|fee| fee.fixed.amount.clone())
            .unwrap_or_default();
        let fee_percent = in_force.map(|fee| fee.percent.clone()).unwrap_or_default();
        VersionForm {
            fee_fixed_was: fee_fixed.clone(),
            fee_percent_was: fee_percent.clone(),
            fee_fixed,
            fee_percent,
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
            fee_in_force => Value::from_serialize(in_force),
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
            ("fee_fixed", ""),
            ("fee_percent", ""),
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
        form.place(&[
            FieldError::new("fee_schedule.fixed", "is wrong"),
            FieldError::new("fee_schedule.percent", "is too much"),
            FieldError::new("registry", "is unknown"),
        ]);
        assert_eq!(form.errors["covered_members"], ["must be a whole number"]);
        assert_eq!(form.errors["fee_fixed"], ["is wrong"]);
        assert_eq!(form.errors["fee_percent"], ["is too much"]);
        assert_eq!(form.errors["effective_from"], ["is unknown"]);
        assert!(form.errors["name"].is_empty());
    }

    #[test]
    fn a_fee_schedule_is_sent_when_either_fee_field_is_given() {
        // Proves the fee fields become the API's `fee_schedule` as typed (the command judges
        // them), and that both left empty keep the schedule in force (nothing sent).
        let form = VersionForm {
            effective_from: "2027-01-01".to_owned(),
            fee_fixed: "12.50".to_owned(),
            fee_percent: "0.5".to_owned(),
            ..VersionForm::default()
        };
        assert_eq!(
            form.body().unwrap_or_default()["fee_schedule"],
            json!({"fixed": "12.50", "percent": "0.5"})
        );
        let form = VersionForm {
            fee_percent: "abc".to_owned(),
            ..form
        };
        assert_eq!(
            form.body().unwrap_or_default()["fee_schedule"],
            json!({"fixed": "12.50", "percent": "abc"})
        );
        let form = VersionForm {
            effective_from: "2027-01-01".to_owned(),
            ..VersionForm::default()
        };
        assert_eq!(form.body().unwrap_or_default().get("fee_schedule"), None);
    }

    #[test]
    fn fee_fields_left_as_prefilled_change_nothing() {
        // Proves a version form whose fee fields still hold the schedule in force (only the name
        // changed) sends no fee schedule, so the new version does not record it again, and that
        // a changed fee is sent.
        let form = VersionForm {
            effective_from: "2027-01-01".to_owned(),
            name: "MESP".to_owned(),
            fee_fixed: "15.00".to_owned(),
            fee_percent: "0.5".to_owned(),
            fee_fixed_was: "15.00".to_owned(),
            fee_percent_was: "0.5".to_owned(),
            ..VersionForm::default()
        };
        let body = form.body().unwrap_or_default();
        assert_eq!(body.get("fee_schedule"), None, "{body}");
        assert_eq!(body["name"], "MESP");
        let form = VersionForm {
            fee_fixed: "18.00".to_owned(),
            ..form
        };
        assert_eq!(
            form.body().unwrap_or_default()["fee_schedule"],
            json!({"fixed": "18.00", "percent": "0.5"})
        );
    }
}
