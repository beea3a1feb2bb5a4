//! The OpenAPI document tells the truth about errors: after the routers have described their
//! operations, [`complete`] adds every status the service's shared machinery can answer for each
//! operation (authentication, JSON bodies, idempotency keys, query and path parameters, the
//! request timeout, internal errors) and gives every error response the `application/problem+json`
//! content type and the `Problem` schema.
//!
//! Handlers document only what is theirs (a role check's 403, a business rule's 409 or 422); what
//! every operation of a kind can answer is added here, so a new operation is documented truly
//! without copying a list. Schemathesis checks the result against the running service in CI
//! (`scripts/schemathesis.sh`).

use axum::http::StatusCode;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    Content, OpenApi, Ref, RefOr, Response, ResponseBuilder, header::HeaderBuilder,
};

use crate::problem::PROBLEM_JSON;

/// The media type of the success responses.
const JSON: &str = "application/json";

/// Answered by any operation: the request timeout layer's 408, the per-address guards' 429, the
/// request-head limit's 431 and an internal failure's 500.
const EVERY_OPERATION: &[(u16, &str)] = &[
    (
        408,
        "the request took longer than the request timeout and was abandoned",
    ),
    (
        429,
        "too many requests in flight from this client address, or too many failed authentications from it (see `Retry-After`)",
    ),
    (
        431,
        "the request head has more than 100 header fields or 32 KiB of them",
    ),
    (
        500,
        "the service failed to handle the request; the cause is logged, never shown",
    ),
];

/// Answered by an operation that needs a Bearer token.
const AUTHENTICATED: &[(u16, &str)] = &[(401, "the Bearer token is missing, invalid or expired")];

/// Answered by an operation that reads a JSON body (the `AppJson` and `Idempotent` extractors).
const WITH_JSON_BODY: &[(u16, &str)] = &[
    (400, "the body is not valid JSON"),
    (413, "the body exceeds the request body limit"),
    (
        415,
        "the body is not JSON (Content-Type must be application/json)",
    ),
    (
        422,
        "a field of the body is missing or invalid; every problem is listed",
    ),
];

/// Answered by an operation that takes an `Idempotency-Key` header.
const IDEMPOTENT: &[(u16, &str)] = &[
    (
        400,
        "the Idempotency-Key header is missing or not 1–255 printable ASCII characters",
    ),
    (
        409,
        "the Idempotency-Key was used before with another request",
    ),
];

/// Answered by an operation with query parameters: a value of the wrong type is refused by the
/// query extractor (400), a value out of range by the handler (422).
const WITH_QUERY: &[(u16, &str)] = &[
    (400, "a query parameter has the wrong type"),
    (422, "a query parameter is invalid"),
];

/// Answered by an operation addressing a resource by id: an unknown (or malformed) id, or one the
/// caller may not see, is not found.
const WITH_PATH: &[(u16, &str)] = &[(404, "no such resource, or not visible to the caller")];

/// Adds the statuses every operation can answer and makes every error response problem+json;
/// fills in a description where the handler's annotation gave none.
pub(crate) fn complete(document: &mut OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            add_generic_statuses(operation);
            for (status, response) in &mut operation.responses.responses {
                if let RefOr::T(response) = response {
                    finish_response(status, response);
                }
            }
        }
    }
}

/// The statuses an operation can answer because of the machinery it goes through.
fn add_generic_statuses(operation: &mut Operation) {
    let mut generic: Vec<(u16, &str)> = EVERY_OPERATION.to_vec();
    if operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty())
    {
        generic.extend_from_slice(AUTHENTICATED);
    }
    if operation.request_body.is_some() {
        generic.extend_from_slice(WITH_JSON_BODY);
    }
    let parameters: Vec<(ParameterIn, String)> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|parameter| match parameter {
            RefOr::T(parameter) => Some((parameter.parameter_in.clone(), parameter.name.clone())),
            RefOr::Ref(_) => None,
        })
        .collect();
    if parameters.iter().any(|(place, name)| {
        *place == ParameterIn::Header && name.eq_ignore_ascii_case("idempotency-key")
    }) {
        generic.extend_from_slice(IDEMPOTENT);
    }
    if parameters
        .iter()
        .any(|(place, _)| *place == ParameterIn::Query)
    {
        generic.extend_from_slice(WITH_QUERY);
    }
    if parameters
        .iter()
        .any(|(place, _)| *place == ParameterIn::Path)
    {
        generic.extend_from_slice(WITH_PATH);
    }
    for (status, description) in generic {
        let response = operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::default()));
        if let RefOr::T(response) = response {
            append_description(response, status, description);
        }
    }
}

/// Adds one cause to a response's description (several kinds of machinery may answer the same
/// status: a 400 for malformed JSON and for a missing Idempotency-Key).
/// A response the handler documented without a description keeps its reason phrase first, since
/// the handler's own causes (a business rule's 409) are not the generic one.
fn append_description(response: &mut Response, status: u16, cause: &str) {
    if response.description.is_empty() {
        response.description = cause.to_owned();
        if !response.content.is_empty() {
            response.description = format!("{}; or {cause}", reason_phrase(status));
        }
    } else if !response.description.contains(cause) {
        response.description = format!("{}; or {cause}", response.description);
    }
}

/// Every error response is problem+json with the `Problem` schema; every response has a
/// description (OpenAPI requires one): the status's reason phrase when nothing more was said.
fn finish_response(status: &str, response: &mut Response) {
    let code = status
        .parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok());
    if response.description.is_empty() {
        response.description = code.map_or_else(
            || "Response".to_owned(),
            |code| reason_phrase(code.as_u16()),
        );
    }
    let Some(code) = code else {
        return;
    };
    if code.is_client_error() || code.is_server_error() {
        response.content.shift_remove(JSON);
        response.content.insert(
            PROBLEM_JSON.to_owned(),
            RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
        );
    }
    if code == StatusCode::UNAUTHORIZED && !response.headers.contains_key("WWW-Authenticate") {
        let header = HeaderBuilder::new()
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String),
            ))
            .description(Some("`Bearer realm=\"solidarity-ledger\"`"))
            .build();
        let described = ResponseBuilder::from(response.clone())
            .header("WWW-Authenticate", header)
            .build();
        *response = described;
    }
}

/// The status's reason phrase ("Created", "Forbidden").
fn reason_phrase(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Response")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the served document, as (method, path, operation).
    fn operations(document: &OpenApi) -> Vec<(&'static str, String, Operation)> {
        let mut found = Vec::new();
        for (path, item) in &document.paths.paths {
            for (method, operation) in [
                ("get", &item.get),
                ("post", &item.post),
                ("put", &item.put),
                ("delete", &item.delete),
                ("patch", &item.patch),
            ] {
                if let Some(operation) = operation {
                    found.push((method, path.clone(), operation.clone()));
                }
            }
        }
        found
    }

    #[test]
    fn every_operation_documents_what_the_shared_machinery_answers() {
        // Proves the served document lists, for each operation, the statuses its kind can answer
        // (408 and 500 for all; 401 when authenticated; 400, 413, 415, 422 with a JSON body; 400
        // and 409 with an Idempotency-Key; 404 with a path id) and that every error response is
        // problem+json with the Problem schema and only that.
        let document = crate::openapi_document();
        let operations = operations(&document);
        assert!(operations.len() > 30, "{}", operations.len());
        for (method, path, operation) in operations {
            let statuses: Vec<&str> = operation
                .responses
                .responses
                .keys()
                .map(String::as_str)
                .collect();
            let mut expected = vec!["408", "500"];
            if operation.security.is_some() {
                expected.push("401");
            }
            if operation.request_body.is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            if method == "post"
                && path.starts_with("/v1/")
                && !crate::people::WITHOUT_IDEMPOTENCY_KEY.contains(&path.as_str())
            {
                assert!(
                    operation.request_body.is_some(),
                    "{method} {path} has a body"
                );
                expected.extend(["400", "409"]);
            }
            if path.contains('{') {
                expected.push("404");
            }
            for status in expected {
                assert!(
                    statuses.contains(&status),
                    "{method} {path} does not document {status}"
                );
            }
            for (status, response) in &operation.responses.responses {
                let RefOr::T(response) = response else {
                    panic!("{method} {path} {status} is a reference");
                };
                assert!(!response.description.is_empty(), "{method} {path} {status}");
                if status.starts_with('4') || status.starts_with('5') {
                    let media_types: Vec<&str> =
                        response.content.keys().map(String::as_str).collect();
                    assert_eq!(media_types, [PROBLEM_JSON], "{method} {path} {status}");
                    let Some(RefOr::T(content)) = response.content.get(PROBLEM_JSON) else {
                        panic!("{method} {path} {status} has no problem content");
                    };
                    assert!(
                        matches!(&content.schema, Some(RefOr::Ref(reference)) if reference.ref_location.ends_with("/Problem")),
                        "{method} {path} {status}"
                    );
                }
            }
            if operation.security.is_some() {
                let Some(RefOr::T(unauthorised)) = operation.responses.responses.get("401") else {
                    panic!("{method} {path} has no 401");
                };
                assert!(unauthorised.headers.contains_key("WWW-Authenticate"));
            }
        }
    }
}
