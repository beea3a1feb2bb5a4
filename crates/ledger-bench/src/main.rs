//! `ledger-bench`: measures the ledger's write path on SQLite and PostgreSQL with durable commits,
//! and, in the same run, the machine's baseline (plain single-row INSERT commits on the same
//! database), so figures from different machines can be compared. Run it in release mode:
//! `cargo run --release -p ledger-bench -- append`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions};
use uuid::Uuid;

/// mimalloc rather than the system allocator: a request allocates many small, short-lived values
/// (JSON, SQL arguments) on several threads, where glibc's malloc showed up at about a fifth of
/// the service's CPU time in the batch benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(about = "Benchmarks of the solidarity ledger (run with --release)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Appends per second of 2-posting transactions through the store, chain included, durable
    /// commits, with 1 and 8 concurrent writers, plus the plain-INSERT baseline.
    Append {
        /// Seconds each measurement runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        backends: Vec<Backend>,
        /// Concurrent writers, one measurement per value.
        #[arg(long, value_delimiter = ',', default_values = ["1", "8"])]
        writers: Vec<usize>,
        /// PostgreSQL server to use (a database is created in it); by default a throw-away durable
        /// cluster is started from the machine's PostgreSQL binaries.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
    /// Contribution batches over HTTP (JWT and idempotency on, durable commits): one batch of
    /// 100,000 lines, then 8 clients posting 10-line batches; with the HTTP stack's own baseline
    /// (GET /healthz) and the database's (plain INSERT commits) in the same run.
    Http {
        /// Seconds the 8-client measurement runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        backends: Vec<Backend>,
        /// Lines of the large batch.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        /// PostgreSQL server to use, as for `append`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
    /// One batch sent as a French Excel CSV (`;`, decimal comma, Windows-1252) against the same
    /// lines sent as JSON, on the same server, in lines per second; and the sheet's reading alone.
    SheetBatch {
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        backends: Vec<Backend>,
        /// Lines of the batch.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        /// PostgreSQL server to use, as for `append`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
    /// Plan and execute a transfer run for many beneficiaries over a pool fed by many batches, over
    /// HTTP, with the engine's commit baseline in the same run.
    TransferRun {
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        backends: Vec<Backend>,
        /// Beneficiaries of the programme.
        #[arg(long, default_value_t = 1_000)]
        beneficiaries: usize,
        /// Contribution batches (each fully received) feeding the pool.
        #[arg(long, default_value_t = 100_000)]
        batches: usize,
        /// PostgreSQL server to use, as for `append`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
    /// One union's batches of one programme and period listed page by page over HTTP (pages per
    /// second), with the former list query (a correlated COUNT per row) timed on the same data.
    BatchList {
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["postgres"])]
        backends: Vec<Backend>,
        /// Batches of the union in the period.
        #[arg(long, default_value_t = 100_000)]
        batches: usize,
        /// Batches per page (the API's largest page).
        #[arg(long, default_value_t = 1_000)]
        page: u32,
        /// PostgreSQL server to use, as for `append`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
    /// The public site (issue 20): the home page and a mutual's page over the demo × `scale`, with
    /// `GET /healthz` in the same run (p50/p99 of `calls` sequential requests each).
    PublicPages {
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        backends: Vec<Backend>,
        /// The demo's size times this (4 unions and 3 mutuals per unit).
        #[arg(long, default_value_t = 100)]
        scale: usize,
        /// Requests per measured series.
        #[arg(long, default_value_t = 500)]
        calls: usize,
        /// PostgreSQL server to use, as for `append`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
    /// Auditors' exports of a large journal: streamed by the API and written by `export`, in both
    /// formats, then `verify --file`, with `sha256sum` of the same file as the baseline. Needs
    /// `cargo build --release` (the `solidarity-ledger` binary) first.
    Export {
        /// Transactions in the journal (two postings each).
        #[arg(long, default_value_t = 1_000_000)]
        transactions: u64,
        /// Keep the SQLite database and the exported files in this directory instead of a
        /// temporary one, and reuse a database there that already holds the journal (the fill
        /// takes minutes; reusing it lets one measure the export and `verify --file` again).
        #[arg(long)]
        work_dir: Option<std::path::PathBuf>,
        /// Which engines to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
        backends: Vec<Backend>,
        /// PostgreSQL server to use, as for `append`.
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres_url: Option<String>,
    },
}

mod batch_list;
mod export;
mod http;
mod public_pages;
mod sheet_batch;
mod transfer_run;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// One measured series.
pub(crate) struct Measurement {
    pub(crate) operations: u64,
    pub(crate) elapsed: Duration,
    pub(crate) latencies: Vec<Duration>,
}

impl Measurement {
    pub(crate) fn per_second(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn percentile_ms(&self, percentile: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return 0.0;
        }
        let index = ((sorted.len() as f64 - 1.0) * percentile).round() as usize;
        sorted[index].as_secs_f64() * 1000.0
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Append {
            seconds,
            backends,
            writers,
            postgres_url,
        } => runtime.block_on(append(
            Duration::from_secs(seconds),
            &backends,
            &writers,
            postgres_url,
        )),
        Command::Http {
            seconds,
            backends,
            lines,
            postgres_url,
        } => runtime.block_on(http::run(
            Duration::from_secs(seconds),
            &backends,
            lines,
            postgres_url,
        )),
        Command::SheetBatch {
            backends,
            lines,
            postgres_url,
        } => runtime.block_on(sheet_batch::run(&backends, lines, postgres_url)),
        Command::TransferRun {
            backends,
            beneficiaries,
            batches,
            postgres_url,
        } => runtime.block_on(transfer_run::run(
            &backends,
            beneficiaries,
            batches,
            postgres_url,
        )),
        Command::BatchList {
            backends,
            batches,
            page,
            postgres_url,
        } => runtime.block_on(batch_list::run(&backends, batches, page, postgres_url)),
        Command::PublicPages {
            backends,
            scale,
            calls,
            postgres_url,
        } => runtime.block_on(public_pages::run(&backends, scale, calls, postgres_url)),
        Command::Export {
            transactions,
            work_dir,
            backends,
            postgres_url,
        } => runtime.block_on(export::run(
            transactions,
            &backends,
            postgres_url,
            work_dir.as_deref(),
        )),
    }
}

async fn append(
    duration: Duration,
    backends: &[Backend],
    writer_counts: &[usize],
    postgres_url: Option<String>,
) -> Result<()> {
    println!(
        "| engine | what | writers | ops/s | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|"
    );
    let scratch = tempfile::tempdir()?;
    // Kept alive until the end of the run when we start our own cluster.
    let mut cluster = None;
    for backend in backends {
        for &writers in writer_counts {
            let url = match backend {
                Backend::Sqlite => format!(
                    "sqlite:{}",
                    scratch
                        .path()
                        .join(format!("bench-{}.db", Uuid::new_v4().simple()))
                        .display()
                ),
                Backend::Postgres => postgres_database(&postgres_url, &mut cluster).await?,
            };
            let baseline = baseline_inserts(&url, writers, duration).await?;
            report(
                *backend,
                "baseline: single-row INSERT commits",
                writers,
                &baseline,
            );
            let ledger = ledger_appends(&url, writers, duration).await?;
            report(
                *backend,
                "ledger: 2-posting append, chained",
                writers,
                &ledger,
            );
        }
    }
    Ok(())
}

fn report(backend: Backend, what: &str, writers: usize, measurement: &Measurement) {
    println!(
        "| {backend:?} | {what} | {writers} | {:.0} | {:.2} | {:.2} |",
        measurement.per_second(),
        measurement.percentile_ms(0.50),
        measurement.percentile_ms(0.99),
    );
}

pub(crate) async fn postgres_database(
    server_url: &Option<String>,
    cluster: &mut Option<ledger_testkit::PostgresCluster>,
) -> Result<String> {
    let name = format!("bench_{}", Uuid::new_v4().simple());
    if let Some(server_url) = server_url {
        use sqlx::{Connection, Executor};
        let mut connection = sqlx::PgConnection::connect(server_url).await?;
        connection
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await?;
        let mut url = url_without_database(server_url);
        url.push('/');
        url.push_str(&name);
        return Ok(url);
    }
    if cluster.is_none() {
        // Durable: fsync on, as production runs.
        *cluster = Some(
            ledger_testkit::PostgresCluster::start(true)
                .map_err(anyhow::Error::msg)
                .context("starting a throw-away PostgreSQL cluster")?,
        );
    }
    match cluster {
        Some(cluster) => cluster
            .create_database(&name)
            .await
            .map_err(anyhow::Error::msg),
        None => bail!("no PostgreSQL cluster"),
    }
}

fn url_without_database(url: &str) -> String {
    let (before_query, _) = url.split_once('?').unwrap_or((url, ""));
    match before_query.rfind('/') {
        Some(slash) if slash > "postgres://".len() => before_query[..slash].to_owned(),
        _ => before_query.to_owned(),
    }
}

/// Plain single-row INSERTs, each its own durable commit: what the machine and engine give
/// without any ledger logic.
pub(crate) async fn baseline_inserts(
    url: &str,
    writers: usize,
    duration: Duration,
) -> Result<Measurement> {
    let store = Store::connect(
        url,
        StoreOptions {
            max_connections: writers as u32 + 1,
            ..StoreOptions::default()
        },
    )
    .await?;
    let create =
        "CREATE TABLE bench_baseline (id BIGINT NOT NULL PRIMARY KEY, payload TEXT NOT NULL)";
    let insert = "INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)";
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(create).execute(pool).await?;
    } else if let Some(pool) = store.postgres_pool() {
        sqlx::query(create).execute(pool).await?;
    }
    let counter = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let id = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let begun = Instant::now();
                if let Some(pool) = store.sqlite_pool() {
                    sqlx::query(insert)
                        .bind(id)
                        .bind("payload")
                        .execute(pool)
                        .await?;
                } else if let Some(pool) = store.postgres_pool() {
                    sqlx::query(insert)
                        .bind(id)
                        .bind("payload")
                        .execute(pool)
                        .await?;
                }
                latencies.push(begun.elapsed());
            }
            Ok::<_, sqlx::Error>(latencies)
        }));
    }
    collect(tasks, started).await
}

/// Accounts of the plain PL/pgSQL ledger ([`plain_plpgsql_ledger`]).
pub(crate) const PLAIN_LEDGER_ACCOUNTS: i32 = 1_000;

/// The reference point for the batch rate: a plain PL/pgSQL ledger doing simple
/// transfers, created in the database at `url`. `bench_plain_transfer(debit, credit, amount)` locks
/// two of [`PLAIN_LEDGER_ACCOUNTS`] accounts (in id order, so transfers never deadlock), moves the
/// amount between their balances and records the transfer row. PostgreSQL only; returns a pool
/// with a connection per writer.
pub(crate) async fn plain_plpgsql_ledger(url: &str, writers: usize) -> Result<sqlx::PgPool> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(writers as u32 + 1)
        .connect(url)
        .await?;
    for statement in [
        "CREATE TABLE bench_plain_accounts (id INTEGER NOT NULL PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE bench_plain_transfers (id BIGSERIAL PRIMARY KEY, \
         debit INTEGER NOT NULL REFERENCES bench_plain_accounts (id), \
         credit INTEGER NOT NULL REFERENCES bench_plain_accounts (id), \
         amount BIGINT NOT NULL CHECK (amount > 0), recorded_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        "CREATE FUNCTION bench_plain_transfer(p_debit INTEGER, p_credit INTEGER, p_amount BIGINT) \
         RETURNS BIGINT LANGUAGE plpgsql AS $$ \
         DECLARE transfer_id BIGINT; \
         BEGIN \
             PERFORM 1 FROM bench_plain_accounts WHERE id IN (p_debit, p_credit) ORDER BY id FOR UPDATE; \
             UPDATE bench_plain_accounts SET balance = balance + p_amount WHERE id = p_debit; \
             UPDATE bench_plain_accounts SET balance = balance - p_amount WHERE id = p_credit; \
             INSERT INTO bench_plain_transfers (debit, credit, amount) VALUES (p_debit, p_credit, p_amount) \
                 RETURNING id INTO transfer_id; \
             RETURN transfer_id; \
         END $$",
    ] {
        sqlx::query(statement).execute(&pool).await?;
    }
    sqlx::query(
        "INSERT INTO bench_plain_accounts SELECT account, 0 FROM generate_series(1, $1) AS account",
    )
    .bind(PLAIN_LEDGER_ACCOUNTS)
    .execute(&pool)
    .await?;
    Ok(pool)
}

async fn collect(
    tasks: Vec<
        tokio::task::JoinHandle<
            Result<Vec<Duration>, impl std::error::Error + Send + Sync + 'static>,
        >,
    >,
    started: Instant,
) -> Result<Measurement> {
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(Measurement {
        operations: latencies.len() as u64,
        elapsed: started.elapsed(),
        latencies,
    })
}

/// Ledger appends through the store's writer (validation done beforehand, as the API does it).
async fn ledger_appends(url: &str, writers: usize, duration: Duration) -> Result<Measurement> {
    let store = Store::connect(
        url,
        StoreOptions {
            max_connections: writers as u32 + 1,
            ..StoreOptions::default()
        },
    )
    .await?;
    store.migrate().await?;
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let mut chart = HashMap::new();
    for index in 0..16 {
        let account = Account {
            id: AccountId::from_uuid(Uuid::new_v4()),
            code: AccountCode::parse(&format!("bench:{index}")).map_err(anyhow::Error::msg)?,
            name: format!("bench account {index}"),
            kind: AccountKind::Asset,
            currency: Currency::eur(),
            owner_organisation: None,
        };
        store.open_account(&account, now).await?;
        chart.insert(account.id, account);
    }
    let chart = Arc::new(chart);
    let ids: Arc<Vec<AccountId>> = Arc::new(chart.keys().copied().collect());
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        let chart = chart.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut step = writer;
            while Instant::now() < deadline {
                step += 1;
                let debit = ids[step % ids.len()];
                let credit = ids[(step + 1) % ids.len()];
                let amount = Amount::from_minor(100, Currency::eur())
                    .map_err(|error| anyhow::anyhow!(error))?;
                let transaction = TransactionDraft {
                    id: TransactionId::from_uuid(Uuid::new_v4()),
                    kind: TransactionKind::Adjustment,
                    effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
                    recorded_at: Timestamp::from_datetime(chrono::Utc::now()),
                    actor: Actor::system(),
                    memo: "benchmark".into(),
                    metadata: serde_json::Map::new(),
                    postings: vec![
                        Posting {
                            account_id: debit,
                            amount,
                        },
                        Posting {
                            account_id: credit,
                            amount: amount.negated(),
                        },
                    ],
                }
                .validate(&chart)
                .map_err(|violations| anyhow::anyhow!("{violations:?}"))?;
                let begun = Instant::now();
                store.append(transaction).await?;
                latencies.push(begun.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let measurement = Measurement {
        operations: latencies.len() as u64,
        elapsed: started.elapsed(),
        latencies,
    };
    let report = store.verify().await?;
    if !report.is_valid() {
        bail!("the chain does not verify after the benchmark: {report:?}");
    }
    Ok(measurement)
}
