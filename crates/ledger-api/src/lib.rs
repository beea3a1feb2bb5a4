//! The HTTP API of the solidarity ledger: an axum router that translates requests into calls on the
//! core and the store, with problem+json errors, request ids, limits and an OpenAPI document.
//!
//! [`router`] builds the service; [`Application`] binds a listener first (so tests can use port 0),
//! then serves until a shutdown signal, finishing requests in flight.

mod audit;
pub mod auth;
mod bank_statements;
mod batches;
pub mod checkpoints;
mod contract;
mod disputes;
mod eligibility;
mod fee_coverage;
mod file_body;
mod files;
pub mod guards;
pub mod idempotency;
pub mod json;
mod ledger;
mod lot_tracing;
pub use ledger_app::money;
mod organisations;
mod partners;
mod people;
mod proposals;
pub use ledger_app::pagination;
pub mod problem;
pub mod query;
mod reports;
mod server;
mod service;
mod spreadsheets;
mod statements;
mod throttle;
mod transfer_confirmation;
mod transfer_runs;
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

/// How long a client may take to send a request's head (from when the connection is ready for
/// it), by default: a head is a few hundred bytes, so 10 s is generous and a client sending it a
/// byte a second is cut off.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may stay quiet (nothing received or sent, no request being answered)
/// before it is closed, by default.
pub const DEFAULT_KEEP_ALIVE_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The most connections open at once, by default: well under the usual limit of 1,024 file
/// descriptors, which the database and log files share. Reaching it closes the quietest idle
/// connection rather than refusing the new one.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The most requests one client address may have in flight, by default: a busy partner system
/// sends a handful at a time; more would let one address take every database connection.
pub const DEFAULT_MAX_IN_FLIGHT_PER_CLIENT: usize = 32;

/// How long a shutdown waits for requests in flight before closing their connections, by default
/// (a little more than the default request timeout would be needed only for the slowest requests;
/// an orchestrator usually allows 30 s between SIGTERM and SIGKILL).
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Requests running longer are answered 408.
    pub request_timeout: Duration,
    /// A request's head must arrive whole within this time.
    pub header_read_timeout: Duration,
    /// A connection quiet this long is closed. The header-read timeout also runs while a
    /// kept-alive connection waits for its next request, so the smaller of the two applies.
    pub keep_alive_idle_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// The most requests one client address may have in flight (429 beyond).
    pub max_in_flight_per_client: usize,
    /// Failed authentications one client address may make per
    /// [`auth::FAILED_AUTHENTICATION_WINDOW`] before it is answered 429.
    pub max_failed_authentications: u32,
    /// How long a shutdown lets requests in flight finish.
    pub shutdown_deadline: Duration,
    /// How checkpoints of the chain head are signed; `None`: this service signs none.
    pub checkpoints: Option<checkpoints::CheckpointSettings>,
    /// Limits an operator may set on contributions (the largest donation line).
    pub contribution_limits: ledger_core::limits::ContributionLimits,
    /// Admins needed for the four-eyes operations (`ledger_app::approvals::FOUR_EYES`): 2, or 1
    /// for a one-person test setup.
    pub approvals_required: u8,
    /// The site is served over TLS: the partner portal's cookies are `Secure`.
    pub secure_cookies: bool,
    /// The clock and id source of every command (the system's, unless a test or the demo fixes them).
    pub sources: ledger_app::Sources,
    /// The bank account contributors pay batches into (`--collection-account-*`), if configured.
    pub collection_account: Option<ledger_app::payments::CollectionAccount>,
    /// The network's IATI organisation identifier (`--iati-organisation-identifier`), checked.
    pub iati_organisation_identifier: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive_idle_timeout: DEFAULT_KEEP_ALIVE_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight_per_client: DEFAULT_MAX_IN_FLIGHT_PER_CLIENT,
            max_failed_authentications: auth::DEFAULT_MAX_FAILED_AUTHENTICATIONS,
            shutdown_deadline: DEFAULT_SHUTDOWN_DEADLINE,
            checkpoints: None,
            secure_cookies: false,
            contribution_limits: ledger_core::limits::ContributionLimits::default(),
            sources: ledger_app::Sources::default(),
            approvals_required: ledger_app::approvals::DEFAULT_APPROVALS_REQUIRED,
            collection_account: None,
            iati_organisation_identifier: None,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The application every handler calls (with the store, the limits and the checkpoint
    /// signer).
    pub app: ledger_app::App,
    pub tokens: auth::TokenVerifier,
    /// Failed authentications per client address.
    pub throttle: auth::AuthenticationThrottle,
}

impl AppState {
    pub fn new(store: Store, tokens: auth::TokenVerifier, config: &ApiConfig) -> AppState {
        let checkpoints = config
            .checkpoints
            .as_ref()
            .map(|settings| checkpoints::CheckpointSigner::new(settings.signing_key.clone()));
        AppState {
            app: ledger_app::App::new(store, config.sources.clone(), config.contribution_limits)
                .with_approvals_required(config.approvals_required)
                .with_checkpoint_signer(checkpoints)
                .with_collection_account(config.collection_account.clone())
                .with_iati_organisation_identifier(config.iati_organisation_identifier.clone()),
            tokens,
            throttle: auth::AuthenticationThrottle::new(
                config.max_failed_authentications,
                auth::FAILED_AUTHENTICATION_WINDOW,
            ),
        }
    }
}

/// The OpenAPI document's frame; paths and schemas are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Solidarity Ledger API",
        version = "1",
        description = "Books of the solidarity euro: contributions from northern unions, loss-free transfers to southern health mutuals, redistribution reports, tracing and audit."
    ),
    components(schemas(
        problem::Problem,
        problem::FieldError,
        ledger_app::pagination::ListOrder
    )),
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
        .merge(partners::router())
        .merge(batches::router())
        .merge(bank_statements::router())
        .merge(spreadsheets::router())
        .merge(eligibility::router())
        .merge(transfers::router())
        .merge(reports::router())
        .merge(ledger::router())
        .merge(statements::router())
        .merge(lot_tracing::router())
        .merge(audit::router())
        .merge(checkpoints::router())
        .merge(files::router())
        .merge(people::router())
        .merge(proposals::router())
}

/// The OpenAPI document of this API, as served on `/openapi.json` and written to `openapi/`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = api_router().into_openapi();
    contract::complete(&mut document);
    document
}

/// The whole HTTP service.
pub fn router(state: AppState, config: &ApiConfig) -> Router {
    let (router, mut document) = api_router().split_for_parts();
    contract::complete(&mut document);
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
        // Writes are authorised before their body is read.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorise_before_body,
        ))
        .with_state(state.clone())
        // The public site: pages for people, on the same application.
        .merge(ledger_web::router(
            state.app,
            ledger_web::SiteSettings {
                secure_cookies: config.secure_cookies,
                sign_in_throttle: Some(std::sync::Arc::new(state.throttle.clone())),
            },
        ));
    with_service_layers(router, config)
}

/// The layers every route runs behind: request id, tracing span, security headers, head size and
/// per-client caps, timeout, body limit, problem+json for every error and for unknown routes.
/// Public so tests can put them around a test router.
pub fn with_service_layers(router: Router, config: &ApiConfig) -> Router {
    router
        .fallback(|| async { ApiError::not_found("no such resource") })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            guards::InFlightPerClient::new(config.max_in_flight_per_client),
            guards::limit_in_flight_per_client,
        ))
        .layer(axum::middleware::from_fn(guards::limit_request_head))
        // Inside the trace span, so the panic is logged with the request id it belongs to.
        .layer(CatchPanicLayer::custom(problem_for_panic))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        // Outside the timeout, so its 408 is turned into problem+json too.
        .layer(axum::middleware::map_response(problem_for_bare_errors))
        .layer(axum::middleware::map_response(
            guards::with_security_headers,
        ))
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

/// Serves `router` on `listener` with the connection settings of `config` (timeouts, connection
/// cap, shutdown deadline) until `shutdown` completes. [`Application`] serves this way; public so
/// tests can serve a test router exactly as the service does.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    config: &ApiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    server::serve(listener, router, connection_settings(config), shutdown).await;
}

fn connection_settings(config: &ApiConfig) -> server::ConnectionSettings {
    server::ConnectionSettings {
        header_read_timeout: config.header_read_timeout,
        keep_alive_idle_timeout: config.keep_alive_idle_timeout,
        max_connections: config.max_connections,
        shutdown_deadline: config.shutdown_deadline,
    }
}

/// Turns error responses made outside our handlers (axum's 405, the timeout's 408, ...) into
/// problem+json, so clients meet one error format.
async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // The public site's pages answer their own errors as pages, in the reader's language.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page {
        return response;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this resource does not support that method".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long and was abandoned".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body exceeds {MAX_REQUEST_BODY_BYTES} bytes")
        }
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "the request's headers are too large".to_owned()
        }
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
    /// How long the database may take to answer at start before it is reported unreachable.
    pub database_connect_timeout: Duration,
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
    connections: server::ConnectionSettings,
}

impl Application {
    /// Opens and migrates the database, then binds the listener (port 0 picks a free port).
    pub async fn build(config: ServeConfig) -> Result<Application, StartError> {
        let options = StoreOptions {
            connect_timeout: config.database_connect_timeout,
            ..StoreOptions::default()
        };
        let store = Store::connect(&config.database_url, options).await?;
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
        let state = AppState::new(store.clone(), config.tokens.clone(), &config.api);
        let signer = state.app.checkpoints.clone();
        let app = state.app.clone();
        let router = router(state, &config.api);
        if let (Some(signer), Some(settings)) = (signer, &config.api.checkpoints) {
            signer.spawn_schedule(app, settings.interval);
        }
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
            connections: connection_settings(&config.api),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// Serves until `shutdown` completes, then lets the requests in flight finish (for up to the
    /// shutdown deadline), closes every connection and the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(address = %self.local_addr, "listening on {}", self.local_addr);
        server::serve(self.listener, self.router, self.connections, shutdown).await;
        self.store.close().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    #[test]
    fn every_operation_documents_the_service_wide_refusals() {
        // Proves the contract lists 429 and 431 (problem+json) on every operation, since the
        // per-client caps and the head limit apply to all of them.
        let document = super::openapi_document();
        let mut operations = 0;
        for (path, item) in &document.paths.paths {
            for operation in [&item.get, &item.post].into_iter().flatten() {
                operations += 1;
                for status in ["429", "431"] {
                    assert!(
                        operation.responses.responses.contains_key(status),
                        "{path} lacks {status}"
                    );
                }
            }
        }
        assert!(operations > 20);
    }
}
