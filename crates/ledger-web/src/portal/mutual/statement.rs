//! The mutual's printable statement in its own currency (XOF, CDF…, the API's default for a
//! beneficiary): opening balance, every movement with its running balance, closing balance, over
//! a range of value dates chosen with a plain GET form. The print stylesheet (`@media print` in
//! site.css) leaves out the navigation and forms, prints black on white and starts each section
//! on a new page.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use ledger_app::Refusal;
use ledger_app::statements::{GetStatement, StatementQuery};
use minijinja::{Value, context};

use super::{Problem, no_problems, own_id, own_organisation};
use crate::portal::visit::Visit;

/// The range asked for (empty: the API's defaults, the fund's first day to today).
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The statement page (the range's refused dates are shown at their fields, 422).
pub(crate) async fn statement(Query(range): Query<Range>, visit: Visit) -> Response {
    let organisation = match own_organisation(&visit).await {
        Ok(organisation) => organisation,
        Err(error) => return visit.refused(&error),
    };
    let query = GetStatement {
        id: own_id(&visit),
        query: StatementQuery {
            from: given(&range.from),
            to: given(&range.to),
            currency: None,
        },
    };
    let mut errors = no_problems(&["from", "to"]);
    let (status, statement) = match visit.portal.app.query(visit.caller(), query).await {
        Ok(statement) => (StatusCode::OK, Some(statement)),
        Err(error) if error.refusal == Refusal::Invalid => {
            for refusal in &error.errors {
                let name = if refusal.field == "from" {
                    "from"
                } else {
                    "to"
                };
                errors.entry(name.to_owned()).or_default().push(Problem {
                    key: "mutual-statement-error-date",
                    detail: refusal.message.clone(),
                });
            }
            (StatusCode::UNPROCESSABLE_ENTITY, None)
        }
        Err(error) => return visit.refused(&error),
    };
    visit.page(
        status,
        "portal_mutual_statement.html",
        context! {
            organisation => Value::from_serialize(&organisation),
            statement => Value::from_serialize(&statement),
            range => Value::from_serialize(&range),
            errors => Value::from_serialize(&errors),
        },
    )
}
