//! `Query`: the query-string extractor of this API. Its rejections are problem+json like every other
//! error: a parameter that does not parse (`limit=abc`) or a required one that is missing
//! (`programme_id`) is a `422 validation_failed` naming the parameter in `errors`, as `AppJson` names
//! a body's field and as handlers answer a parameter that parses but is out of range (`limit=0`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};

/// The query string, deserialized (as an extractor).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// Parses a query string, reporting every parameter that does not parse and then the first
/// required one that is missing (serde checks for missing parameters only once every present one
/// has parsed).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut errors: Vec<FieldError> = Vec::new();
    // Each round either succeeds, stops, or drops one parameter: at most one round per parameter.
    loop {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let error = match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(error) => error,
        };
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        if let Some(missing) = missing_field(&message) {
            // A parameter dropped below comes back as missing: it is reported already.
            if !errors.iter().any(|known| known.field == missing) {
                errors.push(FieldError::new(missing, "is required"));
            }
            break;
        }
        let parameter = path.split(['.', '[']).next().unwrap_or_default().to_owned();
        if parameter.is_empty() || errors.iter().any(|known| known.field == parameter) {
            errors.push(FieldError::new("query", message));
            break;
        }
        let before = pairs.len();
        pairs.retain(|(key, _)| *key != parameter);
        errors.push(FieldError::new(parameter, message));
        if pairs.len() == before {
            break;
        }
    }
    Err(ApiError::validation(errors))
}

/// The field serde names in "missing field `programme_id`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[allow(dead_code)]
    struct Listing {
        limit: Option<u32>,
        after_sequence: Option<i64>,
        cursor: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Eligibility {
        programme_id: uuid::Uuid,
        as_of: Option<String>,
    }

    #[test]
    fn parameters_that_do_not_parse_are_named_all_at_once() {
        // Proves `limit=abc` and `after_sequence=abc` are one 422 problem naming both parameters,
        // not a bare 400 naming none.
        let error = parse_query::<Listing>("limit=abc&after_sequence=x1&cursor=c").unwrap_err();
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code(), "validation_failed");
        let fields: Vec<String> = error
            .problem()
            .errors
            .into_iter()
            .map(|problem| problem.field)
            .collect();
        assert_eq!(fields, ["limit", "after_sequence"]);
        let one = parse_query::<Listing>("limit=-1").unwrap_err();
        assert_eq!(one.problem().field.as_deref(), Some("limit"));
        assert!(one.problem().detail.starts_with("limit: "), "{:?}", one);
    }

    #[test]
    fn a_missing_required_parameter_is_named() {
        // Proves a missing required parameter is named, after those that do not parse.
        let error = parse_query::<Eligibility>("").unwrap_err();
        assert_eq!(error.problem().field.as_deref(), Some("programme_id"));
        assert_eq!(error.problem().errors[0].message, "is required");
        let both = parse_query::<Eligibility>("programme_id=nope").unwrap_err();
        assert_eq!(both.problem().errors.len(), 1, "{both:?}");
        assert_eq!(both.problem().errors[0].field, "programme_id");
        assert_ne!(both.problem().errors[0].message, "is required");
    }

    #[test]
    fn good_queries_parse() {
        // Proves well-formed queries, percent-encoding included, parse as before.
        let listing = parse_query::<Listing>("limit=5&cursor=a%2Bb&unknown=1").unwrap();
        assert_eq!(
            listing,
            Listing {
                limit: Some(5),
                after_sequence: None,
                cursor: Some("a+b".into())
            }
        );
        assert_eq!(
            parse_query::<Listing>("").unwrap(),
            Listing {
                limit: None,
                after_sequence: None,
                cursor: None
            }
        );
    }
}
