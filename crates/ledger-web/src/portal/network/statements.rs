//! The bank's statements (issue 21 item 4, on issue 19's imports): the imported camt.053
//! statements and the upload of a new one (`ImportStatement`, the API's command: one file, one
//! commit, the same statement again answering the first import), a statement with every entry
//! and what became of it, and the unmatched lines to decide, each with the batches it might pay:
//! assigned to a batch (`AssignStatementEntry`, the receipt command) or marked not ours with a
//! reason (`DismissStatementEntry`). Every page runs the API's queries as the signed-in caller,
//! so whoever the API refuses (a union, a mutual) gets the 403 page; an auditor reads them, and
//! is offered no form, as the API would refuse its writes.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use ledger_app::bank_statements::{
    AssignStatementEntry, AssignmentBody, BankStatementView, CountUnmatchedLines,
    DismissStatementEntry, DismissalBody, EntryListQuery, ImportStatement, ListStatementEntries,
    ListStatements, MAX_STATEMENT_BYTES, ReadStatement, ReadStatementEntry,
};
use ledger_app::contributions::ReadBatch;
use ledger_app::pagination::{ListOrder, OrderedPageQuery};
use ledger_app::{AppError, Operation, Refusal, Reply};
use minijinja::{Value, context};
use serde_json::json;

use super::super::Portal;
use super::super::visit::{SignedForm, SignedUpload, Visit};
use super::{bad_form, form_key};

/// Statements per page of the list (the newest first).
const STATEMENTS_PER_PAGE: u32 = 50;
/// Unmatched lines per page to decide (the oldest first: the ones waiting longest); each comes
/// with its forms and proposals.
const LINES_PER_PAGE: u32 = 100;
/// The page of the unmatched lines (a refused decision shows it again at the page it was on).
const LINES_PATH: &str = "/portal/network/statement-lines";
/// The query string of a statement's page when an upload was that statement again.
const IMPORTED_BEFORE: &str = "imported=before";

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/network/statements", get(statements).post(upload))
        .route("/portal/network/statements/{id}", get(statement))
        .route(LINES_PATH, get(lines))
        .route(
            "/portal/network/statement-lines/{id}/assignment",
            post(assign),
        )
        .route(
            "/portal/network/statement-lines/{id}/not-ours",
            post(dismiss),
        )
}

/// Whether the visitor may run `operation` (to offer its form only to those the command accepts).
fn may(operation: Operation, visit: &Visit) -> bool {
    ledger_app::policy::require(operation, visit.caller()).is_ok()
}

/// What a refused upload shows at the file field: a message key, the element path the import
/// names and its words.
#[derive(Debug, Default, serde::Serialize)]
struct UploadProblem {
    key: String,
    element: String,
    detail: String,
}

impl UploadProblem {
    fn of(error: &AppError) -> UploadProblem {
        match error.errors.first() {
            Some(refusal) if error.refusal == Refusal::Invalid => UploadProblem {
                key: "statements-error-file".to_owned(),
                element: refusal.field.clone(),
                detail: refusal.message.clone(),
            },
            _ => UploadProblem {
                key: "statements-error-refused".to_owned(),
                element: String::new(),
                detail: error.detail.clone(),
            },
        }
    }
}

/// A statement as listed: the import and how many of its lines await a decision.
#[derive(Debug, serde::Serialize)]
struct Listed {
    statement: BankStatementView,
    unmatched: u64,
}

/// The statements' page (the visit's page of them, the newest first), with the upload form and
/// `problem` at its file field; the unmatched lines are counted, all of them.
async fn render_list(visit: &Visit, status: StatusCode, problem: UploadProblem) -> Response {
    let portal = &visit.portal;
    let listed = ListStatements(OrderedPageQuery {
        limit: Some(STATEMENTS_PER_PAGE),
        cursor: visit.cursor(),
        order: Some(ListOrder::NewestFirst),
    });
    let page = match portal.app.query(visit.caller(), listed).await {
        Ok(page) => page,
        Err(error) => return visit.refused(&error),
    };
    let unmatched = match portal.app.query(visit.caller(), CountUnmatchedLines).await {
        Ok(unmatched) => unmatched,
        Err(error) => return visit.refused(&error),
    };
    let paging = visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref());
    let listed: Vec<Listed> = page
        .items
        .into_iter()
        .map(|statement| Listed {
            unmatched: unmatched
                .by_statement
                .get(&statement.id)
                .copied()
                .unwrap_or_default(),
            statement,
        })
        .collect();
    visit.page(
        status,
        "portal_network_statements.html",
        context! {
            statements => Value::from_serialize(&listed),
            paging => paging,
            unmatched_total => unmatched.total,
            may_import => may(Operation::ImportBankStatement, visit),
            request_id => portal.app.sources.id().to_string(),
            max_megabytes => MAX_STATEMENT_BYTES / (1024 * 1024),
            problem => Value::from_serialize(&problem),
        },
    )
}

async fn statements(visit: Visit) -> Response {
    render_list(&visit, StatusCode::OK, UploadProblem::default()).await
}

/// The page of the import a stored answer names; marked "imported before" when that answer was
/// the first import's (the API's 200).
fn statement_location(id: &str, imported_before: bool) -> String {
    if imported_before {
        format!("/portal/network/statements/{id}?{IMPORTED_BEFORE}")
    } else {
        format!("/portal/network/statements/{id}")
    }
}

/// Imports an uploaded camt.053 file with the API's command, under the form's one-off request
/// id (the key's request is the file's digest, as at the API): its statement's page on success;
/// the list with the problem at the file field otherwise (422, or 413 for a file over the limit),
/// nothing written.
async fn upload(SignedUpload { visit, upload }: SignedUpload) -> Response {
    let refuse = |status: StatusCode, problem: UploadProblem| render_list(&visit, status, problem);
    if upload.file.bytes.is_empty() {
        let problem = UploadProblem {
            key: "statements-error-no-file".to_owned(),
            ..UploadProblem::default()
        };
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, problem).await;
    }
    if upload.file.bytes.len() > MAX_STATEMENT_BYTES {
        let problem = UploadProblem {
            key: "statements-error-too-large".to_owned(),
            ..UploadProblem::default()
        };
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, problem).await;
    }
    let command = ImportStatement {
        document: upload.file.bytes,
    };
    let body = json!({ "document_sha256": command.document_sha256() });
    let request_id = super::super::field(&upload.fields, "request_id").unwrap_or_default();
    let Some(key) = form_key(request_id, "POST\n/portal/network/statements", &body) else {
        return visit.keep(bad_form(&visit.headers, &visit.uri));
    };
    match visit.portal.app.run(visit.caller(), &key, command).await {
        Ok(Reply::Done { status, output, .. }) => {
            let before = matches!(status, ledger_app::Status::Done);
            visit.see_other(&statement_location(
                &output.statement.id.to_string(),
                before,
            ))
        }
        Ok(Reply::Replayed(stored)) => visit.see_other(&statement_location(
            &super::replayed_id(&stored.response_body, "id"),
            stored.response_status == 200,
        )),
        Err(error) if matches!(error.refusal, Refusal::Invalid | Refusal::Conflict) => {
            let status = if error.refusal == Refusal::Invalid {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            refuse(status, UploadProblem::of(&error)).await
        }
        Err(error) => visit.refused(&error),
    }
}

/// One statement with every entry.
async fn statement(Path(id): Path<String>, visit: Visit) -> Response {
    let detail = match visit
        .portal
        .app
        .query(visit.caller(), ReadStatement(id))
        .await
    {
        Ok(detail) => detail,
        Err(error) => return visit.refused(&error),
    };
    let unmatched = detail
        .entries
        .iter()
        .filter(|entry| entry.status == "unmatched")
        .count();
    visit.page(
        StatusCode::OK,
        "portal_network_statement.html",
        context! {
            statement => Value::from_serialize(&detail),
            unmatched => unmatched,
            imported_before => visit.uri.query() == Some(IMPORTED_BEFORE),
        },
    )
}

/// A batch proposed for a line, as the decider needs to tell it: its union and period.
#[derive(Debug, Default, serde::Serialize)]
struct BatchLabel {
    union: String,
    period: String,
}

/// What a refused decision shows at its line: which form, at which field, and what was typed.
#[derive(Debug, Default, serde::Serialize)]
struct LineProblem {
    entry: String,
    /// `assignment` or `not-ours`.
    form: String,
    /// `batch_id`, `reason` or `form` (the form as a whole).
    field: String,
    key: String,
    detail: String,
    batch_id: String,
    other_batch_id: String,
    reason: String,
}

/// The lines to decide, each with its proposals named, and `problem` at its line's form (or at
/// the top when its line is no longer listed: decided meanwhile).
async fn render_lines(visit: &Visit, status: StatusCode, problem: LineProblem) -> Response {
    let portal = &visit.portal;
    let caller = visit.caller();
    let listed = ListStatementEntries(EntryListQuery {
        status: Some("unmatched".to_owned()),
        limit: Some(LINES_PER_PAGE),
        cursor: visit.cursor(),
    });
    let (lines, paging) = match portal.app.query(caller, listed).await {
        Ok(page) => (
            page.items,
            visit.paging_at(
                LINES_PATH,
                ListOrder::OldestFirst,
                page.next_cursor.as_deref(),
            ),
        ),
        Err(error) => return visit.refused(&error),
    };
    let proposed: BTreeSet<String> = lines
        .iter()
        .flat_map(|line| {
            line.proposals
                .iter()
                .map(|proposal| proposal.batch_id.to_string())
        })
        .collect();
    let mut labels: BTreeMap<String, BatchLabel> = BTreeMap::new();
    if !proposed.is_empty() {
        let organisations = match visit.organisations().await {
            Ok(organisations) => organisations,
            Err(error) => return visit.refused(&error),
        };
        for batch_id in proposed {
            let batch = match portal.app.query(caller, ReadBatch(batch_id.clone())).await {
                Ok(detail) => detail.batch,
                Err(error) => return visit.refused(&error),
            };
            let union = organisations
                .iter()
                .find(|organisation| organisation.id == batch.contributor_id)
                .map_or_else(
                    || batch.contributor_id.to_string(),
                    |organisation| organisation.name.clone(),
                );
            labels.insert(
                batch_id,
                BatchLabel {
                    union,
                    period: batch.period,
                },
            );
        }
    }
    let problem_listed = lines
        .iter()
        .any(|line| line.id.to_string() == problem.entry);
    visit.page(
        status,
        "portal_network_statement_lines.html",
        context! {
            lines => Value::from_serialize(&lines),
            paging => paging,
            cursor => visit.cursor(),
            batches => Value::from_serialize(&labels),
            may_decide => may(Operation::AssignStatementEntry, visit),
            request_id => portal.app.sources.id().to_string(),
            problem => Value::from_serialize(&problem),
            problem_listed => problem_listed,
        },
    )
}

async fn lines(visit: Visit) -> Response {
    render_lines(&visit, StatusCode::OK, LineProblem::default()).await
}

/// The message key of a refused decision and the field it belongs at.
fn problem_of(error: &AppError) -> (&'static str, &'static str, String) {
    if let Some(refusal) = error.errors.first() {
        let (field, key) = match refusal.field.as_str() {
            "batch_id" => ("batch_id", "statements-error-batch"),
            "reason" => ("reason", "statements-error-reason"),
            "amount" => ("batch_id", "statements-error-amount"),
            _ => ("form", "statements-error-other"),
        };
        return (field, key, refusal.message.clone());
    }
    let key = match error.code {
        "entry_already_decided" | "entry_not_unmatched" => "statements-error-decided",
        "entry_not_a_credit" => "statements-error-not-a-credit",
        _ => "error-conflict",
    };
    ("form", key, error.detail.clone())
}

/// The status of the page showing a refused decision.
fn status_of(error: &AppError) -> StatusCode {
    match error.refusal {
        Refusal::Invalid | Refusal::NotFound => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

/// Runs a decision on line `entry`: back to the lines on success; the lines with the refusal at
/// the line's form otherwise (422 or 409), nothing written.
async fn decide(entry: String, form: SignedForm, assigning: bool) -> Response {
    let visit = &form.visit;
    let portal = &visit.portal;
    let typed = |name: &str| form.field(name).unwrap_or_default().trim().to_owned();
    let (other_batch_id, chosen, reason) =
        (typed("other_batch_id"), typed("batch_id"), typed("reason"));
    // A batch typed by hand is the one meant, over a proposal left selected.
    let batch_id = if other_batch_id.is_empty() {
        chosen.clone()
    } else {
        other_batch_id.clone()
    };
    let overpayment = form.field("overpayment") == Some("true");
    let (form_name, body) = if assigning {
        (
            "assignment",
            json!({ "batch_id": batch_id, "overpayment": overpayment }),
        )
    } else {
        ("not-ours", json!({ "reason": reason }))
    };
    let target = format!("POST\n/portal/network/statement-lines/{entry}/{form_name}");
    let Some(key) = form_key(form.field("request_id").unwrap_or_default(), &target, &body) else {
        return visit.keep(bad_form(&visit.headers, &visit.uri));
    };
    let caller = visit.caller();
    let answer = if assigning {
        let command = AssignStatementEntry {
            entry: entry.clone(),
            body: AssignmentBody {
                batch_id,
                overpayment,
            },
        };
        portal.app.run(caller, &key, command).await.map(|_| ())
    } else {
        let command = DismissStatementEntry {
            entry: entry.clone(),
            body: DismissalBody {
                reason: reason.clone(),
            },
        };
        portal.app.run(caller, &key, command).await.map(|_| ())
    };
    let error = match answer {
        Ok(()) => return visit.see_other(&visit.page_at(LINES_PATH)),
        Err(error) => error,
    };
    let (field, key, detail) = match error.refusal {
        Refusal::Invalid | Refusal::Conflict => problem_of(&error),
        // The line exists: what was not found is the batch typed.
        Refusal::NotFound
            if assigning
                && portal
                    .app
                    .query(caller, ReadStatementEntry(entry.clone()))
                    .await
                    .is_ok() =>
        {
            (
                "batch_id",
                "statements-error-unknown-batch",
                error.detail.clone(),
            )
        }
        _ => return visit.refused(&error),
    };
    let problem = LineProblem {
        entry,
        form: form_name.to_owned(),
        field: field.to_owned(),
        key: key.to_owned(),
        detail,
        batch_id: chosen,
        other_batch_id,
        reason,
    };
    render_lines(visit, status_of(&error), problem).await
}

async fn assign(Path(entry): Path<String>, form: SignedForm) -> Response {
    decide(entry, form, true).await
}

async fn dismiss(Path(entry): Path<String>, form: SignedForm) -> Response {
    decide(entry, form, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_decision_is_placed_at_its_field() {
        // Proves each refusal of a decision goes to the field it is about (a batch id that is
        // none, an amount above what the batch owes, an empty reason) and a decided line's
        // conflict to the form as a whole, with the command's words.
        let invalid = AppError::invalid_field("batch_id", "is not a batch id");
        assert_eq!(
            problem_of(&invalid),
            (
                "batch_id",
                "statements-error-batch",
                "is not a batch id".to_owned()
            )
        );
        let amount = AppError::invalid_field("amount", "exceeds what is still due (400.00)");
        assert_eq!(problem_of(&amount).1, "statements-error-amount");
        assert_eq!(problem_of(&amount).0, "batch_id");
        let reason = AppError::invalid_field("reason", "is required");
        assert_eq!(problem_of(&reason).0, "reason");
        let decided = AppError::conflict("entry_already_decided", "decided already (not_ours)");
        assert_eq!(
            problem_of(&decided),
            (
                "form",
                "statements-error-decided",
                "decided already (not_ours)".to_owned()
            )
        );
        assert_eq!(status_of(&decided), StatusCode::CONFLICT);
        assert_eq!(status_of(&reason), StatusCode::UNPROCESSABLE_ENTITY);
        let hostile = AppError::invalid_field("Document", "a document type declaration");
        let shown = UploadProblem::of(&hostile);
        assert_eq!(
            (shown.key.as_str(), shown.element.as_str()),
            ("statements-error-file", "Document")
        );
    }
}
