//! The public site's benchmark (issue 20): the home page and a mutual's page over a fund the size
//! of the demo × `scale` (4 unions and 3 mutuals per unit, each union with 12 received batches,
//! one transfer run executed), against `GET /healthz` in the same run. The pages read the lot book
//! the service keeps up to date, never the journal per request.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger_api::auth::Role;
use serde_json::json;
use uuid::Uuid;

use crate::http::{post, serve, token};
use crate::transfer_run::batch_and_receipt;
use crate::{Backend, Measurement, postgres_database};

const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";
/// Batches of each union (the demo's twelve months).
const BATCHES_PER_UNION: usize = 12;

/// Requests in flight while setting up over HTTP: under the service's per-client cap (32).
const SETUP_CONCURRENCY: usize = 16;

/// Runs `count` jobs with at most [`SETUP_CONCURRENCY`] in flight.
async fn in_parallel<F, Fut>(count: usize, job: F) -> Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    for index in 0..count {
        if running.len() >= SETUP_CONCURRENCY
            && let Some(done) = running.join_next().await
        {
            done??;
        }
        running.spawn(job(index));
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}

async fn measure(client: &reqwest::Client, url: &str, calls: usize) -> Result<Measurement> {
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let call = Instant::now();
        let response = client.get(url).send().await?;
        if !response.status().is_success() {
            bail!("GET {url} answered {}", response.status());
        }
        response.bytes().await?;
        latencies.push(call.elapsed());
    }
    Ok(Measurement {
        operations: calls as u64,
        elapsed: started.elapsed(),
        latencies,
    })
}

pub(crate) async fn run(
    backends: &[Backend],
    scale: usize,
    calls: usize,
    postgres_url: Option<String>,
) -> Result<()> {
    println!("| engine | request | p50 ms | p99 ms |\n|---|---|---:|---:|");
    let scratch = tempfile::tempdir()?;
    let mut cluster = None;
    let secret: Vec<u8> = (0..48).map(|_| b'k').collect();
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => format!("sqlite:{}", scratch.path().join("public.db").display()),
            Backend::Postgres => postgres_database(&postgres_url, &mut cluster).await?,
        };
        let (address, stop, server) = serve(&url, &secret).await?;
        let base = format!("http://{address}");
        let client = reqwest::Client::new();
        let admin = token(&secret, NETWORK_ID, Role::Admin)?;
        let setup_started = Instant::now();
        let programme = post(&client, &format!("{base}/v1/programmes"), &admin, "programme",
            &json!({"name": "Solidarity euro", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                    "allocation": {"policy": "pro_rata_covered_members"},
                    "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "5"}],
                    "minimum_transfer": "0", "admin_cost_cap_percent": "10",
                    "fee_schedule": {"fixed": "1.00", "percent": "0.1"}})).await?;
        let programme_id: Uuid = programme["id"].as_str().context("programme id")?.parse()?;
        let unions = 4 * scale;
        let mutuals = 3 * scale;
        let union_ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        in_parallel(unions, |index| {
            let (client, base, admin, union_ids) =
                (client.clone(), base.clone(), admin.clone(), union_ids.clone());
            async move {
                let union = post(&client, &format!("{base}/v1/organisations"), &admin, &format!("union-{index}"),
                    &json!({"slug": format!("union-{index}"), "name": format!("Union {index}"), "kind": "contributor",
                            "country": "FR", "currency": "EUR", "covered_members": 1000 + index})).await?;
                let id = union["id"].as_str().context("union id")?.to_owned();
                if index % 4 != 3 {
                    post(&client, &format!("{base}/v1/organisations/{id}/publication"), &admin,
                        &format!("publish-{index}"), &json!({"published": true})).await?;
                }
                union_ids.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(id.parse::<Uuid>()?);
                Ok(())
            }
        })
        .await?;
        in_parallel(mutuals, |index| {
            let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
            async move {
                let mutual = post(&client, &format!("{base}/v1/organisations"), &admin, &format!("mutual-{index}"),
                    &json!({"slug": format!("mutual-{index}"), "name": format!("Mutual {index}"), "kind": "beneficiary",
                            "country": "BF", "currency": "XOF", "covered_members": 500 + index * 7})).await?;
                let id = mutual["id"].as_str().context("mutual id")?.to_owned();
                for (code, value) in [("mutual_operational", json!(true)), ("public_cofinancing_percent", json!("8"))] {
                    post(&client, &format!("{base}/v1/organisations/{id}/facts"), &admin, &format!("fact-{index}-{code}"),
                        &json!({"code": code, "value": value, "as_of": "2026-01-01", "evidence_reference": "bench"})).await?;
                }
                Ok(())
            }
        })
        .await?;
        post(
            &client,
            &format!("{base}/v1/fee-coverage/deposits"),
            &admin,
            "coverage",
            &json!({"amount": "1000000.00", "reference": "bench"}),
        )
        .await?;
        // The batches through the store's writer (what the API writes; not what is measured).
        let store =
            ledger_store::Store::connect(&url, ledger_store::StoreOptions::default()).await?;
        let union_ids: Vec<Uuid> = union_ids
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        let period = ledger_core::Period::parse("2026-09", ledger_core::PeriodKind::Month)
            .map_err(anyhow::Error::msg)?;
        let value_date = ledger_core::FundDate::from_ymd(2026, 9, 20)?;
        in_parallel(union_ids.len() * BATCHES_PER_UNION, |index| {
            let store = store.clone();
            let union = union_ids[index % union_ids.len()];
            async move {
                let request = batch_and_receipt(
                    programme_id,
                    ledger_core::OrganisationId::from_uuid(union),
                    period,
                    1000 + (index % 500) as u64,
                    value_date,
                )?;
                store.write(request).await?;
                Ok(())
            }
        })
        .await?;
        let run = post(
            &client,
            &format!("{base}/v1/transfer-runs"),
            &admin,
            "run",
            &json!({"programme_id": programme_id, "period": "2026-09", "dry_run": false}),
        )
        .await?;
        let run_id = run["id"].as_str().context("run id")?;
        post(
            &client,
            &format!("{base}/v1/transfer-runs/{run_id}/execution"),
            &admin,
            "execute",
            &json!({}),
        )
        .await?;
        eprintln!(
            "{backend:?}: {unions} unions, {mutuals} mutuals, {} batches, one run: set up in {:.1} s",
            union_ids.len() * BATCHES_PER_UNION,
            setup_started.elapsed().as_secs_f64()
        );
        // Warm-up: the first read applies the fill to the lot book.
        measure(&client, &format!("{base}/"), 3).await?;
        let targets = [
            ("GET /healthz", format!("{base}/healthz")),
            ("GET / (home page)", format!("{base}/")),
            ("GET /mutuals/mutual-7", format!("{base}/mutuals/mutual-7")),
        ];
        // Interleaved rounds, so the three series share the machine's state.
        let mut series: Vec<Measurement> = targets
            .iter()
            .map(|_| Measurement {
                operations: 0,
                elapsed: Duration::ZERO,
                latencies: Vec::new(),
            })
            .collect();
        for _ in 0..10 {
            for ((_, target), measured) in targets.iter().zip(series.iter_mut()) {
                let round = measure(&client, target, calls / 10).await?;
                measured.operations += round.operations;
                measured.elapsed += round.elapsed;
                measured.latencies.extend(round.latencies);
            }
        }
        for ((what, _), measured) in targets.iter().zip(&series) {
            println!(
                "| {backend:?} | {what} | {:.2} | {:.2} |",
                measured.percentile_ms(0.50),
                measured.percentile_ms(0.99)
            );
        }
        let _ = stop.send(());
        server.await??;
        store.close().await;
    }
    Ok(())
}
