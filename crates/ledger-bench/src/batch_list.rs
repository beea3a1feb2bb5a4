//! The batch-list benchmark (issue 15): one union's 100,000 batches of one programme and period
//! listed page by page over HTTP on PostgreSQL, in pages per second. Each listed batch says whether
//! it is supplementary, which the list once derived by counting the earlier batches of its period
//! per row (a correlated COUNT: 11–14 s per page of 1,000 at this size); the batch now carries its
//! place in its period (migrations 0008). The same run times that former query on the same data,
//! for one page, as the before figure. The batches are written through the store's writer (the
//! records the API writes), because filling over HTTP is not what is measured.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger_api::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::http::{post, serve, token};
use crate::transfer_run::fill_one_period;
use crate::{Backend, baseline_inserts, postgres_database};

const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";

/// The list query before issue 15, as it stood on `main`: each row counted the earlier batches of
/// its contributor, programme and period.
const FORMER_LIST_QUERY: &str = "SELECT b.id, \
    CAST(COALESCE((SELECT SUM(r.amount_minor) FROM batch_receipts r WHERE r.batch_id = b.id), 0) AS BIGINT) AS received_minor, \
    CAST(COALESCE((SELECT a.balance_minor FROM account_balances a WHERE a.account_id = b.receivable_account_id), 0) AS BIGINT) AS outstanding_minor, \
    (SELECT v.reason FROM batch_reversals v WHERE v.batch_id = b.id) AS reversal_reason, \
    (SELECT COUNT(*) FROM contribution_batches o WHERE o.contributor_id = b.contributor_id \
       AND o.programme_id = b.programme_id AND o.period = b.period AND o.id < b.id) AS earlier_in_period \
    FROM contribution_batches b \
    WHERE b.contributor_id = $1 AND b.programme_id = $2 AND b.period = $3 AND ($4::uuid IS NULL OR b.id > $4) \
    ORDER BY b.id LIMIT $5";

pub(crate) async fn run(
    backends: &[Backend],
    batches: usize,
    page_size: u32,
    postgres_url: Option<String>,
) -> Result<()> {
    println!("| engine | what | figure |\n|---|---|---:|");
    let scratch = tempfile::tempdir()?;
    let mut cluster = None;
    let secret: Vec<u8> = (0..48).map(|_| b'k').collect();
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => format!("sqlite:{}", scratch.path().join("batch-list.db").display()),
            Backend::Postgres => postgres_database(&postgres_url, &mut cluster).await?,
        };
        let (address, stop, server) = serve(&url, &secret).await?;
        let base = format!("http://{address}");
        let client = reqwest::Client::new();
        let admin = token(&secret, NETWORK_ID, Role::Admin)?;
        let union = post(&client, &format!("{base}/v1/organisations"), &admin, "union",
            &json!({"slug": "bench-union", "name": "Bench union", "kind": "contributor", "country": "FR", "currency": "EUR"})).await?;
        let union_id: Uuid = union["id"].as_str().context("union id")?.parse()?;
        let programme = post(&client, &format!("{base}/v1/programmes"), &admin, "programme",
            &json!({"name": "Bench", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                    "allocation": {"policy": "pro_rata_covered_members"}, "conditions": [],
                    "minimum_transfer": "0", "admin_cost_cap_percent": "10"})).await?;
        let programme_id: Uuid = programme["id"].as_str().context("programme id")?.parse()?;

        eprintln!("{backend:?}: writing {batches} batches of one union, programme and period");
        let (store, fill) = fill_one_period(&url, programme_id, union_id, batches).await?;

        eprintln!("{backend:?}: listing them page by page");
        let union_token = token(&secret, &union_id.to_string(), Role::Contributor)?;
        let mut cursor: Option<String> = None;
        let mut pages = Vec::new();
        let mut listed = 0_usize;
        let mut supplementary = 0_usize;
        let list_started = Instant::now();
        loop {
            let mut request = client
                .get(format!("{base}/v1/contribution-batches"))
                .bearer_auth(&union_token)
                .query(&[
                    ("programme_id", programme_id.to_string()),
                    ("period", "2026-09".to_owned()),
                    ("limit", page_size.to_string()),
                ]);
            if let Some(cursor) = &cursor {
                request = request.query(&[("cursor", cursor)]);
            }
            let started = Instant::now();
            let response = request.send().await?;
            if !response.status().is_success() {
                bail!("listing answered {}", response.status());
            }
            let page: Value = response.json().await?;
            pages.push(started.elapsed());
            let items = page["items"].as_array().context("items")?;
            listed += items.len();
            supplementary += items
                .iter()
                .filter(|item| item["supplementary"] == json!(true))
                .count();
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let listing = list_started.elapsed();
        if listed != batches || supplementary + 1 != batches {
            bail!("listed {listed} batches ({supplementary} supplementary) of {batches}");
        }

        // The former query on the same data: one page from the middle of the period.
        let former = match store.postgres_pool() {
            Some(pool) => {
                let middle: Uuid = sqlx::query_scalar(
                    "SELECT id FROM contribution_batches WHERE contributor_id = $1 ORDER BY id OFFSET $2 LIMIT 1",
                )
                .bind(union_id)
                .bind(i64::try_from(batches / 2)?)
                .fetch_one(pool)
                .await?;
                let started = Instant::now();
                let rows = sqlx::query(FORMER_LIST_QUERY)
                    .bind(union_id)
                    .bind(programme_id)
                    .bind("2026-09")
                    .bind(middle)
                    .bind(i64::from(page_size))
                    .fetch_all(pool)
                    .await?;
                if rows.len() != page_size as usize {
                    bail!("the former query listed {} rows", rows.len());
                }
                Some(started.elapsed())
            }
            None => None,
        };
        drop(store);
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        let baseline = baseline_inserts(&url, 1, Duration::from_secs(2)).await?;

        // Whether a page costs more the further it is into the period (a scan from the start).
        let first_pages = pages.iter().take(5).sum::<Duration>() / 5;
        let last_pages = pages.iter().rev().take(5).sum::<Duration>() / 5;
        pages.sort_unstable();
        let ms = |duration: Duration| format!("{:.1} ms", duration.as_secs_f64() * 1000.0);
        println!(
            "| {backend:?} | fill: {batches} batches of one union and period through the writer | {} ({:.0} batches/s) |",
            ms(fill),
            batches as f64 / fill.as_secs_f64()
        );
        println!(
            "| {backend:?} | list all {batches} over HTTP, pages of {page_size}: total / pages per second | {} / {:.1} |",
            ms(listing),
            pages.len() as f64 / listing.as_secs_f64()
        );
        println!(
            "| {backend:?} | one page, p50 / p99 of {} pages | {} / {} |",
            pages.len(),
            ms(pages[pages.len() / 2]),
            ms(pages[(pages.len() - 1) * 99 / 100])
        );
        println!(
            "| {backend:?} | first 5 pages / last 5 pages, mean | {} / {} |",
            ms(first_pages),
            ms(last_pages)
        );
        if let Some(former) = former {
            println!(
                "| {backend:?} | before: the former list query (correlated COUNT), one page of {page_size} from the middle, SQL only | {} |",
                ms(former)
            );
        }
        println!(
            "| {backend:?} | baseline: single-row INSERT commit, p50 | {:.2} ms |",
            baseline.percentile_ms(0.50)
        );
    }
    Ok(())
}
