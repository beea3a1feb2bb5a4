//! The transfer-run benchmark: plan and execute a run for many beneficiaries over a pool fed by many
//! contribution batches, over HTTP against the real application (JWT and idempotency on, durable
//! commits). The pool is filled through the store's writer (the same transactions and records the
//! API writes for a batch and its receipt), because filling it over HTTP is not what is measured.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger_api::auth::Role;
use ledger_core::contribution::{BatchLine, LineKind};
use ledger_core::{
    Account, Actor, Amount, BalancedTransaction, Currency, FundDate, OrganisationId, Period,
    PeriodKind, Posting, Timestamp, TransactionDraft, TransactionId, TransactionKind, chart,
};
use ledger_store::records::{BatchReceiptRecord, ContributionBatchRecord, Record};
use ledger_store::{Store, StoreOptions, WriteRequest};
use serde_json::json;
use uuid::Uuid;

use crate::http::{post, serve, token};
use crate::{Backend, baseline_inserts, postgres_database};

const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";
/// Concurrent requests while setting up and filling (the writer groups them): as many as the
/// service lets one address have in flight (64 were answered 429 once that limit came in).
const FILL_CONCURRENCY: usize = ledger_api::DEFAULT_MAX_IN_FLIGHT_PER_CLIENT;
/// Every n-th beneficiary keeps its books in CDF (a recorded rate); the others in XOF (fixed parity).
const CDF_EVERY: usize = 10;
/// Calls of the tracing measurement.
const TRACING_CALLS: usize = 20;
/// Every n-th beneficiary has not shown public co-financing: its share is held.
const INELIGIBLE_EVERY: usize = 5;

fn balanced(draft: TransactionDraft, accounts: &[&Account]) -> Result<BalancedTransaction> {
    let chart = accounts
        .iter()
        .map(|account| (account.id, (*account).clone()))
        .collect();
    draft
        .validate(&chart)
        .map_err(|violations| anyhow::anyhow!("invalid transaction: {violations:?}"))
}

/// One contribution batch of `members` euros and its full receipt, as the API writes them.
pub(crate) fn batch_and_receipt(
    programme_id: Uuid,
    contributor: OrganisationId,
    period: Period,
    members: u64,
    value_date: FundDate,
) -> Result<WriteRequest> {
    let eur = Currency::eur();
    let amount = Amount::from_minor(i64::try_from(members)? * 100, eur)?;
    let batch_id = Uuid::now_v7();
    let receivable = chart::batch_receivable(batch_id, contributor, eur);
    let pledged = chart::programme_pledged(programme_id, eur);
    let pool = chart::programme_pool(programme_id, eur);
    let bank = chart::fund_bank(eur);
    let now = Timestamp::from_datetime(chrono::Utc::now());
    let post = |account: &Account, amount: Amount| Posting {
        account_id: account.id,
        amount,
    };
    let pledge_id = TransactionId::from_uuid(Uuid::now_v7());
    let pledge = balanced(
        TransactionDraft {
            id: pledge_id,
            kind: TransactionKind::Pledge,
            effective_date: value_date.naive(),
            recorded_at: now,
            actor: Actor::system(),
            memo: format!("Bench batch {period}"),
            metadata: serde_json::Map::new(),
            postings: vec![post(&receivable, amount), post(&pledged, amount.negated())],
        },
        &[&receivable, &pledged],
    )?;
    let receipt_id = TransactionId::from_uuid(Uuid::now_v7());
    let receipt = balanced(
        TransactionDraft {
            id: receipt_id,
            kind: TransactionKind::Receipt,
            effective_date: value_date.naive(),
            recorded_at: now,
            actor: Actor::system(),
            memo: "Bench receipt".to_owned(),
            metadata: serde_json::Map::new(),
            postings: vec![
                post(&bank, amount),
                post(&receivable, amount.negated()),
                post(&pledged, amount),
                post(&pool, amount.negated()),
            ],
        },
        &[&bank, &receivable, &pledged, &pool],
    )?;
    Ok(WriteRequest {
        transactions: vec![pledge, receipt],
        records: vec![
            Record::Account(receivable.clone()),
            Record::ContributionBatch(Box::new(ContributionBatchRecord {
                id: batch_id,
                programme_id,
                contributor_id: contributor,
                period,
                earmark_beneficiary_id: None,
                currency: eur.code().to_owned(),
                members_total: members,
                amount_minor: amount.minor(),
                solidarity_minor: amount.minor(),
                donation_minor: 0,
                lines: vec![BatchLine {
                    reference: "all-sections".to_owned(),
                    members,
                    amount,
                    kind: LineKind::Solidarity,
                }],
                receivable_account_id: receivable.id,
                pledge_transaction_id: pledge_id,
                submitted_by: "bench".to_owned(),
                created_at: now,
                creditor_reference: ledger_core::payment_reference::CreditorReference::for_batch(
                    batch_id,
                )
                .as_str()
                .to_owned(),
            })),
            Record::BatchReceipt(BatchReceiptRecord {
                id: Uuid::now_v7(),
                batch_id,
                amount_minor: amount.minor(),
                overpayment_minor: 0,
                value_date,
                bank_reference: format!("BENCH-{batch_id}"),
                transaction_id: receipt_id,
                recorded_by: "bench".to_owned(),
                created_at: now,
                original: None,
            }),
        ],
        ..WriteRequest::default()
    })
}

/// Writes `batches` batches of one contributor for programme `programme_id` and period 2026-09,
/// each with its full receipt, through the store's writer (what the API writes; filling over HTTP
/// is not what the benchmarks measure), several at once. Returns the store and the time taken.
pub(crate) async fn fill_one_period(
    url: &str,
    programme_id: Uuid,
    union_id: Uuid,
    batches: usize,
) -> Result<(Store, Duration)> {
    let store = Store::connect(
        url,
        StoreOptions {
            max_connections: 4,
            ..StoreOptions::default()
        },
    )
    .await?;
    let period = Period::parse("2026-09", PeriodKind::Month).map_err(anyhow::Error::msg)?;
    let value_date = FundDate::from_ymd(2026, 9, 20)?;
    let contributor = OrganisationId::from_uuid(union_id);
    let fill_started = Instant::now();
    in_parallel(batches, |index| {
        let store = store.clone();
        async move {
            let request = batch_and_receipt(
                programme_id,
                contributor,
                period,
                10 + (index % 500) as u64,
                value_date,
            )?;
            store.write(request).await?;
            Ok(())
        }
    })
    .await?;
    Ok((store, fill_started.elapsed()))
}

/// Runs `count` jobs with at most [`FILL_CONCURRENCY`] in flight.
pub(crate) async fn in_parallel<F, Fut>(count: usize, job: F) -> Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    for index in 0..count {
        if running.len() >= FILL_CONCURRENCY
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

pub(crate) async fn run(
    backends: &[Backend],
    beneficiaries: usize,
    batches: usize,
    postgres_url: Option<String>,
) -> Result<()> {
    println!("| engine | what | figure |\n|---|---|---:|");
    let scratch = tempfile::tempdir()?;
    let mut cluster = None;
    let secret: Vec<u8> = (0..48).map(|_| b'k').collect();
    for backend in backends {
        let url = match backend {
            Backend::Sqlite => format!(
                "sqlite:{}",
                scratch.path().join("transfer-run.db").display()
            ),
            Backend::Postgres => postgres_database(&postgres_url, &mut cluster).await?,
        };
        let (address, stop, server) = serve(&url, &secret).await?;
        let base = format!("http://{address}");
        let client = reqwest::Client::new();
        let admin = token(&secret, NETWORK_ID, Role::Admin)?;

        let setup_started = Instant::now();
        let union = post(&client, &format!("{base}/v1/organisations"), &admin, "union",
            &json!({"slug": "bench-union", "name": "Bench union", "kind": "contributor", "country": "FR", "currency": "EUR"})).await?;
        eprintln!("{backend:?}: application on {base}; setting up");
        let union_id: Uuid = union["id"].as_str().context("union id")?.parse()?;
        let programme = post(&client, &format!("{base}/v1/programmes"), &admin, "programme",
            &json!({"name": "Bench", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                    "allocation": {"policy": "pro_rata_covered_members"},
                    "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "5"}],
                    "minimum_transfer": "0", "admin_cost_cap_percent": "10",
                    "fee_schedule": {"fixed": "1.00", "percent": "0.1"}})).await?;
        let programme_id: Uuid = programme["id"].as_str().context("programme id")?.parse()?;
        in_parallel(beneficiaries, |index| {
            let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
            async move {
                let currency = if index % CDF_EVERY == 0 { "CDF" } else { "XOF" };
                let organisation = post(&client, &format!("{base}/v1/organisations"), &admin, &format!("beneficiary-{index}"),
                    &json!({"slug": format!("mutual-{index}"), "name": format!("Mutual {index}"), "kind": "beneficiary",
                            "country": "BF", "currency": currency, "covered_members": 500 + index * 7})).await?;
                let id = organisation["id"].as_str().context("beneficiary id")?.to_owned();
                let mut facts = vec![("mutual_operational", json!(true))];
                if index % INELIGIBLE_EVERY != 0 {
                    facts.push(("public_cofinancing_percent", json!("8")));
                }
                for (code, value) in facts {
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
        let setup = setup_started.elapsed();
        eprintln!(
            "{backend:?}: {beneficiaries} beneficiaries set up; filling the pool with {batches} batches"
        );

        let (store, fill) = fill_one_period(&url, programme_id, union_id, batches).await?;
        eprintln!("{backend:?}: pool filled; planning and executing");

        let runs_url = format!("{base}/v1/transfer-runs");
        let plan_body = |dry_run: bool| {
            json!({"programme_id": programme_id, "period": "2026-09", "dry_run": dry_run,
            "rates": {"CDF": {"rate": "2850.50", "source": "bench fixing"}}})
        };
        let mut dry_runs = Vec::new();
        for attempt in 0..5 {
            let started = Instant::now();
            post(
                &client,
                &runs_url,
                &admin,
                &format!("dry-{attempt}"),
                &plan_body(true),
            )
            .await?;
            dry_runs.push(started.elapsed());
        }
        dry_runs.sort_unstable();
        let started = Instant::now();
        let run = post(&client, &runs_url, &admin, "run", &plan_body(false)).await?;
        let plan_recorded = started.elapsed();
        let run_id = run["id"].as_str().context("run id")?;
        let started = Instant::now();
        let executed = post(
            &client,
            &format!("{runs_url}/{run_id}/execution"),
            &admin,
            "execute",
            &json!({}),
        )
        .await?;
        let execution = started.elapsed();
        let transfers = executed["transfers"].as_array().map_or(0, Vec::len);
        // Tracing of the union: all its lots, spread over every beneficiary.
        let union_token = token(&secret, &union_id.to_string(), Role::Contributor)?;
        let tracing_url = format!("{base}/v1/tracing/contributors/{union_id}");
        // The first read after the fill applies every new transaction to the lot book (the
        // service also does it in the background); it is reported on its own line.
        let started = Instant::now();
        let response = client
            .get(&tracing_url)
            .bearer_auth(&union_token)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("GET {tracing_url} answered {}", response.status());
        }
        response.bytes().await?;
        let first_tracing = started.elapsed();
        let mut tracing = Vec::with_capacity(TRACING_CALLS);
        for _ in 0..TRACING_CALLS {
            let started = Instant::now();
            let response = client
                .get(&tracing_url)
                .bearer_auth(&union_token)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("GET {tracing_url} answered {}", response.status());
            }
            response.bytes().await?;
            tracing.push(started.elapsed());
        }
        tracing.sort_unstable();
        let verified = store.verify().await?;
        if !verified.is_valid() {
            bail!("the journal does not verify after the run: {verified:?}");
        }
        drop(store);
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        let baseline = baseline_inserts(&url, 1, Duration::from_secs(2)).await?;

        let ms = |duration: Duration| format!("{:.0} ms", duration.as_secs_f64() * 1000.0);
        println!(
            "| {backend:?} | setup over HTTP: {beneficiaries} beneficiaries with facts | {} |",
            ms(setup)
        );
        println!(
            "| {backend:?} | fill: {batches} batches with receipts through the writer | {} ({:.0} batches/s) |",
            ms(fill),
            batches as f64 / fill.as_secs_f64()
        );
        println!(
            "| {backend:?} | plan, dry run (median of 5) | {} |",
            ms(dry_runs[2])
        );
        println!("| {backend:?} | plan, recorded | {} |", ms(plan_recorded));
        println!(
            "| {backend:?} | execution: {transfers} transfers and the holds | {} |",
            ms(execution)
        );
        println!(
            "| {backend:?} | tracing: first read after the fill (the lot book catches up) | {} |",
            ms(first_tracing)
        );
        println!(
            "| {backend:?} | tracing of the union ({batches} lots over {beneficiaries} beneficiaries), p50 / p99 of {TRACING_CALLS} calls | {} / {} |",
            ms(tracing[TRACING_CALLS / 2]),
            ms(tracing[TRACING_CALLS * 99 / 100])
        );
        println!(
            "| {backend:?} | baseline: single-row INSERT commit, p50 | {:.2} ms |",
            baseline.percentile_ms(0.50)
        );
    }
    Ok(())
}
