//! The store's handle: opening a database on either engine, migrating it, and queueing writes for
//! the [`crate::writer`]. Reads are `impl Store` blocks in the modules of their topic.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::mpsc;

use crate::backend::{Backend, BackendKind, on_pool};
use crate::error::StoreError;
use crate::idempotency::{IdempotencyRow, SELECT_IDEMPOTENCY, StoredResponse};
use crate::lots::{LotLedger, LotView};
use crate::memo;
use crate::records::Record;
use crate::rows::sequence_to_db;
use crate::writer::{self, CommittedTransaction, WriteOutcome, WriteRequest};

/// How long a connection waits for the SQLite write lock held by another process before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a PostgreSQL database may take by default before it is reported unreachable:
/// a server that answers takes milliseconds; one that refuses is reported at once.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Pool size for reads (the writer takes one more connection while it commits).
    pub max_connections: u32,
    /// How long the first PostgreSQL connection may take before the database is reported
    /// unreachable.
    pub connect_timeout: Duration,
    /// Whether a missing SQLite database file is created (`serve`, `migrate`) or reported
    /// ([`StoreError::NoDatabase`]: `verify`, `export`).
    pub create_if_missing: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            create_if_missing: true,
        }
    }
}

/// The permissions of a SQLite database file this store creates: owner only, like the JWT secret
/// (the books name every organisation and amount). SQLite gives its `-wal` and `-shm` files the
/// database file's permissions.
#[cfg(unix)]
const DATABASE_FILE_MODE: u32 = 0o600;

/// Handle to the ledger's database. Cheap to clone; all clones share the pool and the writer.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    backend: Backend,
    writer: mpsc::Sender<writer::Queued>,
    memory: memo::Memory,
    /// The FIFO lot book, followed incrementally (see [`lots`]).
    lot_ledger: tokio::sync::Mutex<LotLedger>,
}

impl Store {
    /// Opens the database at `url` (`sqlite:path` or `postgres://...`); a SQLite file and its
    /// directory are created when missing. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect_options = PgConnectOptions::from_str(url)?;
            // One connection first, with its own deadline, so a server that refuses or does not
            // answer is reported with its cause instead of the pool's "timed out" after 30 s.
            let probe = tokio::time::timeout(
                options.connect_timeout,
                <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&connect_options),
            )
            .await
            .map_err(|_| {
                StoreError::Unreachable(format!(
                    "no answer within {} s",
                    options.connect_timeout.as_secs_f64()
                ))
            })?
            .map_err(|error| match error {
                sqlx::Error::Io(cause) => StoreError::Unreachable(cause.to_string()),
                other => StoreError::Database(other),
            })?;
            sqlx::Connection::close(probe).await?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .connect_with(connect_options)
                .await?;
            Backend::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let connect_options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(options.create_if_missing)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit is on disk before it is acknowledged, even in WAL mode.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            if let Some(parent) = Path::new(connect_options.get_filename()).parent()
                && !parent.as_os_str().is_empty()
                && options.create_if_missing
            {
                std::fs::create_dir_all(parent)
                    .map_err(|error| StoreError::Database(sqlx::Error::Io(error)))?;
            }
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            if !in_memory {
                prepare_database_file(Path::new(connect_options.get_filename()), &options)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .connect_with(connect_options)
                .await?;
            Backend::Sqlite(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let writer = writer::spawn(backend.clone());
        Ok(Store {
            inner: Arc::new(StoreInner {
                backend,
                writer,
                memory: memo::Memory::new(),
                lot_ledger: tokio::sync::Mutex::new(LotLedger::default()),
            }),
        })
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    pub(crate) fn lot_ledger(&self) -> &tokio::sync::Mutex<LotLedger> {
        &self.inner.lot_ledger
    }

    pub(crate) fn memory(&self) -> &memo::Memory {
        &self.inner.memory
    }

    /// Which engine this store runs on.
    pub fn kind(&self) -> BackendKind {
        match self.backend() {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Applies the embedded migrations of this engine.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend() {
            Backend::Sqlite(pool) => sqlx::migrate!("../../migrations/sqlite").run(pool).await?,
            Backend::Postgres(pool) => {
                sqlx::migrate!("../../migrations/postgres")
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// True when the database answers and every embedded migration has been applied.
    pub async fn is_ready(&self) -> Result<bool, StoreError> {
        let migrator = match self.backend() {
            Backend::Sqlite(_) => sqlx::migrate!("../../migrations/sqlite"),
            Backend::Postgres(_) => sqlx::migrate!("../../migrations/postgres"),
        };
        let expected = migrator
            .iter()
            .filter(|migration| migration.migration_type.is_up_migration())
            .count();
        let applied: Result<i64, sqlx::Error> = on_pool!(self.backend(), pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
        });
        match applied {
            Ok(applied) => Ok(usize::try_from(applied).is_ok_and(|applied| applied >= expected)),
            // No migrations table yet: reachable but not migrated.
            Err(sqlx::Error::Database(_)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Closes the pools after the writer has finished what was queued.
    pub async fn close(&self) {
        on_pool!(self.backend(), pool => pool.close().await)
    }

    /// Appends one balanced transaction; the convenience form of [`Store::write`].
    pub async fn append(
        &self,
        transaction: ledger_core::BalancedTransaction,
    ) -> Result<CommittedTransaction, StoreError> {
        match self.write(WriteRequest::transaction(transaction)).await? {
            WriteOutcome::Committed(mut committed) if committed.len() == 1 => {
                committed.pop().ok_or(StoreError::WriterStopped)
            }
            other => Err(StoreError::Corrupt(format!(
                "a plain append returned {other:?}"
            ))),
        }
    }

    /// Queues a write and waits for its own outcome. The effect is durable when this returns `Ok`.
    pub async fn write(&self, request: WriteRequest) -> Result<WriteOutcome, StoreError> {
        let periods: Vec<memo::PeriodKey> = request
            .records
            .iter()
            .filter_map(|record| match record {
                Record::ContributionBatch(batch) => Some(memo::period_key(
                    batch.contributor_id,
                    batch.programme_id,
                    &batch.period,
                )),
                _ => None,
            })
            .collect();
        let outcome = writer::submit(&self.inner.writer, request).await?;
        if matches!(outcome, WriteOutcome::Committed(_)) {
            for period in periods {
                self.memory().periods_with_batches.remember(period, ());
            }
        }
        Ok(outcome)
    }

    /// The stored response of an idempotent request, if its key was used in this scope.
    pub async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        on_pool!(self.backend(), pool => {
            let row: Option<IdempotencyRow> = sqlx::query_as(SELECT_IDEMPOTENCY)
                .bind(scope)
                .bind(key)
                .fetch_optional(pool)
                .await?;
            row.map(StoredResponse::try_from).transpose()
        })
    }

    /// Runs `read` on the lot book as the ledger stands now (with why each held beneficiary was last
    /// held), after applying what was committed since the last read.
    pub async fn with_lot_book<T>(
        &self,
        read: impl FnOnce(LotView<'_>) -> T,
    ) -> Result<T, StoreError> {
        let mut ledger = self.lot_ledger().lock().await;
        let (head, _) = self.chain_head().await?;
        let head = sequence_to_db(head)?;
        if head > ledger.through_sequence()
            && let Err(error) = ledger.catch_up(self.backend(), head).await
        {
            // A half-applied book must not be read again: start over on the next read.
            *ledger = LotLedger::default();
            return Err(error);
        }
        Ok(read(ledger.view()))
    }

    /// Raw access for tests and tools that must reach past the interface (tamper tests, benchmarks'
    /// baselines). Not for application code.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match self.backend() {
            Backend::Sqlite(pool) => Some(pool),
            Backend::Postgres(_) => None,
        }
    }

    /// See [`Store::sqlite_pool`].
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match self.backend() {
            Backend::Postgres(pool) => Some(pool),
            Backend::Sqlite(_) => None,
        }
    }
}

/// Creates a missing SQLite database file readable by its owner only (or reports it missing when
/// it must not be created), and takes group and world access away from an existing one.
fn prepare_database_file(path: &Path, options: &StoreOptions) -> Result<(), StoreError> {
    if !path.exists() {
        if !options.create_if_missing {
            return Err(StoreError::NoDatabase(path.display().to_string()));
        }
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, DATABASE_FILE_MODE);
        match file.open(path) {
            Ok(_) => {}
            // Another process created it in between: fine, the mode is tightened below.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(StoreError::Database(sqlx::Error::Io(error))),
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [
            path.to_path_buf(),
            sibling(path, "-wal"),
            sibling(path, "-shm"),
        ] {
            let Ok(metadata) = std::fs::metadata(&file) else {
                continue;
            };
            if metadata.permissions().mode() & 0o077 != 0
                && let Err(error) = std::fs::set_permissions(
                    &file,
                    std::fs::Permissions::from_mode(DATABASE_FILE_MODE),
                )
            {
                tracing::warn!(path = %file.display(), error = %error, "could not make the database file private");
            }
        }
    }
    Ok(())
}

/// `ledger.db` + `-wal` → `ledger.db-wal`.
#[cfg(unix)]
fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn sqlite_connections_keep_their_own_page_cache() {
        // `.cargo/config.toml` builds the bundled SQLite without ENABLE_MEMORY_MANAGEMENT. With
        // it, all connections of the process share one page budget that idle pool connections
        // fill, and a reading connection keeps no page it has let go of: a full export read
        // each b-tree page about eleven times from the file.
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .unwrap();
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
            .fetch_all(store.sqlite_pool().unwrap())
            .await
            .unwrap();
        assert!(
            options
                .iter()
                .any(|option| option.starts_with("THREADSAFE="))
        );
        assert!(
            !options.contains(&"ENABLE_MEMORY_MANAGEMENT".to_owned()),
            "SQLite was built with {options:?}"
        );
    }
}
