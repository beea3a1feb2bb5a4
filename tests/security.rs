//! End-to-end: the doors an attacker with a socket or a partner's token would try — connections
//! held idle or fed a byte at a time, a shutdown held open by a half-sent request, too many
//! requests in flight from one address, guessed tokens, and a forbidden write with a large body.
//! Each server here runs with small settings so the tests stay fast.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use ledger_api::auth::Role;
use ledger_api::{ApiConfig, Application, ServeConfig};
use support::{NETWORK_ID, TestServer, token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something the server must do at once (a bound against hanging, not
/// a measurement).
const PATIENCE: Duration = Duration::from_secs(5);

/// Reads until the server closes the connection (or fails it); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return received,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
        }
    }
}

/// The address of a test server, for raw sockets.
fn address(server: &TestServer) -> String {
    server.base_url.trim_start_matches("http://").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_up_to_the_cap_leave_the_service_reachable() {
    // Proves that with every connection slot held by an idle socket, a new client is still
    // answered within a second: the quietest idle connection is closed to make room.
    let server = support::sqlite_server_with(ApiConfig {
        max_connections: 8,
        // Long enough that no timeout closes an idle socket during the test.
        header_read_timeout: Duration::from_secs(60),
        keep_alive_idle_timeout: Duration::from_secs(60),
        ..ApiConfig::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(address(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("a new client is answered within a second");
    assert_eq!(health.status(), 200);
    let closed = futures::future::join_all(idle.iter_mut().map(|stream| async move {
        tokio::time::timeout(Duration::from_millis(500), read_until_closed(stream))
            .await
            .is_ok()
    }))
    .await;
    assert_eq!(
        closed.iter().filter(|closed| **closed).count(),
        1,
        "exactly one idle socket made room: {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_sent_a_byte_at_a_time_is_cut_off() {
    // Proves the header-read timeout: a head dribbled at four bytes a second (it would take ten
    // seconds) is cut off once the timeout passes, though bytes keep arriving.
    let server = support::sqlite_server_with(ApiConfig {
        header_read_timeout: Duration::from_secs(1),
        keep_alive_idle_timeout: Duration::from_secs(60),
        ..ApiConfig::default()
    })
    .await;
    let stream = TcpStream::connect(address(&server)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let dribble = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let mut buffer = [0_u8; 1024];
    let cut = tokio::time::timeout(PATIENCE, async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(cut.is_ok(), "the slow head was not cut off");
    assert!(!dribble.is_finished(), "cut before the head was complete");
    dribble.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_connection_is_closed_after_the_idle_timeout() {
    // Proves the keep-alive idle timeout: after its answer, a connection on which nothing more
    // arrives is closed by the server.
    let server = support::sqlite_server_with(ApiConfig {
        header_read_timeout: Duration::from_secs(60),
        keep_alive_idle_timeout: Duration::from_millis(300),
        ..ApiConfig::default()
    })
    .await;
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let received = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream))
        .await
        .expect("the idle connection was not closed");
    assert!(
        String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"),
        "answered first, then closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_within_its_deadline_despite_half_sent_requests() {
    // Proves a shutdown is not held open by a half-sent head or a body that never comes: the
    // service stops once the deadline has passed, and answers nothing new after that.
    let directory = tempfile::tempdir().unwrap();
    let application = Application::build(ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite:{}", directory.path().join("ledger.db").display()),
        database_connect_timeout: ledger_store::DEFAULT_CONNECT_TIMEOUT,
        api: ApiConfig {
            shutdown_deadline: Duration::from_millis(500),
            header_read_timeout: Duration::from_secs(60),
            keep_alive_idle_timeout: Duration::from_secs(60),
            ..ApiConfig::default()
        },
        tokens: ledger_api::auth::TokenVerifier::hs256(support::TEST_SECRET, None, None).unwrap(),
    })
    .await
    .unwrap();
    let address = application.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let mut half_head = TcpStream::connect(address).await.unwrap();
    half_head
        .write_all(b"POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\nContent-Le")
        .await
        .unwrap();
    let mut half_body = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nIdempotency-Key: held\r\nContent-Length: 1000\r\n\r\n{{\"slug\"",
        token(NETWORK_ID, Role::Admin)
    );
    half_body.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    let finished = tokio::time::timeout(PATIENCE, running).await;
    assert!(
        finished.is_ok(),
        "the shutdown waited on the half-sent requests"
    );
    finished.unwrap().unwrap().unwrap();
    assert!(
        TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_than_its_requests_in_flight() {
    // Proves the per-client cap: with one request of the address waiting for its body, a second
    // is answered 429 problem+json with Retry-After; once the first ends, the address is served.
    let server = support::sqlite_server_with(ApiConfig {
        max_in_flight_per_client: 1,
        ..ApiConfig::default()
    })
    .await;
    let mut waiting = TcpStream::connect(address(&server)).await.unwrap();
    let head = format!(
        "POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nIdempotency-Key: held\r\nContent-Length: 1000\r\n\r\n{{\"slug\"",
        token(NETWORK_ID, Role::Admin)
    );
    waiting.write_all(head.as_bytes()).await.unwrap();
    // Until the held request has reached the service.
    let mut refused = None;
    for _ in 0..100 {
        let response = server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused.expect("a second request in flight was not refused");
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    drop(waiting);
    let mut status = 0;
    for _ in 0..50 {
        status = server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "the address is served again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_throttled_per_address() {
    // Proves that after the allowed number of failed authentications an address is answered 429
    // with Retry-After (problem+json), even with a valid token, for the rest of the window.
    let server = support::sqlite_server_with(ApiConfig {
        max_failed_authentications: 3,
        ..ApiConfig::default()
    })
    .await;
    for _ in 0..3 {
        let (status, body) = server.get("/v1/organisations", "guessed-token").await;
        assert_eq!(status, 401, "{body}");
    }
    let throttled = server
        .client
        .get(server.url("/v1/organisations"))
        .bearer_auth("guessed-token")
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests");
    let (status, _) = server
        .get("/v1/organisations", &token(NETWORK_ID, Role::Admin))
        .await;
    assert_eq!(status, 429, "the address waits out its window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_write_is_refused_before_its_body_is_read() {
    // Proves a write's role is checked before its body: a contributor announcing a 16 MiB body to
    // an admin-only endpoint is answered 403 without the server waiting for (or buffering) a byte
    // of it.
    let server = support::sqlite_server().await;
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 1000)
        .await;
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let head = format!(
        "POST /v1/organisations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nIdempotency-Key: big\r\nContent-Length: {}\r\n\r\n",
        token(&union, Role::Contributor),
        ledger_api::MAX_REQUEST_BODY_BYTES
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0_u8; 4096];
    let count = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
        .await
        .expect("the server waited for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..count]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}
