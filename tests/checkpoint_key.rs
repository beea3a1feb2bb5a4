//! The `serve` command's checkpoint key: generated into the data directory (mode 0600) when
//! missing and reused on the next start; or read from the file given; a malformed or missing
//! given file stops the start with a message.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use ledger_core::checkpoint::{
    Checkpoint, SigningKey, key_id, parse_signing_key_hex, public_key_hex, signing_key_hex,
};
use ledger_testkit::http::HttpClient;
use reqwest::Method;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

fn serve(data_dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info");
    command
}

/// A running `serve`, killed when dropped (also when a test fails half-way).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve`; returns it and its address once it listens.
fn start(data_dir: &Path, extra: &[&str]) -> (Running, String) {
    let mut child = serve(data_dir, extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Running(child);
    let mut stderr = BufReader::new(stderr).lines();
    let address = loop {
        let line = stderr
            .next()
            .expect("serve exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr {});
    (child, address)
}

fn stop(running: Running) {
    drop(running);
}

async fn get(address: &str, path: &str) -> Value {
    let response = HttpClient::new(format!("http://{address}"))
        .request(Method::GET, path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// The latest checkpoint, once the start-up signing has stored it.
async fn latest(address: &str) -> Checkpoint {
    for _ in 0..100 {
        let response = HttpClient::new(format!("http://{address}"))
            .request(Method::GET, "/v1/checkpoints/latest")
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            return response.json().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no checkpoint was signed");
}

#[tokio::test]
async fn a_generated_key_is_private_and_reused_on_the_next_start() {
    // Proves the key is created once, readable by its owner only, published as the served key,
    // signs the checkpoints, and is the same after a restart.
    let directory = tempfile::tempdir().unwrap();
    let (child, address) = start(directory.path(), &[]);
    let file = directory.path().join("checkpoint-key");
    let key = parse_signing_key_hex(&std::fs::read_to_string(&file).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let published = get(&address, "/v1/checkpoints/public-key").await;
    assert_eq!(
        published["public_key"],
        public_key_hex(&key.verifying_key())
    );
    latest(&address).await.verify(&key.verifying_key()).unwrap();
    stop(child);

    let (child, address) = start(directory.path(), &[]);
    let published = get(&address, "/v1/checkpoints/public-key").await;
    assert_eq!(published["key_id"], key_id(&key.verifying_key()));
    stop(child);
}

#[tokio::test]
async fn a_given_key_file_is_used_and_a_bad_one_stops_the_start() {
    // Proves --checkpoint-key-file replaces the generated key, and that a malformed or missing
    // given file is an error rather than a silently generated key.
    let directory = tempfile::tempdir().unwrap();
    let given = directory.path().join("given-key");
    let key = SigningKey::from_bytes(&[21; 32]);
    std::fs::write(&given, format!("{}\n", signing_key_hex(&key))).unwrap();
    let given_text = given.to_str().unwrap();
    let (child, address) = start(directory.path(), &["--checkpoint-key-file", given_text]);
    let published = get(&address, "/v1/checkpoints/public-key").await;
    assert_eq!(
        published["public_key"],
        public_key_hex(&key.verifying_key())
    );
    assert!(!directory.path().join("checkpoint-key").exists());
    stop(child);

    std::fs::write(&given, "not a key").unwrap();
    let output = serve(directory.path(), &["--checkpoint-key-file", given_text])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("checkpoint key"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let missing = directory.path().join("missing");
    let output = serve(
        directory.path(),
        &["--checkpoint-key-file", missing.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    assert!(!missing.exists());
}
