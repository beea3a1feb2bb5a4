//! Test support: a real PostgreSQL for every test without anyone starting a server by hand.
//!
//! `DATABASE_URL=postgres://...` names a server to use. Otherwise the first test of a test binary
//! starts a throw-away cluster from the machine's PostgreSQL binaries (`initdb`, `pg_ctl`, on PATH or
//! in Debian's `/usr/lib/postgresql/<version>/bin`), shared by every test of that binary, each test
//! getting its own database. A watchdog stops the cluster and removes its files when the test
//! process ends, however it ends. When no PostgreSQL can be had, tests fail loudly: none skips it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

/// A fresh, empty PostgreSQL database for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// A `postgres://` URL usable with sqlx.
    pub url: String,
    pub name: String,
}

/// A new empty database (named `test_<uuid>`) for the calling test; see the crate documentation.
///
/// # Panics
/// When neither `DATABASE_URL` nor local PostgreSQL binaries give a server: a test helper must fail
/// loudly rather than let a test pass without PostgreSQL.
#[allow(clippy::panic)]
pub async fn postgres_database() -> TestDatabase {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let server_url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
        _ => match shared_cluster() {
            Ok(cluster) => cluster.admin_url(),
            Err(error) => panic!(
                "PostgreSQL is needed for this test and none could be started: {error}\n\
                 Set DATABASE_URL=postgres://... or install Debian's `postgresql` package \
                 (scripts/ensure-postgres.sh does it)."
            ),
        },
    };
    match create_database(&server_url, &name).await {
        Ok(url) => TestDatabase { url, name },
        Err(error) => panic!("could not create test database {name}: {error}"),
    }
}

fn shared_cluster() -> Result<&'static PostgresCluster, String> {
    static CLUSTER: OnceLock<Result<PostgresCluster, String>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| PostgresCluster::start(false))
        .as_ref()
        .map_err(Clone::clone)
}

/// Creates database `name` on the server of `server_url` and returns its URL.
async fn create_database(server_url: &str, name: &str) -> Result<String, String> {
    let mut connection = PgConnection::connect(server_url)
        .await
        .map_err(|error| format!("connecting to {server_url}: {error}"))?;
    // The name is ours (test_<uuid> or a benchmark's), never user input.
    connection
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .map_err(|error| format!("CREATE DATABASE {name}: {error}"))?;
    let _ = connection.close().await;
    Ok(replace_database(server_url, name))
}

/// `postgres://user@host:port/old?query` → `postgres://user@host:port/name?query`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |index| scheme_end + index);
    let mut result = format!("{}/{}", &base[..authority_end], name);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// A throw-away PostgreSQL cluster in a temporary directory, listening on 127.0.0.1.
#[derive(Debug)]
pub struct PostgresCluster {
    data_directory: PathBuf,
    binaries: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl PostgresCluster {
    /// Starts a cluster. `durable == false` turns fsync and synchronous commit off (fast tests);
    /// `durable == true` keeps PostgreSQL's durable defaults (benchmarks).
    pub fn start(durable: bool) -> Result<PostgresCluster, String> {
        let binaries = find_binaries()?;
        let as_postgres_user = running_as_root();
        let data_directory = std::env::temp_dir().join(format!(
            "solidarity-ledger-pg-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&data_directory)
            .map_err(|error| format!("creating {}: {error}", data_directory.display()))?;
        if as_postgres_user {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&data_directory))?;
        }
        let cluster = PostgresCluster {
            data_directory,
            binaries,
            port: 0,
            as_postgres_user,
        };
        cluster.command("initdb").and_then(|mut initdb| {
            run(initdb.arg("-D").arg(cluster.pgdata()).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ]))
        })?;
        let mut settings = vec![
            "-c listen_addresses=127.0.0.1".to_owned(),
            format!("-k {}", cluster.data_directory.display()),
            "-c max_connections=300".to_owned(),
        ];
        if !durable {
            settings.extend(
                [
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                ]
                .map(str::to_owned),
            );
        }
        let mut cluster = cluster;
        let mut last_error = String::new();
        // The free port we pick can be taken before the server binds it; try a few.
        for _ in 0..5 {
            cluster.port = free_port()?;
            let options = format!("-p {} {}", cluster.port, settings.join(" "));
            let started = cluster.command("pg_ctl").and_then(|mut pg_ctl| {
                run(pg_ctl
                    .arg("-D")
                    .arg(cluster.pgdata())
                    .arg("-l")
                    .arg(cluster.data_directory.join("server.log"))
                    .args(["-w", "-t", "60", "-o", &options, "start"]))
            });
            match started {
                Ok(()) => {
                    cluster.spawn_watchdog()?;
                    return Ok(cluster);
                }
                Err(error) => last_error = format!("{error}\n{}", cluster.log_tail()),
            }
        }
        Err(format!("pg_ctl start failed: {last_error}"))
    }

    /// URL of the `postgres` database, for administration.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Creates a database and returns its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, String> {
        create_database(&self.admin_url(), name).await
    }

    fn pgdata(&self) -> PathBuf {
        self.data_directory.join("pgdata")
    }

    /// A command for one of the PostgreSQL binaries, run as `postgres` when we are root (initdb and
    /// the server refuse to run as root).
    fn command(&self, binary: &str) -> Result<Command, String> {
        let path = self.binaries.join(binary);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            Ok(command)
        } else {
            Ok(Command::new(path))
        }
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.data_directory.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the cluster and removes its files once this process is gone, even if it is killed.
    fn spawn_watchdog(&self) -> Result<(), String> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf '{directory}'",
            pid = std::process::id(),
            stop = self.stop_command_line(),
            directory = self.data_directory.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|error| format!("starting the cluster watchdog: {error}"))
    }

    fn stop_command_line(&self) -> String {
        let pg_ctl = format!(
            "'{}' -D '{}' -m immediate stop",
            self.binaries.join("pg_ctl").display(),
            self.pgdata().display()
        );
        if self.as_postgres_user {
            format!("runuser -u postgres -- {pg_ctl} >/dev/null 2>&1")
        } else {
            format!("{pg_ctl} >/dev/null 2>&1")
        }
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", &self.stop_command_line()])
            .status();
        let _ = std::fs::remove_dir_all(&self.data_directory);
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running {command:?}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("finding a free port: {error}"))
}

/// The directory holding `initdb` and `pg_ctl`: from PATH, else Debian's highest installed version.
fn find_binaries() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PATH") {
        for directory in std::env::split_paths(&path) {
            if directory.join("initdb").is_file() && directory.join("pg_ctl").is_file() {
                return Ok(directory);
            }
        }
    }
    let debian = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
                    let binaries = entry.path().join("bin");
                    binaries
                        .join("initdb")
                        .is_file()
                        .then_some((version, binaries))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .map(|(_, binaries)| binaries)
        .ok_or_else(|| "no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin".to_owned())
}

/// How long tests may wait for a connection; generous because two cores run many tests at once.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        // Proves URLs keep credentials, host and query when the database changes.
        assert_eq!(
            replace_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:1", "t2"),
            "postgres://h:1/t2"
        );
    }

    #[tokio::test]
    async fn each_call_gets_its_own_working_database() {
        // Proves two calls give two distinct, usable databases on the same server.
        let first = postgres_database().await;
        let second = postgres_database().await;
        assert_ne!(first.name, second.name);
        for database in [&first, &second] {
            let mut connection = PgConnection::connect(&database.url).await.unwrap();
            connection
                .execute("CREATE TABLE probe (id INT)")
                .await
                .unwrap();
            let current: String = sqlx::query_scalar("SELECT current_database()")
                .fetch_one(&mut connection)
                .await
                .unwrap();
            assert_eq!(current, database.name);
        }
    }

    #[tokio::test]
    async fn a_durable_cluster_has_fsync_on_and_stops_when_dropped() {
        // Proves the benchmark cluster is durable and goes away with its handle.
        let cluster = PostgresCluster::start(true).unwrap();
        let url = cluster.create_database("durable_probe").await.unwrap();
        let mut connection = PgConnection::connect(&url).await.unwrap();
        let fsync: String = sqlx::query_scalar("SHOW fsync")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(fsync, "on");
        drop(connection);
        let directory = cluster.data_directory.clone();
        drop(cluster);
        assert!(PgConnection::connect(&url).await.is_err());
        assert!(!directory.exists());
    }
}
