//! `solidarity-ledger demo`: fills an empty database with a realistic year of the solidarity euro —
//! northern unions' monthly batches and receipts, fee coverage, monthly transfer runs, settlements
//! with one bank deduction made good by a top-up, a share held until MESP records its public
//! co-financing, accepted and rejected redistribution reports — then prints where each
//! contributor's euros are. Every step is an API request handled in-process by the same router,
//! core and store as the service (never a raw insert). The secretariat has two admins (the second
//! invited and signed in like any person), and every four-eyes operation (bank accounts, run
//! executions) is proposed by one and approved by the other.

// Long file: one scripted year of the fund, every step a request in order (organisations, facts,
// the partners change, twelve months of batches, runs and reports); splitting it would scatter one
// story across files.

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Datelike, Months, NaiveDate, Utc};
use http_body_util::BodyExt;
use ledger_api::auth::{Claims, Role, TokenVerifier, mint_hs256};
use ledger_api::{ApiConfig, AppState};
use ledger_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The network organisation the migrations create.
const NETWORK_ID: &str = "00000000-0000-0000-0000-000000000001";
/// The network's second admin, who approves what the first proposes (four eyes).
const SECOND_ADMIN_EMAIL: &str = "treasury@network.example";
/// Months of activity the demo records, ending with the last month that has ended.
const DEMO_MONTHS: u32 = 12;
/// The month (1-based, in the demo year) from which MESP records its public co-financing.
const MESP_QUALIFIES_IN_MONTH: u32 = 7;
/// The month in which a bank between the network and the Burkina mutual keeps 2,500 XOF.
const DEDUCTION_MONTH: u32 = 3;
/// What that bank keeps, in XOF.
const DEDUCTION_XOF: i64 = 2_500;

/// A northern contributor of the demo and its sections' members.
struct DemoContributor {
    slug: &'static str,
    name: &'static str,
    country: &'static str,
    currency: &'static str,
    sections: &'static [(&'static str, i64)],
    /// Whether it agreed to be named on the public site.
    published: bool,
}

/// A southern beneficiary of the demo and its expected bank fees.
struct DemoBeneficiary {
    slug: &'static str,
    name: &'static str,
    country: &'static str,
    currency: &'static str,
    covered_members: i64,
    fixed_fee: &'static str,
    fee_percent: &'static str,
}

const CONTRIBUTORS: [DemoContributor; 4] = [
    DemoContributor {
        slug: "csq",
        name: "Centrale des syndicats du Québec",
        country: "CA",
        currency: "CAD",
        sections: &[("education-sections", 125_000)],
        published: true,
    },
    DemoContributor {
        slug: "mgen",
        name: "MGEN",
        country: "FR",
        currency: "EUR",
        sections: &[
            ("section-paris", 40_000),
            ("section-lyon", 12_000),
            ("section-marseille", 8_000),
        ],
        published: true,
    },
    DemoContributor {
        slug: "teachers-federation-health",
        name: "Teachers Federation Health",
        country: "AU",
        currency: "AUD",
        sections: &[("nsw-members", 20_000)],
        published: true,
    },
    DemoContributor {
        slug: "lararforsakringar",
        name: "Lärarförsäkringar",
        country: "SE",
        currency: "SEK",
        sections: &[("members", 30_000)],
        published: false,
    },
];

const BENEFICIARIES: [DemoBeneficiary; 3] = [
    DemoBeneficiary {
        slug: "mutuelle-education-bf",
        name: "Mutuelle de l'éducation de base du Burkina Faso (pilot)",
        country: "BF",
        currency: "XOF",
        covered_members: 6_000,
        fixed_fee: "15.00",
        fee_percent: "0.5",
    },
    DemoBeneficiary {
        slug: "mugef-ci",
        name: "MUGEF-CI",
        country: "CI",
        currency: "XOF",
        covered_members: 45_000,
        fixed_fee: "20.00",
        fee_percent: "0.3",
    },
    DemoBeneficiary {
        slug: "mesp",
        name: "Mutuelle de santé des enseignants de l'EPST (MESP)",
        country: "CD",
        currency: "CDF",
        covered_members: 30_000,
        fixed_fee: "25.00",
        fee_percent: "0.8",
    },
];

/// The API, in-process, with tokens minted for each caller.
struct Client {
    router: axum::Router,
    secret: Vec<u8>,
}

impl Client {
    fn token(&self, organisation: &str, role: Role) -> anyhow::Result<String> {
        let now = Utc::now().timestamp().unsigned_abs();
        Ok(mint_hs256(
            &self.secret,
            &Claims {
                sub: format!("demo-{}", role.as_str()),
                org: organisation.to_owned(),
                role,
                exp: now + 3600,
                iat: Some(now),
                iss: None,
                aud: None,
            },
        )?)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = Request::builder().method(method).uri(path);
        // An empty token: a request before sign-in (accepting an invitation, signing in).
        if !token.is_empty() {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(body)?)
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body)?).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, value))
    }

    /// A POST that must succeed; its answer.
    async fn post(&self, path: &str, token: &str, key: &str, body: Value) -> anyhow::Result<Value> {
        let (status, answer) = self
            .call("POST", path, token, Some(key), Some(&body))
            .await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {answer}");
        }
        Ok(answer)
    }

    /// A four-eyes POST (the service's default rule): `proposer` proposes it (`202`), `approver`
    /// approves the proposal, and the operation's answer is returned.
    async fn post_approved(
        &self,
        path: &str,
        proposer: &str,
        approver: &str,
        key: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let (status, proposal) = self
            .call("POST", path, proposer, Some(key), Some(&body))
            .await?;
        if status != StatusCode::ACCEPTED {
            bail!("POST {path} answered {status} instead of a proposal: {proposal}");
        }
        let approval = format!("/v1/proposals/{}/approval", id(&proposal)?);
        let (status, decided) = self.call("POST", &approval, approver, None, None).await?;
        let answered = decided["result_status"]
            .as_u64()
            .is_some_and(|code| (200..300).contains(&code));
        if !status.is_success() || !answered {
            bail!("POST {approval} answered {status}: {decided}");
        }
        Ok(decided["result"].clone())
    }

    /// A second admin of the network, invited by `admin`, who sets a password and signs in like
    /// any person: its access token.
    async fn second_admin(&self, admin: &str) -> anyhow::Result<String> {
        let invited = self
            .post(
                "/v1/users",
                admin,
                "demo-second-admin",
                json!({"email": SECOND_ADMIN_EMAIL, "organisation": "network", "role": "admin"}),
            )
            .await?;
        let invitation = invited["invitation_token"]
            .as_str()
            .context("an invitation token")?;
        // A fresh random password: nobody signs in as the demo's second admin afterwards.
        let password: String = (0..32)
            .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
            .collect();
        self.post(
            "/v1/invitations/acceptance",
            "",
            "demo-second-admin-acceptance",
            json!({"invitation_token": invitation, "password": password}),
        )
        .await?;
        let session = self
            .post(
                "/v1/sessions",
                "",
                "demo-second-admin-session",
                json!({"email": SECOND_ADMIN_EMAIL, "password": password}),
            )
            .await?;
        Ok(session["access_token"]
            .as_str()
            .context("an access token")?
            .to_owned())
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        let (status, answer) = self.call("GET", path, token, None, None).await?;
        if !status.is_success() {
            bail!("GET {path} answered {status}: {answer}");
        }
        Ok(answer)
    }
}

fn id(value: &Value) -> anyhow::Result<String> {
    Ok(value["id"]
        .as_str()
        .context("an id in the answer")?
        .to_owned())
}

fn amount(value: &Value) -> &str {
    value["amount"].as_str().unwrap_or("?")
}

/// Fills `store` (which must hold nothing but the network) and prints the tracing of each
/// contributor.
pub async fn run(store: Store) -> anyhow::Result<()> {
    let organisations = store.organisations(None, 10).await?;
    if organisations.len() > 1 {
        bail!("the database already holds organisations: the demo only fills an empty database");
    }
    let secret: Vec<u8> = (0..48).map(|_| rand::random::<u8>()).collect();
    // The service's default rule: a bank account or a run's execution needs two admins (the
    // README's "Four eyes"); the demo's secretariat has two.
    let config = ApiConfig::default();
    let state = AppState::new(
        store.clone(),
        TokenVerifier::hs256(&secret, None, None)?,
        &config,
    );
    let api = Client {
        router: ledger_api::router(state, &config),
        secret,
    };
    let admin = api.token(NETWORK_ID, Role::Admin)?;
    let second_admin = api.second_admin(&admin).await?;
    let today = Utc::now().date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).context("a date")?;
    let first_month = this_month
        .checked_sub_months(Months::new(DEMO_MONTHS))
        .context("a date")?;

    // Organisations, the programme, facts and fee coverage.
    let mut contributors = Vec::new();
    for contributor in &CONTRIBUTORS {
        let members: i64 = contributor
            .sections
            .iter()
            .map(|(_, members)| members)
            .sum();
        let created = api
            .post(
                "/v1/organisations",
                &admin,
                &format!("demo-org-{}", contributor.slug),
                json!({"slug": contributor.slug, "name": contributor.name, "kind": "contributor",
                       "country": contributor.country, "currency": contributor.currency,
                       "covered_members": members}),
            )
            .await?;
        let organisation = id(&created)?;
        // The public site names a union only once it agreed: three of the four did.
        if contributor.published {
            api.post(
                &format!("/v1/organisations/{organisation}/publication"),
                &admin,
                &format!("demo-publication-{}", contributor.slug),
                json!({"published": true}),
            )
            .await?;
        }
        contributors.push((contributor.slug, organisation));
    }
    let mut beneficiaries = Vec::new();
    for beneficiary in &BENEFICIARIES {
        let created = api
            .post("/v1/organisations", &admin, &format!("demo-org-{}", beneficiary.slug), json!({
                "slug": beneficiary.slug, "name": beneficiary.name, "kind": "beneficiary",
                "country": beneficiary.country, "currency": beneficiary.currency,
                "covered_members": beneficiary.covered_members,
                "fee_schedule": {"fixed": beneficiary.fixed_fee, "percent": beneficiary.fee_percent}}))
            .await?;
        beneficiaries.push((beneficiary.slug, id(&created)?));
    }
    let programme = id(&api
        .post("/v1/programmes", &admin, "demo-programme", json!({
            "name": format!("Solidarity euro {}", first_month.year()), "currency": "EUR",
            "rate_per_member": "1.00", "period": "month",
            "allocation": {"policy": "pro_rata_covered_members"},
            "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "5"},
                           {"code": "governance", "parameter": "12"}],
            "minimum_transfer": "500.00", "admin_cost_cap_percent": "12"}))
        .await?)?;
    let start = first_month.to_string();
    let assembly = first_month
        .checked_sub_months(Months::new(2))
        .context("a date")?
        .to_string();
    let second_assembly = first_month
        .checked_add_months(Months::new(DEMO_MONTHS / 2))
        .context("a date")?
        .to_string();
    for (slug, beneficiary) in &beneficiaries {
        let mut facts = vec![
            ("mutual_operational", json!(true), start.clone()),
            ("general_assembly_date", json!(assembly), assembly.clone()),
            (
                "general_assembly_date",
                json!(second_assembly),
                second_assembly.clone(),
            ),
        ];
        match *slug {
            "mesp" => facts.push((
                "public_cofinancing_percent",
                json!("6"),
                first_month
                    .checked_add_months(Months::new(MESP_QUALIFIES_IN_MONTH - 1))
                    .context("a date")?
                    .to_string(),
            )),
            _ => facts.push(("public_cofinancing_percent", json!("8"), start.clone())),
        }
        if *slug == "mesp" {
            // The ministry's contribution lapses in the last month: that share is held again.
            facts.push((
                "public_cofinancing_percent",
                json!("2"),
                first_month
                    .checked_add_months(Months::new(DEMO_MONTHS - 1))
                    .context("a date")?
                    .to_string(),
            ));
        }
        for (code, value, as_of) in facts {
            api.post(&format!("/v1/organisations/{beneficiary}/facts"), &admin,
                &format!("demo-fact-{slug}-{code}-{as_of}"),
                json!({"code": code, "value": value, "as_of": as_of, "evidence_reference": format!("{slug} board minutes {as_of}")}))
                .await?;
        }
    }
    let admins = (admin.as_str(), second_admin.as_str());
    partners_change(&api, admins, &beneficiaries, &programme, first_month).await?;
    api.post("/v1/fee-coverage/deposits", &admin, "demo-coverage-network",
        json!({"amount": "30000.00", "reference": "Education and Solidarity Network operating budget"}))
        .await?;

    // A year of months: batches, receipts, a run, confirmations.
    for month_index in 1..=DEMO_MONTHS {
        let month = first_month
            .checked_add_months(Months::new(month_index - 1))
            .context("a date")?;
        let period = format!("{:04}-{:02}", month.year(), month.month());
        let received_on = month.with_day(20).context("a date")?.to_string();
        for (demo, (slug, contributor)) in CONTRIBUTORS.iter().zip(&contributors) {
            let lines: Vec<Value> = demo
                .sections
                .iter()
                .map(|(reference, members)| {
                    json!({"reference": reference, "members": members,
                    "amount": format!("{members}.00"), "kind": "solidarity"})
                })
                .collect();
            let total: i64 = demo.sections.iter().map(|(_, members)| members).sum();
            let token = api.token(contributor, Role::Contributor)?;
            let batch = api
                .post(
                    "/v1/contribution-batches",
                    &token,
                    &format!("demo-batch-{slug}-{period}"),
                    json!({"programme_id": programme, "period": period, "lines": lines}),
                )
                .await?;
            let mut receipt = json!({"amount": format!("{total}.00"), "value_date": received_on,
                       "bank_reference": format!("CAMT053-{slug}-{period}")});
            if demo.currency == "CAD" && month_index == 1 {
                // The union paid from its CAD account: what it sent and the bank's rate are kept
                // beside the EUR credited (1 EUR = 1.4667 CAD).
                let sent_cents = total * 14_667 / 100;
                receipt["original"] = json!({"amount": format!("{}.{:02}", sent_cents / 100, sent_cents % 100), "currency": "CAD"});
                receipt["rate"] = json!("1.4667");
            }
            api.post(
                &format!("/v1/contribution-batches/{}/receipts", id(&batch)?),
                &admin,
                &format!("demo-receipt-{slug}-{period}"),
                receipt,
            )
            .await?;
        }
        if month_index == DEMO_MONTHS / 2 {
            api.post(
                "/v1/fee-coverage/deposits",
                &admin,
                "demo-coverage-sponsor",
                json!({"amount": "10000.00", "reference": "Sponsor: mutual insurers' foundation"}),
            )
            .await?;
        }
        let run = api
            .post(
                "/v1/transfer-runs",
                &admin,
                &format!("demo-run-{period}"),
                json!({"programme_id": programme, "period": period, "dry_run": false}),
            )
            .await?;
        let executed = api
            .post_approved(&format!("/v1/transfer-runs/{}/execution", id(&run)?), &admin,
                &second_admin, &format!("demo-execution-{period}"),
                json!({"rates": {"CDF": {"rate": "2850.50", "source": format!("Banque centrale du Congo fixing {period}")}}}))
            .await?;
        // A value date lies between the transfer's execution and today: the demo executes every
        // month's run today, so its transfers arrive today.
        let confirmed_on = today.to_string();
        // The last month's transfers are still on their way when the year closes.
        let in_transit = month_index == DEMO_MONTHS;
        for transfer in executed["transfers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|_| !in_transit)
        {
            let beneficiary = transfer["beneficiary_id"]
                .as_str()
                .context("a beneficiary")?;
            let slug = beneficiaries
                .iter()
                .find(|(_, id)| id == beneficiary)
                .map_or("", |(slug, _)| *slug);
            let expected = &transfer["expected_local"];
            let mut received = amount(expected).to_owned();
            if slug == "mutuelle-education-bf" && month_index == DEDUCTION_MONTH {
                let expected: i64 = received.parse()?;
                received = (expected - DEDUCTION_XOF).to_string();
            }
            let token = api.token(beneficiary, Role::Beneficiary)?;
            let answer = api
                .post(
                    &format!("/v1/transfers/{}/confirmation", id(transfer)?),
                    &token,
                    &format!("demo-confirm-{}", id(transfer)?),
                    json!({"received": {"amount": received, "currency": expected["currency"]},
                           "value_date": confirmed_on, "bank_reference": format!("{slug}-{period}"),
                           "fees_deducted": if received == amount(expected) { Value::Null } else {
                               json!({"amount": DEDUCTION_XOF.to_string(), "currency": "XOF"}) }}),
                )
                .await?;
            if let Some(top_up) = answer["top_up"].as_object() {
                let top_up = Value::Object(top_up.clone());
                api.post(
                    &format!("/v1/transfers/{}/confirmation", id(&top_up)?),
                    &token,
                    &format!("demo-confirm-{}", id(&top_up)?),
                    json!({"received": top_up["expected_local"], "value_date": confirmed_on,
                           "bank_reference": format!("{slug}-{period}-top-up")}),
                )
                .await?;
            }
        }
        // Each quarter the two Ivorian and Burkinabè mutuals account for most of what they hold.
        if month_index % 3 == 0 {
            for (slug, beneficiary) in beneficiaries.iter().filter(|(slug, _)| *slug != "mesp") {
                report_quarter(&api, &admin, slug, beneficiary, &period, month_index).await?;
            }
        }
    }

    print_tracing(&api, &admin, &contributors).await
}

/// A quarterly redistribution report: 85 % of what the mutual holds, accepted; MUGEF-CI's first one
/// is rejected (missing invoices) and submitted again.
async fn report_quarter(
    api: &Client,
    admin: &str,
    slug: &str,
    beneficiary: &str,
    period: &str,
    month_index: u32,
) -> anyhow::Result<()> {
    let token = api.token(beneficiary, Role::Beneficiary)?;
    // The advance: received and not yet accounted for.
    let accounts = api
        .get(
            &format!("/v1/accounts?owner_organisation_id={beneficiary}&limit=1000"),
            admin,
        )
        .await?;
    let advance: i64 = accounts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|account| {
            account["code"]
                .as_str()
                .is_some_and(|code| code.contains(":advance:"))
        })
        .map(|account| -amount(&account["balance"]).parse::<i64>().unwrap_or(0))
        .sum();
    let spend = advance * 85 / 100;
    if spend <= 0 {
        return Ok(());
    }
    let premium = spend * 60 / 100;
    let care = spend * 25 / 100;
    let administration = spend * 10 / 100;
    let prevention = spend - premium - care - administration;
    let body = json!({"period": period, "currency": "XOF", "lines": [
        {"purpose": "premium_subsidy", "amount": premium.to_string(), "members_count": 4_000},
        {"purpose": "care_reimbursement", "amount": care.to_string(), "members_count": 900},
        {"purpose": "prevention", "amount": prevention.to_string(), "members_count": 2_500},
        {"purpose": "administration", "amount": administration.to_string(), "members_count": 0}]});
    let report = api
        .post(
            "/v1/redistribution-reports",
            &token,
            &format!("demo-report-{slug}-{period}"),
            body.clone(),
        )
        .await?;
    if slug == "mugef-ci" && month_index == 3 {
        api.post(
            &format!("/v1/redistribution-reports/{}/rejection", id(&report)?),
            admin,
            &format!("demo-reject-{slug}-{period}"),
            json!({"reason": "Supporting invoices for care reimbursements are missing"}),
        )
        .await?;
        let again = api
            .post(
                "/v1/redistribution-reports",
                &token,
                &format!("demo-report-{slug}-{period}-again"),
                body,
            )
            .await?;
        api.post(
            &format!("/v1/redistribution-reports/{}/acceptance", id(&again)?),
            admin,
            &format!("demo-accept-{slug}-{period}-again"),
            json!({}),
        )
        .await?;
        return Ok(());
    }
    api.post(
        &format!("/v1/redistribution-reports/{}/acceptance", id(&report)?),
        admin,
        &format!("demo-accept-{slug}-{period}"),
        json!({}),
    )
    .await?;
    Ok(())
}

/// Prints, for each contributor, where its euros are.
async fn print_tracing(
    api: &Client,
    admin: &str,
    contributors: &[(&str, String)],
) -> anyhow::Result<()> {
    for (slug, contributor) in contributors {
        let traced = api
            .get(&format!("/v1/tracing/contributors/{contributor}"), admin)
            .await?;
        println!(
            "{slug}: {} EUR received — {} in the pool, {} held, {} in transit, {} with the mutuals, {} redistributed",
            amount(&traced["received_total"]),
            amount(&traced["in_pool"]),
            amount(&traced["held"]),
            amount(&traced["in_transit"]),
            amount(&traced["with_beneficiaries"]),
            amount(&traced["redistributed"]),
        );
        for share in traced["beneficiaries"].as_array().into_iter().flatten() {
            let mut parts = Vec::new();
            for purpose in share["redistributed"].as_array().into_iter().flatten() {
                parts.push(format!(
                    "{} EUR ({} {}) {}",
                    amount(&purpose["eur"]),
                    amount(&purpose["local"]),
                    purpose["local"]["currency"].as_str().unwrap_or(""),
                    purpose["purpose"].as_str().unwrap_or("").replace('_', " ")
                ));
            }
            let held_because = share["held_because"]
                .as_array()
                .map(|codes| {
                    codes
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            println!(
                "  {}: redistributed {}; {} EUR received not yet reported; {} EUR in transit; {} EUR held{}",
                share["beneficiary"].as_str().unwrap_or(""),
                if parts.is_empty() {
                    "nothing yet".to_owned()
                } else {
                    parts.join(", ")
                },
                amount(&share["received"]),
                amount(&share["in_transit"]),
                amount(&share["held"]),
                if held_because.is_empty() {
                    String::new()
                } else {
                    format!(" (failing: {held_because})")
                },
            );
        }
    }
    let verified = api.get("/v1/journal?limit=1", admin).await?;
    if verified["items"].as_array().is_none_or(Vec::is_empty) {
        bail!("the demo wrote nothing");
    }
    Ok(())
}

/// The partners change (issue 18) in the demo: MESP's covered members grow mid-year (a version of
/// its details), the network lowers the minimum transfer from the same month (a version of the
/// programme's rules), the mutuals' bank accounts are set and one is changed (each proposed by
/// the first of `admins` and approved by the second), and two facts the mutuals declare
/// themselves are decided: one verified, one rejected.
async fn partners_change(
    api: &Client,
    (admin, approver): (&str, &str),
    beneficiaries: &[(&str, String)],
    programme: &str,
    first_month: NaiveDate,
) -> anyhow::Result<()> {
    let midyear = first_month
        .checked_add_months(Months::new(DEMO_MONTHS / 2))
        .context("a date")?;
    let find = |wanted: &str| {
        beneficiaries
            .iter()
            .find(|(slug, _)| *slug == wanted)
            .map(|(_, id)| id.clone())
            .context("a demo beneficiary")
    };
    let mesp = find("mesp")?;
    api.post(
        &format!("/v1/organisations/{mesp}/versions"),
        admin,
        "demo-mesp-rollout",
        json!({"effective_from": midyear.to_string(), "covered_members": 32000,
               "contact": "MESP secretariat, Kinshasa: rolled out to the entire country"}),
    )
    .await?;
    api.post(
        &format!("/v1/programmes/{programme}/versions"),
        admin,
        "demo-programme-minimum",
        json!({"effective_period": format!("{:04}-{:02}", midyear.year(), midyear.month()),
               "minimum_transfer": "400.00"}),
    )
    .await?;
    let burkina = find("mutuelle-education-bf")?;
    for (key, account) in [
        (
            "demo-bank-bf-1",
            json!({"holder_name": "Mutuelle de l'éducation de base", "account_number": "BF042 01001 00001234567 89", "bic": "ECOCBFBF", "currency": "XOF"}),
        ),
        (
            "demo-bank-bf-2",
            json!({"holder_name": "Mutuelle de l'éducation de base", "account_number": "BF084 03001 00007654321 12", "bic": "CORIBFBF", "currency": "XOF"}),
        ),
    ] {
        api.post_approved(
            &format!("/v1/organisations/{burkina}/bank-accounts"),
            admin,
            approver,
            key,
            account,
        )
        .await?;
    }
    // MESP and MUGEF-CI are paid to national account numbers with their banks' BICs, so the
    // payment file of every run names an account for each mutual.
    for (slug, key, account) in [
        (
            "mesp",
            "demo-bank-mesp",
            json!({"holder_name": "Mutuelle de santé des enseignants du primaire", "account_number": "00011 00100 0123456789 01", "bic": "RAWBCDKI", "currency": "CDF"}),
        ),
        (
            "mugef-ci",
            "demo-bank-mugef-ci",
            json!({"holder_name": "MUGEF-CI", "account_number": "CI008 01001 012345678901 23", "bic": "SGCICIAB", "currency": "XOF"}),
        ),
    ] {
        api.post_approved(
            &format!("/v1/organisations/{}/bank-accounts", find(slug)?),
            admin,
            approver,
            key,
            account,
        )
        .await?;
    }
    api.post_approved(&format!("/v1/organisations/{NETWORK_ID}/bank-accounts"), admin, approver, "demo-bank-network",
        json!({"holder_name": "Education and Solidarity Network", "iban": "FR14 2004 1010 0505 0001 3M02 606",
               "bic": "PSSTFRPPPAR", "currency": "EUR"}))
        .await?;
    let mugef = find("mugef-ci")?;
    let declared = api
        .post(&format!("/v1/organisations/{mugef}/facts"), &api.token(&mugef, Role::Beneficiary)?,
            "demo-declared-rates", json!({"code": "contribution_rates_defined", "value": true,
                "as_of": first_month.to_string(), "evidence_reference": "MUGEF-CI general assembly resolution"}))
        .await?;
    api.post(
        &format!(
            "/v1/organisations/{mugef}/facts/{}/verification",
            id(&declared)?
        ),
        admin,
        "demo-verify-rates",
        json!({}),
    )
    .await?;
    let declared = api
        .post(
            &format!("/v1/organisations/{burkina}/facts"),
            &api.token(&burkina, Role::Beneficiary)?,
            "demo-declared-local",
            json!({"code": "local_cofinancing_percent", "value": "25",
                "as_of": first_month.to_string(), "evidence_reference": "self-assessment"}),
        )
        .await?;
    api.post(
        &format!(
            "/v1/organisations/{burkina}/facts/{}/rejection",
            id(&declared)?
        ),
        admin,
        "demo-reject-local",
        json!({"reason": "the accounts show 9 % local co-financing, not 25 %"}),
    )
    .await?;
    println!(
        "partners: MESP covers 32000 members from {midyear}; minimum transfer 400.00 from then; \
         the Burkina mutual's bank account changed (proposed by one admin, approved by \
         {SECOND_ADMIN_EMAIL}); one declared fact verified, one rejected"
    );
    Ok(())
}
