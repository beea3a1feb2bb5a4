//! The body of a request that sends a file (a spreadsheet, a bank statement), read whole within
//! the file's own limit.
//!
//! A file over its limit but within the service's body limit
//! ([`crate::MAX_REQUEST_BODY_BYTES`]) is read to its end before the 413 is answered: a client
//! that is still sending when the server answers and closes sees its connection reset instead
//! of the answer, so a treasurer's 9 MB sheet would get "connection reset" rather than "at most
//! 8 MiB". Only a body over the service's limit is cut short (413 and the connection closed).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The file's bytes, or the answer to give: 413 naming `what` and `limit` when the file is larger
/// than `limit` bytes, 400 when the body cannot be read.
pub(crate) async fn read_file_body(
    body: Body,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, Response> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("{what} may have at most {limit} bytes"),
        )
        .into_response()
    };
    match axum::body::to_bytes(body, limit.max(crate::MAX_REQUEST_BODY_BYTES)).await {
        Ok(bytes) if bytes.len() > limit => Err(too_large()),
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(error)
            if std::error::Error::source(&error)
                .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>()) =>
        {
            // The rest of the body is never read: the connection cannot carry another request.
            let mut response = too_large();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
        Err(error) => Err(ApiError::bad_request("bad_request", error.to_string()).into_response()),
    }
}
