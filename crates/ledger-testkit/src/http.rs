//! The one HTTP client of the tests: a `reqwest` client bound to a server's base URL, with the
//! ledger's usual requests (a bearer token, an idempotency key, JSON both ways) and raw requests
//! for tests that look at headers or send what a well-behaved client would not.

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

/// A client of one server.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// `http://host:port`, without a trailing slash.
    pub base_url: String,
    /// The underlying client (one connection pool per server).
    pub client: reqwest::Client,
}

impl HttpClient {
    /// A client of the server at `base_url` (`http://host:port`).
    pub fn new(base_url: impl Into<String>) -> HttpClient {
        HttpClient {
            base_url: base_url.into(),
            client: reqwest::Client::new(),
        }
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request to `path`, to finish and send as the test needs.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// POSTs JSON with a bearer token and an idempotency key; returns status and body (`null`
    /// when the body is not JSON).
    ///
    /// # Panics
    /// When the request cannot be sent.
    // A test helper must fail loudly.
    #[allow(clippy::expect_used)]
    pub async fn post(&self, path: &str, token: &str, key: &str, body: &Value) -> (u16, Value) {
        let response = self
            .request(Method::POST, path)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("the request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs with a bearer token; returns status and body (`null` when the body is not JSON).
    ///
    /// # Panics
    /// When the request cannot be sent.
    #[allow(clippy::expect_used)]
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .expect("the request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}
