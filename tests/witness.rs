//! `solidarity-ledger witness` against a lying server: a small axum server serving crafted
//! checkpoints signed with a test key, so each kind of lie can be told. The witness must accept an
//! honest history run after run and fail loudly (exit 1, both heads printed, the kept head kept)
//! on a rollback, a fork, a rewritten history, a tampered signature and a changed key.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ledger_core::checkpoint::{ChainLink, Checkpoint, SigningKey, key_id, public_key_hex};
use ledger_core::{ChainHash, GENESIS_HASH, Timestamp};
use serde_json::{Value, json};

/// What the fake service says.
#[derive(Clone)]
struct Story {
    key: SigningKey,
    latest: Option<Value>,
    /// The chain it shows: the hash after each sequence (index 0: genesis).
    chain: Vec<ChainHash>,
    /// Links that claim another previous hash than the chain's (a broken link in the segment).
    broken_links: HashMap<u64, ChainHash>,
}

type Shared = Arc<Mutex<Story>>;

fn honest_key() -> SigningKey {
    SigningKey::from_bytes(&[11; 32])
}

/// A chain of `length` transactions whose hashes are derived from `seed`.
fn chain(seed: u8, length: u64) -> Vec<ChainHash> {
    std::iter::once(GENESIS_HASH)
        .chain((1..=length).map(|sequence| {
            let mut bytes = [seed; 32];
            bytes[..8].copy_from_slice(&sequence.to_be_bytes());
            ChainHash::from_bytes(bytes)
        }))
        .collect()
}

/// The most links the real service gives per request; the fake one keeps the same limit.
const LINKS_PER_REQUEST: u64 = 10_000;

fn signed(key: &SigningKey, chain: &[ChainHash], sequence: u64) -> Checkpoint {
    let instant = Timestamp::from_unix_micros(1_796_000_000_000_000).unwrap();
    Checkpoint::sign(key, sequence, chain[sequence as usize], instant)
}

async fn public_key(State(story): State<Shared>) -> Json<Value> {
    let key = story.lock().unwrap().key.verifying_key();
    Json(
        json!({"algorithm": "Ed25519", "public_key": public_key_hex(&key), "key_id": key_id(&key)}),
    )
}

async fn latest(State(story): State<Shared>) -> Response {
    match story.lock().unwrap().latest.clone() {
        Some(checkpoint) => Json(checkpoint).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn consistency(
    State(story): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let from: u64 = query["from_sequence"].parse().unwrap();
    let to: u64 = query["to_sequence"].parse().unwrap();
    if to < from || to - from > LINKS_PER_REQUEST {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    let (chain, broken_links) = {
        let story = story.lock().unwrap();
        (story.chain.clone(), story.broken_links.clone())
    };
    let links: Vec<ChainLink> = (from + 1..=to)
        .filter(|sequence| (*sequence as usize) < chain.len())
        .map(|sequence| ChainLink {
            sequence,
            previous_hash: broken_links
                .get(&sequence)
                .copied()
                .unwrap_or(chain[sequence as usize - 1]),
            hash: chain[sequence as usize],
        })
        .collect();
    Json(json!({"from_sequence": from, "to_sequence": to, "links": links})).into_response()
}

/// Starts the fake service telling `story`; returns its URL and the handle to change the story.
async fn fake_service(story: Story) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(story));
    let router = axum::Router::new()
        .route("/v1/checkpoints/public-key", get(public_key))
        .route("/v1/checkpoints/latest", get(latest))
        .route("/v1/checkpoints/consistency", get(consistency))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}"), shared)
}

/// Tells `checkpoint` as the latest, over `chain`, signed by `key`.
fn tell(shared: &Shared, key: &SigningKey, chain: Vec<ChainHash>, checkpoint: &Checkpoint) {
    let mut story = shared.lock().unwrap();
    story.key = key.clone();
    story.chain = chain;
    story.latest = Some(serde_json::to_value(checkpoint).unwrap());
}

/// Runs the witness; returns its exit code and what it printed.
async fn witness(url: &str, store: &Path, extra: &[&str]) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_solidarity-ledger"))
        .args(["witness", "--url", url, "--store"])
        .arg(store)
        .args(extra)
        .output()
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap(), printed)
}

fn kept_sequence(store: &Path) -> u64 {
    let head: Checkpoint =
        serde_json::from_slice(&std::fs::read(store.join("head.json")).unwrap()).unwrap();
    head.sequence
}

/// A fake honest service at head 5 and a witness store that kept it.
async fn kept_at_five() -> (String, Shared, tempfile::TempDir) {
    let key = honest_key();
    let honest = chain(1, 5);
    let (url, shared) = fake_service(Story {
        key: key.clone(),
        latest: Some(serde_json::to_value(signed(&key, &honest, 5)).unwrap()),
        chain: honest,
        broken_links: HashMap::new(),
    })
    .await;
    let store = tempfile::tempdir().unwrap();
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 0, "{printed}");
    assert_eq!(kept_sequence(store.path()), 5);
    (url, shared, store)
}

/// Asserts a loud failure naming `what` and both hashes, with the kept head unchanged.
fn assert_loud_failure(
    (code, printed): (i32, String),
    what: &str,
    kept: ChainHash,
    served: ChainHash,
    store: &Path,
) {
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("WITNESS FAILURE"), "{printed}");
    assert!(printed.contains(what), "{printed}");
    assert!(
        printed.contains(&format!("\"hash\":\"{kept}\"")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("\"hash\":\"{served}\"")),
        "{printed}"
    );
    assert_eq!(kept_sequence(store), 5, "the kept head must not move");
    let conflicts = std::fs::read_to_string(store.join("conflicts.jsonl")).unwrap();
    assert!(
        !conflicts.is_empty(),
        "the conflict is recorded as evidence"
    );
}

#[tokio::test]
async fn an_honest_history_is_witnessed_run_after_run() {
    // Proves the accepted path: the key pinned on first use, a longer head that links onto the
    // kept one accepted and kept (history appended), an unchanged head accepted as such.
    let key = honest_key();
    let honest = chain(1, 30);
    let (url, shared) = fake_service(Story {
        key: key.clone(),
        latest: Some(serde_json::to_value(signed(&key, &honest, 2)).unwrap()),
        chain: honest.clone(),
        broken_links: HashMap::new(),
    })
    .await;
    let store = tempfile::tempdir().unwrap();
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("first head kept: sequence 2"), "{printed}");
    assert!(printed.contains(&key_id(&key.verifying_key())), "{printed}");
    let pinned = std::fs::read_to_string(store.path().join("public-key")).unwrap();
    assert_eq!(pinned.trim(), public_key_hex(&key.verifying_key()));

    tell(&shared, &key, honest.clone(), &signed(&key, &honest, 30));
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("ok: head at sequence 30"), "{printed}");
    assert_eq!(kept_sequence(store.path()), 30);
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("unchanged"), "{printed}");
    let history = std::fs::read_to_string(store.path().join("checkpoints.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2);
}

#[tokio::test]
async fn a_long_history_is_checked_in_pieces() {
    // Proves a head far ahead of the kept one is checked over several segment requests (the
    // service gives at most 10,000 links at once), and a break in a later piece is still found.
    let (url, shared, store) = kept_at_five().await;
    let long = {
        let mut long = chain(1, 5);
        long.extend(chain(1, 25_000).into_iter().skip(6));
        long
    };
    tell(
        &shared,
        &honest_key(),
        long.clone(),
        &signed(&honest_key(), &long, 25_000),
    );
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 0, "{printed}");
    assert_eq!(kept_sequence(store.path()), 25_000);

    let longer = chain(1, 40_000);
    tell(
        &shared,
        &honest_key(),
        longer.clone(),
        &signed(&honest_key(), &longer, 40_000),
    );
    shared
        .lock()
        .unwrap()
        .broken_links
        .insert(33_334, ChainHash::from_bytes([0xab; 32]));
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 1, "{printed}");
    assert!(
        printed.contains("REWRITTEN HISTORY at sequence 33334"),
        "{printed}"
    );
    assert_eq!(kept_sequence(store.path()), 25_000);
}

#[tokio::test]
async fn a_rollback_is_a_loud_failure_with_both_heads() {
    // Proves a validly signed head at a lower sequence, or no checkpoint at all, is refused.
    let (url, shared, store) = kept_at_five().await;
    let honest = chain(1, 5);
    tell(
        &shared,
        &honest_key(),
        honest.clone(),
        &signed(&honest_key(), &honest, 3),
    );
    let outcome = witness(&url, store.path(), &[]).await;
    assert_loud_failure(outcome, "ROLLBACK", honest[5], honest[3], store.path());

    shared.lock().unwrap().latest = None;
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("ROLLBACK"), "{printed}");
}

#[tokio::test]
async fn a_fork_is_a_loud_failure_with_both_heads() {
    // Proves a validly signed head at the kept sequence with another hash is refused.
    let (url, shared, store) = kept_at_five().await;
    let forked = chain(2, 5);
    tell(
        &shared,
        &honest_key(),
        forked.clone(),
        &signed(&honest_key(), &forked, 5),
    );
    let outcome = witness(&url, store.path(), &[]).await;
    assert_loud_failure(outcome, "FORK", chain(1, 5)[5], forked[5], store.path());
}

#[tokio::test]
async fn a_rewritten_history_is_a_loud_failure_with_both_heads() {
    // Proves a longer, validly signed head is refused when the segment the service shows does
    // not lead from the kept head to it: history rewritten before the kept head (every later
    // hash recomputed), or a segment cut short.
    let (url, shared, store) = kept_at_five().await;
    let rewritten = chain(3, 8);
    tell(
        &shared,
        &honest_key(),
        rewritten.clone(),
        &signed(&honest_key(), &rewritten, 8),
    );
    let outcome = witness(&url, store.path(), &[]).await;
    assert_loud_failure(
        outcome,
        "REWRITTEN HISTORY",
        chain(1, 5)[5],
        rewritten[8],
        store.path(),
    );

    // The right start, but the chain shown stops at 7 while the head says 8.
    let cut = chain(1, 7);
    let head = {
        let mut bytes = [9; 32];
        bytes[0] = 8;
        ChainHash::from_bytes(bytes)
    };
    let checkpoint = Checkpoint::sign(
        &honest_key(),
        8,
        head,
        Timestamp::from_unix_micros(1_796_000_000_000_000).unwrap(),
    );
    tell(&shared, &honest_key(), cut, &checkpoint);
    let outcome = witness(&url, store.path(), &[]).await;
    assert_loud_failure(
        outcome,
        "REWRITTEN HISTORY",
        chain(1, 5)[5],
        head,
        store.path(),
    );
}

#[tokio::test]
async fn a_tampered_signature_or_a_changed_key_is_a_loud_failure() {
    // Proves the signature is checked with the pinned key: a flipped signature byte, a changed
    // field under the old signature, and a new key (even with a valid signature) are refused.
    let (url, shared, store) = kept_at_five().await;
    let honest = chain(1, 9);
    let mut tampered = signed(&honest_key(), &honest, 9);
    tampered.signature[10] ^= 0x01;
    tell(&shared, &honest_key(), honest.clone(), &tampered);
    let outcome = witness(&url, store.path(), &[]).await;
    assert_loud_failure(outcome, "BAD SIGNATURE", honest[5], honest[9], store.path());

    let mut moved = signed(&honest_key(), &honest, 8);
    moved.sequence = 9;
    moved.hash = *honest[9].as_bytes();
    tell(&shared, &honest_key(), honest.clone(), &moved);
    let outcome = witness(&url, store.path(), &[]).await;
    assert_loud_failure(outcome, "BAD SIGNATURE", honest[5], honest[9], store.path());

    let other = SigningKey::from_bytes(&[12; 32]);
    tell(&shared, &other, honest.clone(), &signed(&other, &honest, 9));
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("CHANGED"), "{printed}");
    assert!(
        printed.contains(&public_key_hex(&other.verifying_key())),
        "{printed}"
    );
    assert_eq!(kept_sequence(store.path()), 5);
}

#[tokio::test]
async fn a_key_other_than_the_one_handed_over_is_refused_on_first_use() {
    // Proves --public-key replaces trust on first use: a service showing another key is refused
    // before anything is pinned; the right key is pinned.
    let key = honest_key();
    let honest = chain(1, 3);
    let (url, _shared) = fake_service(Story {
        key: key.clone(),
        latest: Some(serde_json::to_value(signed(&key, &honest, 3)).unwrap()),
        chain: honest,
        broken_links: HashMap::new(),
    })
    .await;
    let store = tempfile::tempdir().unwrap();
    let expected = public_key_hex(&SigningKey::from_bytes(&[13; 32]).verifying_key());
    let (code, printed) = witness(&url, store.path(), &["--public-key", &expected]).await;
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("CHANGED"), "{printed}");
    assert!(!store.path().join("public-key").exists());
    let right = public_key_hex(&key.verifying_key());
    let (code, printed) = witness(&url, store.path(), &["--public-key", &right]).await;
    assert_eq!(code, 0, "{printed}");
}

#[tokio::test]
async fn an_unreachable_service_is_not_a_finding() {
    // Proves "could not check" (exit 2) is told apart from "the ledger lied" (exit 1).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let store = tempfile::tempdir().unwrap();
    let (code, printed) = witness(&url, store.path(), &[]).await;
    assert_eq!(code, 2, "{printed}");
    assert!(printed.contains("could not check"), "{printed}");
}
