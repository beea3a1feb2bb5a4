//! Every error the HTTP layer produces is problem+json: JSON extractor rejections, body limit,
//! timeout, wrong method, unknown route and a panicking handler. Uses a small router behind the
//! real service layers.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use ledger_api::json::AppJson;
use ledger_api::{ApiConfig, MAX_REQUEST_BODY_BYTES, with_service_layers};
use ledger_testkit::http::HttpClient;
use reqwest::Method;
use serde_json::Value;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Echo {
    name: String,
    count: u32,
}

async fn serve_test_router() -> HttpClient {
    let router = Router::new()
        .route(
            "/echo",
            post(|AppJson(echo): AppJson<Echo>| async move {
                AppJson(serde_json::json!({"name": echo.name, "count": echo.count}))
            }),
        )
        .route(
            "/panic",
            get(|| async {
                let lines: Vec<u32> = Vec::new();
                // An out-of-bounds index: the kind of bug clippy's panic lint cannot see.
                lines[usize::from(lines.is_empty())].to_string()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    let config = ApiConfig {
        request_timeout: Duration::from_millis(200),
        ..ApiConfig::default()
    };
    let app = with_service_layers(router, &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        ledger_api::serve_router(listener, app, &config, std::future::pending()).await
    });
    HttpClient::new(format!("http://{address}"))
}

async fn problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(
        body["type"],
        format!("urn:solidarity-ledger:problem:{code}")
    );
    body
}

#[tokio::test]
async fn json_bodies_are_accepted_and_every_rejection_is_a_problem() {
    // Proves the happy path, then 400 malformed JSON, 415 wrong media type, 422 naming the field,
    // and 413 over the body limit — all problem+json.
    let client = serve_test_router().await;
    let ok = client
        .request(Method::POST, "/echo")
        .json(&serde_json::json!({"name": "csq", "count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let malformed = client
        .request(Method::POST, "/echo")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    problem(malformed, 400, "malformed_json").await;

    let wrong_type = client
        .request(Method::POST, "/echo")
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    problem(wrong_type, 415, "unsupported_media_type").await;

    let wrong_field = client
        .request(Method::POST, "/echo")
        .json(&serde_json::json!({"name": "csq", "count": "three"}))
        .send()
        .await
        .unwrap();
    let body = problem(wrong_field, 422, "validation_failed").await;
    assert_eq!(body["field"], "count");
    assert_eq!(body["errors"][0]["field"], "count");

    let unknown_field = client
        .request(Method::POST, "/echo")
        .json(&serde_json::json!({"name": "csq", "count": 1, "extra": true}))
        .send()
        .await
        .unwrap();
    problem(unknown_field, 422, "validation_failed").await;

    let huge = format!(
        "{{\"name\": \"{}\", \"count\": 1}}",
        "x".repeat(MAX_REQUEST_BODY_BYTES)
    );
    let too_large = client
        .request(Method::POST, "/echo")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(too_large, 413, "payload_too_large").await;
}

#[tokio::test]
async fn timeouts_wrong_methods_and_unknown_routes_are_problems() {
    // Proves errors made outside handlers (timeout, 405, 404) also come as problem+json.
    let client = serve_test_router().await;
    problem(
        client.request(Method::GET, "/slow").send().await.unwrap(),
        408,
        "request_timeout",
    )
    .await;
    let wrong_method = client.request(Method::GET, "/echo").send().await.unwrap();
    assert_eq!(wrong_method.headers()["allow"], "POST");
    problem(wrong_method, 405, "method_not_allowed").await;
    problem(
        client
            .request(Method::GET, "/nowhere")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_panicking_handler_answers_a_generic_internal_problem() {
    // Proves a bug in a handler reaches the client as a 500 problem+json that does not leak the
    // panic message, rather than as a dropped connection.
    let client = serve_test_router().await;
    let body = problem(
        client.request(Method::GET, "/panic").send().await.unwrap(),
        500,
        "internal_error",
    )
    .await;
    assert!(
        !body["detail"]
            .as_str()
            .unwrap()
            .contains("index out of bounds"),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_request_heads_are_a_431_problem() {
    // Proves a request head over the limit (bytes or number of headers) answers 431 in
    // problem+json rather than a bare status, and one within it passes.
    let client = serve_test_router().await;
    let big = "x".repeat(ledger_api::guards::MAX_REQUEST_HEADER_BYTES + 1);
    let response = client
        .request(Method::GET, "/nothing-here")
        .header("x-padding", big)
        .send()
        .await
        .unwrap();
    let body = problem(response, 431, "request_header_too_large").await;
    assert!(body["detail"].as_str().unwrap().contains("headers"));
    let mut many = client.request(Method::GET, "/nothing-here");
    for index in 0..=ledger_api::guards::MAX_REQUEST_HEADERS {
        many = many.header(format!("x-header-{index}"), "1");
    }
    problem(many.send().await.unwrap(), 431, "request_header_too_large").await;
    let fine = client
        .request(Method::GET, "/nothing-here")
        .header("x-padding", "x".repeat(1024))
        .send()
        .await
        .unwrap();
    problem(fine, 404, "not_found").await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    // Proves successes and errors alike carry nosniff, no-store, no-referrer, DENY framing and a
    // restrictive content security policy.
    let client = serve_test_router().await;
    let answers = [
        client
            .request(Method::POST, "/echo")
            .json(&serde_json::json!({"name": "a", "count": 1}))
            .send()
            .await
            .unwrap(),
        client
            .request(Method::GET, "/nothing-here")
            .send()
            .await
            .unwrap(),
        client.request(Method::GET, "/echo").send().await.unwrap(),
    ];
    for answer in answers {
        let headers = answer.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
    }
}
