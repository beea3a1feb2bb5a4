//! The HTTP benchmark of contribution batches: the real application on a random port, tokens and
//! idempotency keys as a client sends them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use ledger_api::auth::{Claims, Role, TokenVerifier, mint_hs256};
use ledger_api::{ApiConfig, Application, ServeConfig};
use serde_json::{Value, json};

use crate::{
    Backend, Measurement, PLAIN_LEDGER_ACCOUNTS, baseline_inserts, plain_plpgsql_ledger,
    postgres_database,
};

const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";
const CLIENTS: usize = 8;

/// A bench token, valid for two hours (the transfer-run bench's fill takes minutes).
pub(crate) fn token(secret: &[u8], organisation: &str, role: Role) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    Ok(mint_hs256(
        secret,
        &Claims {
            sub: "bench".into(),
            org: organisation.into(),
            role,
            exp: now + 7200,
            iat: Some(now),
            iss: None,
            aud: None,
        },
    )?)
}

/// The service on `url`, as every bench runs it, signing tokens with `secret`: its address, the
/// sender that stops it, and its task. A one-person setup: one admin executes what it plans (the
/// benches measure the work, not the approval).
pub(crate) async fn serve(
    url: &str,
    secret: &[u8],
) -> Result<(
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let application = Application::build(ServeConfig {
        bind: "127.0.0.1:0".parse()?,
        database_url: url.to_owned(),
        database_connect_timeout: ledger_store::DEFAULT_CONNECT_TIMEOUT,
        api: ApiConfig {
            approvals_required: 1,
            ..ApiConfig::default()
        },
        tokens: TokenVerifier::hs256(secret, None, None)?,
    })
    .await?;
    let address = application.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    Ok((address, stop, server))
}

/// POSTs with a token and an idempotency key; any 2xx answer is parsed and returned.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> Result<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("POST {url} answered {status}: {body}");
    }
    Ok(body)
}

/// One client's keep-alive HTTP/1.1 connection, spoken by hyper's client directly: no pool,
/// redirect policy or URL parsing per request, so the eight clients take about as little of the
/// two cores as a separate load generator (`wrk`, `oha`) would, and the server gets the rest.
struct Connection {
    sender: tokio::sync::Mutex<SendRequest<Full<Bytes>>>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Connection> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // Drives the socket; it ends when the sender is dropped.
        tokio::spawn(connection);
        Ok(Connection {
            sender: tokio::sync::Mutex::new(sender),
        })
    }

    /// Sends `request` and reads the answer to its end (so the connection can carry the next).
    async fn exchange(&self, request: hyper::Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
        let mut sender = self.sender.lock().await;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// One connection per client, to the server at `address`.
async fn connections(address: SocketAddr) -> Result<Arc<Vec<Connection>>> {
    let mut opened = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        opened.push(Connection::open(address).await?);
    }
    Ok(Arc::new(opened))
}

/// Checks that an answer has the status a load step expects.
fn expect_status(
    what: &str,
    expected: StatusCode,
    (status, body): (StatusCode, Bytes),
) -> Result<()> {
    if status != expected {
        bail!(
            "{what} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// The JSON text of a batch of `lines` solidarity lines (the same content as [`batch`]), written
/// directly: every value is ASCII without characters JSON escapes.
fn batch_bytes(programme: &str, period: &str, lines: usize, prefix: &str) -> Bytes {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(128 + lines * 80);
    // Writing into a String cannot fail.
    let _ = write!(
        text,
        r#"{{"programme_id":"{programme}","period":"{period}","lines":["#
    );
    for index in 0..lines {
        let members = 10 + index % 90;
        let separator = if index == 0 { "" } else { "," };
        let _ = write!(
            text,
            r#"{separator}{{"reference":"{prefix}-{index}","members":{members},"amount":"{members}.00","kind":"solidarity"}}"#
        );
    }
    text.push_str("]}");
    Bytes::from(text)
}

fn batch(programme: &str, period: &str, lines: usize, prefix: &str) -> Value {
    let lines: Vec<Value> = (0..lines)
        .map(|index| {
            let members = 10 + index % 90;
            json!({"reference": format!("{prefix}-{index}"), "members": members, "amount": format!("{members}.00"), "kind": "solidarity"})
        })
        .collect();
    json!({"programme_id": programme, "period": period, "lines": lines})
}

pub(crate) async fn run(
    duration: Duration,
    backends: &[Backend],
    large_lines: usize,
    postgres_url: Option<String>,
) -> Result<()> {
    println!("| engine | what | clients | rate | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|");
    let scratch = tempfile::tempdir()?;
    let mut cluster = None;
    let secret: Vec<u8> = (0..48).map(|_| b'k').collect();
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => format!(
                "sqlite:{}",
                scratch
                    .path()
                    .join(format!("http-{backend:?}.db"))
                    .display()
            ),
            Backend::Postgres => postgres_database(&postgres_url, &mut cluster).await?,
        };
        let (address, stop, server) = serve(&url, &secret).await?;
        let base = format!("http://{address}");
        let client = reqwest::Client::new();
        let admin = token(&secret, NETWORK_ID, Role::Admin)?;
        let (union_id, programme_id) = register_union_and_programme(&client, &base, &admin).await?;
        let union_token = token(&secret, &union_id, Role::Contributor)?;
        let batches_url = format!("{base}/v1/contribution-batches");

        // (a) One large batch, three times; the body is built before the clock starts.
        let mut rates = Vec::new();
        for attempt in 0..3 {
            let body = batch(
                &programme_id,
                "2026-11",
                large_lines,
                &format!("large{attempt}"),
            );
            let started = Instant::now();
            post(
                &client,
                &batches_url,
                &union_token,
                &format!("large-{attempt}"),
                &body,
            )
            .await?;
            rates.push(large_lines as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "| {backend:?} | one batch of {large_lines} lines (median of 3), lines/s | 1 | {:.0} | | |",
            rates[1]
        );

        // (b) 8 clients posting 10-line batches.
        let lanes = connections(address).await?;
        let host = HeaderValue::from_str(&address.to_string())?;
        let health = load(duration, {
            let lanes = lanes.clone();
            let host = host.clone();
            move |client_index, _step| {
                let lanes = lanes.clone();
                let request = hyper::Request::get("/healthz")
                    .header(HOST, host.clone())
                    .body(Full::new(Bytes::new()));
                async move {
                    let answer = lanes[client_index].exchange(request?).await?;
                    expect_status("GET /healthz", StatusCode::OK, answer)
                }
            }
        })
        .await?;
        report(*backend, "baseline: GET /healthz, requests/s", &health);
        let small = small_batches(
            duration,
            &lanes,
            &host,
            &union_token,
            &programme_id,
            "2026-12",
            "small",
        )
        .await?;
        report(
            *backend,
            "10-line batches, batches/s (signed token)",
            &small,
        );
        // The same load with a partner's API key: read once, then kept in memory and checked
        // inside each write's own transaction.
        let api_key = union_api_key(&client, &base, &admin).await?;
        let with_key = small_batches(
            duration,
            &lanes,
            &host,
            &api_key,
            &programme_id,
            "2027-01",
            "keyed",
        )
        .await?;
        report(*backend, "10-line batches, batches/s (API key)", &with_key);
        // Idle keep-alive connections can hold a graceful shutdown open; the bench does not need
        // to wait for it, only for the server to stop taking requests.
        drop(client);
        drop(lanes);
        let _ = stop.send(());
        if let Ok(served) = tokio::time::timeout(Duration::from_secs(5), server).await {
            served??;
        }
        let baseline = baseline_inserts(&url, CLIENTS, duration).await?;
        report(*backend, "baseline: single-row INSERT commits/s", &baseline);
        if *backend == Backend::Postgres {
            let pool = plain_plpgsql_ledger(&url, CLIENTS).await?;
            let transfers = load(duration, move |client_index, step| {
                let pool = pool.clone();
                // Spread over the accounts so clients seldom wait on each other's row locks.
                let spread = (client_index * 7_919 + step * 104_729)
                    % usize::try_from(PLAIN_LEDGER_ACCOUNTS).unwrap_or(1);
                let debit = i32::try_from(spread).unwrap_or(0) + 1;
                let credit = debit % PLAIN_LEDGER_ACCOUNTS + 1;
                async move {
                    sqlx::query("SELECT bench_plain_transfer($1, $2, $3)")
                        .bind(debit)
                        .bind(credit)
                        .bind(100_i64)
                        .execute(&pool)
                        .await?;
                    Ok(())
                }
            })
            .await?;
            report(
                *backend,
                "baseline: plain PL/pgSQL ledger, transfers/s",
                &transfers,
            );
        }
    }
    Ok(())
}

/// `CLIENTS` clients posting 10-line batches for `period` with `bearer` for `duration`.
async fn small_batches(
    duration: Duration,
    lanes: &Arc<Vec<Connection>>,
    host: &HeaderValue,
    bearer: &str,
    programme: &str,
    period: &'static str,
    keys: &'static str,
) -> Result<Measurement> {
    let lanes = lanes.clone();
    let host = host.clone();
    let authorization = HeaderValue::from_str(&format!("Bearer {bearer}"))?;
    let programme = programme.to_owned();
    load(duration, move |client_index, step| {
        let lanes = lanes.clone();
        let request = hyper::Request::post("/v1/contribution-batches")
            .header(HOST, host.clone())
            .header(AUTHORIZATION, authorization.clone())
            .header("idempotency-key", format!("{keys}-{client_index}-{step}"))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(batch_bytes(
                &programme,
                period,
                10,
                &format!("{keys}{client_index}s{step}"),
            )));
        async move {
            let answer = lanes[client_index].exchange(request?).await?;
            expect_status("POST /v1/contribution-batches", StatusCode::CREATED, answer)
        }
    })
    .await
}

/// An API key of the bench union, made the real way: its treasurer invited, a password set, a
/// session opened, the key created.
async fn union_api_key(client: &reqwest::Client, base: &str, admin: &str) -> Result<String> {
    const PASSWORD: &str = "the bench treasurer passphrase";
    let invitation = post(
        client,
        &format!("{base}/v1/users"),
        admin,
        "bench-user",
        &json!({"email": "treasurer@bench.example", "organisation": "bench-union", "role": "contributor"}),
    )
    .await?;
    post(
        client,
        &format!("{base}/v1/invitations/acceptance"),
        "",
        "bench-acceptance",
        &json!({"invitation_token": invitation["invitation_token"], "password": PASSWORD}),
    )
    .await?;
    let session = post(
        client,
        &format!("{base}/v1/sessions"),
        "",
        "bench-session",
        &json!({"email": "treasurer@bench.example", "password": PASSWORD}),
    )
    .await?;
    let access = session["access_token"].as_str().context("access token")?;
    let created = post(
        client,
        &format!("{base}/v1/api-keys"),
        access,
        "bench-key",
        &json!({"name": "bench"}),
    )
    .await?;
    Ok(created["key"].as_str().context("API key")?.to_owned())
}

fn report(backend: Backend, what: &str, measurement: &Measurement) {
    println!(
        "| {backend:?} | {what} | {CLIENTS} | {:.0} | {:.2} | {:.2} |",
        measurement.per_second(),
        measurement.percentile_ms(0.50),
        measurement.percentile_ms(0.99)
    );
}

/// Runs `CLIENTS` loops of `request` for `duration`, timing each.
async fn load<F, Fut>(duration: Duration, request: F) -> Result<Measurement>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let request = Arc::new(request);
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client_index in 0..CLIENTS {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut step = 0;
            while Instant::now() < deadline {
                let begun = Instant::now();
                request(client_index, step).await?;
                latencies.push(begun.elapsed());
                step += 1;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(Measurement {
        operations: latencies.len() as u64,
        elapsed: started.elapsed(),
        latencies,
    })
}

/// Registers the benches' union and a monthly programme at 1.00 EUR a member: their ids.
pub(crate) async fn register_union_and_programme(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
) -> anyhow::Result<(String, String)> {
    let union = post(
        client,
        &format!("{base}/v1/organisations"),
        admin,
        "bench-org",
        &json!({"slug": "bench-union", "name": "Bench union", "kind": "contributor", "country": "FR", "currency": "EUR"}),
    )
    .await?;
    let union_id = union["id"].as_str().context("organisation id")?.to_owned();
    let programme = post(
        client,
        &format!("{base}/v1/programmes"),
        admin,
        "bench-programme",
        &json!({"name": "Bench", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                "allocation": {"policy": "pro_rata_covered_members"}, "minimum_transfer": "0", "admin_cost_cap_percent": "10"}),
    )
    .await?;
    let programme_id = programme["id"].as_str().context("programme id")?.to_owned();
    Ok((union_id, programme_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_loops_batch_text_is_the_batch_the_large_measurement_sends() {
        // The 8-client loop writes its bodies by hand for speed; they must stay the same JSON as
        // the batches built with `json!`, or the two measurements would not compare.
        let programme = "0190b3a4-0000-7000-8000-000000000001";
        for lines in [0, 1, 10, 95] {
            let written: Value =
                serde_json::from_slice(&batch_bytes(programme, "2026-12", lines, "c3s7"))
                    .expect("the written batch is JSON");
            assert_eq!(written, batch(programme, "2026-12", lines, "c3s7"));
        }
    }
}
