//! The network secretariat's pages (role `admin`, issue 21 item 4), at `/portal/network`: the
//! transfer runs (listed, planned with the API's plan command, each plan with its allocations,
//! its verdicts per mutual and its held funds), their execution under four eyes (the first
//! admin's request is kept as a proposal of `ledger_app::approvals`; another admin approves it,
//! which runs it; its proposer is told it cannot), the run's pain.001 payment file, and every
//! proposal awaiting a second admin. Every page runs the API's own queries and commands as the
//! signed-in caller, so a contributor or a mutual is refused them as the API refuses it.

mod facts;
mod held;
mod organisations;
mod people;
mod proposals;
mod statements;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ledger_app::approvals::{self, ListProposals, ProposalView};
use ledger_app::pagination::ListOrder;
use ledger_app::pagination::{Page, PageQuery};
use ledger_app::payment_files::GetPaymentFile;
use ledger_app::transfers::execution::{ExecuteRun, ExecuteTransferRun};
use ledger_app::transfers::runs::{CreateRun, ListTransferRuns, PlanTransferRun, ReadTransferRun};
use ledger_app::{AppError, IdempotencyKey, Operation, Refusal, Reply};
use minijinja::{Value, context};
use serde_json::json;

use super::session::SignedIn;
use super::visit::{SignedForm, Visit};
use super::{Fields, Portal, field, replayed_id};
use crate::i18n::negotiate;

/// Runs listed on the home page (the newest).
const LISTED_RUNS: u32 = 50;
/// Pending proposals per page of the home page (the oldest first).
const PROPOSALS_PER_PAGE: u32 = 50;
/// The query parameter of the home page's proposals' page (its runs' is the usual `cursor`).
const PROPOSALS_CURSOR: &str = "proposals";
/// Pending proposals read to find the one of a run (the network has a handful at a time).
const PROPOSALS_SEARCHED: u32 = 1000;

/// The network's pages.
pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route("/portal/network", get(home).post(plan))
        .route("/portal/network/runs/{id}", get(run))
        .route("/portal/network/runs/{id}/execution", post(execute))
        .route("/portal/network/runs/{id}/payment-file", get(payment_file))
        .route(
            "/portal/network/proposals/{id}/approval",
            post(proposals::approve),
        )
        .route(
            "/portal/network/proposals/{id}/rejection",
            post(proposals::reject),
        )
        .merge(facts::routes())
        .merge(organisations::routes())
        .merge(held::routes())
        .merge(people::routes())
        .merge(statements::routes())
}

/// A form's error at a field: a message key and the command's own words.
#[derive(Debug, serde::Serialize)]
struct FieldProblem {
    key: String,
    detail: String,
}

/// What a refused write shows: a sentence at the top (a message key, the names it is about) and
/// the errors at their fields.
#[derive(Debug, Default, serde::Serialize)]
struct Problem {
    key: String,
    names: String,
    detail: String,
    fields: BTreeMap<String, Vec<FieldProblem>>,
}

impl Problem {
    /// The problem to show for a refusal of a form: its field errors, or a sentence named after
    /// its code (`network-error-<code>`, or the generic conflict).
    fn of(error: &AppError) -> Problem {
        let mut problem = Problem {
            key: match error.code {
                "approval_by_proposer"
                | "proposal_decided"
                | "bank_account_missing"
                | "collection_account_missing"
                | "run_not_executed"
                | "payment_file_invalid"
                | "run_without_transfers"
                | "run_already_executed"
                | "run_stale"
                | "programme_rules_changed"
                | "nothing_to_execute" => format!("network-error-{}", error.code),
                _ if error.refusal == Refusal::Invalid => "network-form-refused".to_owned(),
                _ => "error-conflict".to_owned(),
            },
            detail: error.detail.clone(),
            ..Problem::default()
        };
        let mut names = Vec::new();
        for refusal in &error.errors {
            if let Some(name) = refusal.field.strip_prefix("beneficiaries.") {
                names.push(name.to_owned());
                continue;
            }
            let rate: Vec<&str> = refusal.field.splitn(3, '.').take(2).collect();
            let (name, key) = match rate.as_slice() {
                ["programme_id", ..] => ("programme_id".to_owned(), "network-error-programme"),
                ["period", ..] => ("period".to_owned(), "network-error-period"),
                ["rates", ..] => (rate.join("."), "network-error-rate"),
                _ => ("form".to_owned(), "batch-error-other"),
            };
            problem.fields.entry(name).or_default().push(FieldProblem {
                key: key.to_owned(),
                detail: refusal.message.clone(),
            });
        }
        problem.names = names.join(", ");
        problem
    }

    /// The fields a form shows, always present (the templates are strict).
    fn with_fields(mut self, names: &[&str]) -> Problem {
        for name in names {
            self.fields.entry((*name).to_owned()).or_default();
        }
        self
    }
}

/// The plan form as typed.
#[derive(Debug, Default, serde::Serialize)]
struct PlanForm {
    programme_id: String,
    period: String,
    request_id: String,
}

const PLAN_FIELDS: [&str; 3] = ["programme_id", "period", "form"];

/// A page of the proposals awaiting a second admin, the oldest first.
async fn pending_proposals(
    portal: &Portal,
    signed: &SignedIn,
    page: PageQuery,
) -> Result<Page<ProposalView>, AppError> {
    let listed = ListProposals {
        pending: true,
        page,
    };
    portal.app.query(&signed.caller, listed).await
}

/// The home page: the runs, the plan form (`form`, or an empty one) and the pending proposals.
async fn render_home(
    visit: &Visit,
    status: StatusCode,
    form: Option<PlanForm>,
    problem: Problem,
) -> Response {
    let (portal, signed) = (&visit.portal, &visit.signed);
    let caller = &signed.caller;
    let (runs, paging) = match portal
        .app
        .query(
            caller,
            ListTransferRuns(PageQuery {
                limit: Some(LISTED_RUNS),
                cursor: visit.cursor(),
            }),
        )
        .await
    {
        Ok(page) => (
            page.items,
            visit.paging(ListOrder::NewestFirst, page.next_cursor.as_deref()),
        ),
        Err(error) => return visit.refused(&error),
    };
    let (programmes, mut names) = match visit.programmes().await {
        Ok(found) => found,
        Err(error) => return visit.refused(&error),
    };
    for run in &runs {
        let id = run.programme_id.to_string();
        names.entry(id.clone()).or_insert(id);
    }
    let asked = PageQuery {
        limit: Some(PROPOSALS_PER_PAGE),
        cursor: visit.cursor_named(PROPOSALS_CURSOR),
    };
    let (proposals, proposals_paging) = match pending_proposals(portal, signed, asked).await {
        Ok(page) => (
            page.items,
            visit.paging_named(
                PROPOSALS_CURSOR,
                ListOrder::OldestFirst,
                page.next_cursor.as_deref(),
            ),
        ),
        Err(error) => return visit.refused(&error),
    };
    let form = form.unwrap_or_else(|| PlanForm {
        request_id: portal.app.sources.id().to_string(),
        ..PlanForm::default()
    });
    visit.page(
        status,
        "portal_network_home.html",
        context! {
            runs => Value::from_serialize(&runs),
            paging => paging,
            programmes => Value::from_serialize(&programmes),
            programme_names => Value::from_serialize(&names),
            proposals => Value::from_serialize(&proposals),
            proposals_paging => proposals_paging,
            me => caller.subject.clone(),
            form => Value::from_serialize(&form),
            problem => Value::from_serialize(problem.with_fields(&PLAN_FIELDS)),
        },
    )
}

async fn home(visit: Visit) -> Response {
    render_home(&visit, StatusCode::OK, None, Problem::default()).await
}

/// The idempotency key of a network form: its one-off request id (a hidden field); `None` when
/// the id was removed or mangled (answer [`bad_form`]).
pub(crate) fn form_key(
    request_id: &str,
    target: &str,
    body: &serde_json::Value,
) -> Option<IdempotencyKey> {
    IdempotencyKey::new(request_id, target, body.to_string().into_bytes()).ok()
}

/// The answer to a form whose request id was removed or mangled: 400, nothing done.
pub(crate) fn bad_form(headers: &HeaderMap, uri: &Uri) -> Response {
    super::error_page(
        StatusCode::BAD_REQUEST,
        "network-bad-form",
        negotiate(headers),
        uri,
    )
}

/// Plans a run with the API's command (recorded, not a dry run): its page on success; the form
/// with its errors at their fields otherwise, nothing recorded.
async fn plan(SignedForm { visit, fields }: SignedForm) -> Response {
    let form = PlanForm {
        programme_id: field(&fields, "programme_id")
            .unwrap_or_default()
            .to_owned(),
        period: field(&fields, "period")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        request_id: field(&fields, "request_id").unwrap_or_default().to_owned(),
    };
    let body = json!({
        "programme_id": form.programme_id,
        "period": form.period,
        "dry_run": false,
    });
    let command = CreateRun {
        programme_id: form.programme_id.clone(),
        period: form.period.clone(),
        dry_run: false,
        rates: BTreeMap::new(),
    };
    let Some(key) = form_key(&form.request_id, "POST\n/portal/network", &body) else {
        return visit.keep(bad_form(&visit.headers, &visit.uri));
    };
    match visit
        .portal
        .app
        .run(visit.caller(), &key, PlanTransferRun(command))
        .await
    {
        Ok(Reply::Done { output, .. }) => {
            let id = output.id.map(|id| id.to_string()).unwrap_or_default();
            visit.see_other(&format!("/portal/network/runs/{id}"))
        }
        Ok(Reply::Replayed(stored)) => visit.see_other(&format!(
            "/portal/network/runs/{}",
            replayed_id(&stored.response_body, "id")
        )),
        Err(error) if error.refusal == Refusal::Invalid => {
            render_home(
                &visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form),
                Problem::of(&error),
            )
            .await
        }
        Err(error) => visit.refused(&error),
    }
}

/// A run's page: its plan, where it stands, the proposal of its execution if one awaits, and
/// `problem` (what a refused form or file said).
async fn render_run(visit: &Visit, id: &str, status: StatusCode, problem: Problem) -> Response {
    let (portal, signed) = (&visit.portal, &visit.signed);
    let caller = &signed.caller;
    let run = match portal
        .app
        .query(caller, ReadTransferRun { id: id.to_owned() })
        .await
    {
        Ok(run) => run,
        Err(error) => return visit.refused(&error),
    };
    let (_, names) = match visit.programmes().await {
        Ok(found) => found,
        Err(error) => return visit.refused(&error),
    };
    let execute = Operation::ExecuteTransferRun.name();
    let searched = PageQuery {
        limit: Some(PROPOSALS_SEARCHED),
        cursor: None,
    };
    let proposal = match pending_proposals(portal, signed, searched).await {
        Ok(page) => page.items.into_iter().find(|proposal| {
            proposal.operation == execute
                && proposal.targets.first().map(String::as_str) == Some(id)
        }),
        Err(error) => return visit.refused(&error),
    };
    let programme = names
        .get(&run.programme_id.to_string())
        .cloned()
        .unwrap_or_else(|| run.programme_id.to_string());
    let rate_fields: Vec<String> = run
        .missing_rates
        .iter()
        .map(|code| format!("rates.{code}"))
        .collect();
    let rate_names: Vec<&str> = rate_fields.iter().map(String::as_str).collect();
    visit.page(
        status,
        "portal_network_run.html",
        context! {
            run => Value::from_serialize(&run),
            run_id => id,
            programme => programme,
            proposal => Value::from_serialize(&proposal),
            mine => proposal.as_ref().is_some_and(|proposal| proposal.proposed_by == caller.subject),
            four_eyes => portal.app.needs_approval(Operation::ExecuteTransferRun),
            request_id => portal.app.sources.id().to_string(),
            problem => Value::from_serialize(problem.with_fields(&rate_names)),
        },
    )
}

async fn run(Path(id): Path<String>, visit: Visit) -> Response {
    render_run(&visit, &id, StatusCode::OK, Problem::default()).await
}

/// The status of the page showing a refused form.
fn status_of(error: &AppError) -> StatusCode {
    match error.refusal {
        Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

/// Whether a refusal is shown on the form's own page (a conflict or field errors) rather than
/// as an error page.
fn shown_on_page(error: &AppError) -> bool {
    matches!(error.refusal, Refusal::Invalid | Refusal::Conflict)
}

/// The rates the execution form gives (`rate_<CODE>` and `source_<CODE>`), as the API's body.
fn execution_body(fields: &Fields) -> serde_json::Value {
    let mut rates = serde_json::Map::new();
    for (name, value) in fields {
        if let Some(code) = name.strip_prefix("rate_") {
            let source = field(fields, &format!("source_{code}")).unwrap_or_default();
            rates.insert(
                code.to_owned(),
                json!({"rate": value.trim(), "source": source.trim()}),
            );
        }
    }
    if rates.is_empty() {
        json!({})
    } else {
        json!({ "rates": rates })
    }
}

/// Executes a planned run, or, when a second admin must approve it (the service's default),
/// keeps the request as a proposal: back to the run's page either way.
async fn execute(Path(id): Path<String>, SignedForm { visit, fields }: SignedForm) -> Response {
    let portal = &visit.portal;
    let body = execution_body(&fields);
    let parsed = match serde_json::from_value::<ExecuteRun>(body.clone()) {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::error!(%error, "the execution form built a body the command does not read");
            return visit.refused(&AppError::internal(error));
        }
    };
    let request_id = field(&fields, "request_id").unwrap_or_default();
    let target = format!("POST\n/portal/network/runs/{id}/execution");
    let Some(key) = form_key(request_id, &target, &body) else {
        return visit.keep(bad_form(&visit.headers, &visit.uri));
    };
    let command = ExecuteTransferRun {
        id: id.clone(),
        body: parsed,
    };
    let caller = visit.caller();
    let answer = if portal.app.needs_approval(Operation::ExecuteTransferRun) {
        approvals::propose(&portal.app, caller, &[&id], &key, command)
            .await
            .map(|_| ())
    } else {
        match portal.app.run(caller, &key, command).await {
            Ok(reply) => {
                if matches!(reply, Reply::Done { .. }) {
                    sign_head(portal).await;
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    };
    match answer {
        Ok(()) => visit.see_other(&format!("/portal/network/runs/{id}")),
        Err(error) if shown_on_page(&error) => {
            render_run(&visit, &id, status_of(&error), Problem::of(&error)).await
        }
        Err(error) => visit.refused(&error),
    }
}

/// Signs the head after an execution, as the API does, so partners can hold it the same day.
pub(super) async fn sign_head(portal: &Portal) {
    if let Some(signer) = &portal.app.checkpoints {
        signer.sign_logged(&portal.app).await;
    }
}

/// The run's pain.001 payment file, to send to the bank; a run that cannot have one (not executed,
/// a mutual without an approved bank account…) shows why on its page (409).
async fn payment_file(Path(id): Path<String>, visit: Visit) -> Response {
    match visit
        .portal
        .app
        .query(visit.caller(), GetPaymentFile { run_id: id.clone() })
        .await
    {
        Ok(file) => {
            let mut response = (StatusCode::OK, file.bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            if let Ok(disposition) =
                HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name))
            {
                headers.insert(header::CONTENT_DISPOSITION, disposition);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            visit.keep(response)
        }
        Err(error) if error.refusal == Refusal::Conflict => {
            render_run(&visit, &id, StatusCode::CONFLICT, Problem::of(&error)).await
        }
        Err(error) => visit.refused(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_shown_at_its_fields_and_names_the_mutuals() {
        // Proves the payment file's 409 names each mutual without a bank account, a run refused
        // because the programme's rules changed while it was planned has its own sentence, and a
        // plan's field errors go to their fields with the command's words.
        let missing = AppError {
            errors: vec![
                ledger_app::FieldError::new(
                    "beneficiaries.mutuelle-bf",
                    "no approved bank account",
                ),
                ledger_app::FieldError::new("beneficiaries.mesp", "no approved bank account"),
            ],
            ..AppError::conflict("bank_account_missing", "no approved bank account")
        };
        let problem = Problem::of(&missing);
        assert_eq!(problem.key, "network-error-bank_account_missing");
        assert_eq!(problem.names, "mutuelle-bf, mesp");
        // A run refused at the write because the programme's rules changed says so, not the
        // generic conflict.
        let changed = AppError::conflict("programme_rules_changed", "plan it again");
        let problem = Problem::of(&changed);
        assert_eq!(problem.key, "network-error-programme_rules_changed");
        assert!(problem.fields.is_empty());
        let invalid = AppError::validation(vec![
            ledger_app::FieldError::new("period", "has not ended yet"),
            ledger_app::FieldError::new("rates.CDF.rate", "is not a number"),
        ]);
        let problem = Problem::of(&invalid).with_fields(&PLAN_FIELDS);
        assert_eq!(problem.key, "network-form-refused");
        assert_eq!(problem.fields["period"][0].key, "network-error-period");
        assert_eq!(problem.fields["period"][0].detail, "has not ended yet");
        assert_eq!(problem.fields["rates.CDF"][0].key, "network-error-rate");
        assert!(problem.fields["programme_id"].is_empty());
        let body = execution_body(&vec![
            ("csrf".to_owned(), "x".to_owned()),
            ("rate_CDF".to_owned(), " 3100 ".to_owned()),
            ("source_CDF".to_owned(), "BCC".to_owned()),
        ]);
        assert_eq!(body["rates"]["CDF"]["rate"], "3100");
        assert_eq!(execution_body(&Vec::new()), json!({}));
    }
}
