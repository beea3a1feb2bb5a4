//! Test support for Solidarity Ledger: a real PostgreSQL for tests, with no server started by hand.
//!
//! [`postgres_database`] gives each test its own fresh, empty database. The server is the one
//! named by `DATABASE_URL=postgres://...` when that is set; otherwise the first call in a test
//! binary starts a throw-away cluster ([`PostgresCluster`]) from the machine's PostgreSQL programs
//! (`initdb`, `pg_ctl`, `postgres`, found on PATH or in Debian's
//! `/usr/lib/postgresql/<version>/bin`), and every test of that binary shares it. A detached
//! watchdog stops that cluster and removes its files as soon as the test process ends, however it
//! ends (normal exit, panic, SIGTERM, SIGKILL). When no PostgreSQL can be had, the tests fail
//! loudly: none skips PostgreSQL silently.
//!
//! Benchmarks use [`PostgresCluster::start`] directly, with `durable == true`.
//!
//! Above that, the one set of fixtures every test crate shares: [`on_both_engines!`] runs a test
//! written once on SQLite and PostgreSQL ([`engines`]), [`store`] gives a migrated store and its
//! accounts and transactions, [`http`] is the one HTTP client of the tests, and [`imports`] finds
//! modules of a crate that import each other.

pub mod engines;
pub mod http;
pub mod imports;
pub mod store;
pub mod xsd;

pub use engines::{Engine, FreshDatabase, OnEngine, fresh_database, on_engine};

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use sqlx::{Connection, Executor, PgConnection};

/// What to do when no throw-away cluster can be started; part of the panic message of
/// [`postgres_database`].
const HOW_TO_FIX: &str = "To fix: set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/postgres \
to a server where USER may CREATE DATABASE, or install Debian's `postgresql` package \
(`apt-get install postgresql`; scripts/ensure-postgres.sh does it) so that initdb, pg_ctl and \
postgres are found on PATH or in /usr/lib/postgresql/<version>/bin.";

/// What to do when the server of `DATABASE_URL` does not give a database.
const HOW_TO_FIX_DATABASE_URL: &str = "To fix: make DATABASE_URL name a reachable server where its \
user may CREATE DATABASE, or unset it so that each test binary starts a throw-away cluster from \
the local PostgreSQL programs.";

/// How many lines of a log or of a command's output go into an error message.
const TAIL_LINES: usize = 25;

/// How often `pg_ctl start` is tried, each time on a new port, when the chosen port got taken.
const START_ATTEMPTS: usize = 3;

/// Seconds `pg_ctl` waits for the server to start or stop.
const PG_CTL_TIMEOUT_SECONDS: &str = "120";

/// A fresh, empty PostgreSQL database for one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDatabase {
    /// A `postgres://` URL of the database, usable with sqlx.
    pub url: String,
    /// The database's name, `test_<uuid without hyphens>`.
    pub name: String,
}

/// Returns a new, empty database with a unique name (`test_<uuid>`) for the calling test.
///
/// - When `DATABASE_URL` is set and starts with `postgres://` or `postgresql://`, that server is
///   used: the database is created there and its URL keeps the host, user, password and query of
///   `DATABASE_URL`. Such databases are not dropped afterwards.
/// - Otherwise the test binary's throw-away cluster ([`shared_cluster`]) is used, started on the
///   first call: every test of the binary shares it, and it goes away when the binary exits.
///
/// The database is created over a new connection made in the caller's tokio runtime (tests run on
/// different runtimes, so no pool is kept across calls).
///
/// # Panics
/// When neither `DATABASE_URL` nor local PostgreSQL binaries give a server, or the database cannot
/// be created; the message says how to fix it.
// A test helper must fail loudly: a test that silently skipped PostgreSQL would pass without
// testing anything, so panicking here is the documented behaviour.
#[allow(clippy::panic, clippy::expect_used)]
pub async fn postgres_database() -> TestDatabase {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let (server_url, server, how_to_fix) = match database_url_from_environment() {
        Some(url) => (url, "the server of DATABASE_URL", HOW_TO_FIX_DATABASE_URL),
        None => match shared_cluster() {
            Ok(cluster) => (
                cluster.admin_url(),
                "this test binary's throw-away PostgreSQL cluster",
                HOW_TO_FIX,
            ),
            Err(error) => panic!(
                "this test needs PostgreSQL, and DATABASE_URL is not set to a postgres:// URL and \
                 no throw-away cluster could be started: {error}\n{HOW_TO_FIX}"
            ),
        },
    };
    match create_database_on(&server_url, &name).await {
        Ok(url) => TestDatabase { url, name },
        Err(error) => panic!(
            "this test needs PostgreSQL, and creating database {name} on {server} failed: \
             {error}\n{how_to_fix}"
        ),
    }
}

/// `DATABASE_URL` when it names a PostgreSQL server (`postgres://` or `postgresql://`).
fn database_url_from_environment() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
}

/// The throw-away, non-durable cluster of this process (test binary), started on the first call
/// and shared by all later ones, whatever thread or tokio runtime they run on.
///
/// The first call blocks its thread (also inside async code) while the cluster starts, typically
/// one or two seconds; concurrent callers wait for that one start. The cluster is never dropped:
/// its watchdog stops it and removes its files when the process exits. A failed start is
/// remembered, so later calls fail at once with the same message.
pub fn shared_cluster() -> Result<&'static PostgresCluster, String> {
    static CLUSTER: OnceLock<Result<PostgresCluster, String>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| PostgresCluster::start(false))
        .as_ref()
        .map_err(Clone::clone)
}

/// A throw-away PostgreSQL cluster in a new directory under the system temp dir, listening on
/// 127.0.0.1 (and on a Unix socket in its data directory), user `postgres` with trust
/// authentication.
///
/// Dropping it stops the server (`pg_ctl stop -m immediate`) and removes the directory. A detached
/// watchdog process does the same if this process ends without dropping it (the shared cluster of
/// a test binary, a killed process).
#[derive(Debug)]
pub struct PostgresCluster {
    data_directory: PathBuf,
    binaries: Binaries,
    /// Whether the PostgreSQL programs run as user `postgres` through `runuser` (we are root).
    as_postgres: bool,
    port: u16,
    durable: bool,
    /// The watchdog; its stdin is a pipe nobody writes to, which closes when this process ends.
    watchdog: Option<Child>,
}

impl PostgresCluster {
    /// Creates and starts a cluster: `initdb`, then `pg_ctl start` on a free port.
    ///
    /// `durable == false` sets `fsync=off`, `synchronous_commit=off` and `full_page_writes=off`
    /// (fast tests); `durable == true` keeps PostgreSQL's durable defaults (fsync on), for
    /// benchmarks. Both allow 300 connections. Blocks until the server accepts connections
    /// (typically one or two seconds).
    ///
    /// The error names what failed and includes the tail of initdb's output or of the server log.
    pub fn start(durable: bool) -> Result<PostgresCluster, String> {
        let binaries = Binaries::find()?;
        let as_postgres = running_as_root();
        let data_directory = tempfile::Builder::new()
            .prefix("ledger-testkit-pg-")
            .tempdir()
            .map_err(|error| {
                format!(
                    "cannot create a data directory under {}: {error}",
                    std::env::temp_dir().display()
                )
            })?
            .keep();
        // From here on every return drops `cluster`, which stops the server and removes the files.
        let mut cluster = PostgresCluster {
            data_directory,
            binaries,
            as_postgres,
            port: 0,
            durable,
            watchdog: None,
        };
        if as_postgres {
            // initdb and postgres refuse to run as root; they run as `postgres`, who must own the
            // data directory (which also holds the log and the Unix socket).
            let mut chown = Command::new("chown");
            chown
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.data_directory);
            checked("chown", &mut chown)?;
        }
        // Before initdb, so that even a process killed during start-up leaves nothing behind.
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        cluster.initdb()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// The URL of the `postgres` database as superuser `postgres`:
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates database `name` and returns its URL (as [`admin_url`](Self::admin_url), with `name`
    /// as the database). `name` must be 1 to 63 ASCII letters, digits, `_` or `-`.
    pub async fn create_database(&self, name: &str) -> Result<String, String> {
        create_database_on(&self.admin_url(), name).await
    }

    /// The TCP port the server listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (PGDATA), which also holds the server log (`server.log`) and the Unix
    /// socket. It is removed when the cluster stops.
    pub fn data_directory(&self) -> &Path {
        &self.data_directory
    }

    /// Whether the cluster keeps PostgreSQL's durable defaults (see [`start`](Self::start)).
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    fn log_file(&self) -> PathBuf {
        self.data_directory.join("server.log")
    }

    /// A command running one of the PostgreSQL programs, as `postgres` when we are root.
    fn postgres_command(&self, program: &Path) -> Command {
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        // `postgres` may not be allowed into the caller's working directory, and pg_ctl insists
        // on being able to return to it.
        command.current_dir("/").stdin(Stdio::null());
        command
    }

    fn initdb(&self) -> Result<(), String> {
        let mut initdb = self.postgres_command(&self.binaries.initdb);
        initdb.arg("-D").arg(&self.data_directory).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            // The cluster is thrown away anyway; durability of the server is set by `start`.
            "--no-sync",
        ]);
        checked("initdb", &mut initdb).map(|_| ())
    }

    fn start_server(&mut self) -> Result<(), String> {
        let mut settings = format!(
            "-c listen_addresses=127.0.0.1 -k {} -c max_connections=300",
            shell_quote(&self.data_directory.to_string_lossy())
        );
        if !self.durable {
            settings.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut failure = String::new();
        for attempt in 1..=START_ATTEMPTS {
            // Another process may take the port between our probe and the server's bind.
            self.port = free_port()?;
            let log_length_before = std::fs::metadata(self.log_file()).map_or(0, |m| m.len());
            let mut pg_ctl = self.postgres_command(&self.binaries.pg_ctl);
            pg_ctl
                .arg("-D")
                .arg(&self.data_directory)
                .arg("-l")
                .arg(self.log_file())
                .args(["-w", "-t", PG_CTL_TIMEOUT_SECONDS, "-o"])
                .arg(format!("-p {} {settings}", self.port))
                .arg("start");
            let output = run(&mut pg_ctl)?;
            if output.status.success() {
                return Ok(());
            }
            let log = read_from(&self.log_file(), log_length_before);
            failure = format!(
                "pg_ctl start (port {}, attempt {attempt} of {START_ATTEMPTS}) failed ({}):\n{}\n\
                 server log ({}), last lines:\n{}",
                self.port,
                output.status,
                tail(&combined_output(&output)),
                self.log_file().display(),
                tail(&log),
            );
            let port_taken = log.contains("Address already in use")
                || log.contains("could not create any TCP/IP sockets");
            if !port_taken {
                break;
            }
        }
        Err(failure)
    }

    /// `pg_ctl stop -m immediate`: nothing in a throw-away cluster needs a clean shutdown.
    fn stop_arguments(&self) -> Vec<String> {
        vec![
            "-D".to_owned(),
            self.data_directory.to_string_lossy().into_owned(),
            "-m".to_owned(),
            "immediate".to_owned(),
            "-w".to_owned(),
            "-t".to_owned(),
            PG_CTL_TIMEOUT_SECONDS.to_owned(),
            "stop".to_owned(),
        ]
    }

    /// Starts the watchdog: a shell in its own process group (so a Ctrl-C aimed at the tests does
    /// not kill it) that waits for end of file on its stdin, a pipe whose only writer is this
    /// process, then stops the server and removes the data directory. The pipe closes when this
    /// process exits or is killed, or when the cluster is dropped.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        let mut stop = Vec::new();
        if self.as_postgres {
            stop.extend(["runuser", "-u", "postgres", "--"].map(str::to_owned));
        }
        stop.push(self.binaries.pg_ctl.to_string_lossy().into_owned());
        stop.extend(self.stop_arguments());
        let stop = stop
            .iter()
            .map(|word| shell_quote(word))
            .collect::<Vec<_>>()
            .join(" ");
        let script = format!(
            "cat >/dev/null 2>&1; {stop} >/dev/null 2>&1; rm -rf -- {directory}",
            directory = shell_quote(&self.data_directory.to_string_lossy()),
        );
        Command::new("sh")
            .args(["-c", &script])
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|error| format!("cannot start the cluster's watchdog (sh): {error}"))
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let mut pg_ctl = self.postgres_command(&self.binaries.pg_ctl);
        pg_ctl
            .args(self.stop_arguments())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Fails harmlessly when the server never started.
        let _ = pg_ctl.status();
        let _ = std::fs::remove_dir_all(&self.data_directory);
        if let Some(mut watchdog) = self.watchdog.take() {
            // Closing its stdin ends the watchdog, whose work is done by now; reap it.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}

/// Where the PostgreSQL server programs are.
#[derive(Debug, Clone)]
struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

impl Binaries {
    /// The first directory on PATH holding `initdb` and `pg_ctl`, else Debian's
    /// `/usr/lib/postgresql/<version>/bin` of the highest version; `postgres` must be next to the
    /// (symlink-resolved) `pg_ctl`, which is where pg_ctl looks for it.
    fn find() -> Result<Binaries, String> {
        let on_path = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default();
        Binaries::find_in(on_path, Path::new("/usr/lib/postgresql")).ok_or_else(|| {
            "no PostgreSQL server programs (initdb, pg_ctl and postgres) on PATH or in \
             /usr/lib/postgresql/<version>/bin"
                .to_owned()
        })
    }

    /// [`find`](Self::find) with the PATH directories and Debian's root given.
    fn find_in(on_path: Vec<PathBuf>, debian_root: &Path) -> Option<Binaries> {
        let mut debian: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(debian_root)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|entry| {
                        let version = entry
                            .file_name()
                            .to_str()?
                            .split('.')
                            .map(|part| part.parse::<u32>().ok())
                            .collect::<Option<Vec<u32>>>()?;
                        Some((version, entry.path().join("bin")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        debian.sort();
        let candidates = on_path
            .into_iter()
            .chain(debian.into_iter().rev().map(|(_, directory)| directory));
        for directory in candidates {
            let (initdb, pg_ctl) = (directory.join("initdb"), directory.join("pg_ctl"));
            if !(initdb.is_file() && pg_ctl.is_file()) {
                continue;
            }
            let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
            let pg_ctl = std::fs::canonicalize(&pg_ctl).unwrap_or(pg_ctl);
            if pg_ctl.with_file_name("postgres").is_file() {
                return Some(Binaries { initdb, pg_ctl });
            }
        }
        None
    }
}

/// Creates database `name` on the server of `server_url` over a new connection and returns the
/// database's URL.
async fn create_database_on(server_url: &str, name: &str) -> Result<String, String> {
    let valid_name = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if !valid_name {
        return Err(format!(
            "invalid database name {name:?}: use 1 to 63 ASCII letters, digits, `_` or `-`"
        ));
    }
    let mut connection = PgConnection::connect(server_url)
        .await
        .map_err(|error| format!("cannot connect to {}: {error}", redact(server_url)))?;
    // Safe to splice: the name was checked above to hold no quote.
    connection
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .map_err(|error| format!("CREATE DATABASE \"{name}\" failed: {error}"))?;
    let _ = connection.close().await;
    Ok(with_database(server_url, name))
}

/// `postgres://user@host:port/old?query` → `postgres://user@host:port/name?query`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |index| authority_start + index);
    let mut result = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// The URL with its password, if any, replaced by `***`, for error messages.
fn redact(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |index| index + 3);
    let authority_end = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |index| authority_start + index);
    let authority = &url[authority_start..authority_end];
    match authority.rsplit_once('@') {
        Some((user_information, host)) => match user_information.split_once(':') {
            Some((user, _password)) => format!(
                "{}{user}:***@{host}{}",
                &url[..authority_start],
                &url[authority_end..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Runs a command to completion, capturing its output.
fn run(command: &mut Command) -> Result<Output, String> {
    command
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))
}

/// Runs a command and fails, with the tail of its output, unless it succeeds.
fn checked(what: &str, command: &mut Command) -> Result<Output, String> {
    let output = run(command)?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed ({}): {command:?}\noutput, last lines:\n{}",
            output.status,
            tail(&combined_output(&output))
        ))
    }
}

fn combined_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last [`TAIL_LINES`] lines of `text`.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// The contents of `path` from byte `offset` on; empty when it cannot be read.
fn read_from(path: &Path, offset: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Whether this process runs as root (`id -u` prints 0); the workspace forbids the `unsafe` a
/// direct `geteuid` would need.
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A TCP port of 127.0.0.1 free right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free TCP port on 127.0.0.1: {error}"))
}

/// `word` as one single-quoted shell word.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_credentials_host_and_query() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h:1", "t2"),
            "postgresql://h:1/t2"
        );
        assert_eq!(
            with_database("postgres:///postgres?host=/run/postgresql", "t3"),
            "postgres:///t3?host=/run/postgresql"
        );
    }

    #[test]
    fn passwords_are_redacted_from_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h"), "postgres://h");
    }

    #[test]
    fn shell_words_survive_quotes() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn tails_keep_the_last_lines() {
        let text = (1..=40)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let tail = tail(&text);
        assert!(tail.starts_with("16\n"));
        assert!(tail.ends_with("\n40"));
    }

    /// Creates fake `initdb`, `pg_ctl` and `postgres` files in `directory`.
    fn fake_binaries(directory: &Path) {
        std::fs::create_dir_all(directory).unwrap();
        for program in ["initdb", "pg_ctl", "postgres"] {
            std::fs::write(directory.join(program), "").unwrap();
        }
    }

    #[test]
    fn binaries_come_from_path_first_then_the_highest_debian_version() {
        let root = tempfile::tempdir().unwrap();
        let debian = root.path().join("postgresql");
        for version in ["9.6", "15", "13"] {
            fake_binaries(&debian.join(version).join("bin"));
        }
        // A version directory without programs, and one that is not a version, are passed over.
        std::fs::create_dir_all(debian.join("16").join("bin")).unwrap();
        fake_binaries(&debian.join("common").join("bin"));
        let found = Binaries::find_in(vec![root.path().join("empty")], &debian).unwrap();
        let expected = std::fs::canonicalize(debian.join("15").join("bin")).unwrap();
        assert_eq!(found.pg_ctl, expected.join("pg_ctl"));
        assert_eq!(found.initdb, expected.join("initdb"));

        let on_path = root.path().join("path");
        fake_binaries(&on_path);
        let found = Binaries::find_in(vec![on_path.clone()], &debian).unwrap();
        assert_eq!(
            found.pg_ctl,
            std::fs::canonicalize(&on_path).unwrap().join("pg_ctl")
        );

        assert!(Binaries::find_in(Vec::new(), &root.path().join("nothing")).is_none());
    }

    #[tokio::test]
    async fn bad_database_names_are_refused_before_connecting() {
        for name in ["", "x\"; DROP DATABASE postgres; --", &"a".repeat(64)] {
            let error = create_database_on("postgres://nowhere.invalid/postgres", name)
                .await
                .unwrap_err();
            assert!(error.starts_with("invalid database name"), "{error}");
        }
    }
}
