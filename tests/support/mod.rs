//! Shared fixtures of the end-to-end tests: the real application on a random port, on SQLite or
//! PostgreSQL.

#![allow(dead_code)] // each test binary uses a different part of the fixtures

pub mod camt053;
pub mod people;
pub mod portal;
pub mod southern;

use ledger_api::auth::{Claims, Role, TokenVerifier, mint_hs256};
use ledger_api::{ApiConfig, Application, ServeConfig};
use ledger_testkit::http::HttpClient;
use ledger_testkit::{Engine, OnEngine, fresh_database};

/// The HS256 secret of test servers.
pub const TEST_SECRET: &[u8] = b"test-secret-of-at-least-thirty-two-bytes!";

/// The Ed25519 key test servers sign checkpoints with.
pub fn checkpoint_key() -> ledger_core::checkpoint::SigningKey {
    ledger_core::checkpoint::SigningKey::from_bytes(&[42; 32])
}

/// Test servers sign their head when they start and after each run execution; the schedule's
/// next turn is beyond any test, unless a test asks for one ([`sqlite_server_signing_every`]).
pub const TEST_CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The bank account test servers tell contributors to pay into.
pub fn collection_account() -> ledger_app::payments::CollectionAccount {
    ledger_app::payments::CollectionAccount::new(
        "Education and Solidarity Network",
        "FR76 3000 6000 0112 3456 7890 189",
        Some("AGRIFRPP"),
    )
    .unwrap()
}

/// The network's IATI identifier test servers are configured with
/// (`--iati-organisation-identifier`).
pub const IATI_ORGANISATION_IDENTIFIER: &str = "FR-RNA-W751234567";

/// The network organisation seeded by the migrations.
pub const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";

/// A token for `organisation` with `role`, valid for an hour.
pub fn token(organisation: &str, role: Role) -> String {
    token_with_expiry(organisation, role, now_seconds() + 3600)
}

pub fn token_with_expiry(organisation: &str, role: Role, exp: u64) -> String {
    mint_hs256(
        TEST_SECRET,
        &Claims {
            sub: format!("{}-user", role.as_str()),
            org: organisation.to_owned(),
            role,
            exp,
            iat: Some(now_seconds()),
            iss: None,
            aud: None,
        },
    )
    .unwrap()
}

/// Today's date (UTC), `YYYY-MM-DD`: a confirmation's value date lies between the transfer's
/// execution (today, in these tests) and today.
pub fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// The date `days` after today (UTC), `YYYY-MM-DD`.
pub fn days_from_today(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A running server and what keeps its database alive. It is the shared test client of its
/// address ([`HttpClient`]: `url`, `post`, `get`, `client`), by dereference.
pub struct TestServer {
    pub http: HttpClient,
    pub database_url: String,
    _directory: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl std::ops::Deref for TestServer {
    type Target = HttpClient;
    fn deref(&self) -> &HttpClient {
        &self.http
    }
}

impl OnEngine for TestServer {
    async fn start(engine: Engine) -> TestServer {
        let database = fresh_database(engine).await;
        start(database.url.clone(), database.into_directory()).await
    }
}

impl TestServer {
    /// Stops the server (as a shutdown signal would) and hands over its database directory.
    pub async fn stop(self) -> Option<tempfile::TempDir> {
        let _ = self._shutdown.send(());
        // Let the graceful shutdown close the listener and the store.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self._directory
    }

    /// Registers an organisation as the network's admin and returns its id.
    pub async fn organisation(
        &self,
        slug: &str,
        kind: &str,
        country: &str,
        currency: &str,
        members: i64,
    ) -> String {
        let (status, body) = self
            .post(
                "/v1/organisations",
                &token(NETWORK_ID, Role::Admin),
                &format!("organisation-{slug}"),
                &serde_json::json!({
                    "slug": slug, "name": slug.to_uppercase(), "kind": kind, "country": country,
                    "currency": currency, "covered_members": members
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Opens a monthly programme at 1.00 EUR per member and returns its id.
    pub async fn programme(&self, name: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/programmes",
                &token(NETWORK_ID, Role::Admin),
                &format!("programme-{name}"),
                &serde_json::json!({
                    "name": name, "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                    "allocation": {"policy": "pro_rata_covered_members"},
                    "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "5"}],
                    "minimum_transfer": "100.00", "admin_cost_cap_percent": "15"
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

/// A server on an existing database (a second instance, or a restart).
pub async fn server_on(database_url: &str) -> TestServer {
    start(database_url.to_owned(), None).await
}

async fn start(database_url: String, directory: Option<tempfile::TempDir>) -> TestServer {
    start_signing_every(database_url, directory, TEST_CHECKPOINT_INTERVAL).await
}

async fn start_signing_every(
    database_url: String,
    directory: Option<tempfile::TempDir>,
    checkpoint_interval: std::time::Duration,
) -> TestServer {
    let api = ApiConfig {
        checkpoints: Some(ledger_api::checkpoints::CheckpointSettings {
            signing_key: checkpoint_key(),
            interval: checkpoint_interval,
        }),
        // A one-person setup: the suites of the money's flows act as one admin; the four-eyes
        // rule has its own servers ([`four_eyes_server`]).
        approvals_required: 1,
        collection_account: Some(collection_account()),
        iati_organisation_identifier: Some(IATI_ORGANISATION_IDENTIFIER.to_owned()),
        ..ApiConfig::default()
    };
    start_with(database_url, directory, api).await
}

/// A server on a fresh database of `engine` where the four-eyes operations need a second admin
/// (the service's default).
pub async fn four_eyes_server(engine: Engine) -> TestServer {
    let database = fresh_database(engine).await;
    let api = ApiConfig {
        checkpoints: Some(ledger_api::checkpoints::CheckpointSettings {
            signing_key: checkpoint_key(),
            interval: TEST_CHECKPOINT_INTERVAL,
        }),
        approvals_required: 2,
        ..ApiConfig::default()
    };
    start_with(database.url.clone(), database.into_directory(), api).await
}

/// A server on SQLite with the given HTTP settings (small timeouts and caps in tests).
pub async fn sqlite_server_with(api: ApiConfig) -> TestServer {
    let database = fresh_database(Engine::Sqlite).await;
    start_with(database.url.clone(), database.into_directory(), api).await
}

async fn start_with(
    database_url: String,
    directory: Option<tempfile::TempDir>,
    api: ApiConfig,
) -> TestServer {
    let application = Application::build(ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: database_url.clone(),
        database_connect_timeout: ledger_store::DEFAULT_CONNECT_TIMEOUT,
        api,
        tokens: TokenVerifier::hs256(TEST_SECRET, None, None).unwrap(),
    })
    .await
    .unwrap();
    let base_url = format!("http://{}", application.local_addr());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestServer {
        http: HttpClient::new(base_url),
        database_url,
        _directory: directory,
        _shutdown: shutdown,
    }
}

pub async fn sqlite_server() -> TestServer {
    TestServer::start(Engine::Sqlite).await
}

pub async fn postgres_server() -> TestServer {
    TestServer::start(Engine::Postgres).await
}

/// A server on a fresh SQLite database signing its head every `interval` (when it moved).
pub async fn sqlite_server_signing_every(interval: std::time::Duration) -> TestServer {
    let database = fresh_database(Engine::Sqlite).await;
    start_signing_every(database.url.clone(), database.into_directory(), interval).await
}

/// [`sqlite_server_signing_every`] on PostgreSQL.
pub async fn postgres_server_signing_every(interval: std::time::Duration) -> TestServer {
    let database = fresh_database(Engine::Postgres).await;
    start_signing_every(database.url.clone(), database.into_directory(), interval).await
}
