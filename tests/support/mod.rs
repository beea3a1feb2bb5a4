//! Shared fixtures of the end-to-end tests: the real application on a random port, on SQLite or
//! PostgreSQL.

#![allow(dead_code)] // each test binary uses a different part of the fixtures

use ledger_api::{ApiConfig, Application, ServeConfig};

/// A running server and what keeps its database alive.
pub struct TestServer {
    pub base_url: String,
    pub database_url: String,
    pub client: reqwest::Client,
    _directory: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

async fn start(database_url: String, directory: Option<tempfile::TempDir>) -> TestServer {
    let application = Application::build(ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: database_url.clone(),
        api: ApiConfig::default(),
    })
    .await
    .unwrap();
    let base_url = format!("http://{}", application.local_addr());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestServer {
        base_url,
        database_url,
        client: reqwest::Client::new(),
        _directory: directory,
        _shutdown: shutdown,
    }
}

pub async fn sqlite_server() -> TestServer {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    start(url, Some(directory)).await
}

pub async fn postgres_server() -> TestServer {
    start(ledger_testkit::postgres_database().await.url, None).await
}

/// Generates one `#[tokio::test]` per engine for each listed `async fn(TestServer)`.
#[macro_export]
macro_rules! on_both_engines {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::support::sqlite_server().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::support::postgres_server().await).await;
                }
            )*
        }
    };
}
