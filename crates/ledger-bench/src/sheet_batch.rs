//! The spreadsheet batch benchmark: one batch of N lines sent as a French Excel CSV (`;`, decimal
//! comma, Windows-1252) and the same lines sent as JSON, alternately, on the same server and
//! database, in lines per second; and the reading of the sheet alone (CSV to the JSON batch, in
//! process), to show what the door adds to the command.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Result, bail};
use ledger_api::auth::Role;

use crate::Backend;
use crate::http::{register_union_and_programme, serve, token};

const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";

/// Rounds of each measurement; the median is reported.
const ROUNDS: usize = 3;

/// Members of line `index` (as the HTTP bench's batches: 10 to 99).
fn members(index: usize) -> usize {
    10 + index % 90
}

/// The JSON batch of `lines` lines.
fn json_batch(programme: &str, period: &str, lines: usize, prefix: &str) -> Vec<u8> {
    let mut text = String::with_capacity(lines * 80);
    let _ = write!(
        text,
        r#"{{"programme_id":"{programme}","period":"{period}","lines":["#
    );
    for index in 0..lines {
        let members = members(index);
        let separator = if index == 0 { "" } else { "," };
        let _ = write!(
            text,
            r#"{separator}{{"reference":"{prefix}-{index}","members":{members},"amount":"{members}.00","kind":"solidarity"}}"#
        );
    }
    text.push_str("]}");
    text.into_bytes()
}

/// The same lines as French Excel writes them: `;`, decimal comma, Windows-1252 (`é` is 0xE9).
fn french_csv(lines: usize, prefix: &str) -> Vec<u8> {
    let mut bytes = b"R\xe9f\xe9rence;Membres;Montant;Type\r\n".to_vec();
    for index in 0..lines {
        let members = members(index);
        let _ = write!(
            FmtBytes(&mut bytes),
            "{prefix}-{index};{members};{members},00;"
        );
        bytes.extend_from_slice(b"solidarit\xe9\r\n");
    }
    bytes
}

/// `write!` into a byte vector.
struct FmtBytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for FmtBytes<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    media_type: &str,
    body: Vec<u8>,
) -> Result<()> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", media_type)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    if status.as_u16() != 201 {
        bail!("POST {url} answered {status}: {}", response.text().await?);
    }
    Ok(())
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

pub(crate) async fn run(
    backends: &[Backend],
    lines: usize,
    postgres_url: Option<String>,
) -> Result<()> {
    println!("| engine | what | lines/s (median of {ROUNDS}) |\n|---|---|---:|");
    // Reading alone: the sheet to its JSON batch, as the door does before the command.
    let sheet = french_csv(lines, "read");
    let query = ledger_app::spreadsheets::SheetBatchQuery {
        programme_id: "00000000-0000-0000-0000-000000000000".into(),
        period: "2026-11".into(),
        earmark_beneficiary_id: None,
    };
    let mut reading = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let read = ledger_app::spreadsheets::read_sheet(
            ledger_app::spreadsheets::SheetFormat::Csv,
            &sheet,
        )
        .map_err(|error| anyhow::anyhow!("the sheet does not read: {error}"))?;
        let json = read
            .json_batch(&query)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        std::hint::black_box(json);
        reading.push(lines as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "| (none) | reading the {} KiB CSV into the JSON batch, in process | {:.0} |",
        sheet.len() / 1024,
        median(reading)
    );

    let scratch = tempfile::tempdir()?;
    let mut cluster = None;
    let secret: Vec<u8> = (0..48).map(|_| b'k').collect();
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => format!(
                "sqlite:{}",
                scratch
                    .path()
                    .join(format!("sheet-{backend:?}.db"))
                    .display()
            ),
            Backend::Postgres => crate::postgres_database(&postgres_url, &mut cluster).await?,
        };
        let (address, stop, server) = serve(&url, &secret).await?;
        let base = format!("http://{address}");
        let client = reqwest::Client::new();
        let admin = token(&secret, NETWORK_ID, Role::Admin)?;
        let (union_id, programme_id) = register_union_and_programme(&client, &base, &admin).await?;
        let union_token = token(&secret, &union_id, Role::Contributor)?;
        let batches = format!("{base}/v1/contribution-batches");
        let sheets = format!("{batches}?programme_id={programme_id}&period=2026-11");
        // Alternately, so both meet the same database as it grows; bodies built before the clock.
        let (mut as_json, mut as_csv) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let body = json_batch(&programme_id, "2026-11", lines, &format!("json{round}"));
            let started = Instant::now();
            send(
                &client,
                &batches,
                &union_token,
                &format!("json-{round}"),
                "application/json",
                body,
            )
            .await?;
            as_json.push(lines as f64 / started.elapsed().as_secs_f64());
            let body = french_csv(lines, &format!("csv{round}"));
            let started = Instant::now();
            send(
                &client,
                &sheets,
                &union_token,
                &format!("csv-{round}"),
                "text/csv",
                body,
            )
            .await?;
            as_csv.push(lines as f64 / started.elapsed().as_secs_f64());
        }
        println!(
            "| {backend:?} | one batch of {lines} lines as JSON (baseline) | {:.0} |",
            median(as_json)
        );
        println!(
            "| {backend:?} | the same lines as a French Excel CSV (`;`, decimal comma, Windows-1252) | {:.0} |",
            median(as_csv)
        );
        // Idle keep-alive connections can hold a graceful shutdown open (as in the HTTP bench).
        drop(client);
        let _ = stop.send(());
        if let Ok(served) = tokio::time::timeout(std::time::Duration::from_secs(5), server).await {
            served??;
        }
    }
    Ok(())
}
