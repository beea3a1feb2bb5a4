//! End-to-end, on SQLite and PostgreSQL: how the API reads a request — query parameters that do not
//! parse or are missing are named, an idempotent replay is compared by the JSON's meaning (and keys
//! stored under the older byte rule still replay), and the trial balance and account balances are
//! offered by recording time or by accounting date, saying which.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_store::{IdempotencyEntry, WriteOutcome, WriteRequest};
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{NETWORK_ID, TestServer, token};

on_both_engines!(
    every_shape_problem_of_a_body_is_reported_at_once,
    bad_or_missing_query_parameters_are_named,
    a_replay_is_compared_by_meaning_and_old_keys_still_replay,
    the_trial_balance_is_as_at_an_accounting_date_or_a_moment_of_recording,
);

async fn every_shape_problem_of_a_body_is_reported_at_once(server: TestServer) {
    // Proves a batch with an unknown enum value, a missing field, a number where text belongs and
    // an unknown field answers one 422 listing all four at their paths (it listed the first only),
    // and writes nothing.
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let programme = server.programme("Solidarity euro 2026").await;
    let union_token = token(&union, Role::Contributor);
    let (status, problem) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "csq-2026-11",
            &json!({"programme_id": programme, "period": "2026-11", "lines": [
                {"reference": "montreal", "members": 1200, "amount": "1200.00", "kind": "gift"},
                {"reference": "quebec", "amount": "10.00", "kind": "solidarity"},
                {"reference": 7, "members": 1, "amount": "1.00", "kind": "solidarity", "colour": "red"}]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "validation_failed");
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "lines[0].kind",
            "lines[1].members",
            "lines[2].colour",
            "lines[2].reference"
        ],
        "{problem}"
    );
    let (_, batches) = server.get("/v1/contribution-batches", &union_token).await;
    assert_eq!(batches["items"], json!([]));
}

async fn bad_or_missing_query_parameters_are_named(server: TestServer) {
    // Proves a query parameter that does not parse (`limit=abc`, `after_sequence=abc`) or a
    // required one that is missing (eligibility's `programme_id`) is a 422 problem naming it, where
    // it was a bare 400 naming nothing.
    let admin = token(NETWORK_ID, Role::Admin);
    let mutual = server
        .organisation("mutuelle-bf", "beneficiary", "BF", "XOF", 6000)
        .await;
    for (path, field) in [
        ("/v1/journal?limit=abc", "limit"),
        ("/v1/journal?after_sequence=abc", "after_sequence"),
        ("/v1/organisations?limit=-3", "limit"),
        ("/v1/transfers?limit=1e3", "limit"),
        (
            &format!("/v1/organisations/{mutual}/eligibility") as &str,
            "programme_id",
        ),
        (
            &format!("/v1/organisations/{mutual}/eligibility?programme_id=nope"),
            "programme_id",
        ),
    ] {
        let response = server
            .client
            .get(server.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "validation_failed", "{path}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    // Two bad parameters are both named at once.
    let (status, problem) = server
        .get("/v1/journal?limit=abc&after_sequence=x", &admin)
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["limit", "after_sequence"], "{problem}");
}

/// POSTs raw JSON text as the network's admin.
async fn post_text(server: &TestServer, path: &str, key: &str, body: &str) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .bearer_auth(token(NETWORK_ID, Role::Admin))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn a_replay_is_compared_by_meaning_and_old_keys_still_replay(server: TestServer) {
    // Proves the same JSON with other whitespace, key order and string escapes replays the first
    // answer (it was a 409); another value is still a 409; and a key stored under the old rule
    // (the SHA-256 of method, path and body bytes) still replays a byte-identical request.
    let first = post_text(
        &server,
        "/v1/organisations",
        "org-csq",
        r#"{"slug":"csq","name":"Centrale","kind":"contributor","country":"CA","currency":"CAD"}"#,
    )
    .await;
    assert_eq!(first.status().as_u16(), 201);
    let created: Value = first.json().await.unwrap();
    let same_meaning = post_text(
        &server,
        "/v1/organisations",
        "org-csq",
        "{ \"currency\" : \"CAD\",\n  \"country\": \"CA\", \"kind\": \"contributor\",\n  \"name\": \"Centr\\u0061le\", \"slug\": \"csq\" }\n",
    )
    .await;
    assert_eq!(same_meaning.status().as_u16(), 201);
    assert_eq!(same_meaning.headers()["idempotent-replayed"], "true");
    assert_eq!(same_meaning.json::<Value>().await.unwrap(), created);
    let other_meaning = post_text(
        &server,
        "/v1/organisations",
        "org-csq",
        r#"{"slug":"csq","name":"Centrale","kind":"contributor","country":"CA","currency":"EUR"}"#,
    )
    .await;
    assert_eq!(other_meaning.status().as_u16(), 409);
    let problem: Value = other_meaning.json().await.unwrap();
    assert_eq!(problem["code"], "idempotency_conflict");

    // A key stored before the canonical rule: its fingerprint is of the exact bytes.
    let old_body = r#"{ "slug": "mgen", "name": "MGEN", "kind": "contributor", "country": "FR", "currency": "EUR" }"#;
    let mut hasher = Sha256::new();
    hasher.update(b"POST\n/v1/organisations\n");
    hasher.update(old_body.as_bytes());
    let store = ledger_store::Store::connect(
        &server.database_url,
        ledger_store::StoreOptions {
            max_connections: 2,
            ..ledger_store::StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let stored_answer = json!({"id": "the answer stored in an older version"}).to_string();
    let outcome = store
        .write(WriteRequest {
            idempotency: Some(IdempotencyEntry {
                scope: NETWORK_ID.to_owned(),
                key: "org-mgen-old".to_owned(),
                fingerprint: hasher.finalize().into(),
                response_status: 201,
                response_body: stored_answer.clone(),
                created_at: ledger_core::Timestamp::from_unix_micros(1_790_000_000_000_000)
                    .unwrap(),
            }),
            ..WriteRequest::default()
        })
        .await
        .unwrap();
    assert!(matches!(outcome, WriteOutcome::Committed(_)), "{outcome:?}");
    let replayed = post_text(&server, "/v1/organisations", "org-mgen-old", old_body).await;
    assert_eq!(replayed.status().as_u16(), 201);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.text().await.unwrap(), stored_answer);
    let (status, listed) = server
        .get("/v1/organisations", &token(NETWORK_ID, Role::Admin))
        .await;
    assert_eq!(status, 200);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|organisation| organisation["slug"] != "mgen"),
        "the replay wrote nothing: {listed}"
    );
}

async fn the_trial_balance_is_as_at_an_accounting_date_or_a_moment_of_recording(
    server: TestServer,
) {
    // Proves `as_of` selects by accounting (effective) date and `at` by recording time, that the
    // answer says which (`basis`), and that a bad date or both at once is a 422 naming `as_of`: a
    // receipt recorded after its pledge but with an earlier value date is in the books as at that
    // date, and the pledge (dated the day it was recorded) is not.
    let admin = token(NETWORK_ID, Role::Admin);
    let auditor = token(NETWORK_ID, Role::Auditor);
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let programme = server.programme("Solidarity euro 2026").await;
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(&union, Role::Contributor),
            "csq-2026-01",
            &json!({"programme_id": programme, "period": "2026-01", "lines": [
                {"reference": "montreal", "members": 1200, "amount": "1200.00", "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let (_, after_pledge) = server.get("/v1/audit/trial-balance", &auditor).await;
    let pledge_accounts = after_pledge["accounts"].as_array().unwrap().len();
    let between = chrono::Utc::now().to_rfc3339();
    let (status, receipt) = server
        .post(
            &format!(
                "/v1/contribution-batches/{}/receipts",
                batch["id"].as_str().unwrap()
            ),
            &admin,
            "receipt-1",
            &json!({"amount": "1200.00", "value_date": "2026-01-15", "bank_reference": "CAMT-1"}),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");

    let (status, dated) = server
        .get("/v1/audit/trial-balance?as_of=2026-01-15", &auditor)
        .await;
    assert_eq!(status, 200, "{dated}");
    assert_eq!(dated["basis"], "effective_date");
    assert_eq!(dated["as_of"], "2026-01-15");
    assert_eq!(dated["at"], Value::Null);
    assert_eq!(dated["balanced"], true);
    let bank = dated["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|account| account["code"] == "fund:bank:eur")
        .unwrap_or_else(|| panic!("the receipt's bank debit is in the books: {dated}"));
    assert_eq!(bank["debit"]["amount"], "1200.00");
    // The pledge's own accounts (receivable, pledged) carry nothing of the pledge then.
    let everything = server.get("/v1/audit/trial-balance", &auditor).await.1;
    assert_eq!(everything["basis"], "recorded_at");
    assert_ne!(dated["accounts"], everything["accounts"]);
    let (_, day_before) = server
        .get("/v1/audit/trial-balance?as_of=2026-01-14", &auditor)
        .await;
    assert_eq!(day_before["accounts"], json!([]), "{day_before}");
    // By recording time, the moment between the two holds the pledge only.
    let (status, recorded) = server
        .get(
            &format!("/v1/audit/trial-balance?at={}", between.replace('+', "%2B")),
            &auditor,
        )
        .await;
    assert_eq!(status, 200, "{recorded}");
    assert_eq!(recorded["basis"], "recorded_at");
    assert_eq!(recorded["as_of"], Value::Null);
    assert_eq!(
        recorded["accounts"].as_array().unwrap().len(),
        pledge_accounts
    );
    assert!(
        recorded["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|account| account["code"] != "fund:bank:eur"),
        "{recorded}"
    );
    // One account's balance as at an accounting date, saying so.
    let bank_id = bank["account_id"].as_str().unwrap();
    for (date, expected) in [("2026-01-14", "0.00"), ("2026-01-15", "1200.00")] {
        let (status, account) = server
            .get(&format!("/v1/accounts/{bank_id}?as_of={date}"), &auditor)
            .await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(account["basis"], "effective_date");
        assert_eq!(account["as_of"], date);
        assert_eq!(account["balance"]["amount"], expected, "{account}");
    }
    let (_, now) = server
        .get(&format!("/v1/accounts/{bank_id}"), &auditor)
        .await;
    assert_eq!(now["basis"], "recorded_at");
    assert_eq!(now["as_of"], Value::Null);
    for query in [
        "as_of=2026-02-30",
        "as_of=2026-01-15&at=2026-01-15T00:00:00Z",
    ] {
        let (status, problem) = server
            .get(&format!("/v1/accounts/{bank_id}?{query}"), &auditor)
            .await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "as_of", "{query}: {problem}");
    }
    for query in [
        "as_of=2026-13-01",
        "as_of=yesterday",
        "as_of=2026-01-15&at=2026-01-15T00:00:00Z",
    ] {
        let (status, problem) = server
            .get(&format!("/v1/audit/trial-balance?{query}"), &auditor)
            .await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "as_of", "{query}: {problem}");
    }
}
