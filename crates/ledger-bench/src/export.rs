//! `ledger-bench export`: auditors' exports of a large journal. Fills a journal through the store's
//! writer (large write requests, so groups are large), then, for each format: the export streamed
//! by the real service over HTTP (a `serve` child process, its peak RSS sampled), the same export
//! written by the `export` command (a child, peak RSS sampled), `verify --file` on the file, and
//! `sha256sum` of the same file as the machine's baseline, all in the same run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use ledger_core::{
    Account, AccountCode, AccountId, AccountKind, Actor, Amount, Currency, Posting, Timestamp,
    TransactionDraft, TransactionId, TransactionKind,
};
use ledger_store::{Store, StoreOptions, WriteRequest};
use uuid::Uuid;

use crate::{Backend, postgres_database};

/// Transactions per write request while filling: the writer commits each request whole, so the
/// fill runs in large groups (a documented bench-only choice; the API writes one per request).
const FILL_REQUEST_TRANSACTIONS: usize = 2_000;
/// Write requests in flight while filling.
const FILL_CONCURRENT_REQUESTS: usize = 4;
/// How often a child's peak RSS is sampled.
const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);
/// The HS256 secret of the benchmark's server.
const BENCH_SECRET: &str = "benchmark-secret-of-at-least-thirty-two-bytes";

pub(crate) async fn run(
    transactions: u64,
    backends: &[Backend],
    postgres_url: Option<String>,
    work_dir: Option<&Path>,
) -> Result<()> {
    let ledger = ledger_binary()?;
    let scratch = tempfile::tempdir()?;
    let kept = work_dir;
    let work_dir = match work_dir {
        Some(directory) => {
            std::fs::create_dir_all(directory)?;
            directory.to_path_buf()
        }
        None => scratch.path().to_path_buf(),
    };
    let mut cluster = None;
    println!(
        "| engine | format | what | seconds | MB | MB/s | transactions/s | peak RSS MB |\n|---|---|---|---:|---:|---:|---:|---:|"
    );
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => format!("sqlite:{}", work_dir.join("export.db").display()),
            Backend::Postgres => postgres_database(&postgres_url, &mut cluster).await?,
        };
        match fill(&url, transactions).await? {
            Some(filled) => eprintln!(
                "{backend:?}: filled {transactions} transactions in {:.1} s ({:.0}/s)",
                filled.as_secs_f64(),
                transactions as f64 / filled.as_secs_f64()
            ),
            None => eprintln!("{backend:?}: reusing a journal of {transactions} transactions"),
        }
        for format in ["jsonl", "csv"] {
            let streamed = work_dir.join(format!("streamed-{backend:?}.{format}"));
            let (seconds, rss) = export_over_http(&ledger, &url, format, &streamed).await?;
            let bytes = std::fs::metadata(&streamed)?.len();
            row(
                *backend,
                format,
                "export streamed by the API (server RSS)",
                seconds,
                bytes,
                transactions,
                rss,
            );

            let written = work_dir.join(format!("written-{backend:?}.{format}"));
            let (seconds, rss) = timed_child(
                Command::new(&ledger)
                    .args(["export", "--format", format, "--output"])
                    .arg(&written)
                    .env("DATABASE_URL", &url),
            )?;
            row(
                *backend,
                format,
                "`export` command to a file",
                seconds,
                std::fs::metadata(&written)?.len(),
                transactions,
                rss,
            );
            if std::fs::read(&written)? != std::fs::read(&streamed)? {
                bail!("the command's file differs from the API's stream");
            }

            let (seconds, rss) = timed_child(
                Command::new(&ledger)
                    .args(["verify", "--file"])
                    .arg(&written),
            )?;
            row(
                *backend,
                format,
                "`verify --file`",
                seconds,
                bytes,
                transactions,
                rss,
            );

            let (seconds, rss) = timed_child(Command::new("sha256sum").arg(&written))?;
            row(
                *backend,
                format,
                "baseline: `sha256sum` of the file",
                seconds,
                bytes,
                transactions,
                rss,
            );
            std::fs::remove_file(&streamed)?;
            if kept.is_none() {
                std::fs::remove_file(&written)?;
            }
        }
    }
    Ok(())
}

fn row(
    backend: Backend,
    format: &str,
    what: &str,
    seconds: f64,
    bytes: u64,
    transactions: u64,
    rss_bytes: u64,
) {
    let megabytes = bytes as f64 / 1e6;
    println!(
        "| {backend:?} | {format} | {what} | {seconds:.2} | {megabytes:.0} | {:.0} | {:.0} | {:.1} |",
        megabytes / seconds,
        transactions as f64 / seconds,
        rss_bytes as f64 / 1e6
    );
}

/// `solidarity-ledger`, built beside this benchmark (`cargo build --release` first).
fn ledger_binary() -> Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("solidarity-ledger");
    if !path.exists() {
        bail!(
            "{} is missing: run `cargo build --release` before this benchmark",
            path.display()
        );
    }
    Ok(path)
}

/// Fills a migrated journal with `transactions` two-posting transactions shaped like pledges;
/// `None` when the journal already holds exactly that many (a kept `--work-dir`).
async fn fill(url: &str, transactions: u64) -> Result<Option<Duration>> {
    let store = Store::connect(url, StoreOptions::default()).await?;
    store.migrate().await?;
    match store.chain_head().await?.0 {
        0 => {}
        head if head == transactions => return Ok(None),
        head => bail!(
            "the journal holds {head} transactions, not {transactions}: use an empty --work-dir"
        ),
    }
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let mut chart = std::collections::HashMap::new();
    for index in 0..16 {
        let account = Account {
            id: AccountId::from_uuid(Uuid::new_v4()),
            code: AccountCode::parse(&format!("bench:{index}")).map_err(anyhow::Error::msg)?,
            name: format!("bench account {index}"),
            kind: AccountKind::Asset,
            currency: Currency::eur(),
            owner_organisation: None,
        };
        store.open_account(&account, now).await?;
        chart.insert(account.id, account);
    }
    let ids: Vec<AccountId> = chart.keys().copied().collect();
    // The network, seeded by the migrations: actors' organisations must exist.
    let organisation = ledger_core::OrganisationId::from_uuid(Uuid::from_u128(1));
    let started = Instant::now();
    let mut next = 0_u64;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    use futures::StreamExt;
    while next < transactions || !in_flight.is_empty() {
        while next < transactions && in_flight.len() < FILL_CONCURRENT_REQUESTS {
            let count = (transactions - next).min(FILL_REQUEST_TRANSACTIONS as u64);
            let mut request = WriteRequest::default();
            for step in next..next + count {
                let index = usize::try_from(step).unwrap_or(0);
                let amount = Amount::from_minor(100 + (step % 5000) as i64, Currency::eur())
                    .map_err(|error| anyhow::anyhow!(error))?;
                let transaction = TransactionDraft {
                    id: TransactionId::from_uuid(Uuid::new_v4()),
                    kind: TransactionKind::Pledge,
                    effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
                    recorded_at: Timestamp::from_datetime(chrono::Utc::now()),
                    actor: Actor {
                        subject: "treasurer@csq".into(),
                        organisation: Some(organisation),
                    },
                    memo: format!("pledge 2026-11, section {}", step % 977),
                    metadata: serde_json::Map::from_iter([
                        (
                            "batch_id".to_owned(),
                            serde_json::json!(Uuid::new_v4().to_string()),
                        ),
                        ("period".to_owned(), serde_json::json!("2026-11")),
                    ]),
                    postings: vec![
                        Posting {
                            account_id: ids[index % ids.len()],
                            amount,
                        },
                        Posting {
                            account_id: ids[(index + 1) % ids.len()],
                            amount: amount.negated(),
                        },
                    ],
                }
                .validate(&chart)
                .map_err(|violations| anyhow::anyhow!("{violations:?}"))?;
                request.transactions.push(transaction);
            }
            next += count;
            let store = store.clone();
            in_flight.push(tokio::spawn(async move { store.write(request).await }));
        }
        if let Some(outcome) = in_flight.next().await {
            outcome??;
        }
    }
    let elapsed = started.elapsed();
    store.close().await;
    Ok(Some(elapsed))
}

/// The peak resident set (VmHWM) of a running process, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

/// Runs a child to completion, sampling its peak RSS; returns seconds and the peak.
fn timed_child(command: &mut Command) -> Result<(f64, u64)> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a child process")?;
    let mut peak = 0;
    let status = loop {
        if let Some(rss) = peak_rss(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(RSS_SAMPLE_INTERVAL);
    };
    let seconds = started.elapsed().as_secs_f64();
    let output = child.wait_with_output()?;
    if !status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok((seconds, peak))
}

/// CPU time a process has used so far, in clock ticks (`utime + stime` of `/proc/PID/stat`).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Waits until a process has used no CPU for half a second (at most a minute).
fn wait_until_idle(pid: u32) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = cpu_ticks(pid).context("reading the server's CPU time")?;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        let now = cpu_ticks(pid).context("reading the server's CPU time")?;
        if now == last {
            return Ok(());
        }
        last = now;
    }
    bail!("the server stayed busy for a minute after starting")
}

/// Starts `serve` on a random port, downloads the export to `file`, and returns the seconds from
/// request to last byte and the server's peak RSS.
async fn export_over_http(
    ledger: &Path,
    url: &str,
    format: &str,
    file: &Path,
) -> Result<(f64, u64)> {
    use std::io::BufRead;
    let mut server = Command::new(ledger)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--jwt-secret",
            BENCH_SECRET,
        ])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let stderr = server.stderr.take().context("no stderr")?;
    let mut lines = std::io::BufReader::new(stderr).lines();
    let address = loop {
        let line = lines.next().context("serve exited before listening")??;
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let pid = server.id();
    // A service that just started catches its lot book up with the whole journal in the
    // background; the export is measured once that is done, as an auditor would meet it.
    wait_until_idle(pid)?;
    let token = ledger_api::auth::mint_hs256(
        BENCH_SECRET.as_bytes(),
        &ledger_api::auth::Claims {
            sub: "bench".into(),
            org: "00000000-0000-0000-0000-000000000001".into(),
            role: ledger_api::auth::Role::Auditor,
            exp: u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0) + 3600,
            iat: u64::try_from(chrono::Utc::now().timestamp()).ok(),
            iss: None,
            aud: None,
        },
    )?;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut response = client
        .get(format!("http://{address}/v1/audit/export?format={format}"))
        .bearer_auth(token)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("export answered {}", response.status());
    }
    let mut output = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(file)?);
    let mut peak = 0;
    let mut sampled = Instant::now();
    while let Some(chunk) = response.chunk().await? {
        output.write_all(&chunk)?;
        if sampled.elapsed() >= RSS_SAMPLE_INTERVAL {
            peak = peak.max(peak_rss(pid).unwrap_or(0));
            sampled = Instant::now();
        }
    }
    output.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    // On disk before the next measurement, so its write-back does not run beside it.
    output.get_ref().sync_all()?;
    peak = peak.max(peak_rss(pid).unwrap_or(0));
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = server.wait();
    Ok((seconds, peak))
}
