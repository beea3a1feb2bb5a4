//! Request guards of the HTTP layer that do not depend on a route: the security headers every
//! answer carries, a cap on the requests one client address has in flight, and a cap on the size
//! of request heads (answered 431 problem+json).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The largest request head (names and values of all headers) answered with a problem rather
/// than refused: a bearer token from an identity provider is a few KiB, so 32 KiB leaves room.
/// Heads far larger are cut by the HTTP parser itself ([`crate::server::MAX_HEAD_BUFFER_BYTES`]).
pub const MAX_REQUEST_HEADER_BYTES: usize = 32 * 1024;

/// The most headers a request may carry (browsers and proxies send a few dozen at most).
pub const MAX_REQUEST_HEADERS: usize = 100;

/// The headers every answer carries: an API answer is data, never a page to render, frame, sniff
/// or cache (answers are per caller and often hold other organisations' books).
const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::CACHE_CONTROL, "no-store"),
];

/// Adds [`SECURITY_HEADERS`] to every answer (a handler's own value is kept).
pub(crate) async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// 431 problem+json for a request head over [`MAX_REQUEST_HEADER_BYTES`] or
/// [`MAX_REQUEST_HEADERS`], before anything else reads it.
pub(crate) async fn limit_request_head(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let head_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_REQUEST_HEADERS || head_bytes > MAX_REQUEST_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_too_large",
            format!(
                "the request's headers exceed {MAX_REQUEST_HEADERS} fields or {MAX_REQUEST_HEADER_BYTES} bytes"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// The requests each client address has in flight, capped: one address cannot take every worker
/// and database connection of the service.
#[derive(Debug, Clone)]
pub(crate) struct InFlightPerClient {
    max_in_flight: usize,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Holds one in-flight slot of an address; released when dropped.
#[derive(Debug)]
struct InFlightSlot {
    client: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

impl InFlightPerClient {
    pub(crate) fn new(max_in_flight: usize) -> InFlightPerClient {
        InFlightPerClient {
            max_in_flight,
            counts: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn acquire(&self, client: IpAddr) -> Option<InFlightSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(client).or_insert(0);
        if *count >= self.max_in_flight {
            return None;
        }
        *count += 1;
        Some(InFlightSlot {
            client,
            counts: Arc::clone(&self.counts),
        })
    }
}

/// 429 problem+json (with `Retry-After: 1`) when the caller's address already has its maximum of
/// requests in flight. Requests without a known address (in-process callers) are not counted.
pub(crate) async fn limit_in_flight_per_client(
    State(limit): State<InFlightPerClient>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let Some(client) = client else {
        return next.run(request).await;
    };
    match limit.acquire(client) {
        Some(slot) => {
            let response = next.run(request).await;
            drop(slot);
            response
        }
        None => ApiError::too_many_requests(
            format!(
                "this address already has {} requests in flight; retry when one is answered",
                limit.max_in_flight
            ),
            1,
        )
        .into_response(),
    }
}
