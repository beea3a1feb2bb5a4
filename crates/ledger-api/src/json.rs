//! `AppJson`: the JSON extractor and response of this API. Its rejections are problem+json like
//! every other error: malformed JSON is a 400, a body of the wrong shape a 422 naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON body (as an extractor) or a JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_json_body(request, state).await?;
        parse_json(&bytes).map(AppJson)
    }
}

/// The raw bytes of a JSON request body, refusing other media types and bodies over the limit.
pub async fn read_json_body<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<Bytes, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON with Content-Type: application/json",
        ));
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body exceeds {} bytes", crate::MAX_REQUEST_BODY_BYTES),
                )
            } else {
                ApiError::bad_request("bad_request", rejection.body_text())
            }
        })
}

/// Parses a JSON body, naming the path of the first field that does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        classify(error.into_inner(), path)
    })?;
    // Trailing bytes after the document are a syntax error too.
    deserializer
        .end()
        .map_err(|error| classify(error, String::new()))?;
    if has_escaped_nul(bytes) {
        return Err(nul_error(bytes));
    }
    Ok(value)
}

/// True when a JSON string of the (valid) document holds the escape `\u0000`. No text column
/// takes the NUL character (PostgreSQL refuses it), so it is refused with every body, here.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    // In valid JSON a backslash only ever starts an escape inside a string.
    while let Some(at) = rest.iter().position(|byte| *byte == b'\\') {
        let escape = &rest[at + 1..];
        if escape.starts_with(b"u0000") {
            return true;
        }
        // Skip the escaped character, so `\\u0000` (a backslash, then text) is not taken for one.
        rest = escape.get(1..).unwrap_or_default();
    }
    false
}

/// The 422 for a NUL character, naming the first field that holds one.
fn nul_error(bytes: &[u8]) -> ApiError {
    let field = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|document| path_of_nul(&document, String::new()))
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| "body".to_owned());
    ApiError::invalid_field(field, "must not contain the NUL character (\\u0000)")
}

/// The path (as serde_path_to_error writes it) of a string or key holding a NUL: the first in
/// document order for arrays, in key order for objects.
fn path_of_nul(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| path_of_nul(item, format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(here)
            } else {
                path_of_nul(item, here)
            }
        }),
        _ => None,
    }
}

fn classify(error: serde_json::Error, path: String) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        ),
        Category::Data => {
            let field = if path == "." || path.is_empty() {
                "body".to_owned()
            } else {
                path
            };
            ApiError::invalid_field(field, strip_position(&error.to_string()))
        }
    }
}

/// serde_json appends "at line 1 column 42"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(error) => ApiError::internal(error).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        lines: Vec<Line>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        members: u64,
    }

    #[test]
    fn shape_errors_name_the_field_path() {
        // Proves a wrong type deep in the body is reported at its path, as a 422.
        let error =
            parse_json::<Body>(br#"{"name": "x", "lines": [{"members": 1}, {"members": "two"}]}"#)
                .unwrap_err();
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.problem().field.as_deref(), Some("lines[1].members"));
        let unknown = parse_json::<Body>(br#"{"name": "x", "lines": [], "extra": 1}"#).unwrap_err();
        assert_eq!(unknown.code(), "validation_failed");
        assert!(unknown.problem().detail.contains("extra"));
    }

    #[test]
    fn a_nul_character_is_refused_at_its_field() {
        // Proves a NUL character anywhere in a string is a 422 naming its field (PostgreSQL text
        // refuses NUL, so it must never reach the store), while an escaped backslash followed by
        // the text `u0000` is ordinary text.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Free {
            name: String,
            lines: Vec<serde_json::Value>,
        }
        let error = parse_json::<Free>(
            br#"{"name": "x", "lines": [{"reference": "a"}, {"reference": "b\u0000c"}]}"#,
        )
        .unwrap_err();
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.problem().field.as_deref(), Some("lines[1].reference"));
        let error = parse_json::<Free>(br#"{"name": "\u0000", "lines": []}"#).unwrap_err();
        assert_eq!(error.problem().field.as_deref(), Some("name"));
        let text = parse_json::<Free>(br#"{"name": "C:\\u0000\\", "lines": ["\\"]}"#).unwrap();
        assert_eq!(text.name, "C:\\u0000\\");
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        // Proves broken JSON and trailing garbage are 400 malformed_json.
        for body in [
            &br#"{"name": "x""#[..],
            br#"{"name": "x", "lines": []} trailing"#,
            b"",
        ] {
            let error = parse_json::<Body>(body).unwrap_err();
            assert_eq!(
                error.status(),
                StatusCode::BAD_REQUEST,
                "{:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(error.code(), "malformed_json");
        }
    }

    #[test]
    fn json_media_types_are_recognised() {
        // Proves which Content-Type values count as JSON.
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
