//! The mutual's home (its transfers: status, amount, reference, date) and a transfer's page with
//! the confirmation form: what arrived in the mutual's currency, the value date and bank
//! reference of its statement, and the fees intermediaries deducted. The API's command decides
//! what follows: settled, a top-up from fee coverage for a shortfall within the allowance, or a
//! claim recorded for the network's review (disputed) beyond it.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use ledger_app::disputes::ListDisputes;
use ledger_app::pagination::ListOrder;
use ledger_app::transfers::TransferView;
use ledger_app::transfers::confirmation::{ConfirmReceipt, ConfirmTransfer};
use ledger_app::transfers::listing::{ListTransfers, ReadTransfer, TransferListQuery};
use ledger_app::{AppError, Refusal};
use minijinja::{Value, context};
use serde_json::json;

use super::{Problem, Problems, no_problems, own_organisation, run_form};
use crate::portal::visit::{SignedForm, Visit};
use crate::portal::{Fields, field};

/// Transfers listed on the home page (the newest).
const LISTED_TRANSFERS: u32 = 100;

/// The confirmation form's fields.
const CONFIRM_FIELDS: [&str; 5] = [
    "received",
    "value_date",
    "bank_reference",
    "fees_deducted",
    "form",
];

/// The confirmation form as typed, with its problems.
#[derive(Debug, serde::Serialize)]
struct ConfirmForm {
    received: String,
    value_date: String,
    bank_reference: String,
    fees_deducted: String,
    request_id: String,
    errors: Problems,
}

impl ConfirmForm {
    fn empty(request_id: String) -> ConfirmForm {
        ConfirmForm {
            received: String::new(),
            value_date: String::new(),
            bank_reference: String::new(),
            fees_deducted: String::new(),
            request_id,
            errors: no_problems(&CONFIRM_FIELDS),
        }
    }

    fn read(fields: &Fields) -> ConfirmForm {
        let value = |name: &str| field(fields, name).unwrap_or_default().trim().to_owned();
        ConfirmForm {
            received: value("received"),
            value_date: value("value_date"),
            bank_reference: value("bank_reference"),
            fees_deducted: value("fees_deducted"),
            request_id: value("request_id"),
            errors: no_problems(&CONFIRM_FIELDS),
        }
    }

    /// The body `POST /v1/transfers/{id}/confirmation` would receive, in `currency`.
    fn body(&self, currency: &str) -> serde_json::Value {
        let mut body = json!({
            "received": {"amount": self.received, "currency": currency},
            "value_date": self.value_date,
            "bank_reference": self.bank_reference,
        });
        if !self.fees_deducted.is_empty() {
            body["fees_deducted"] = json!({"amount": self.fees_deducted, "currency": currency});
        }
        body
    }

    /// Places the command's field errors at the fields of the form.
    fn place(&mut self, error: &AppError) {
        for refusal in &error.errors {
            let (name, key) = match refusal.field.split('.').next().unwrap_or_default() {
                "received" => ("received", "mutual-error-received"),
                "value_date" => ("value_date", "mutual-error-value-date"),
                "bank_reference" => ("bank_reference", "mutual-error-bank-reference"),
                "fees_deducted" => ("fees_deducted", "mutual-error-fees"),
                _ => ("form", "mutual-error-other"),
            };
            self.errors
                .entry(name.to_owned())
                .or_default()
                .push(Problem {
                    key,
                    detail: refusal.message.clone(),
                });
        }
        if error.errors.is_empty() {
            self.errors
                .entry("form".to_owned())
                .or_default()
                .push(Problem {
                    key: "mutual-error-other",
                    detail: error.detail.clone(),
                });
        }
    }
}

/// The mutual's home: its transfers, newest first.
pub(crate) async fn home(visit: Visit) -> Response {
    let query = TransferListQuery {
        status: None,
        beneficiary_id: None,
        run_id: None,
        limit: Some(LISTED_TRANSFERS),
        cursor: visit.cursor(),
        order: Some(ListOrder::NewestFirst),
    };
    let (transfers, paging) = match visit
        .portal
        .app
        .query(visit.caller(), ListTransfers(query))
        .await
    {
        Ok(page) => (
            page.items,
            visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref()),
        ),
        Err(error) => return visit.refused(&error),
    };
    let organisation = match own_organisation(&visit).await {
        Ok(organisation) => organisation,
        Err(error) => return visit.refused(&error),
    };
    let to_confirm = transfers
        .iter()
        .filter(|transfer| transfer.status == "pending")
        .count();
    visit.page(
        StatusCode::OK,
        "portal_mutual_home.html",
        context! {
            organisation => Value::from_serialize(&organisation),
            transfers => Value::from_serialize(&transfers),
            paging => paging,
            to_confirm => to_confirm,
        },
    )
}

/// A transfer's page with `form` (or an empty one when it awaits confirmation) and `status`.
async fn render_transfer(
    visit: &Visit,
    status: StatusCode,
    transfer: &TransferView,
    form: Option<ConfirmForm>,
) -> Response {
    let portal = &visit.portal;
    let disputes = match portal
        .app
        .query(
            visit.caller(),
            ListDisputes {
                transfer_id: transfer.id.to_string(),
            },
        )
        .await
    {
        Ok(list) => list.items,
        Err(error) => return visit.refused(&error),
    };
    let form = form.unwrap_or_else(|| ConfirmForm::empty(portal.app.sources.id().to_string()));
    visit.page(
        status,
        "portal_mutual_transfer.html",
        context! {
            transfer => Value::from_serialize(transfer),
            disputes => Value::from_serialize(&disputes),
            form => Value::from_serialize(&form),
            today => portal.app.sources.today().map(|today| today.to_string()).unwrap_or_default(),
        },
    )
}

/// A transfer's page (another mutual's transfer: 404, as in the API).
pub(crate) async fn transfer(Path(id): Path<String>, visit: Visit) -> Response {
    match visit
        .portal
        .app
        .query(visit.caller(), ReadTransfer { id })
        .await
    {
        Ok(transfer) => render_transfer(&visit, StatusCode::OK, &transfer, None).await,
        Err(error) => visit.refused(&error),
    }
}

/// Confirms what a transfer delivered with the API's command (in the mutual's currency, which the
/// transfer names); refused fields come back at their place with nothing written; done or
/// replayed (a double click), the transfer's page says where it stands.
pub(crate) async fn confirm(
    Path(id): Path<String>,
    SignedForm { visit, fields }: SignedForm,
) -> Response {
    let transfer = match visit
        .portal
        .app
        .query(visit.caller(), ReadTransfer { id: id.clone() })
        .await
    {
        Ok(transfer) => transfer,
        Err(error) => return visit.refused(&error),
    };
    let mut form = ConfirmForm::read(&fields);
    let body = form.body(&transfer.expected_local.currency);
    let target = format!("POST\n/portal/mutual/transfers/{}", transfer.id);
    let answer = run_form(
        &visit,
        &form.request_id,
        &target,
        &body,
        |body: ConfirmTransfer| ConfirmReceipt {
            transfer_id: transfer.id.to_string(),
            body,
        },
    )
    .await;
    match answer {
        Ok(()) => visit.see_other(&format!("/portal/mutual/transfers/{}", transfer.id)),
        Err(error) if error.refusal == Refusal::Invalid => {
            form.place(&error);
            render_transfer(
                &visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                &transfer,
                Some(form),
            )
            .await
        }
        Err(error) => visit.refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_form_becomes_the_apis_body_and_its_errors_go_to_their_fields() {
        // Proves empty fees are left out (the command's "not said"), typed fees are sent in the
        // transfer's currency, and the command's field paths are shown at the form's fields.
        let fields: Fields = [
            ("received", " 390000 "),
            ("value_date", "2026-10-02"),
            ("bank_reference", "BOA-1"),
            ("fees_deducted", ""),
            ("request_id", "r"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        let mut form = ConfirmForm::read(&fields);
        let body = form.body("XOF");
        assert_eq!(
            body["received"],
            json!({"amount": "390000", "currency": "XOF"})
        );
        assert!(body.get("fees_deducted").is_none());
        form.fees_deducted = "3574".to_owned();
        assert_eq!(form.body("XOF")["fees_deducted"]["currency"], "XOF");
        let error = AppError::validation(vec![
            ledger_app::FieldError::new("received.amount", "must be positive"),
            ledger_app::FieldError::new("fees_deducted.amount", "must not be negative"),
        ]);
        form.place(&error);
        assert_eq!(form.errors["received"][0].key, "mutual-error-received");
        assert_eq!(form.errors["fees_deducted"][0].key, "mutual-error-fees");
        assert!(form.errors["value_date"].is_empty());
    }
}
