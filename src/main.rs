//! `solidarity-ledger`: the service binary. Commands stay thin; the work is in the crates.

// Long file: every command's flags and settings are declared here (clap), each with its
// documentation, beside the few lines that turn them into a configuration; split per command,
// the documented settings would be scattered over files that hold nothing else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ledger_api::auth::{Claims, Role, TokenVerifier, mint_hs256};
use ledger_api::{ApiConfig, Application, ServeConfig};
use ledger_store::{Store, StoreOptions};
use tracing_subscriber::EnvFilter;

mod demo;
mod export_file;
mod keys;
mod users;
mod verify_file;
mod witness;

use keys::*;
use verify_file::*;

/// mimalloc rather than the system allocator: a request allocates many small, short-lived values
/// (JSON, SQL arguments) on several threads, where glibc's malloc showed up at about a fifth of
/// the service's CPU time in the batch benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Books of the solidarity euro: an exact, append-only, hash-chained ledger with a JSON API.
/// The exit statuses of `verify`, as docs/hash-chain.md ("Exit status") defines them.
const VERIFY_EXIT_STATUSES: &str = "Exit status:
  0  valid (with --checkpoint: the file reaches the signed head)
  1  broken: the chain, the balances or the end record disagree; the database or file does not
     reach a signed checkpoint; a file that does not start where it must; no database at --data-dir
  2  not an export: a malformed line, or a file, checkpoint or key that cannot be read";

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
    /// Recompute the hash chain and every balance (of the database, or of an export file with
    /// --file); exit 1 and print the first break if anything is wrong.
    #[command(after_help = VERIFY_EXIT_STATUSES)]
    Verify(VerifyArgs),
    /// Write the journal to an export file (JSON Lines or CSV) that `verify --file` checks offline.
    Export(ExportArgs),
    /// For development and tests only: print a bearer token signed with the service's secret
    /// (the same one `serve` uses), for any organisation and role. People sign in instead
    /// (`user add`, then POST /v1/sessions), and partners' systems use API keys.
    Token(TokenArgs),
    /// Fill an empty database with a realistic year of the fund, through the API's own code, and
    /// print where each contributor's euros are.
    Demo(DatabaseArgs),
    /// Fetch the service's latest signed checkpoint, check its signature with the pinned key and
    /// that it extends the head kept in --store; exit 1 on a rollback, fork, rewritten history,
    /// bad signature or changed key (both heads printed), 2 when it could not check.
    Witness(WitnessArgs),
    /// People who sign in: `user add` invites one and prints its single-use invitation token (how
    /// the first admin gets in).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Invite a user; prints the invitation token with which it sets its password.
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
struct UserAddArgs {
    /// The organisation's slug (or id).
    #[arg(long)]
    org: String,
    /// contributor, beneficiary, auditor or admin (it must fit the organisation's kind).
    #[arg(long)]
    role: String,
    /// The user's email: its sign-in name.
    #[arg(long)]
    email: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Args)]
struct WitnessArgs {
    /// The service's base URL, e.g. http://ledger.example.org:8080 (plain HTTP: the signatures,
    /// not the transport, carry the trust).
    #[arg(long)]
    url: String,
    /// Directory where the pinned public key and the kept heads live (created when missing).
    #[arg(long)]
    store: PathBuf,
    /// The public key to expect (64 hex digits, as published in the README or handed over by
    /// the fund); without it the key is trusted on first use and pinned.
    #[arg(long)]
    public_key: Option<String>,
}

/// How tokens are signed and checked.
#[derive(Debug, Args)]
struct AuthArgs {
    /// HS256 secret (at least 32 bytes). Default: the contents of <data-dir>/jwt-secret, created
    /// at random by `serve` when missing.
    #[arg(long, env = "SOLIDARITY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// PEM public key of an external token issuer; when set, tokens are checked with it instead of
    /// the secret (and `token` cannot mint).
    #[arg(long, env = "SOLIDARITY_JWT_PUBLIC_KEY_FILE")]
    jwt_public_key_file: Option<PathBuf>,
    /// Algorithm of the public key: EdDSA or RS256.
    #[arg(long, env = "SOLIDARITY_JWT_ALGORITHM", default_value = "EdDSA")]
    jwt_algorithm: String,
    /// Required `iss` claim, if any.
    #[arg(long, env = "SOLIDARITY_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// Required `aud` claim, if any.
    #[arg(long, env = "SOLIDARITY_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// Longest token lifetime accepted (`exp − iat`, which every token must carry), like 30m, 1h
    /// or 1d; `token` refuses to mint longer ones.
    #[arg(long, env = "SOLIDARITY_MAX_TOKEN_LIFETIME", default_value = "1d", value_parser = parse_lifetime)]
    max_token_lifetime: Duration,
}

#[derive(Debug, Args)]
struct TokenArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// The organisation the token speaks for: its slug (e.g. `network`) or id.
    #[arg(long)]
    org: String,
    /// contributor, beneficiary, auditor or admin.
    #[arg(long)]
    role: String,
    /// The `sub` claim: who holds the token (recorded as the actor of what they write).
    #[arg(long, default_value = "cli")]
    subject: String,
    /// Lifetime: a number with s, m, h or d (e.g. 30m, 1h, 7d).
    #[arg(long, default_value = "1h")]
    ttl: String,
}

/// Where the data lives.
#[derive(Debug, Args)]
struct DatabaseArgs {
    /// Seconds to wait for the database server before reporting it unreachable (PostgreSQL).
    #[arg(
        long,
        env = "SOLIDARITY_DATABASE_CONNECT_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    database_connect_timeout_seconds: u64,
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

/// What `verify` checks: the live database, or an export file.
#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Verify this export file offline instead of the database (no database is opened).
    #[arg(long)]
    file: Option<PathBuf>,
    /// The file's format: jsonl or csv (default: from the file's extension).
    #[arg(long, requires = "file", value_parser = parse_export_format)]
    format: Option<ledger_core::export::ExportFormat>,
    /// Verify a range that starts at this sequence (default 1: the file must hold the whole chain
    /// from genesis; a file that starts elsewhere is refused unless this is given).
    #[arg(long, requires = "file", value_parser = clap::value_parser!(u64).range(1..))]
    from_sequence: Option<u64>,
    /// Require the export to chain onto this hash (the final hash of the export before it).
    #[arg(long, requires = "from_sequence")]
    previous_hash: Option<ledger_core::ChainHash>,
    /// A signed checkpoint (JSON, as `GET /v1/checkpoints/latest` serves it) kept by a partner:
    /// the file's chain hash after the checkpoint's sequence must be the checkpoint's hash.
    #[arg(long, requires = "file")]
    checkpoint: Option<PathBuf>,
    /// The ledger's public key (64 hex digits, or a file holding them): checks the checkpoint's
    /// signature and key id.
    #[arg(long, requires = "checkpoint")]
    public_key: Option<String>,
    /// Refuse a file without an accounts section (an SLJ1 file, or an SLJ2 export whose section
    /// was removed): for an auditor who knows the export names its accounts.
    #[arg(long, requires = "file")]
    expect_accounts: bool,
}

/// What `export` writes.
#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// jsonl (one transaction with its postings per line) or csv (one row per posting).
    #[arg(long, value_parser = parse_export_format)]
    format: ledger_core::export::ExportFormat,
    /// First sequence to export.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    from_sequence: u64,
    /// Last sequence to export (default: the chain head when the export starts).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    to_sequence: Option<u64>,
    /// The file to write (replaced if it exists).
    #[arg(long)]
    output: PathBuf,
}

fn parse_export_format(text: &str) -> Result<ledger_core::export::ExportFormat, String> {
    ledger_core::export::ExportFormat::parse(text).ok_or_else(|| "jsonl or csv".to_owned())
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Address to listen on; port 0 picks a free port (logged at start).
    #[arg(long, env = "SOLIDARITY_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Ed25519 key checkpoints are signed with: a file holding its 32 secret bytes as 64 hex
    /// digits. Default: <data-dir>/checkpoint-key, created at random (mode 0600) when missing.
    #[arg(long, env = "SOLIDARITY_CHECKPOINT_KEY_FILE")]
    checkpoint_key_file: Option<PathBuf>,
    /// Seconds between checkpoints of the chain head (one is signed only when the head moved;
    /// transfer run executions are signed at once), at least 1.
    #[arg(
        long,
        env = "SOLIDARITY_CHECKPOINT_INTERVAL_SECONDS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    checkpoint_interval_seconds: u64,
    /// Requests running longer than this are answered with 408 (at least 1).
    #[arg(
        long,
        env = "SOLIDARITY_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    request_timeout_seconds: u64,
    /// Seconds a client may take to send a request's head; slower ones are disconnected.
    #[arg(
        long,
        env = "SOLIDARITY_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_read_timeout_seconds: u64,
    /// Seconds a connection may stay quiet (nothing sent or answered) before it is closed.
    #[arg(
        long,
        env = "SOLIDARITY_KEEP_ALIVE_IDLE_TIMEOUT_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    keep_alive_idle_timeout_seconds: u64,
    /// Most connections open at once; when reached, the quietest idle one is closed for a new one.
    #[arg(
        long,
        env = "SOLIDARITY_MAX_CONNECTIONS",
        default_value_t = 512,
        value_parser = clap::value_parser!(u64).range(1..=65_536)
    )]
    max_connections: u64,
    /// Most requests one client address may have in flight (429 beyond).
    #[arg(
        long,
        env = "SOLIDARITY_MAX_IN_FLIGHT_PER_CLIENT",
        default_value_t = 32,
        value_parser = clap::value_parser!(u64).range(1..=65_536)
    )]
    max_in_flight_per_client: u64,
    /// Failed authentications one client address may make per minute before it is answered 429.
    #[arg(
        long,
        env = "SOLIDARITY_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    max_failed_authentications_per_minute: u32,
    /// Admins needed to execute a transfer run, return held funds, reverse a batch or reverse an
    /// accepted report: 2 (a proposer and another admin who approves) or 1 (a one-person test
    /// setup). Shown by /readyz.
    #[arg(
        long,
        env = "SOLIDARITY_APPROVALS_REQUIRED",
        default_value_t = 2,
        value_parser = clap::value_parser!(u8).range(1..=2)
    )]
    approvals_required: u8,
    /// The site is served over TLS (directly or behind a proxy that terminates it): the partner
    /// portal's session and CSRF cookies are marked `Secure`. Set it in production.
    #[arg(long, env = "SOLIDARITY_SECURE_COOKIES", default_value_t = false)]
    secure_cookies: bool,
    /// Seconds a shutdown lets requests in flight finish before closing their connections.
    #[arg(
        long,
        env = "SOLIDARITY_SHUTDOWN_DEADLINE_SECONDS",
        default_value_t = 20,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    shutdown_deadline_seconds: u64,
    /// The largest donation line of a contribution batch, in minor units of the programme's
    /// currency (EUR: cents); 1 to 100000000000 (one billion euros).
    #[arg(
        long,
        env = "SOLIDARITY_MAX_DONATION_LINE_MINOR",
        default_value_t = ledger_core::limits::DEFAULT_MAX_DONATION_LINE_MINOR
    )]
    max_donation_line_minor: i64,
    /// The bank account contributors pay batches into, shown with each batch beside its ISO
    /// 11649 creditor reference: the holder's name (with --collection-account-iban).
    #[arg(
        long,
        env = "SOLIDARITY_COLLECTION_ACCOUNT_HOLDER",
        requires = "collection_account_iban"
    )]
    collection_account_holder: Option<String>,
    /// The collection account's IBAN (its check digits are verified at start).
    #[arg(
        long,
        env = "SOLIDARITY_COLLECTION_ACCOUNT_IBAN",
        requires = "collection_account_holder"
    )]
    collection_account_iban: Option<String>,
    /// The collection account's BIC (8 or 11 characters), optional.
    #[arg(
        long,
        env = "SOLIDARITY_COLLECTION_ACCOUNT_BIC",
        requires = "collection_account_iban"
    )]
    collection_account_bic: Option<String>,
    /// The network's IATI organisation identifier (e.g. FR-RNA-W751234567), named in the IATI
    /// files while the network organisation records none; checked at start.
    #[arg(long, env = "SOLIDARITY_IATI_ORGANISATION_IDENTIFIER")]
    iati_organisation_identifier: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's own requests would drown what it prints: it logs warnings only, unless asked.
    let default_filter = match cli.command {
        Command::Demo(_) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
        Command::Migrate(database) => migrate(&database).await,
        Command::Verify(VerifyArgs {
            file: Some(file),
            format,
            from_sequence,
            previous_hash,
            checkpoint,
            public_key,
            expect_accounts,
            ..
        }) => verify_export_file(
            &file,
            format,
            from_sequence,
            previous_hash,
            checkpoint.as_deref(),
            public_key.as_deref(),
            expect_accounts,
        ),
        Command::Verify(arguments) => verify(&arguments.database).await,
        Command::Export(arguments) => export(arguments).await,
        Command::Token(arguments) => token(arguments).await,
        Command::User(UserCommand::Add(arguments)) => {
            let store = open(&arguments.database).await?;
            users::add(store, &arguments.org, &arguments.role, &arguments.email).await
        }
        Command::Witness(arguments) => Ok(witness::run(
            &arguments.url,
            &arguments.store,
            arguments.public_key.as_deref(),
        )
        .await),
        Command::Demo(database) => {
            let store = open(&database).await?;
            store.migrate().await.context("applying migrations")?;
            demo::run(store).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn migrate(database: &DatabaseArgs) -> anyhow::Result<ExitCode> {
    let store = open(database).await?;
    // Asked first so the message can say whether anything changed.
    let was_up_to_date = store
        .is_ready()
        .await
        .context("reading the applied migrations")?;
    store.migrate().await.context("applying migrations")?;
    let url = redact(&database.url());
    if was_up_to_date {
        println!("{url}: already up to date, no migration applied");
    } else {
        println!("{url}: pending migrations applied, the schema is up to date");
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn open(database: &DatabaseArgs) -> anyhow::Result<Store> {
    connect(database, true).await
}

/// Opens a database that must already exist (`verify`, `export`): a mistyped `--data-dir` is
/// reported instead of creating an empty database there.
async fn open_existing(database: &DatabaseArgs) -> anyhow::Result<Store> {
    connect(database, false).await
}

async fn connect(database: &DatabaseArgs, create_if_missing: bool) -> anyhow::Result<Store> {
    let options = StoreOptions {
        connect_timeout: Duration::from_secs(database.database_connect_timeout_seconds),
        create_if_missing,
        ..StoreOptions::default()
    };
    Store::connect(&database.url(), options)
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
    let collection_account = match (
        &arguments.collection_account_holder,
        &arguments.collection_account_iban,
    ) {
        (Some(holder), Some(iban)) => Some(
            ledger_app::payments::CollectionAccount::new(
                holder,
                iban,
                arguments.collection_account_bic.as_deref(),
            )
            .map_err(anyhow::Error::msg)?,
        ),
        _ => None,
    };
    let iati_organisation_identifier = arguments
        .iati_organisation_identifier
        .as_deref()
        .map(|identifier| {
            ledger_core::iati::checked_organisation_identifier(identifier)
                .map_err(|error| anyhow::anyhow!("--iati-organisation-identifier {error}"))
        })
        .transpose()?;
    let config = ServeConfig {
        bind: arguments.bind,
        database_url: arguments.database.url(),
        database_connect_timeout: Duration::from_secs(
            arguments.database.database_connect_timeout_seconds,
        ),
        api: ApiConfig {
            request_timeout: Duration::from_secs(arguments.request_timeout_seconds),
            header_read_timeout: Duration::from_secs(arguments.header_read_timeout_seconds),
            keep_alive_idle_timeout: Duration::from_secs(arguments.keep_alive_idle_timeout_seconds),
            max_connections: usize::try_from(arguments.max_connections)?,
            max_in_flight_per_client: usize::try_from(arguments.max_in_flight_per_client)?,
            max_failed_authentications: arguments.max_failed_authentications_per_minute,
            approvals_required: arguments.approvals_required,
            secure_cookies: arguments.secure_cookies,
            shutdown_deadline: Duration::from_secs(arguments.shutdown_deadline_seconds),
            checkpoints: Some(ledger_api::checkpoints::CheckpointSettings {
                signing_key: checkpoint_signing_key(
                    arguments.checkpoint_key_file.as_deref(),
                    &arguments.database.data_dir,
                )?,
                interval: Duration::from_secs(arguments.checkpoint_interval_seconds),
            }),
            contribution_limits: ledger_core::limits::ContributionLimits::new(
                arguments.max_donation_line_minor,
            )?,
            collection_account,
            iati_organisation_identifier,
            ..ApiConfig::default()
        },
        tokens: token_verifier(&arguments.auth, &arguments.database.data_dir)?,
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
    let store = open_existing(database).await?;
    let report = store.verify().await.context("reading the journal")?;
    let checkpoint_mismatches = store
        .checkpoint_mismatches()
        .await
        .context("reading the checkpoints")?;
    store.close().await;
    for mismatch in &checkpoint_mismatches {
        match mismatch.journal_hash {
            Some(journal_hash) => println!(
                "checkpoint MISMATCH at sequence {}: the signed head is {}, the journal now has {journal_hash}",
                mismatch.sequence, mismatch.signed_hash
            ),
            None => println!(
                "checkpoint MISMATCH at sequence {}: the signed head is {}, the journal no longer reaches it",
                mismatch.sequence, mismatch.signed_hash
            ),
        }
    }
    if report.is_valid() && checkpoint_mismatches.is_empty() {
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

async fn export(arguments: ExportArgs) -> anyhow::Result<ExitCode> {
    if let Some(to_sequence) = arguments.to_sequence
        && to_sequence < arguments.from_sequence
    {
        anyhow::bail!("--to-sequence must not be before --from-sequence");
    }
    let store = open_existing(&arguments.database).await?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let outcome = export_file::export_to_file(
        &store,
        arguments.format,
        arguments.from_sequence,
        arguments.to_sequence,
        &arguments.output,
        progress,
    )
    .await;
    store.close().await;
    let outcome = outcome?;
    match (outcome.last_sequence, outcome.final_hash) {
        (Some(last), Some(hash)) => eprintln!(
            "exported {} transactions (sequences {} to {last}, final hash {hash}), {} bytes, to {}",
            outcome.transactions_count,
            arguments.from_sequence,
            outcome.bytes,
            arguments.output.display()
        ),
        _ => eprintln!(
            "exported no transaction (the journal has none from sequence {}), {} bytes, to {}",
            arguments.from_sequence,
            outcome.bytes,
            arguments.output.display()
        ),
    }
    match &outcome.checkpoint {
        Some((sequence, path)) => eprintln!(
            "checkpoint of sequence {sequence} written to {} (verify --file {} --checkpoint {})",
            path.display(),
            arguments.output.display(),
            path.display()
        ),
        None => eprintln!("no signed checkpoint falls within this export's range"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_with_their_unit() {
        // Proves the --ttl forms.
        assert_eq!(parse_ttl("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Some(Duration::from_secs(604_800)));
        for bad in ["", "h", "1", "0h", "1w", "-1h", "1.5h"] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }

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
