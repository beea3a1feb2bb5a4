//! `AppJson`: the JSON extractor and response of this API. Its rejections are problem+json like
//! every other error: malformed JSON is a 400, a body of the wrong shape a 422 naming the fields.
//!
//! Shape problems (a value of the wrong type, an unknown enum value, an unknown field, a missing
//! field) are reported together, up to [`MAX_SHAPE_PROBLEMS`]: serde stops at the first, so the body
//! is read again as an untyped JSON value with each problem's field taken out (a missing one filled
//! with a stand-in value), until it reads, nothing new is found or [`MAX_SHAPE_READINGS`] readings
//! are spent (`shape_problems`). What is found: every field of the wrong type or value, every
//! unknown field and every missing field, anywhere in the body, each at its path in the body as
//! sent; except, in an object lacking a field that no stand-in fits (a missing enum value, say),
//! the missing fields declared after that one: the object is then set aside (its other problems
//! were found before, and its siblings are still read).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};

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

/// The most shape problems one answer lists: a client that sends more has one mistake repeated,
/// which the first ones show. Each problem costs a few more readings of the body (a 100,000-line
/// batch is read in tens of milliseconds), at most [`MAX_SHAPE_READINGS`] in all.
pub const MAX_SHAPE_PROBLEMS: usize = 20;

/// Parses a JSON body, naming the path of every field that does not fit (see the module's note).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let error = classify(error.into_inner(), path);
        if error.status() != StatusCode::UNPROCESSABLE_ENTITY {
            return error;
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(document) => {
                let problems = shape_problems::<T>(document);
                if problems.is_empty() {
                    error
                } else {
                    ApiError::validation(problems)
                }
            }
            Err(_) => error,
        }
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

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A path as serde_path_to_error writes it (`lines[3].amount`), `body` for the document itself.
fn path_text(steps: &[Step]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) if text.is_empty() => text.push_str(key),
            Step::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Step::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    if text.is_empty() {
        "body".to_owned()
    } else {
        text
    }
}

/// The steps of a serde path, or `None` where it went somewhere it cannot name (inside an
/// internally tagged or untagged value).
fn steps_of(path: &serde_path_to_error::Path) -> Option<Vec<Step>> {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// The field serde names in "missing field `x`" or "unknown field `x`, expected ...".
fn field_named(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// Takes the value at `steps` out of the document: a key out of its object, an element out of its
/// array. False when there is nothing there (or `steps` is the document itself).
fn take_out(document: &mut serde_json::Value, steps: &[Step]) -> bool {
    let Some((last, parent)) = steps.split_last() else {
        return false;
    };
    let mut node = document;
    for step in parent {
        let next = match (step, node) {
            (Step::Key(key), serde_json::Value::Object(fields)) => fields.get_mut(key),
            (Step::Index(index), serde_json::Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        node = next;
    }
    match (last, node) {
        (Step::Key(key), serde_json::Value::Object(fields)) => fields.remove(key).is_some(),
        (Step::Index(index), serde_json::Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// Array elements taken out so far, to name later problems at their place in the body as sent:
/// after `lines[1]` is taken out, the document's `lines[1]` is the body's `lines[2]`.
#[derive(Default)]
struct TakenOut(Vec<(Vec<Step>, usize)>);

impl TakenOut {
    /// The body's path of a path into the document as it is now.
    fn original(&self, steps: &[Step]) -> Vec<Step> {
        let mut original: Vec<Step> = Vec::with_capacity(steps.len());
        for step in steps {
            let step = match step {
                Step::Index(index) => {
                    let mut removed: Vec<usize> = self
                        .0
                        .iter()
                        .filter(|(array, _)| *array == original)
                        .map(|(_, removed)| *removed)
                        .collect();
                    removed.sort_unstable();
                    let mut at = *index;
                    for removed in removed {
                        if removed <= at {
                            at += 1;
                        }
                    }
                    Step::Index(at)
                }
                key => key.clone(),
            };
            original.push(step);
        }
        original
    }

    fn note(&mut self, current: &[Step]) {
        if let Some((Step::Index(_), array)) = current.split_last()
            && let Some(Step::Index(index)) = self.original(current).last()
        {
            let array = self.original(array);
            self.0.push((array, *index));
        }
    }
}

/// Values tried in place of a missing field, so the reading goes on to the problems after it:
/// most fields take one of them (text, number, flag, list, object, optional). A field that takes
/// none sets its object aside.
fn stand_ins() -> [serde_json::Value; 6] {
    use serde_json::{Map, Value};
    [
        Value::String(String::new()),
        Value::from(0),
        Value::Bool(false),
        Value::Array(Vec::new()),
        Value::Object(Map::new()),
        Value::Null,
    ]
}

/// Puts `value` at `steps` (an object's key) in the document.
fn put(document: &mut serde_json::Value, steps: &[Step], value: serde_json::Value) -> bool {
    let Some((Step::Key(key), parent)) = steps.split_last() else {
        return false;
    };
    let mut node = document;
    for step in parent {
        let next = match (step, node) {
            (Step::Key(key), serde_json::Value::Object(fields)) => fields.get_mut(key),
            (Step::Index(index), serde_json::Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        node = next;
    }
    match node {
        serde_json::Value::Object(fields) => {
            fields.insert(key.clone(), value);
            true
        }
        _ => false,
    }
}

/// The most readings of a body spent looking for its shape problems.
pub const MAX_SHAPE_READINGS: usize = 64;

/// Every shape problem of a document that does not read as `T` (see the module's note), in the
/// order serde meets them; empty if none can be named.
fn shape_problems<T: DeserializeOwned>(mut document: serde_json::Value) -> Vec<FieldError> {
    let mut problems: Vec<FieldError> = Vec::new();
    let mut taken_out = TakenOut::default();
    // Missing fields filled with a stand-in: the body's path, and which stand-in is there.
    let mut filled: Vec<(Vec<Step>, usize)> = Vec::new();
    for _ in 0..MAX_SHAPE_READINGS {
        if problems.len() == MAX_SHAPE_PROBLEMS {
            break;
        }
        let error = match serde_path_to_error::deserialize::<_, T>(&document) {
            Ok(_) => break,
            Err(error) => error,
        };
        let Some(steps) = steps_of(error.path()) else {
            break;
        };
        let original = taken_out.original(&steps);
        // A stand-in that does not fit: the next one, or set its object aside.
        if let Some(index) = filled
            .iter()
            .position(|(field, _)| original.starts_with(field))
        {
            let depth = filled[index].0.len();
            let current = steps[..depth].to_vec();
            filled[index].1 += 1;
            let next = stand_ins().into_iter().nth(filled[index].1);
            let moved_on = match next {
                Some(value) => put(&mut document, &current, value),
                None => {
                    filled.remove(index);
                    let object = &current[..depth - 1];
                    taken_out.note(object);
                    take_out(&mut document, object)
                }
            };
            if moved_on {
                continue;
            }
            break;
        }
        let message = strip_position(&error.inner().to_string());
        if let Some(missing) = field_named(&message, "missing field `") {
            let mut current = steps.clone();
            current.push(Step::Key(missing));
            let field = taken_out.original(&current);
            let name = path_text(&field);
            // A field taken out for its value comes back as missing: it is reported already.
            if !problems.iter().any(|known| known.field == name) {
                problems.push(FieldError::new(name, message));
            }
            let [first, ..] = stand_ins();
            filled.push((field, 0));
            if put(&mut document, &current, first) {
                continue;
            }
            break;
        }
        let mut field = steps.clone();
        if let Some(unknown) = field_named(&message, "unknown field `")
            && field.last() != Some(&Step::Key(unknown.clone()))
        {
            field.push(Step::Key(unknown));
        }
        let name = path_text(&taken_out.original(&field));
        if !problems.iter().any(|known| known.field == name) {
            problems.push(FieldError::new(name, message));
        }
        taken_out.note(&field);
        if !take_out(&mut document, &field) {
            break;
        }
    }
    problems
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Batch {
        name: String,
        period: String,
        lines: Vec<KindLine>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct KindLine {
        members: u64,
        kind: Kind,
        note: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Solidarity,
        Donation,
    }

    fn fields(error: &ApiError) -> Vec<String> {
        let mut fields: Vec<String> = error
            .problem()
            .errors
            .into_iter()
            .map(|problem| problem.field)
            .collect();
        fields.sort();
        fields
    }

    #[test]
    fn every_shape_problem_is_reported_at_once() {
        // Proves an unknown enum value, missing fields, a wrong type and an unknown field anywhere
        // in the body are reported together in one 422, each at its path in the body as sent
        // (elements set aside do not shift the indices of later ones).
        let error = parse_json::<Batch>(
            br#"{"period": 2026, "surplus": true, "lines": [
                {"members": 1, "kind": "gift"},
                {"kind": "donation", "note": 5},
                {"members": 1, "kind": "solidarity"},
                {"members": "x", "kind": "solidarity", "colour": "red"}]}"#,
        )
        .unwrap_err();
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code(), "validation_failed");
        assert_eq!(
            fields(&error),
            [
                "lines[0].kind",
                "lines[1].members",
                "lines[1].note",
                "lines[3].colour",
                "lines[3].members",
                "name",
                "period",
                "surplus"
            ],
            "{:?}",
            error.problem()
        );
        let messages: Vec<String> = error
            .problem()
            .errors
            .into_iter()
            .map(|problem| format!("{}: {}", problem.field, problem.message))
            .collect();
        assert!(
            messages
                .iter()
                .any(|message| message.starts_with("lines[0].kind: unknown variant `gift`")),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"name: missing field `name`".to_owned()),
            "{messages:?}"
        );
        // Several missing fields of one object, and an object whose missing enum value no stand-in
        // fits (set aside after its other problems, its siblings still read).
        let missing = parse_json::<Batch>(
            br#"{"lines": [{"members": "x"}, {"members": 1, "kind": "solidarity"}, {"kind": 3}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            fields(&missing),
            [
                "lines[0].kind",
                "lines[0].members",
                "lines[2].kind",
                "lines[2].members",
                "name",
                "period"
            ],
            "{:?}",
            missing.problem()
        );
        // A single problem is still named in `field`.
        let one = parse_json::<Batch>(
            br#"{"name": "x", "period": "2026-11", "lines": [{"members": 1}]}"#,
        )
        .unwrap_err();
        assert_eq!(one.problem().field.as_deref(), Some("lines[0].kind"));
        assert_eq!(one.problem().errors.len(), 1);
    }

    #[test]
    fn shape_problems_are_bounded() {
        // Proves a body with more shape problems than the bound lists the bound, not all of them.
        let lines: Vec<String> = (0..50)
            .map(|_| r#"{"members": "x", "kind": "solidarity"}"#.to_owned())
            .collect();
        let body = format!(
            r#"{{"name": "x", "period": "p", "lines": [{}]}}"#,
            lines.join(",")
        );
        let error = parse_json::<Batch>(body.as_bytes()).unwrap_err();
        assert_eq!(error.problem().errors.len(), MAX_SHAPE_PROBLEMS);
        assert_eq!(error.problem().errors[19].field, "lines[19].members");
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
