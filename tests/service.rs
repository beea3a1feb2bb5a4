//! End-to-end: the real server on a random port, on SQLite and PostgreSQL, answers its service
//! endpoints and speaks problem+json for every error.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_testkit::on_both_engines;
use serde_json::Value;
use support::TestServer;

on_both_engines!(health_readiness_and_openapi_answer, errors_are_problem_json);

async fn health_readiness_and_openapi_answer(server: TestServer) {
    // Proves liveness, readiness on a migrated database, and the served OpenAPI document.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
    let openapi = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.status(), 200);
    assert!(openapi.headers().contains_key("x-request-id"));
    let document: Value = openapi.json().await.unwrap();
    assert_eq!(document["info"]["title"], "Solidarity Ledger API");
    assert!(document["paths"]["/readyz"]["get"].is_object());
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(document["paths"]["/healthz"]["get"].is_object());
    assert!(document["components"]["schemas"]["Problem"].is_object());
}

async fn errors_are_problem_json(server: TestServer) {
    // Proves unknown routes and wrong methods (POST and DELETE on /healthz) are problem+json with
    // stable codes, that errors carry a request id too, and that a client's own request id is kept.
    let missing = server
        .client
        .get(server.url("/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    let body = problem(missing, 404, "not_found").await;
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let wrong_method = server
            .client
            .request(method, server.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_method.headers()["allow"], "GET,HEAD");
        problem(wrong_method, 405, "method_not_allowed").await;
    }
    let traced = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "partner-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "partner-trace-42");
}

/// Checks a problem+json answer with its request id, and returns its body.
async fn problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(
        body["type"],
        format!("urn:solidarity-ledger:problem:{code}")
    );
    body
}
