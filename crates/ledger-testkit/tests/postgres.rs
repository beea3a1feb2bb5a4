//! The test kit against real PostgreSQL: fresh databases, one shared cluster per test binary,
//! durable benchmark clusters, and no cluster left behind, even by a killed test process.

// Helpers of tests may fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ledger_testkit::{PostgresCluster, postgres_database, shared_cluster};
use sqlx::{Connection, Executor, PgConnection};

async fn show(connection: &mut PgConnection, setting: &str) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
        .fetch_one(connection)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_calls_give_two_distinct_working_databases() {
    let first = postgres_database().await;
    let second = postgres_database().await;
    assert_ne!(first.name, second.name);
    assert_ne!(first.url, second.url);
    for database in [&first, &second] {
        assert!(database.name.starts_with("test_"), "{}", database.name);
        let mut connection = PgConnection::connect(&database.url).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(one, 1);
        let current: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(current, database.name);
        // Each database is empty, so the same table can be created in both.
        connection
            .execute("CREATE TABLE probe (id INT PRIMARY KEY)")
            .await
            .unwrap();
        connection
            .execute("INSERT INTO probe VALUES (1)")
            .await
            .unwrap();
        connection.close().await.unwrap();
    }
}

/// The server port the first of the two `shares_one_cluster_*` tests saw, whichever ran first.
static SERVER_PORT: Mutex<Option<Option<i32>>> = Mutex::new(None);

/// Records this test's server port, or checks it equals the one recorded by the other test.
async fn same_server_as_the_other_test() {
    let database = postgres_database().await;
    let mut connection = PgConnection::connect(&database.url).await.unwrap();
    let port: Option<i32> = sqlx::query_scalar("SELECT inet_server_port()")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    let mut seen = SERVER_PORT.lock().unwrap();
    match *seen {
        None => *seen = Some(port),
        Some(first) => assert_eq!(first, port, "the two tests used different servers"),
    }
}

#[tokio::test]
async fn tests_of_a_binary_share_one_cluster_a() {
    same_server_as_the_other_test().await;
}

#[tokio::test]
async fn tests_of_a_binary_share_one_cluster_b() {
    same_server_as_the_other_test().await;
}

#[tokio::test]
async fn the_shared_cluster_is_fast_and_started_once() {
    let cluster = shared_cluster().unwrap();
    assert!(std::ptr::eq(cluster, shared_cluster().unwrap()));
    assert!(!cluster.is_durable());
    let mut connection = PgConnection::connect(&cluster.admin_url()).await.unwrap();
    assert_eq!(show(&mut connection, "fsync").await, "off");
    assert_eq!(show(&mut connection, "synchronous_commit").await, "off");
    assert_eq!(show(&mut connection, "full_page_writes").await, "off");
    assert_eq!(show(&mut connection, "max_connections").await, "300");
    connection.close().await.unwrap();
}

#[tokio::test]
async fn a_durable_cluster_keeps_fsync_on_and_is_gone_once_dropped() {
    let cluster = PostgresCluster::start(true).unwrap();
    assert!(cluster.is_durable());
    assert_eq!(
        cluster.admin_url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port())
    );
    let url = cluster.create_database("durable_probe").await.unwrap();
    assert_eq!(
        url,
        format!(
            "postgres://postgres@127.0.0.1:{}/durable_probe",
            cluster.port()
        )
    );
    let mut connection = PgConnection::connect(&url).await.unwrap();
    assert_eq!(show(&mut connection, "fsync").await, "on");
    assert_eq!(show(&mut connection, "synchronous_commit").await, "on");
    assert_eq!(show(&mut connection, "full_page_writes").await, "on");
    connection.close().await.unwrap();

    let directory = cluster.data_directory().to_path_buf();
    let server = postmaster_pid(&directory);
    assert!(process_alive(server));
    drop(cluster);
    // The database's URL, not the admin one: even if another cluster took the port since, it has
    // no database called durable_probe.
    assert!(PgConnection::connect(&url).await.is_err());
    assert!(!process_alive(server));
    assert!(!directory.exists());
}

/// Set in the environment of the child process of `a_killed_test_process_leaves_no_cluster_behind`.
const CHILD: &str = "LEDGER_TESTKIT_KILLED_CHILD";

#[test]
#[ignore = "the child process of a_killed_test_process_leaves_no_cluster_behind"]
fn killed_child_holding_the_shared_cluster() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let cluster = shared_cluster().unwrap();
    println!(
        "\nCLUSTER {} {}",
        postmaster_pid(cluster.data_directory()),
        cluster.data_directory().display()
    );
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(300));
}

#[test]
fn a_killed_test_process_leaves_no_cluster_behind() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_child_holding_the_shared_cluster",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut cluster = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("CLUSTER ") {
            let (pid, directory) = rest.split_once(' ').unwrap();
            cluster = Some((pid.parse::<u32>().unwrap(), PathBuf::from(directory)));
            break;
        }
    }
    let (server, directory) = cluster.expect("the child reported no cluster");
    assert!(process_alive(server));
    assert!(directory.exists());

    child.kill().unwrap(); // SIGKILL: no destructor, no exit handler runs.
    child.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while (process_alive(server) || directory.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !process_alive(server),
        "server {server} still runs after its test process was killed"
    );
    assert!(
        !directory.exists(),
        "{} still exists after its test process was killed",
        directory.display()
    );
}

/// The server's process id, the first line of `postmaster.pid`.
fn postmaster_pid(data_directory: &Path) -> u32 {
    let contents = std::fs::read_to_string(data_directory.join("postmaster.pid")).unwrap();
    contents.lines().next().unwrap().trim().parse().unwrap()
}

/// Whether process `pid` runs (a zombie, which no init may ever reap here, counts as gone).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}
