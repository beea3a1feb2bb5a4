//! The mutual's eligibility: for each programme, every condition with its verdict, what is missing
//! and how to fix it (the fact to declare, or the facts already declared that wait for the
//! network's verification); its facts as recorded (submitted, verified, rejected with the reason)
//! with links to their evidence; and the form declaring a fact with its evidence document, sent
//! as `multipart/form-data` and checked (size, PDF/PNG/JPEG by content) by the API's own command.

use axum::extract::{Multipart, Path, State};
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ledger_app::eligibility::{
    CreateFact, EligibilityQuery, EligibilityView, ListFacts, ReadEligibility, RecordFact,
};
use ledger_app::fact_review::ReadFactEvidence;
use ledger_app::{AppError, Refusal};
use ledger_core::conditions::FactCode;
use ledger_core::evidence::MAX_EVIDENCE_DOCUMENT_BYTES;
use minijinja::{Value, context};
use serde_json::json;

use super::{Problem, Problems, no_problems, own_id, run_form};
use crate::i18n::negotiate;
use crate::portal::visit::Visit;
use crate::portal::{Fields, Portal, csrf_refused, field};

/// The fact form's fields.
const FACT_FIELDS: [&str; 6] = [
    "code",
    "value",
    "as_of",
    "evidence_reference",
    "evidence_document",
    "form",
];
/// The file field of the fact form.
const DOCUMENT_FIELD: &str = "evidence_document";

/// The fact form as typed (a chosen file cannot be shown again: the browser asks for it anew).
#[derive(Debug, serde::Serialize)]
struct FactForm {
    code: String,
    value: String,
    as_of: String,
    evidence_reference: String,
    request_id: String,
    errors: Problems,
}

impl FactForm {
    fn empty(request_id: String) -> FactForm {
        FactForm {
            code: String::new(),
            value: String::new(),
            as_of: String::new(),
            evidence_reference: String::new(),
            request_id,
            errors: no_problems(&FACT_FIELDS),
        }
    }

    fn read(fields: &Fields) -> FactForm {
        let value = |name: &str| field(fields, name).unwrap_or_default().trim().to_owned();
        FactForm {
            code: value("code"),
            value: value("value"),
            as_of: value("as_of"),
            evidence_reference: value("evidence_reference"),
            request_id: value("request_id"),
            errors: no_problems(&FACT_FIELDS),
        }
    }

    /// The body `POST /v1/organisations/{id}/facts` would receive, the document in base64.
    fn body(&self, document: Option<&[u8]>) -> serde_json::Value {
        let mut body = json!({
            "code": self.code,
            "value": self.value,
            "as_of": self.as_of,
            "evidence_reference": self.evidence_reference,
        });
        if let Some(document) = document {
            body["evidence_document"] =
                json!(base64::engine::general_purpose::STANDARD.encode(document));
        }
        body
    }

    fn place(&mut self, error: &AppError) {
        for refusal in &error.errors {
            let (name, key) = match refusal.field.as_str() {
                "code" => ("code", "mutual-fact-error-code"),
                "value" => ("value", "mutual-fact-error-value"),
                "as_of" => ("as_of", "mutual-fact-error-as-of"),
                "evidence_reference" => ("evidence_reference", "mutual-fact-error-reference"),
                "evidence_document" => ("evidence_document", "mutual-fact-error-document"),
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
    }
}

async fn render(visit: &Visit, status: StatusCode, form: Option<FactForm>) -> Response {
    let (portal, caller) = (&visit.portal, visit.caller());
    let programmes = match visit.programmes().await {
        Ok((programmes, _)) => programmes,
        Err(error) => return visit.refused(&error),
    };
    let mut verdicts: Vec<(String, EligibilityView)> = Vec::with_capacity(programmes.len());
    for programme in programmes {
        let query = EligibilityQuery {
            programme_id: programme.id.to_string(),
            as_of: None,
        };
        let read = ReadEligibility {
            beneficiary: own_id(visit),
            query,
        };
        match portal.app.query(caller, read).await {
            Ok(view) => verdicts.push((programme.name, view)),
            Err(error) => return visit.refused(&error),
        }
    }
    let verdicts: Vec<Value> = verdicts
        .into_iter()
        .map(|(name, view)| context! { name => name, ..Value::from_serialize(&view) })
        .collect();
    let facts = match portal.app.query(caller, ListFacts(own_id(visit))).await {
        Ok(facts) => facts,
        Err(error) => return visit.refused(&error),
    };
    let form = form.unwrap_or_else(|| FactForm::empty(portal.app.sources.id().to_string()));
    let codes: Vec<&str> = FactCode::ALL.iter().map(FactCode::as_str).collect();
    visit.page(
        status,
        "portal_mutual_eligibility.html",
        context! {
            verdicts => verdicts,
            facts => Value::from_serialize(&facts),
            form => Value::from_serialize(&form),
            codes => codes,
            max_document_mib => MAX_EVIDENCE_DOCUMENT_BYTES / (1024 * 1024),
        },
    )
}

/// The eligibility page.
pub(crate) async fn eligibility(visit: Visit) -> Response {
    render(&visit, StatusCode::OK, None).await
}

/// A multipart form's text fields, and the evidence document if one was chosen (an empty file
/// part, what a browser sends when none was, is none).
async fn read_multipart(mut multipart: Multipart) -> Result<(Fields, Option<Vec<u8>>), ()> {
    let mut fields = Fields::new();
    let mut document = None;
    while let Some(part) = multipart.next_field().await.map_err(|_| ())? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == DOCUMENT_FIELD {
            let bytes = part.bytes().await.map_err(|_| ())?;
            if !bytes.is_empty() {
                document = Some(bytes.to_vec());
            }
        } else {
            let text = part.text().await.map_err(|_| ())?;
            fields.push((name, text));
        }
    }
    Ok((fields, document))
}

/// Declares a fact about the mutual with the API's command (it waits for the network's
/// verification); refused, the form comes back with every problem at its field, nothing written.
pub(crate) async fn declare(
    State(portal): State<Portal>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    multipart: Multipart,
) -> Response {
    let lang = negotiate(&headers);
    let Ok((fields, document)) = read_multipart(multipart).await else {
        // A body that is not the form's (cut short, or another encoding) is not the form: it
        // proves no CSRF token.
        return csrf_refused(lang, &uri);
    };
    let visit = match Visit::of_form(&portal, &headers, &extensions, &uri, &fields).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let mut form = FactForm::read(&fields);
    let body = form.body(document.as_deref());
    let beneficiary = own_id(&visit);
    let answer = run_form(
        &visit,
        &form.request_id,
        "POST\n/portal/mutual/eligibility",
        &body,
        |body: CreateFact| RecordFact { beneficiary, body },
    )
    .await;
    match answer {
        Ok(()) => visit.see_other("/portal/mutual/eligibility#facts"),
        Err(error) if error.refusal == Refusal::Invalid => {
            form.place(&error);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&visit, status, Some(form)).await
        }
        Err(error) => visit.refused(&error),
    }
}

/// A fact's evidence document, through the API's query (the same rights as reading the facts:
/// another mutual's fact is a 404), as an attachment.
pub(crate) async fn evidence(Path(fact): Path<String>, visit: Visit) -> Response {
    let read = ReadFactEvidence {
        beneficiary: own_id(&visit),
        fact,
    };
    let file = match visit.portal.app.query(visit.caller(), read).await {
        Ok(file) => file,
        Err(error) => return visit.refused(&error),
    };
    let mut response = file.content.into_response();
    let headers = response.headers_mut();
    if let Ok(media_type) = HeaderValue::from_str(&file.media_type) {
        headers.insert(header::CONTENT_TYPE, media_type);
    }
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(sha256) = HeaderValue::from_str(&file.sha256) {
        headers.insert(HeaderName::from_static("x-content-sha256"), sha256);
    }
    visit.keep(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_form_sends_its_document_in_base64_and_shows_errors_at_their_fields() {
        // Proves the door hands the command the document's bytes as the API's base64 (so the
        // command's size and type checks apply) and places the command's refusals.
        let mut form = FactForm::empty("r".to_owned());
        form.code = "mutual_operational".to_owned();
        assert!(form.body(None).get("evidence_document").is_none());
        assert_eq!(
            form.body(Some(b"%PDF-1.4"))["evidence_document"],
            "JVBERi0xLjQ="
        );
        form.place(&AppError::validation(vec![
            ledger_app::FieldError::new("evidence_document", "not a PDF, PNG or JPEG"),
            ledger_app::FieldError::new("as_of", "not a date"),
        ]));
        assert_eq!(
            form.errors["evidence_document"][0].key,
            "mutual-fact-error-document"
        );
        assert_eq!(form.errors["as_of"][0].key, "mutual-fact-error-as-of");
        assert!(form.errors["value"].is_empty());
    }
}
