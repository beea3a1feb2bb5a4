//! End-to-end: the real server on a random port, on SQLite and PostgreSQL, answers its service
//! endpoints and speaks problem+json for every error.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

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
    let document: Value = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(document["paths"]["/healthz"]["get"].is_object());
    assert!(document["components"]["schemas"]["Problem"].is_object());
}

async fn errors_are_problem_json(server: TestServer) {
    // Proves unknown routes and wrong methods are problem+json with stable codes.
    let missing = server
        .client
        .get(server.url("/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "not_found");
    let wrong_method = server
        .client
        .delete(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
}
