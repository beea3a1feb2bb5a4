//! `solidarity-ledger`: the service binary. Commands stay thin; the work is in the crates.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ledger_api::{ApiConfig, Application, ServeConfig};
use ledger_store::{Store, StoreOptions};
use tracing_subscriber::EnvFilter;

/// Books of the solidarity euro: an exact, append-only, hash-chained ledger with a JSON API.
#[derive(Debug, Parser)]
#[command(name = "solidarity-ledger", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then serve the HTTP API until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Apply the embedded database migrations and exit.
    Migrate(DatabaseArgs),
    /// Recompute the hash chain and every balance; exit 1 and print the first break if anything is wrong.
    Verify(DatabaseArgs),
}

/// Where the data lives.
#[derive(Debug, Args)]
struct DatabaseArgs {
    /// Directory of the embedded SQLite database (used when DATABASE_URL is not set).
    #[arg(long, env = "SOLIDARITY_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Database URL: sqlite:PATH or postgres://user:password@host:port/database.
    /// Default: sqlite:<data-dir>/ledger.db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| sqlite_url(&self.data_dir))
    }
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite:{}", data_dir.join("ledger.db").display())
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on; port 0 picks a free port (logged at start).
    #[arg(long, env = "SOLIDARITY_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Requests running longer than this are answered with 408.
    #[arg(long, env = "SOLIDARITY_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    request_timeout_seconds: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(arguments) => serve(arguments).await,
        Command::Migrate(database) => {
            let store = open(&database).await?;
            store.migrate().await.context("applying migrations")?;
            println!("migrations applied to {}", redact(&database.url()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(database) => verify(&database).await,
    }
}

async fn open(database: &DatabaseArgs) -> anyhow::Result<Store> {
    Store::connect(&database.url(), StoreOptions::default())
        .await
        .with_context(|| format!("opening {}", redact(&database.url())))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn serve(arguments: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServeConfig {
        bind: arguments.bind,
        database_url: arguments.database.url(),
        api: ApiConfig {
            request_timeout: Duration::from_secs(arguments.request_timeout_seconds),
        },
    };
    tracing::info!(database = %redact(&config.database_url), "starting");
    let application = Application::build(config).await?;
    application.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

async fn verify(database: &DatabaseArgs) -> anyhow::Result<ExitCode> {
    let store = open(database).await?;
    let report = store.verify().await.context("reading the journal")?;
    if report.is_valid() {
        println!(
            "chain valid: {} transactions, {} postings, head hash {}; every stored balance equals the sum of its postings",
            report.transactions_count, report.postings_count, report.head_hash
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(broken) = &report.first_break {
        println!(
            "chain BROKEN at sequence {}: {}",
            broken.sequence,
            describe_break(&broken.kind)
        );
    }
    for mismatch in &report.balance_mismatches {
        println!(
            "balance MISMATCH on account {}: stored {} minor units, postings sum to {}",
            mismatch.account_id, mismatch.stored_minor, mismatch.postings_minor
        );
    }
    if let Some(head) = &report.head_mismatch {
        println!("chain head MISMATCH: {head}");
    }
    println!(
        "verified {} transactions before the first problem",
        report.transactions_count
    );
    Ok(ExitCode::FAILURE)
}

fn describe_break(kind: &ledger_core::chain::BreakKind) -> String {
    use ledger_core::chain::BreakKind;
    match kind {
        BreakKind::SequenceGap { expected_sequence } => {
            format!("sequence gap, expected sequence {expected_sequence}")
        }
        BreakKind::PreviousHashMismatch { expected, found } => {
            format!(
                "previous hash is {found}, but the transaction before ends the chain at {expected}"
            )
        }
        BreakKind::HashMismatch { expected, found } => format!(
            "stored hash {found} does not match the contents, which hash to {expected} (a hashed field was changed)"
        ),
        BreakKind::Unbalanced {
            currency,
            sum_minor,
        } => {
            format!("postings in {currency} sum to {sum_minor}, not zero")
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        // Proves database passwords never reach logs or messages.
        assert_eq!(
            redact("postgres://ledger:secret@db:5432/ledger"),
            "postgres://ledger:***@db:5432/ledger"
        );
        assert_eq!(redact("postgres://db/ledger"), "postgres://db/ledger");
        assert_eq!(redact("sqlite:./data/ledger.db"), "sqlite:./data/ledger.db");
    }
}
