//! End-to-end: idempotency holds across restarts (SQLite file) and across two service instances
//! sharing one PostgreSQL database, including simultaneous duplicates split between them.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use serde_json::{Value, json};
use support::{NETWORK_ID, TestServer, server_on, token};

async fn setup(server: &TestServer) -> (String, Value) {
    let union = server
        .organisation("lararforsakringar", "contributor", "SE", "SEK", 90_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let body = json!({
        "programme_id": programme, "period": "2026-11",
        "lines": [{"reference": "stockholm", "members": 321, "amount": "321.00", "kind": "solidarity"}]
    });
    (token(&union, Role::Contributor), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_a_restart_returns_the_first_response() {
    // Proves keys are durable: a restarted SQLite service answers a replay with the original body.
    let first = support::sqlite_server().await;
    let (union, body) = setup(&first).await;
    let original = first
        .post("/v1/contribution-batches", &union, "restart-key", &body)
        .await;
    assert_eq!(original.0, 201);
    let database_url = first.database_url.clone();
    let _directory = first.stop().await;
    let restarted = server_on(&database_url).await;
    assert_eq!(
        restarted
            .post("/v1/contribution-batches", &union, "restart-key", &body)
            .await,
        original
    );
    let (status, _) = restarted
        .post("/v1/contribution-batches", &union, "restart-key", &json!({"programme_id": body["programme_id"], "period": "2026-12", "lines": body["lines"]}))
        .await;
    assert_eq!(status, 409);
    let (_, list) = restarted
        .get("/v1/contribution-batches", &token(NETWORK_ID, Role::Admin))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_share_keys_and_the_chain() {
    // Proves two services on one PostgreSQL see each other's keys, have one effect for duplicates
    // sent to both at once, and keep one valid chain.
    let first = support::postgres_server().await;
    let second = server_on(&first.database_url).await;
    let (union, body) = setup(&first).await;
    let original = first
        .post("/v1/contribution-batches", &union, "shared-key", &body)
        .await;
    assert_eq!(original.0, 201);
    assert_eq!(
        second
            .post("/v1/contribution-batches", &union, "shared-key", &body)
            .await,
        original
    );

    let mut tasks = Vec::new();
    for attempt in 0..10 {
        let url = if attempt % 2 == 0 {
            first.url("/v1/contribution-batches")
        } else {
            second.url("/v1/contribution-batches")
        };
        let client = first.client.clone();
        let union = union.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(union)
                .header("idempotency-key", "burst-across")
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let created: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .collect();
    assert_eq!(created.len(), answers.len(), "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|answer| answer.1["id"] == answers[0].1["id"]),
        "{answers:?}"
    );
    let (_, list) = second
        .get("/v1/contribution-batches", &token(NETWORK_ID, Role::Admin))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Both instances appended to one chain, which verifies.
    let store =
        ledger_store::Store::connect(&first.database_url, ledger_store::StoreOptions::default())
            .await
            .unwrap();
    let report = store.verify().await.unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.transactions_count, 2);
}
