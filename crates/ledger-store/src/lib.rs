//! Persistence of the solidarity ledger: one interface over SQLite (the embedded default) and
//! PostgreSQL (production), with migrations embedded in the binary.
//!
//! Reads go straight to a connection pool. Every write goes through the [`writer`]: a task that
//! groups queued write requests into one database transaction (group commit), serialised across
//! processes by the chain-head lock, while each request keeps its own outcome.

mod accounts;
pub mod audit;
pub mod checkpoints;
mod error;
mod hot_rows;
pub mod lots;
mod memo;
pub mod people;
pub mod proposals;
pub mod records;
pub mod registry;
pub mod reports;
mod rows;
pub mod transfers;
pub mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ledger_core::{
    Account, AccountCode, AccountId, ChainHash, ChainVerifier, JournalRecord, Timestamp,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use error::StoreError;
pub use writer::{
    BalanceBound, BalanceGuard, CommittedTransaction, IdempotencyEntry, StoredResponse,
    WriteOutcome, WriteRequest,
};

use rows::{AccountRow, PostingRow, TransactionRow};

/// The most transactions one journal read returns; callers page with `after_sequence`.
pub const MAX_JOURNAL_PAGE: u32 = 1_000;
/// Journal pages [`Store::journal_pages`] reads at once, each on its own connection (SQLite serves
/// one connection's rows on one thread). A third gave little and took memory (docs/benchmarks.md).
const JOURNAL_PAGES_IN_FLIGHT: usize = 2;
/// Pages [`Store::journal_pages_ahead`] holds ready for its receiver, beyond those being read.
const JOURNAL_PAGES_AHEAD: usize = 2;

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

/// The two database engines the ledger runs on.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which engine a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// Runs the same code against whichever pool the store has; the SQL must be valid in both dialects
/// (`$1` placeholders work in both).
#[macro_export]
#[doc(hidden)]
macro_rules! on_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

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
    lot_ledger: tokio::sync::Mutex<lots::LotLedger>,
}

/// The outcome of recomputing the chain and every balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub transactions_count: u64,
    pub postings_count: u64,
    /// Hash of the last transaction that verified.
    pub head_hash: ChainHash,
    /// The first place where the chain breaks, if any.
    pub first_break: Option<ledger_core::ChainBreak>,
    /// Accounts whose stored balance differs from the sum of their postings.
    pub balance_mismatches: Vec<BalanceMismatch>,
    /// Set when the chain-head row does not point at the last transaction.
    pub head_mismatch: Option<String>,
}

impl VerifyReport {
    pub fn is_valid(&self) -> bool {
        self.first_break.is_none()
            && self.balance_mismatches.is_empty()
            && self.head_mismatch.is_none()
    }
}

/// A stored balance that disagrees with the postings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BalanceMismatch {
    pub account_id: Uuid,
    pub stored_minor: i64,
    pub postings_minor: i128,
}

/// Journal pages read ahead on a task of their own ([`Store::journal_pages_ahead`]).
#[derive(Debug)]
pub struct JournalPagesAhead {
    pages: tokio::sync::mpsc::Receiver<Result<Vec<JournalRecord>, StoreError>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl JournalPagesAhead {
    /// The next page, in chain order; `None` once the range is read. A reader that stopped
    /// early (it panicked) is [`StoreError::ReaderStopped`], never a silent end: an export must
    /// not end short with its end record written.
    pub async fn next(&mut self) -> Option<Result<Vec<JournalRecord>, StoreError>> {
        if let Some(page) = self.pages.recv().await {
            return Some(page);
        }
        match self.reader.take()?.await {
            Ok(()) => None,
            Err(_) => Some(Err(StoreError::ReaderStopped)),
        }
    }
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
                lot_ledger: tokio::sync::Mutex::new(lots::LotLedger::default()),
            }),
        })
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    pub(crate) fn lot_ledger(&self) -> &tokio::sync::Mutex<lots::LotLedger> {
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

    /// Opens an account; its code must be new.
    pub async fn open_account(&self, account: &Account, now: Timestamp) -> Result<(), StoreError> {
        let result = on_pool!(self.backend(), pool => {
            sqlx::query(
                "INSERT INTO accounts (id, code, name, kind, currency, owner_organisation_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(account.id.as_uuid())
            .bind(account.code.as_str())
            .bind(&account.name)
            .bind(account.kind.as_str())
            .bind(account.currency.code())
            .bind(account.owner_organisation.map(|organisation| organisation.as_uuid()))
            .bind(now.to_datetime())
            .execute(pool)
            .await
            .map(|_| ())
        });
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(error))
                if error.constraint() == Some("accounts_code_unique")
                    || error.message().contains("accounts.code") =>
            {
                Err(StoreError::AccountCodeTaken(account.code.to_string()))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// One account by id.
    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(rows::select_account!(), " WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// One account by code.
    pub async fn account_by_code(&self, code: &AccountCode) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(concat!(rows::select_account!(), " WHERE code = $1"))
                .bind(code.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// The accounts among `ids` that exist, keyed by id: what journal validation needs.
    pub async fn accounts(
        &self,
        ids: &[AccountId],
    ) -> Result<HashMap<AccountId, Account>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for id in ids {
            if found.contains_key(id) {
                continue;
            }
            if let Some(account) = self.account(*id).await? {
                found.insert(*id, account);
            }
        }
        Ok(found)
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
                records::Record::ContributionBatch(batch) => Some(memo::period_key(
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
            let row: Option<rows::IdempotencyRow> = sqlx::query_as(rows::SELECT_IDEMPOTENCY)
                .bind(scope)
                .bind(key)
                .fetch_optional(pool)
                .await?;
            row.map(StoredResponse::try_from).transpose()
        })
    }

    /// The account's balance in minor units: current, or as of a sequence number (inclusive).
    pub async fn balance(
        &self,
        id: AccountId,
        at_sequence: Option<u64>,
    ) -> Result<i64, StoreError> {
        let balance: Option<i64> = match at_sequence {
            None => on_pool!(self.backend(), pool => {
                sqlx::query_scalar("SELECT balance_minor FROM account_balances WHERE account_id = $1")
                    .bind(id.as_uuid())
                    .fetch_optional(pool)
                    .await?
            }),
            Some(sequence) => {
                let sequence = sequence_to_db(sequence)?;
                on_pool!(self.backend(), pool => {
                    sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM journal_postings \
                         WHERE account_id = $1 AND sequence <= $2",
                    )
                    .bind(id.as_uuid())
                    .bind(sequence)
                    .fetch_optional(pool)
                    .await?
                })
            }
        };
        Ok(balance.unwrap_or(0))
    }

    /// The last committed sequence and hash (0 and the genesis hash for an empty journal).
    pub async fn chain_head(&self) -> Result<(u64, ChainHash), StoreError> {
        let (sequence, hash): (i64, Vec<u8>) = on_pool!(self.backend(), pool => {
            sqlx::query_as("SELECT last_sequence, last_hash FROM chain_head WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok((sequence_from_db(sequence)?, hash_from_db(&hash)?))
    }

    /// Up to `limit` (at most [`MAX_JOURNAL_PAGE`]) committed transactions after `after_sequence`,
    /// in chain order, with their postings.
    pub async fn journal_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        self.journal_page(after_sequence, u64::MAX, limit).await
    }

    /// The committed transactions with sequences from `from_sequence` to `last_sequence`, in pages
    /// of [`MAX_JOURNAL_PAGE`] sequences, in chain order; [`JOURNAL_PAGES_IN_FLIGHT`] pages are
    /// read at once (on as many connections), so reading overlaps itself and whatever consumes the
    /// pages.
    /// A page is a fixed range of sequences: a damaged journal's missing sequences only make
    /// pages shorter (the chain check reports them), and the stream always ends.
    pub fn journal_pages(
        &self,
        from_sequence: u64,
        last_sequence: u64,
    ) -> impl futures::Stream<Item = Result<Vec<JournalRecord>, StoreError>> + Send + 'static {
        use futures::StreamExt;
        let width = u64::from(MAX_JOURNAL_PAGE);
        let first_after = from_sequence.saturating_sub(1);
        let starts = (first_after < last_sequence)
            .then(|| (first_after..last_sequence).step_by(usize::try_from(width).unwrap_or(1)))
            .into_iter()
            .flatten();
        let store = self.clone();
        futures::stream::iter(starts)
            .map(move |after| {
                let store = store.clone();
                let through = after.saturating_add(width).min(last_sequence);
                async move { store.journal_page(after, through, MAX_JOURNAL_PAGE).await }
            })
            .buffered(JOURNAL_PAGES_IN_FLIGHT)
    }

    /// [`Store::journal_pages`] read on a task of its own, ahead of the receiver: reading the next
    /// pages overlaps whatever the caller does with the current one (rendering, writing), and
    /// memory stays bounded at [`JOURNAL_PAGES_AHEAD`] pages plus those being read. The task stops
    /// at the end of the range, after sending the first error, or when the receiver is dropped.
    pub fn journal_pages_ahead(&self, from_sequence: u64, last_sequence: u64) -> JournalPagesAhead {
        let (sender, pages) = tokio::sync::mpsc::channel(JOURNAL_PAGES_AHEAD);
        let read = self.journal_pages(from_sequence, last_sequence);
        let reader = tokio::spawn(async move {
            use futures::StreamExt;
            let mut read = std::pin::pin!(read);
            while let Some(page) = read.next().await {
                let failed = page.is_err();
                if sender.send(page).await.is_err() || failed {
                    return;
                }
            }
        });
        JournalPagesAhead {
            pages,
            reader: Some(reader),
        }
    }

    /// At most `limit` transactions with `after < sequence <= through`, in chain order.
    async fn journal_page(
        &self,
        after: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        let after = sequence_to_db(after)?;
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let limit = i64::from(limit.clamp(1, MAX_JOURNAL_PAGE));
        if let Backend::Sqlite(pool) = self.backend() {
            // The whole page as one value (see `rows::SELECT_PACKED_PAGE`); a page with anything
            // unusual in it is read again row by row, as on PostgreSQL.
            let (count, packed): (i64, Option<String>) = sqlx::query_as(rows::SELECT_PACKED_PAGE)
                .bind(after)
                .bind(through)
                .bind(limit)
                .fetch_one(pool)
                .await?;
            if let Some(records) = rows::unpack_page(count, packed.as_deref().unwrap_or_default()) {
                return Ok(records);
            }
        }
        self.journal_page_by_rows(after, through, limit).await
    }

    /// [`Store::journal_page`] read row by row: the transactions, then their postings.
    async fn journal_page_by_rows(
        &self,
        after: i64,
        through: i64,
        limit: i64,
    ) -> Result<Vec<JournalRecord>, StoreError> {
        let (transactions, postings): (Vec<TransactionRow>, Vec<PostingRow>) = on_pool!(self.backend(), pool => {
            let transactions: Vec<TransactionRow> = sqlx::query_as(concat!(
                rows::select_transaction!(),
                " WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence LIMIT $3"
            ))
            .bind(after)
            .bind(through)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let last = transactions.last().map_or(after, |row| row.sequence);
            let postings: Vec<PostingRow> = sqlx::query_as(
                "SELECT sequence, account_id, currency, amount_minor FROM journal_postings \
                 WHERE sequence > $1 AND sequence <= $2 ORDER BY sequence, posting_index",
            )
            .bind(after)
            .bind(last)
            .fetch_all(pool)
            .await?;
            (transactions, postings)
        });
        rows::assemble_records(transactions, postings)
    }

    /// Recomputes the whole chain and every account balance from the postings, and compares them
    /// with what the database keeps.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        const PAGE: u32 = MAX_JOURNAL_PAGE;
        let mut verifier = ChainVerifier::new();
        let mut first_break = None;
        let mut after = 0;
        'pages: loop {
            let page = self.journal_after(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.sequence;
            for record in &page {
                if let Err(broken) = verifier.push(record) {
                    first_break = Some(broken);
                    break 'pages;
                }
            }
        }
        let mut balance_mismatches = Vec::new();
        let mut head_mismatch = None;
        if first_break.is_none() {
            let stored: Vec<(Uuid, i64)> = on_pool!(self.backend(), pool => {
                sqlx::query_as("SELECT account_id, balance_minor FROM account_balances ORDER BY account_id")
                    .fetch_all(pool)
                    .await?
            });
            let mut computed: HashMap<Uuid, i128> = HashMap::new();
            for ((account_id, _currency), balance) in verifier.balances() {
                *computed.entry(account_id).or_default() += balance;
            }
            for (account_id, stored_minor) in &stored {
                let postings_minor = computed.remove(account_id).unwrap_or(0);
                if i128::from(*stored_minor) != postings_minor {
                    balance_mismatches.push(BalanceMismatch {
                        account_id: *account_id,
                        stored_minor: *stored_minor,
                        postings_minor,
                    });
                }
            }
            for (account_id, postings_minor) in computed {
                balance_mismatches.push(BalanceMismatch {
                    account_id,
                    stored_minor: 0,
                    postings_minor,
                });
            }
            let (head_sequence, head_hash) = self.chain_head().await?;
            let last_verified = verifier.next_sequence() - 1;
            if head_sequence != last_verified || head_hash != verifier.head_hash() {
                head_mismatch = Some(format!(
                    "chain head says sequence {head_sequence} ({head_hash}), the journal ends at {last_verified} ({})",
                    verifier.head_hash()
                ));
            }
        }
        Ok(VerifyReport {
            transactions_count: verifier.transactions_count(),
            postings_count: verifier.postings_count(),
            head_hash: verifier.head_hash(),
            first_break,
            balance_mismatches,
            head_mismatch,
        })
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

pub(crate) fn sequence_to_db(sequence: u64) -> Result<i64, StoreError> {
    i64::try_from(sequence)
        .map_err(|_| StoreError::Corrupt(format!("sequence {sequence} out of range")))
}

pub(crate) fn sequence_from_db(sequence: i64) -> Result<u64, StoreError> {
    u64::try_from(sequence)
        .map_err(|_| StoreError::Corrupt(format!("negative sequence {sequence}")))
}

pub(crate) fn hash_from_db(bytes: &[u8]) -> Result<ChainHash, StoreError> {
    ChainHash::from_slice(bytes).ok_or_else(|| {
        StoreError::Corrupt(format!("a stored hash has {} bytes, not 32", bytes.len()))
    })
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

    use std::collections::HashMap;

    use chrono::NaiveDate;
    use ledger_core::{
        Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, Posting, Timestamp,
        TransactionDraft, TransactionId, TransactionKind,
    };
    use uuid::Uuid;

    use super::*;

    #[tokio::test]
    async fn pages_read_ahead_end_in_an_error_when_their_reader_stops_early() {
        // Proves a reader that dies mid-range (a panic drops its sender like a normal end) is
        // reported, so an export never ends short with its end record written.
        let (sender, pages) = tokio::sync::mpsc::channel(JOURNAL_PAGES_AHEAD);
        let reader = tokio::spawn(async move {
            sender.send(Ok(Vec::new())).await.unwrap();
            panic!("the reader dies");
        });
        let mut ahead = JournalPagesAhead {
            pages,
            reader: Some(reader),
        };
        assert!(matches!(ahead.next().await, Some(Ok(page)) if page.is_empty()));
        assert!(matches!(
            ahead.next().await,
            Some(Err(StoreError::ReaderStopped))
        ));
        assert!(ahead.next().await.is_none());
    }

    #[tokio::test]
    async fn pages_read_ahead_end_when_the_range_is_read() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
        let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let mut ahead = store.journal_pages_ahead(1, 0);
        assert!(ahead.next().await.is_none(), "an empty range");
    }

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

    #[tokio::test]
    async fn sqlite_pages_are_read_as_one_packed_value() {
        // Proves SQLite's fast read (one packed value per page) decodes an ordinary journal by
        // itself, with texts holding its separators and non-ASCII letters, and agrees with the
        // row-by-row read: were it to fall back silently, exports would be right but slow.
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
        let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let now = Timestamp::from_datetime(chrono::Utc::now());
        let mut chart = HashMap::new();
        for code in ["cash", "pool"] {
            let account = Account {
                id: AccountId::from_uuid(Uuid::new_v4()),
                code: AccountCode::parse(code).unwrap(),
                name: code.into(),
                kind: AccountKind::Asset,
                currency: Currency::eur(),
                owner_organisation: None,
            };
            store.open_account(&account, now).await.unwrap();
            chart.insert(account.id, account);
        }
        let ids: Vec<AccountId> = chart.keys().copied().collect();
        for minor in 1..=3_i64 {
            let amount = Amount::from_minor(minor * 100, Currency::eur()).unwrap();
            let transaction = TransactionDraft {
                id: TransactionId::from_uuid(Uuid::new_v4()),
                kind: TransactionKind::Adjustment,
                effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                recorded_at: now,
                actor: Actor::system(),
                memo: format!("12:34, section {minor}; Montréal"),
                metadata: serde_json::Map::from_iter([("note".to_owned(), "a:b,c".into())]),
                postings: vec![
                    Posting {
                        account_id: ids[0],
                        amount,
                    },
                    Posting {
                        account_id: ids[1],
                        amount: amount.negated(),
                    },
                ],
            }
            .validate(&chart)
            .unwrap();
            store.append(transaction).await.unwrap();
        }
        let pool = store.sqlite_pool().unwrap();
        let (count, packed): (i64, Option<String>) = sqlx::query_as(rows::SELECT_PACKED_PAGE)
            .bind(0_i64)
            .bind(i64::MAX)
            .bind(1000_i64)
            .fetch_one(pool)
            .await
            .unwrap();
        let packed_records =
            rows::unpack_page(count, &packed.unwrap()).expect("the packed page decodes");
        let row_records = store.journal_page_by_rows(0, i64::MAX, 1000).await.unwrap();
        assert_eq!(packed_records.len(), 3);
        assert_eq!(packed_records, row_records);
        assert_eq!(packed_records[2].memo, "12:34, section 3; Montréal");
        assert!(store.verify().await.unwrap().is_valid());
    }
}
