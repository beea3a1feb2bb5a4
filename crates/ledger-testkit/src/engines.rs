//! One test, both engines: a fresh database on SQLite or PostgreSQL ([`fresh_database`]), the
//! fixtures that start on either ([`OnEngine`]), and [`on_both_engines!`](crate::on_both_engines),
//! which instantiates a test written once as one `#[tokio::test]` per engine.

use std::future::Future;

/// The two database engines the ledger runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A fresh, empty database on one engine and what keeps it alive.
#[derive(Debug)]
pub struct FreshDatabase {
    /// `sqlite:<file>` or `postgres://...`, for `Store::connect` or a server's configuration.
    pub url: String,
    /// The SQLite file's directory, removed when dropped; `None` on PostgreSQL.
    directory: Option<tempfile::TempDir>,
}

impl FreshDatabase {
    /// The SQLite file's directory (to keep it alive, or to reach its file); `None` on PostgreSQL.
    pub fn into_directory(self) -> Option<tempfile::TempDir> {
        self.directory
    }
}

/// A new, empty database: a `ledger.db` in a new temporary directory on SQLite, a new database of
/// [`crate::postgres_database`] on PostgreSQL.
///
/// # Panics
/// When the temporary directory cannot be made, or as [`crate::postgres_database`] does.
// A test helper must fail loudly.
#[allow(clippy::expect_used)]
pub async fn fresh_database(engine: Engine) -> FreshDatabase {
    match engine {
        Engine::Sqlite => {
            let directory = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
            FreshDatabase {
                url,
                directory: Some(directory),
            }
        }
        Engine::Postgres => FreshDatabase {
            url: crate::postgres_database().await.url,
            directory: None,
        },
    }
}

/// A fixture that starts on either engine: a test taking one is written once and run on both by
/// [`on_both_engines!`](crate::on_both_engines).
pub trait OnEngine: Sized {
    /// A fresh fixture on `engine`.
    fn start(engine: Engine) -> impl Future<Output = Self>;
}

/// A fresh `F` on `engine`; what [`on_both_engines!`](crate::on_both_engines) calls, so the
/// fixture's type comes from the test's parameter.
pub async fn on_engine<F: OnEngine>(engine: Engine) -> F {
    F::start(engine).await
}

/// Instantiates each listed `async fn(F)`, where `F` is an [`OnEngine`] fixture (the store's
/// [`crate::store::Fixture`], the end-to-end tests' server), as one `#[tokio::test]` per engine, in
/// modules `sqlite` and `postgres`: a test is written once and run on both.
#[macro_export]
macro_rules! on_both_engines {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::on_engine($crate::Engine::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::on_engine($crate::Engine::Postgres).await).await;
                }
            )*
        }
    };
}
