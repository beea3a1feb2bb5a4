//! The HTTP API of the solidarity ledger: an axum router that translates requests into calls on the
//! core and the store, with problem+json errors, request ids, limits and an OpenAPI document.
//!
//! [`router`] builds the service; [`Application`] binds a listener first (so tests can use port 0),
//! then serves until a shutdown signal, finishing requests in flight.

mod audit;
pub mod auth;
mod batches;
mod eligibility;
pub mod idempotency;
pub mod json;
mod ledger;
mod lot_tracing;
mod money;
mod organisations;
pub mod pagination;
pub mod problem;
mod reports;
mod service;
mod statements;
mod transfers;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_store::{Store, StoreError, StoreOptions};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::problem::{ApiError, PROBLEM_JSON, code_for_status};

/// The largest request body accepted: a 100,000-line contribution batch is about 8 MiB of JSON, so
/// 16 MiB leaves room without letting one request hold unbounded memory.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How often the service brings its tracing lot book up to date with the journal.
pub const LOT_BOOK_FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// How long a request may run before it is answered with 408, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub request_timeout: Duration,
    /// Limits an operator may set on contributions (the largest donation line).
    pub contribution_limits: ledger_core::limits::ContributionLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            contribution_limits: ledger_core::limits::ContributionLimits::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: auth::TokenVerifier,
    /// The configured contribution limits (`ApiConfig::contribution_limits`).
    pub limits: ledger_core::limits::ContributionLimits,
}

/// The OpenAPI document's frame; paths and schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Solidarity Ledger API",
        version = "1",
        description = "Books of the solidarity euro: contributions from northern unions, loss-free transfers to southern health mutuals, redistribution reports, tracing and audit."
    ),
    components(schemas(problem::Problem, problem::FieldError)),
    modifiers(&BearerSecurity)
)]
struct ApiDocument;

/// Declares the Bearer JWT scheme the endpoints' `security` refers to.
struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("claims sub, org (organisation id), role, exp"))
                    .build(),
            ),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDocument::openapi())
        .merge(service::router())
        .merge(organisations::router())
        .merge(batches::router())
        .merge(eligibility::router())
        .merge(transfers::router())
        .merge(reports::router())
        .merge(ledger::router())
        .merge(statements::router())
        .merge(lot_tracing::router())
        .merge(audit::router())
}

/// The OpenAPI document of this API, as served on `/openapi.json` and written to `openapi/`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = api_router().into_openapi();
    describe_bare_responses(&mut document);
    document
}

/// OpenAPI requires a description on every response; utoipa leaves it empty unless the handler's
/// annotation gives one. The status's reason phrase ("Created", "Forbidden") is filled in, so
/// every module's responses pass the validator without repeating it.
fn describe_bare_responses(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
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
            for (status, response) in &mut operation.responses.responses {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| StatusCode::from_u16(code).ok())
                        .and_then(|code| code.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}

/// The whole HTTP service.
pub fn router(state: AppState, config: &ApiConfig) -> Router {
    let (router, mut document) = api_router().split_for_parts();
    describe_bare_responses(&mut document);
    let document_json = document.to_pretty_json().unwrap_or_default();
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    document_json.clone(),
                )
            }),
        )
        .with_state(state);
    with_service_layers(router, config)
}

/// The layers every route runs behind: request id, tracing span, timeout, body limit, problem+json
/// for every error and for unknown routes. Public so tests can put them around a test router.
pub fn with_service_layers(router: Router, config: &ApiConfig) -> Router {
    router
        .fallback(|| async { ApiError::not_found("no such resource") })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        // Inside the trace span, so the panic is logged with the request id it belongs to.
        .layer(CatchPanicLayer::custom(problem_for_panic))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        // Outside the timeout, so its 408 is turned into problem+json too.
        .layer(axum::middleware::map_response(problem_for_bare_errors))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("");
                    // Headers are not recorded: the Authorization header must never reach logs.
                    tracing::info_span!(
                        "request",
                        request_id,
                        method = %request.method(),
                        path = %request.uri().path(),
                        organisation = tracing::field::Empty,
                        role = tracing::field::Empty,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Turns error responses made outside our handlers (axum's 405, the timeout's 408, ...) into
/// problem+json, so clients meet one error format.
async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this resource does not support that method".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long and was abandoned".to_owned(),
        other => other.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut problem = ApiError::new(status, code_for_status(status), detail).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

/// A handler panicked: answer 500 problem+json (as for any internal error) and log what it said,
/// rather than dropping the connection on a client that cannot tell what happened.
fn problem_for_panic(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::internal(HandlerPanicked(message)).into_response()
}

/// The cause logged for a panicking handler.
#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
struct HandlerPanicked(String);

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    pub database_url: String,
    pub api: ApiConfig,
    pub tokens: auth::TokenVerifier,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("could not open the database")]
    Store(#[from] StoreError),
    #[error("could not listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A migrated store and a bound listener, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    local_addr: SocketAddr,
}

impl Application {
    /// Opens and migrates the database, then binds the listener (port 0 picks a free port).
    pub async fn build(config: ServeConfig) -> Result<Application, StartError> {
        let store = Store::connect(&config.database_url, StoreOptions::default()).await?;
        store.migrate().await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                address: config.bind,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.bind,
            source,
        })?;
        let router = router(
            AppState {
                store: store.clone(),
                tokens: config.tokens.clone(),
                limits: config.api.contribution_limits,
            },
            &config.api,
        );
        // Tracing reads a lot book the store follows from the journal; keeping it caught up in the
        // background means a request only applies what arrived in the last moment.
        let follower = store.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(LOT_BOOK_FOLLOW_INTERVAL);
            loop {
                ticks.tick().await;
                if let Err(error) = follower.with_lot_book(|_| ()).await {
                    tracing::warn!(error = %error, "the lot book could not follow the journal");
                }
            }
        });
        Ok(Application {
            listener,
            router,
            store,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight and closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(address = %self.local_addr, "listening on {}", self.local_addr);
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.store.close().await;
        served
    }
}
