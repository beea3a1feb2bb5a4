//! End-to-end: the contributors' side of the fund over HTTP, on SQLite and PostgreSQL — the README's
//! first session (organisation → programme → batch → receipt → pool balance), validation, auth,
//! the authorisation matrix, idempotency, receipts and reversals.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::people::{Credential, credential};
use support::{NETWORK_ID, TestServer, token};

on_both_engines!(
    a_union_pledges_and_the_network_receives_into_the_pool,
    bad_batches_list_every_problem_and_write_nothing,
    tokens_are_checked,
    roles_and_organisations_are_enforced,
    roles_and_organisations_are_enforced_for_signed_in_users,
    roles_and_organisations_are_enforced_for_api_keys,
    replays_return_the_first_response_and_conflicts_are_refused,
    concurrent_duplicates_have_one_effect,
    receipts_accumulate_and_overpayments_become_donations,
    reversals_cancel_and_refund_without_deleting,
    lists_run_oldest_or_newest_first,
);

/// Builds a request body for the n-th role of the matrix (so creations do not collide).
type BodyFor = Box<dyn Fn(usize) -> Value>;

fn batch_body(programme: &str, period: &str, members: i64) -> Value {
    json!({
        "programme_id": programme,
        "period": period,
        "lines": [
            {"reference": "section-montreal", "members": members, "amount": format!("{members}.00"), "kind": "solidarity"},
            {"reference": "gala", "members": 0, "amount": "50.00", "kind": "donation"}
        ]
    })
}

struct Fund {
    programme: String,
    union: String,
    union_token: String,
    admin: String,
}

async fn fund(server: &TestServer) -> Fund {
    let union = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    Fund {
        union_token: token(&union, Role::Contributor),
        union,
        programme,
        admin: token(NETWORK_ID, Role::Admin),
    }
}

async fn pool(server: &TestServer, fund: &Fund) -> (String, String) {
    let (status, programme) = server
        .get(
            &format!("/v1/programmes/{}", fund.programme),
            &fund.union_token,
        )
        .await;
    assert_eq!(status, 200);
    (
        programme["balances"]["pool"]["amount"]
            .as_str()
            .unwrap()
            .to_owned(),
        programme["balances"]["pledged_outstanding"]["amount"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

async fn a_union_pledges_and_the_network_receives_into_the_pool(server: TestServer) {
    // Proves the README's first session: a batch is pledged, a receipt brings it into the pool, and
    // a late second batch for the same period is accepted and marked supplementary.
    let fund = fund(&server).await;
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "csq-2026-11",
            &batch_body(&fund.programme, "2026-11", 1200),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(batch["status"], "pledged");
    assert_eq!(batch["totals"]["members"], 1200);
    assert_eq!(
        batch["totals"]["amount"],
        json!({"amount": "1250.00", "currency": "EUR"})
    );
    assert_eq!(batch["supplementary"], false);
    assert!(batch["transaction_id"].is_string());
    assert_eq!(
        pool(&server, &fund).await,
        ("0.00".into(), "1250.00".into())
    );

    let batch_id = batch["id"].as_str().unwrap();
    let (status, receipt) = server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/receipts"),
            &fund.admin,
            "receipt-1",
            &json!({"amount": "1250.00", "value_date": "2026-11-20", "bank_reference": "CAMT-001"}),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(
        pool(&server, &fund).await,
        ("1250.00".into(), "0.00".into())
    );
    let (_, read_back) = server
        .get(
            &format!("/v1/contribution-batches/{batch_id}"),
            &fund.union_token,
        )
        .await;
    assert_eq!(read_back["status"], "received");
    assert_eq!(read_back["lines"].as_array().unwrap().len(), 2);
    assert_eq!(read_back["lines"][0]["reference"], "section-montreal");
    assert_eq!(read_back["receipts"][0]["bank_reference"], "CAMT-001");

    let (status, late) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "csq-2026-11-late",
            &batch_body(&fund.programme, "2026-11", 30),
        )
        .await;
    assert_eq!(status, 201, "{late}");
    assert_eq!(late["supplementary"], true);
    let (_, list) = server
        .get("/v1/contribution-batches?limit=1", &fund.union_token)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let cursor = list["next_cursor"].as_str().unwrap();
    let (_, next) = server
        .get(
            &format!("/v1/contribution-batches?limit=1&cursor={cursor}"),
            &fund.union_token,
        )
        .await;
    assert_eq!(next["items"][0]["supplementary"], true);
    assert_eq!(next["next_cursor"], Value::Null);
}

async fn bad_batches_list_every_problem_and_write_nothing(server: TestServer) {
    // Proves each bad input is a 422 naming its field, all at once, and nothing is written.
    let fund = fund(&server).await;
    let (status, problem) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "bad-1",
            &json!({
                "programme_id": fund.programme,
                "period": "2026-Q4",
                "lines": [
                    {"reference": "a", "members": 10, "amount": 10.0, "kind": "solidarity"},
                    {"reference": "b", "members": 0, "amount": "0.00", "kind": "solidarity"},
                    {"reference": "c", "members": 5, "amount": "5.001", "kind": "solidarity"},
                    {"reference": "d", "members": 5, "amount": "4.99", "kind": "solidarity"},
                    {"reference": "e", "members": -2, "amount": "-2.00", "kind": "solidarity"}
                ],
                "earmark_beneficiary_id": "00000000-0000-0000-0000-0000000000ff"
            }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "period",
        "earmark_beneficiary_id",
        "lines[0].amount",
        "lines[1].members",
        "lines[2].amount",
        "lines[3].amount",
        "lines[4].members",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    let (status, problem) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "bad-2",
            &json!({"programme_id": "00000000-0000-0000-0000-000000000000", "period": "2026-11", "lines": []}),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"programme_id") && fields.contains(&"lines"),
        "{fields:?}"
    );
    let (status, problem) = server
        .post("/v1/contribution-batches", &fund.union_token, "bad-3", &json!({"programme_id": fund.programme, "period": "2026-11", "lines": [], "colour": "red"}))
        .await;
    assert_eq!(status, 422);
    assert!(problem["detail"].as_str().unwrap().contains("colour"));
    // A NUL character, which no text column takes, is refused at its field, not a 500.
    let mut with_nul = batch_body(&fund.programme, "2026-11", 2);
    with_nul["lines"][1]["reference"] = json!("section\u{0}2");
    let (status, problem) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "bad-nul",
            &with_nul,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "lines[1].reference",
        "{problem}"
    );
    let (status, problem) = server
        .post(
            "/v1/organisations",
            &fund.admin,
            "bad-org",
            &json!({"slug": "X Y", "name": "", "kind": "union", "country": "fr", "currency": "EUX", "covered_members": -1}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 6, "{problem}");
    let (status, _) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "",
            &batch_body(&fund.programme, "2026-11", 1),
        )
        .await;
    assert_eq!(status, 400);
    let no_key = server
        .client
        .post(server.url("/v1/contribution-batches"))
        .bearer_auth(&fund.union_token)
        .json(&batch_body(&fund.programme, "2026-11", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    assert_eq!(
        no_key.json::<Value>().await.unwrap()["code"],
        "idempotency_key_required"
    );
    let (_, list) = server.get("/v1/contribution-batches", &fund.admin).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    assert_eq!(pool(&server, &fund).await, ("0.00".into(), "0.00".into()));
}

async fn tokens_are_checked(server: TestServer) {
    // Proves missing, malformed, expired, wrongly signed and unsigned tokens are 401 with
    // WWW-Authenticate, and a valid one passes.
    let path = server.url("/v1/organisations");
    let missing = server.client.get(&path).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let expired =
        support::token_with_expiry(NETWORK_ID, Role::Admin, support::now_seconds() - 3600);
    let valid = token(NETWORK_ID, Role::Admin);
    let mut parts: Vec<&str> = valid.split('.').collect();
    let forged_signature = format!("{}.{}.{}", parts[0], parts[1], "AAAA");
    // alg: none with the same claims and no signature.
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    parts[0] = none_header;
    let unsigned = format!("{}.{}.", parts[0], parts[1]);
    for bad in [
        "not-a-token",
        expired.as_str(),
        forged_signature.as_str(),
        unsigned.as_str(),
    ] {
        let response = server
            .client
            .get(&path)
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{bad}");
        assert!(response.headers().contains_key("www-authenticate"));
    }
    let basic = server
        .client
        .get(&path)
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        server
            .client
            .get(&path)
            .bearer_auth(&valid)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn roles_and_organisations_are_enforced(server: TestServer) {
    // Proves the authorisation matrix: each role, own and other organisation, each endpoint.
    enforced_with(server, Credential::Minted).await;
}

async fn roles_and_organisations_are_enforced_for_signed_in_users(server: TestServer) {
    // Proves the same matrix with each caller a user of its organisation, signed in.
    enforced_with(server, Credential::Session).await;
}

async fn roles_and_organisations_are_enforced_for_api_keys(server: TestServer) {
    // Proves the same matrix with each caller an API key made by a user of its organisation.
    enforced_with(server, Credential::ApiKey).await;
}

async fn enforced_with(server: TestServer, kind: Credential) {
    let fund = fund(&server).await;
    let other_union = server
        .organisation("mgen", "contributor", "FR", "EUR", 40_000)
        .await;
    let mutual = server
        .organisation("mugef-ci", "beneficiary", "CI", "XOF", 30_000)
        .await;
    let auditor_org = server
        .organisation("auditors", "auditor", "FR", "EUR", 0)
        .await;
    let owner = credential(&server, &fund.union, Role::Contributor, kind).await;
    let other = credential(&server, &other_union, Role::Contributor, kind).await;
    let beneficiary = credential(&server, &mutual, Role::Beneficiary, kind).await;
    let auditor = credential(&server, &auditor_org, Role::Auditor, kind).await;
    let admin = credential(&server, NETWORK_ID, Role::Admin, kind).await;
    let (_, batch) = server
        .post(
            "/v1/contribution-batches",
            &owner,
            "b1",
            &batch_body(&fund.programme, "2026-11", 10),
        )
        .await;
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    let roles = [
        ("owner", &owner),
        ("other contributor", &other),
        ("beneficiary", &beneficiary),
        ("auditor", &auditor),
        ("admin", &admin),
    ];

    let organisation = |slug: &str| json!({"slug": slug, "name": "N", "kind": "contributor", "country": "SE", "currency": "SEK"});
    let programme = |name: &str| json!({"name": name, "currency": "EUR", "rate_per_member": "1.00", "period": "month", "allocation": {"policy": "pro_rata_covered_members"}, "minimum_transfer": "0", "admin_cost_cap_percent": "10"});
    let receipt = json!({"amount": "1.00", "value_date": "2026-11-21", "bank_reference": "R"});
    // Expected status per role, in the order of `roles`.
    let writes: Vec<(String, BodyFor, [u16; 5])> = vec![
        (
            "/v1/organisations".into(),
            Box::new(move |i| organisation(&format!("org-{i}"))),
            [403, 403, 403, 403, 201],
        ),
        (
            "/v1/programmes".into(),
            Box::new(move |i| programme(&format!("programme {i}"))),
            [403, 403, 403, 403, 201],
        ),
        (
            "/v1/contribution-batches".into(),
            Box::new({
                let p = fund.programme.clone();
                move |_| batch_body(&p, "2026-12", 3)
            }),
            [201, 201, 403, 403, 403],
        ),
        (
            format!("/v1/contribution-batches/{batch_id}/receipts"),
            Box::new(move |_| receipt.clone()),
            [403, 403, 403, 403, 201],
        ),
    ];
    for (path, body, expected) in &writes {
        for (index, ((role, role_token), status)) in roles.iter().zip(expected).enumerate() {
            let (actual, response) = server
                .post(
                    path,
                    role_token,
                    &format!("matrix-{index}-{path}"),
                    &body(index),
                )
                .await;
            assert_eq!(actual, *status, "{role} POST {path}: {response}");
        }
    }
    let reads = [
        ("/v1/organisations".to_owned(), [200, 200, 200, 200, 200]),
        (
            format!("/v1/organisations/{}", fund.union),
            [200, 200, 200, 200, 200],
        ),
        ("/v1/programmes".to_owned(), [200, 200, 200, 200, 200]),
        (
            format!("/v1/programmes/{}", fund.programme),
            [200, 200, 200, 200, 200],
        ),
        (
            "/v1/contribution-batches".to_owned(),
            [200, 200, 403, 200, 200],
        ),
        (
            format!("/v1/contribution-batches/{batch_id}"),
            [200, 404, 403, 200, 200],
        ),
    ];
    for (path, expected) in &reads {
        for ((role, role_token), status) in roles.iter().zip(expected) {
            let (actual, response) = server.get(path, role_token).await;
            assert_eq!(actual, *status, "{role} GET {path}: {response}");
        }
    }
    // A contributor lists only its own batches; admin and auditor see all.
    let (_, own) = server.get("/v1/contribution-batches", &owner).await;
    assert!(
        own["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["contributor_id"] == fund.union.as_str())
    );
    let (_, theirs) = server.get("/v1/contribution-batches", &other).await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["contributor_id"] == other_union.as_str())
    );
    let (_, all) = server.get("/v1/contribution-batches", &auditor).await;
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        own["items"].as_array().unwrap().len() + theirs["items"].as_array().unwrap().len()
    );
    // Reversal is the admin's.
    for (role, role_token) in &roles[..4] {
        let (status, _) = server
            .post(
                &format!("/v1/contribution-batches/{batch_id}/reversal"),
                role_token,
                "rev",
                &json!({"reason": "x"}),
            )
            .await;
        assert_eq!(status, 403, "{role}");
    }
    let (status, _) = server
        .post(
            &format!("/v1/contribution-batches/{batch_id}/reversal"),
            &admin,
            "rev",
            &json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(status, 201);
    // Claims bound to the registry: a role its organisation's kind may not hold is refused
    // (403), and an organisation that is not registered is not authenticated at all (401),
    // on reads and writes alike, whatever the token's signature.
    let unknown = "00000000-0000-0000-0000-00000000abcd";
    let misfits = [
        (
            "admin of a contributor",
            token(&fund.union, Role::Admin),
            403,
        ),
        ("admin of a beneficiary", token(&mutual, Role::Admin), 403),
        ("admin of an auditor", token(&auditor_org, Role::Admin), 403),
        (
            "auditor of a contributor",
            token(&fund.union, Role::Auditor),
            403,
        ),
        (
            "auditor of a beneficiary",
            token(&mutual, Role::Auditor),
            403,
        ),
        (
            "contributor of a beneficiary",
            token(&mutual, Role::Contributor),
            403,
        ),
        (
            "contributor of the network",
            token(NETWORK_ID, Role::Contributor),
            403,
        ),
        (
            "beneficiary of a contributor",
            token(&fund.union, Role::Beneficiary),
            403,
        ),
        (
            "beneficiary of the network",
            token(NETWORK_ID, Role::Beneficiary),
            403,
        ),
        ("admin of no organisation", token(unknown, Role::Admin), 401),
        (
            "auditor of no organisation",
            token(unknown, Role::Auditor),
            401,
        ),
    ];
    for (index, (misfit, misfit_token, expected)) in misfits.iter().enumerate() {
        let (status, problem) = server.get("/v1/organisations", misfit_token).await;
        assert_eq!(status, *expected, "{misfit} GET: {problem}");
        assert_eq!(
            problem["code"],
            if *expected == 401 {
                "unauthorized"
            } else {
                "forbidden"
            }
        );
        let (status, problem) = server
            .post(
                "/v1/organisations",
                misfit_token,
                &format!("misfit-{index}"),
                &organisation(&format!("misfit-{index}")),
            )
            .await;
        assert_eq!(status, *expected, "{misfit} POST: {problem}");
    }
    // The network's own auditor reads everything, like a registered auditor.
    let (status, _) = server
        .get(
            "/v1/contribution-batches",
            &token(NETWORK_ID, Role::Auditor),
        )
        .await;
    assert_eq!(status, 200);
    // The journal records who acted: the pledge's actor is the contributor's token, its user's
    // email, or its key's prefix.
    let actor = match kind {
        Credential::ApiKey => "slk_",
        Credential::Minted | Credential::Session => "contributor",
    };
    assert!(batch["submitted_by"].as_str().unwrap().starts_with(actor));
}

async fn replays_return_the_first_response_and_conflicts_are_refused(server: TestServer) {
    // Proves the same key and body return the original status and body with nothing written, and
    // the same key with another body (valid or not) is a 409.
    let fund = fund(&server).await;
    let body = batch_body(&fund.programme, "2026-11", 100);
    let first = server
        .post("/v1/contribution-batches", &fund.union_token, "same", &body)
        .await;
    let again = server
        .post("/v1/contribution-batches", &fund.union_token, "same", &body)
        .await;
    assert_eq!(first.0, 201);
    assert_eq!(first, again);
    let (status, problem) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "same",
            &batch_body(&fund.programme, "2026-11", 101),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "idempotency_conflict");
    // A used key wins over the body's own problems: still the conflict, not a 422.
    let (status, problem) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "same",
            &json!({"programme_id": "nope", "period": "2026-11", "lines": []}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(problem["code"], "idempotency_conflict");
    // A replay answers with the first response even though the period now holds a batch.
    assert_eq!(
        server
            .post("/v1/contribution-batches", &fund.union_token, "same", &body)
            .await,
        first
    );
    let (_, list) = server.get("/v1/contribution-batches", &fund.admin).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(pool(&server, &fund).await.1, "150.00");
}

async fn concurrent_duplicates_have_one_effect(server: TestServer) {
    // Proves simultaneous submissions with one key create one batch, and all get the same answer.
    let fund = fund(&server).await;
    let body = batch_body(&fund.programme, "2026-11", 7);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = server.client.clone();
        let url = server.url("/v1/contribution-batches");
        let token = fund.union_token.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", "burst")
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
    assert!(
        answers.iter().all(|answer| answer == &answers[0]),
        "{answers:?}"
    );
    assert_eq!(answers[0].0, 201);
    let (_, list) = server.get("/v1/contribution-batches", &fund.admin).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn receipts_accumulate_and_overpayments_become_donations(server: TestServer) {
    // Proves partial receipts move the status, a receipt above what is due is refused unless marked
    // as an overpayment, and the excess then enters the pool as a donation.
    let fund = fund(&server).await;
    let (_, batch) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "b",
            &batch_body(&fund.programme, "2026-11", 950),
        )
        .await;
    let receipts = format!(
        "/v1/contribution-batches/{}/receipts",
        batch["id"].as_str().unwrap()
    );
    let batch_path = format!("/v1/contribution-batches/{}", batch["id"].as_str().unwrap());
    let receipt = |amount: &str, overpayment: bool| json!({"amount": amount, "value_date": "2026-11-20", "bank_reference": "BANK-1", "overpayment": overpayment});
    let (status, _) = server
        .post(&receipts, &fund.admin, "r1", &receipt("400.00", false))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        server.get(&batch_path, &fund.admin).await.1["status"],
        "partially_received"
    );
    let (status, problem) = server
        .post(&receipts, &fund.admin, "r2", &receipt("700.00", false))
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["field"], "amount");
    assert!(problem["detail"].as_str().unwrap().contains("600.00"));
    let (status, problem) = server
        .post(
            &receipts,
            &fund.admin,
            "r3",
            &json!({"amount": 600, "value_date": "20-11-2026", "bank_reference": ""}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);
    let (status, overpaid) = server
        .post(&receipts, &fund.admin, "r4", &receipt("700.00", true))
        .await;
    assert_eq!(status, 201);
    assert_eq!(overpaid["applied"]["amount"], "600.00");
    assert_eq!(overpaid["overpayment"]["amount"], "100.00");
    let (_, read) = server.get(&batch_path, &fund.admin).await;
    assert_eq!(read["status"], "received");
    assert_eq!(read["received"]["amount"], "1100.00");
    assert_eq!(
        pool(&server, &fund).await,
        ("1100.00".into(), "0.00".into())
    );
}

async fn reversals_cancel_and_refund_without_deleting(server: TestServer) {
    // Proves a reversal cancels what is due and refunds what was received from the pool, leaves
    // the batch readable as reversed, and cannot be repeated or followed by a receipt.
    let fund = fund(&server).await;
    let (_, batch) = server
        .post(
            "/v1/contribution-batches",
            &fund.union_token,
            "b",
            &batch_body(&fund.programme, "2026-11", 200),
        )
        .await;
    let id = batch["id"].as_str().unwrap();
    server
        .post(
            &format!("/v1/contribution-batches/{id}/receipts"),
            &fund.admin,
            "r",
            &json!({"amount": "100.00", "value_date": "2026-11-20", "bank_reference": "B"}),
        )
        .await;
    let (status, problem) = server
        .post(
            &format!("/v1/contribution-batches/{id}/reversal"),
            &fund.admin,
            "v0",
            &json!({"reason": " "}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, reversal) = server
        .post(
            &format!("/v1/contribution-batches/{id}/reversal"),
            &fund.admin,
            "v1",
            &json!({"reason": "submitted twice"}),
        )
        .await;
    assert_eq!(status, 201, "{reversal}");
    assert_eq!(reversal["cancelled"]["amount"], "150.00");
    assert_eq!(reversal["refunded"]["amount"], "100.00");
    assert_eq!(pool(&server, &fund).await, ("0.00".into(), "0.00".into()));
    let (_, read) = server
        .get(&format!("/v1/contribution-batches/{id}"), &fund.union_token)
        .await;
    assert_eq!(read["status"], "reversed");
    assert_eq!(read["reversal_reason"], "submitted twice");
    let (status, problem) = server
        .post(
            &format!("/v1/contribution-batches/{id}/reversal"),
            &fund.admin,
            "v2",
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("already_reversed"))
    );
    let (status, problem) = server
        .post(
            &format!("/v1/contribution-batches/{id}/receipts"),
            &fund.admin,
            "r2",
            &json!({"amount": "1.00", "value_date": "2026-11-20", "bank_reference": "B"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("batch_reversed"))
    );
}

async fn lists_run_oldest_or_newest_first(server: TestServer) {
    // Proves a list kept in recording order runs oldest first by default and newest first on
    // `order=newest_first`, its cursor going on the same way; an unknown order is a 4xx problem
    // naming `order`.
    let fund = fund(&server).await;
    let mut ids = Vec::new();
    for period in ["2026-09", "2026-10", "2026-11"] {
        let (status, batch) = server
            .post(
                "/v1/contribution-batches",
                &fund.union_token,
                &format!("order-{period}"),
                &batch_body(&fund.programme, period, 10),
            )
            .await;
        assert_eq!(status, 201, "{batch}");
        ids.push(batch["id"].as_str().unwrap().to_owned());
    }
    let listed = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, oldest) = server
        .get("/v1/contribution-batches", &fund.union_token)
        .await;
    assert_eq!(status, 200, "{oldest}");
    assert_eq!(listed(&oldest), ids);
    let (status, newest) = server
        .get(
            "/v1/contribution-batches?order=newest_first&limit=2",
            &fund.union_token,
        )
        .await;
    assert_eq!(status, 200, "{newest}");
    assert_eq!(listed(&newest), [ids[2].clone(), ids[1].clone()]);
    let cursor = newest["next_cursor"].as_str().unwrap();
    let (status, older) = server
        .get(
            &format!("/v1/contribution-batches?order=newest_first&limit=2&cursor={cursor}"),
            &fund.union_token,
        )
        .await;
    assert_eq!(status, 200, "{older}");
    assert_eq!(listed(&older), [ids[0].clone()]);
    assert_eq!(older["next_cursor"], Value::Null);
    let (status, sideways) = server
        .get("/v1/contribution-batches?order=sideways", &fund.union_token)
        .await;
    assert!((400..500).contains(&status), "{status}: {sideways}");
    assert!(sideways.to_string().contains("order"), "{sideways}");
}
