//! End-to-end, on both engines, with the service's default of two admins: a transfer run's
//! execution is a proposal until another admin approves it; the proposer cannot approve with any
//! of its credentials; the export shows both names; a rejected proposal never runs.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::Engine;
use serde_json::{Value, json};
use support::people::{Credential, credential, post_plain};
use support::southern::{burkina_run_for_september, fund};
use support::{NETWORK_ID, TestServer, token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_money_leaves_on_two_admins_word() {
    money_leaves_on_two_admins_word(support::four_eyes_server(Engine::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_money_leaves_on_two_admins_word() {
    money_leaves_on_two_admins_word(support::four_eyes_server(Engine::Postgres).await).await;
}

/// The email behind a session (its user's).
async fn email_of(server: &TestServer, session: &str) -> String {
    // The session's own sign-in is the last one on the record.
    let (_, events) = server
        .get("/v1/security-events?kind=sign_in&limit=1000", session)
        .await;
    events["items"].as_array().unwrap().last().unwrap()["subject"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn money_leaves_on_two_admins_word(server: TestServer) {
    // Proves four eyes on a run's execution and on a return of held funds: a proposal first (202,
    // nothing moved, the same proposal for a replayed request), refused to its proposer (with its
    // session and with its own API key) and to an auditor, run once by another admin, with both
    // names in the exported journal; a rejected proposal never runs.
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["approvals_required"], 2, "{ready}");
    let fund = fund(&server).await;
    let run = burkina_run_for_september(&server, &fund, "100.00").await;

    let alice = credential(&server, NETWORK_ID, Role::Admin, Credential::Session).await;
    let bob = credential(&server, NETWORK_ID, Role::Admin, Credential::Session).await;
    let bob_email = email_of(&server, &bob).await;
    let (status, key) = post_plain(
        &server,
        "/v1/api-keys",
        &alice,
        &json!({"name": "alice's script"}),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let alice_key = key["key"].as_str().unwrap().to_owned();

    let execution = format!(
        "/v1/transfer-runs/{}/execution",
        run["id"].as_str().unwrap()
    );
    let (status, proposal) = server.post(&execution, &alice, "exec", &json!({})).await;
    assert_eq!(
        (status, proposal["status"].as_str()),
        (202, Some("awaiting_approval")),
        "{proposal}"
    );
    let (status, again) = server.post(&execution, &alice, "exec", &json!({})).await;
    assert_eq!((status, &again["id"]), (202, &proposal["id"]));
    let (_, pending) = server
        .get("/v1/transfers?status=pending", &fund.admin)
        .await;
    assert_eq!(
        pending["items"].as_array().unwrap().len(),
        0,
        "nothing moves before approval"
    );

    let approval = format!(
        "/v1/proposals/{}/approval",
        proposal["id"].as_str().unwrap()
    );
    for own in [&alice, &alice_key] {
        let (status, body) = post_plain(&server, &approval, own, &json!({})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("approval_by_proposer")),
            "{body}"
        );
    }
    let (status, _) = post_plain(
        &server,
        &approval,
        &token(NETWORK_ID, Role::Auditor),
        &json!({}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, approved) = post_plain(&server, &approval, &bob, &json!({})).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["result_status"], 201);
    assert_eq!(approved["decided_by"], bob_email.as_str());
    let (status, body) = post_plain(&server, &approval, &bob, &json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("proposal_decided")),
        "{body}"
    );
    let (_, pending) = server
        .get("/v1/transfers?status=pending", &fund.admin)
        .await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1, "{pending}");

    // The export names both admins on the transfer's transaction.
    let export = server
        .client
        .get(server.url("/v1/audit/export?format=jsonl"))
        .bearer_auth(token(NETWORK_ID, Role::Auditor))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let transfers: Vec<Value> = export
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["kind"] == "transfer")
        .collect();
    assert!(!transfers.is_empty(), "{export}");
    for transfer in &transfers {
        let metadata: Value = match &transfer["metadata"] {
            Value::String(text) => serde_json::from_str(text).unwrap(),
            other => other.clone(),
        };
        assert!(
            metadata["approval"]["proposed_by"]
                .as_str()
                .unwrap()
                .starts_with("admin-"),
            "{metadata}"
        );
        assert_eq!(metadata["approval"]["approved_by"], bob_email.as_str());
        assert_eq!(metadata["approval"]["proposal_id"], proposal["id"]);
    }

    // MESP (no facts) was held; returning its share is proposed, then withdrawn: nothing moves.
    let held = format!(
        "/v1/programmes/{}/held-funds/{}/return",
        fund.programme, fund.mesp
    );
    let (status, returning) = server
        .post(&held, &alice, "return", &json!({"reason": "facts arrived"}))
        .await;
    assert_eq!(status, 202, "{returning}");
    assert_eq!(returning["targets"], json!([fund.programme, fund.mesp]));
    let rejection = format!(
        "/v1/proposals/{}/rejection",
        returning["id"].as_str().unwrap()
    );
    let (status, rejected) = post_plain(&server, &rejection, &alice, &json!({})).await;
    assert_eq!(
        (status, rejected["status"].as_str()),
        (200, Some("rejected")),
        "{rejected}"
    );
    let (status, body) = post_plain(
        &server,
        &format!(
            "/v1/proposals/{}/approval",
            returning["id"].as_str().unwrap()
        ),
        &bob,
        &json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("proposal_decided")),
        "{body}"
    );
    let (status, listed) = server
        .get(
            "/v1/proposals?status=pending",
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    // A proposal that could not run is refused at once: an unknown run.
    let (status, body) = server
        .post(
            "/v1/transfer-runs/00000000-0000-0000-0000-00000000abcd/execution",
            &alice,
            "nothing",
            &json!({}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
}
