//! End-to-end tests of the files the fund writes for others, on SQLite and PostgreSQL, against the
//! demo's year of books: the IATI 2.03 activity and organisation files and the pain.001.001.09
//! payment file of the demo's last run validate against the official schemas
//! (`../shared/standards`), and the IATI rules a schema cannot check hold (ISO dates, codelist
//! values, a currency on every value, contributors unnamed, sums equal to the books').

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use chrono::NaiveDate;
use ledger_api::auth::Role;
use ledger_core::pain001::{AccountNumber, BankAccount, Bic, Iban};
use ledger_core::{Currency, OrganisationId};
use ledger_store::registry::BatchFilter;
use ledger_store::transfers::{TransferFilter, TransferRow};
use ledger_store::{Seek, Store, StoreOptions};
use ledger_testkit::on_both_engines;
use ledger_testkit::xsd::{assert_valid, standard_schema};
use quick_xml::events::Event;
use serde_json::json;
use support::southern::{burkina_run_for_september, fund};
use support::{TestServer, server_on, token};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_solidarity-ledger");

/// An element of a parsed file: its name, attributes, text and children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn parse(bytes: &[u8]) -> Element {
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let mut stack = vec![Element::default()];
        let mut buffer = Vec::new();
        loop {
            let event = reader.read_event_into(&mut buffer).unwrap();
            let element = |start: &quick_xml::events::BytesStart| Element {
                name: start.name().as_ref().to_owned(),
                attributes: start
                    .attributes()
                    .map(|attribute| {
                        let attribute = attribute.unwrap();
                        (
                            attribute.key.as_ref().to_owned(),
                            attribute
                                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect(),
                ..Element::default()
            };
            match event {
                Event::Start(start) => stack.push(element(&start)),
                Event::Empty(start) => stack.last_mut().unwrap().children.push(element(&start)),
                Event::Text(text) => stack.last_mut().unwrap().text += &text.into_inner(),
                Event::GeneralRef(reference) => {
                    let name = reference.into_inner();
                    let character = match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "apos" => "'",
                        "quot" => "\"",
                        other => panic!("unexpected entity {other}"),
                    };
                    stack.last_mut().unwrap().text += character;
                }
                Event::End(_) => {
                    let done = stack.pop().unwrap();
                    stack.last_mut().unwrap().children.push(done);
                }
                Event::Eof => break,
                _ => {}
            }
            buffer.clear();
        }
        stack.pop().unwrap().children.pop().unwrap()
    }

    /// Every element below this one (itself included), depth first.
    fn all(&self) -> Vec<&Element> {
        let mut found = vec![self];
        for child in &self.children {
            found.extend(child.all());
        }
        found
    }

    fn child(&self, name: &str) -> &Element {
        self.children
            .iter()
            .find(|child| child.name == name)
            .unwrap_or_else(|| panic!("no {name} in {}", self.name))
    }

    fn attribute(&self, name: &str) -> &str {
        self.attributes
            .get(name)
            .unwrap_or_else(|| panic!("no {name} on {}", self.name))
    }
}

/// The demo's books on `database_url` (a SQLite file under `directory`, or PostgreSQL).
fn run_demo(directory: &std::path::Path, database_url: Option<&str>) {
    let mut command = Command::new(BINARY);
    command.arg("demo").arg("--data-dir").arg(directory);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A server on the demo's books, its store, and what keeps its database alive.
async fn demo_server(postgres: bool) -> (TestServer, Store, tempfile::TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let url = if postgres {
        let database = ledger_testkit::postgres_database().await;
        let url = database.url.clone();
        let path = directory.path().to_owned();
        let demo_url = url.clone();
        tokio::task::spawn_blocking(move || run_demo(&path, Some(&demo_url)))
            .await
            .unwrap();
        url
    } else {
        let path = directory.path().to_owned();
        tokio::task::spawn_blocking(move || run_demo(&path, None))
            .await
            .unwrap();
        format!("sqlite:{}", directory.path().join("ledger.db").display())
    };
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    (server_on(&url).await, store, directory)
}

async fn xml_of(server: &TestServer, path: &str) -> Vec<u8> {
    let response = server
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    response.bytes().await.unwrap().to_vec()
}

/// A name as XML text writes it (the demo's names hold no character XML escapes but these).
fn xml_text(name: &str) -> String {
    name.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An XML file the API serves to `token`, which must answer 200.
async fn xml_of_as(server: &TestServer, path: &str, token: &str) -> Vec<u8> {
    let response = server
        .request(reqwest::Method::GET, path)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.bytes().await.unwrap().to_vec()
}

fn iso_date(text: &str) -> NaiveDate {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap_or_else(|_| panic!("{text} is no ISO date"));
    assert_eq!(date.format("%Y-%m-%d").to_string(), text);
    assert!(
        (2000..=2099).contains(&chrono::Datelike::year(&date)),
        "{text}"
    );
    date
}

/// The rules every IATI file of ours keeps that its schema does not check: ISO dates, codelist
/// values, and a currency on every value with exactly that currency's decimals.
fn check_iati_rules(file: &Element) {
    chrono::DateTime::parse_from_rfc3339(file.attribute("generated-datetime")).unwrap();
    for element in file.all() {
        for name in ["iso-date", "value-date"] {
            if let Some(date) = element.attributes.get(name) {
                iso_date(date);
            }
        }
        let code = || element.attribute("code");
        match element.name.as_str() {
            "value" => {
                let currency = Currency::from_code(element.attribute("currency")).unwrap();
                let decimals = element.text.split('.').nth(1).map_or(0, str::len);
                assert_eq!(
                    decimals,
                    usize::from(currency.minor_units()),
                    "{}",
                    element.text
                );
                assert!(
                    ledger_core::Amount::parse(&element.text, currency)
                        .unwrap()
                        .is_positive()
                );
            }
            "transaction-type" => assert!(["1", "2", "3", "4", "11"].contains(&code())),
            "activity-status" => assert!(["1", "2", "3", "4", "5", "6"].contains(&code())),
            "condition" => assert!(["1", "2", "3"].contains(&element.attribute("type"))),
            "participating-org" => {
                assert!(["1", "2", "3", "4"].contains(&element.attribute("role")));
            }
            "activity-date" => assert!(["1", "2", "3", "4"].contains(&element.attribute("type"))),
            _ => {}
        }
        if element.name.ends_with("-org") {
            // OrganisationType codelist: international (21) and national (22) NGOs.
            assert!(["21", "22"].contains(&element.attribute("type")));
        }
        if element.name == "iati-activity" || element.name == "iati-organisation" {
            Currency::from_code(element.attribute("default-currency")).unwrap();
        }
    }
}

/// Minor units of `text` in `currency`.
fn minor(element: &Element) -> (String, i64) {
    let currency = Currency::from_code(element.attribute("currency")).unwrap();
    (
        currency.code().to_owned(),
        ledger_core::Amount::parse(&element.text, currency)
            .unwrap()
            .minor(),
    )
}

async fn every_transfer(store: &Store, filter: &TransferFilter) -> Vec<TransferRow> {
    store
        .transfers(filter, Seek::After(None), 10_000)
        .await
        .unwrap()
}

async fn the_demo_s_iati_files_are_valid_and_add_up(postgres: bool) {
    let (server, store, _directory) = demo_server(postgres).await;
    let admin = token(support::NETWORK_ID, Role::Admin);
    let (_, programmes) = server.get("/v1/programmes", &admin).await;
    let programme_id: Uuid = programmes["items"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, organisations) = server.get("/v1/organisations?limit=1000", &admin).await;
    let contributor_names: Vec<String> = organisations["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|organisation| organisation["kind"] == "contributor")
        .map(|organisation| organisation["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contributor_names.len(), 4);

    let bytes = xml_of(&server, &format!("/v1/iati/programmes/{programme_id}")).await;
    assert_valid(&bytes, &standard_schema("iati/iati-activities-schema.xsd"));
    let text = String::from_utf8(bytes.clone()).unwrap();
    // The demo's unions chose: three agreed to be named, Lärarförsäkringar did not. The file
    // follows each choice (escaped as XML writes it).
    for name in &contributor_names {
        let named = text.contains(&format!("<narrative>{}</narrative>", xml_text(name)));
        assert_eq!(named, name != "Lärarförsäkringar", "{name}: {text}");
    }
    assert!(text.contains("Education unions and mutuals (not named)"));
    // The mutuals are named (the default publication rule), with their transfers.
    assert!(text.contains("<narrative>MUGEF-CI</narrative>"), "{text}");
    let file = Element::parse(&bytes);
    check_iati_rules(&file);
    let activity = file.child("iati-activity");
    assert_eq!(activity.child("conditions").attribute("attached"), "1");
    assert!(!activity.child("conditions").children.is_empty());

    // Sums per transaction type and currency, against the books read another way.
    let mut sums: BTreeMap<(String, String), i64> = BTreeMap::new();
    for transaction in activity
        .children
        .iter()
        .filter(|child| child.name == "transaction")
    {
        let kind = transaction
            .child("transaction-type")
            .attribute("code")
            .to_owned();
        let value = transaction.child("value");
        assert_eq!(
            value.attribute("value-date"),
            transaction.child("transaction-date").attribute("iso-date")
        );
        transaction.child("provider-org");
        transaction.child("receiver-org");
        let (currency, amount) = minor(value);
        *sums.entry((kind, currency)).or_default() += amount;
    }
    let batches = store
        .batches(
            &BatchFilter {
                programme_id: Some(programme_id),
                ..BatchFilter::default()
            },
            Seek::After(None),
            10_000,
        )
        .await
        .unwrap();
    let kept = batches
        .iter()
        .filter(|batch| batch.reversal_reason.is_none());
    let eur = |kind: &str| sums.get(&(kind.to_owned(), "EUR".to_owned())).copied();
    assert_eq!(
        eur("11"),
        Some(kept.clone().map(|batch| batch.amount_minor).sum())
    );
    assert_eq!(eur("1"), Some(kept.map(|batch| batch.received_minor).sum()));
    let transfers: Vec<TransferRow> = every_transfer(&store, &TransferFilter::default())
        .await
        .into_iter()
        .filter(|transfer| transfer.kind == "transfer" && transfer.programme_id == programme_id)
        .collect();
    assert_eq!(
        eur("2"),
        Some(transfers.iter().map(|t| t.amount_minor).sum())
    );
    // The network is named by the configured identifier (test servers set
    // --iati-organisation-identifier), not the placeholder.
    assert_eq!(
        activity.child("reporting-org").attribute("ref"),
        support::IATI_ORGANISATION_IDENTIFIER
    );
    assert_eq!(
        activity.child("iati-identifier").text,
        format!("{}-{programme_id}", support::IATI_ORGANISATION_IDENTIFIER)
    );
    assert!(!text.contains("XX-UNREGISTERED-network"), "{text}");
    // Each mutual's country is a recipient country with its share of the commitments (type 2),
    // in hundredths of a percent summing to exactly 100.00.
    let country_of: BTreeMap<String, String> = organisations["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|organisation| {
            (
                organisation["id"].as_str().unwrap().to_owned(),
                organisation["country"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut committed: BTreeMap<String, i64> = BTreeMap::new();
    for transfer in &transfers {
        *committed
            .entry(country_of[&transfer.beneficiary_id.to_string()].clone())
            .or_default() += transfer.amount_minor;
    }
    assert_eq!(
        committed.keys().cloned().collect::<Vec<_>>(),
        ["BF", "CD", "CI"]
    );
    let total: i64 = committed.values().sum();
    let recipients: BTreeMap<String, i64> = activity
        .children
        .iter()
        .filter(|child| child.name == "recipient-country")
        .map(|country| {
            let (whole, hundredths) = country.attribute("percentage").split_once('.').unwrap();
            let hundredths: i64 =
                whole.parse::<i64>().unwrap() * 100 + hundredths.parse::<i64>().unwrap();
            (country.attribute("code").to_owned(), hundredths)
        })
        .collect();
    assert_eq!(
        recipients.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>()
    );
    assert_eq!(recipients.values().sum::<i64>(), 10_000);
    for (country, share) in &recipients {
        let exact = committed[country] as f64 * 10_000.0 / total as f64;
        assert!(
            (*share as f64 - exact).abs() < 1.0,
            "{country}: {share} vs {exact}"
        );
    }
    let settled: i64 = transfers
        .iter()
        .filter(|transfer| transfer.received_minor.is_some())
        .map(|transfer| transfer.amount_minor)
        .sum();
    assert_eq!(eur("3"), Some(settled));
    let mut accepted: BTreeMap<(String, String), i64> = BTreeMap::new();
    for report in store.reports(None, Seek::After(None), 1000).await.unwrap() {
        if report.status() == "accepted" {
            *accepted
                .entry(("4".to_owned(), report.currency.clone()))
                .or_default() += report.total_minor;
        }
    }
    assert!(!accepted.is_empty());
    let expenditures: BTreeMap<_, _> = sums
        .iter()
        .filter(|((kind, _), _)| kind == "4")
        .map(|(key, sum)| (key.clone(), *sum))
        .collect();
    assert_eq!(expenditures, accepted);

    // The organisation file: each year's disbursements, the sum of the type 3 transactions.
    let bytes = xml_of(&server, "/v1/iati/organisation").await;
    assert_valid(
        &bytes,
        &standard_schema("iati/iati-organisations-schema.xsd"),
    );
    let file = Element::parse(&bytes);
    check_iati_rules(&file);
    let mut by_year: BTreeMap<String, i64> = BTreeMap::new();
    for transaction in activity
        .children
        .iter()
        .filter(|child| child.name == "transaction")
    {
        if transaction.child("transaction-type").attribute("code") == "3" {
            let year = transaction.child("transaction-date").attribute("iso-date")[..4].to_owned();
            *by_year.entry(year).or_default() += minor(transaction.child("value")).1;
        }
    }
    let reported: BTreeMap<String, i64> = file
        .child("iati-organisation")
        .children
        .iter()
        .filter(|child| child.name == "total-expenditure")
        .map(|total| {
            (
                total.child("period-start").attribute("iso-date")[..4].to_owned(),
                minor(total.child("value")).1,
            )
        })
        .collect();
    assert_eq!(reported, by_year);
    assert!(!reported.is_empty());

    let (status, problem) = server
        .get(&format!("/v1/iati/programmes/{}", Uuid::nil()), "")
        .await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_s_iati_files_are_valid_and_add_up_on_sqlite() {
    // Proves on SQLite: both IATI files validate against the official schemas, keep the rules
    // the schemas cannot check, name no contributor, and each transaction type sums to the books.
    the_demo_s_iati_files_are_valid_and_add_up(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_s_iati_files_are_valid_and_add_up_on_postgres() {
    // Proves the same on PostgreSQL.
    the_demo_s_iati_files_are_valid_and_add_up(true).await;
}

/// Synthetic bank accounts: the network's in France, each mutual's national account and BIC.
fn synthetic_accounts(
    transfers: &[TransferRow],
) -> (BankAccount, BTreeMap<OrganisationId, BankAccount>) {
    let debtor = BankAccount {
        holder_name: "Education and Solidarity Network".into(),
        number: AccountNumber::Iban(Iban::parse("FR76 3000 6000 0112 3456 7890 189").unwrap()),
        bic: Some(Bic::parse("AGRIFRPP").unwrap()),
        currency: Currency::eur(),
    };
    let creditors = transfers
        .iter()
        .map(|transfer| {
            let beneficiary = OrganisationId::from_uuid(transfer.beneficiary_id);
            let account = BankAccount {
                holder_name: format!(
                    "Mutuelle {}",
                    &transfer.beneficiary_id.simple().to_string()[..8]
                ),
                number: AccountNumber::Other(format!("0840101300{}", transfer.amount_minor % 1000)),
                bic: Some(Bic::parse("ECOCBFBF").unwrap()),
                currency: Currency::from_code(&transfer.local_currency).unwrap(),
            };
            (beneficiary, account)
        })
        .collect();
    (debtor, creditors)
}

async fn the_last_run_s_payment_file(postgres: bool) {
    let (server, store, _directory) = demo_server(postgres).await;
    let transfers = every_transfer(&store, &TransferFilter::default()).await;
    let last = transfers
        .iter()
        .filter(|transfer| transfer.run_id.is_some())
        .max_by_key(|transfer| transfer.created_at)
        .unwrap();
    let run_id = last.run_id.unwrap();
    let path = format!("/v1/transfer-runs/{run_id}/payment-file");

    // The demo records every mutual's bank account (and the network's) before its runs: the
    // last run's file is served, valid against the official schema, the same bytes twice, each
    // transfer's reference as its EndToEndId and each creditor the account in force at planning.
    let run: Vec<TransferRow> = every_transfer(
        &store,
        &TransferFilter {
            run_id: Some(run_id),
            ..TransferFilter::default()
        },
    )
    .await
    .into_iter()
    .filter(|transfer| transfer.kind == "transfer")
    .collect();
    let admin = token(support::NETWORK_ID, Role::Admin);
    let served = xml_of_as(&server, &path, &admin).await;
    assert_eq!(served, xml_of_as(&server, &path, &admin).await);
    assert_valid(&served, &standard_schema("pain.001.001.09.xsd"));
    let text = String::from_utf8(served.clone()).unwrap();
    for transfer in &run {
        assert!(
            text.contains(&format!(
                "<EndToEndId>{}</EndToEndId>",
                transfer.end_to_end_id
            )),
            "{text}"
        );
    }
    // The Burkina mutual's account was changed before the runs: the second one is paid.
    assert!(
        text.contains("<Id>BF084 03001 00007654321 12</Id>"),
        "{text}"
    );
    assert!(!text.contains("BF042"), "{text}");
    assert!(
        text.contains("<IBAN>FR1420041010050500013M02606</IBAN>"),
        "{text}"
    );
    let (status, _) = server
        .get(&path, &token(support::NETWORK_ID, Role::Auditor))
        .await;
    assert_eq!(status, 200);
    let (_, organisations) = server.get("/v1/organisations?limit=1000", &admin).await;
    // The demo's bank change was proposed by one admin and approved by a second one, a person
    // it invited (issue 18: "one bank change approved by a second admin"); both are kept on the
    // account and on the proposal, and so is every run execution's approval.
    let burkina = organisations["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|organisation| organisation["slug"] == "mutuelle-education-bf")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, accounts) = server
        .get(
            &format!("/v1/organisations/{burkina}/bank-accounts"),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{accounts}");
    let changed = &accounts["current"];
    assert_eq!(changed["version"], 2, "{accounts}");
    assert_eq!(changed["approved_by"], "treasury@network.example");
    assert_ne!(changed["proposed_by"], changed["approved_by"], "{accounts}");
    let (_, proposal) = server
        .get(
            &format!("/v1/proposals/{}", changed["proposal_id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(proposal["status"], "approved", "{proposal}");
    assert_eq!(proposal["proposed_by"], changed["proposed_by"]);
    assert_eq!(proposal["decided_by"], "treasury@network.example");
    let (_, executions) = server.get("/v1/proposals?limit=100", &admin).await;
    let executions: Vec<&serde_json::Value> = executions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|proposal| proposal["operation"] == "execute_transfer_run")
        .collect();
    assert_eq!(executions.len(), 12, "one approved execution per month");
    assert!(
        executions
            .iter()
            .all(|execution| execution["status"] == "approved"
                && execution["decided_by"] != execution["proposed_by"])
    );
    let csq = organisations["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|organisation| organisation["slug"] == "csq")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = server.get(&path, &token(&csq, Role::Contributor)).await;
    assert_eq!(status, 403);
    let (status, _) = server
        .get(
            &format!("/v1/transfer-runs/{}/payment-file", Uuid::nil()),
            &admin,
        )
        .await;
    assert_eq!(status, 404);

    // With synthetic accounts, the run's file validates, twice the same bytes.
    let (debtor, creditors) = synthetic_accounts(&run);
    let make = || {
        ledger_app::payment_files::payment_file(
            run_id,
            &run,
            &creditors,
            debtor.clone(),
            "Education and Solidarity Network".into(),
            Some("Solidarity euro 2025-11".into()),
        )
        .unwrap()
    };
    let bytes = make();
    assert_eq!(bytes, make());
    assert_valid(&bytes, &standard_schema("pain.001.001.09.xsd"));
    let document = Element::parse(&bytes);
    let initiation = document.child("CstmrCdtTrfInitn");
    assert_eq!(
        initiation.child("GrpHdr").child("MsgId").text,
        run_id.simple().to_string()
    );
    let mut end_to_end = BTreeSet::new();
    let mut total = 0_i64;
    for block in initiation
        .children
        .iter()
        .filter(|child| child.name == "PmtInf")
    {
        assert_eq!(block.child("ChrgBr").text, "DEBT");
        for transaction in block
            .children
            .iter()
            .filter(|child| child.name == "CdtTrfTxInf")
        {
            let id = &transaction.child("PmtId").child("EndToEndId").text;
            assert!(id.len() <= 35);
            end_to_end.insert(id.clone());
            let amount = transaction.child("Amt").child("InstdAmt");
            total += ledger_core::Amount::parse(
                &amount.text,
                Currency::from_code(amount.attribute("Ccy")).unwrap(),
            )
            .unwrap()
            .minor();
        }
    }
    let references: BTreeSet<String> = run
        .iter()
        .map(|transfer| transfer.end_to_end_id.clone())
        .collect();
    assert_eq!(end_to_end, references);
    assert_eq!(
        total,
        run.iter()
            .map(|transfer| transfer.amount_minor)
            .sum::<i64>()
    );

    // A run whose shortfall was topped up later: its file holds what the execution sent, never
    // the later top-up (a second file with the same message id would be paid twice).
    let topped_up = transfers
        .iter()
        .find(|transfer| transfer.kind == "top_up")
        .expect("the demo tops up a deduction")
        .run_id
        .unwrap();
    let app = ledger_app::App::new(
        store.clone(),
        ledger_app::Sources::default(),
        ledger_core::limits::ContributionLimits::default(),
    );
    let sent = ledger_app::payment_files::run_transfers(&app, topped_up)
        .await
        .unwrap();
    let of_run: Vec<&TransferRow> = transfers
        .iter()
        .filter(|transfer| transfer.run_id == Some(topped_up))
        .collect();
    assert!(of_run.iter().any(|transfer| transfer.kind == "top_up"));
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|transfer| transfer.kind == "transfer"));
    assert_eq!(
        sent.len(),
        of_run
            .iter()
            .filter(|transfer| transfer.kind == "transfer")
            .count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_run_s_payment_file_on_sqlite() {
    // Proves on SQLite: the endpoint refuses (409, each beneficiary named) while no bank account
    // is approved, keeps contributors out (403), and with synthetic accounts the demo's last run
    // makes a pain.001 valid against the schema, the same twice, one EndToEndId per transfer
    // reference and amounts summing to the run's; a later top-up stays out of its run's file.
    the_last_run_s_payment_file(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_run_s_payment_file_on_postgres() {
    // Proves the same on PostgreSQL.
    the_last_run_s_payment_file(true).await;
}

on_both_engines!(a_new_programme_publishes_a_valid_activity_and_a_planned_run_has_no_payment_file);

async fn a_new_programme_publishes_a_valid_activity_and_a_planned_run_has_no_payment_file(
    server: TestServer,
) {
    // Proves a programme with no money yet still publishes a valid activity (its conditions, no
    // transaction), that a pledge and a receipt then appear as types 11 and 1 under an unnamed
    // provider, that a run planned but not executed has no payment file (409 run_not_executed),
    // and that once executed, with no bank account recorded for its mutual, the file is refused
    // naming that mutual (409 bank_account_missing).
    let fund = fund(&server).await;
    let path = format!("/v1/iati/programmes/{}", fund.programme);
    let schema = standard_schema("iati/iati-activities-schema.xsd");
    let bytes = xml_of(&server, &path).await;
    assert_valid(&bytes, &schema);
    let file = Element::parse(&bytes);
    check_iati_rules(&file);
    let activity = file.child("iati-activity");
    assert!(
        activity
            .children
            .iter()
            .all(|child| child.name != "transaction")
    );

    let run = burkina_run_for_september(&server, &fund, "100.00").await;
    let run_id = run["id"].as_str().unwrap();
    let (status, problem) = server
        .get(
            &format!("/v1/transfer-runs/{run_id}/payment-file"),
            &fund.admin,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("run_not_executed"))
    );

    let bytes = xml_of(&server, &path).await;
    assert_valid(&bytes, &schema);
    let file = Element::parse(&bytes);
    check_iati_rules(&file);
    let codes: BTreeSet<&str> = file
        .child("iati-activity")
        .children
        .iter()
        .filter(|child| child.name == "transaction")
        .map(|transaction| transaction.child("transaction-type").attribute("code"))
        .collect();
    assert_eq!(codes, BTreeSet::from(["1", "11"]));
    let text = String::from_utf8(bytes).unwrap();
    // The union is registered as "CSQ" (slug csq): neither its name nor its identifier appears.
    assert!(!text.contains("CSQ") && !text.contains("csq"), "{text}");
    assert!(text.contains("Education unions and mutuals (not named)"));

    // Executed, with no bank account recorded for the Burkina mutual: refused, the mutual named.
    let (status, executed) = server
        .post(
            &format!("/v1/transfer-runs/{run_id}/execution"),
            &fund.admin,
            "files-exec",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{executed}");
    let (status, problem) = server
        .get(
            &format!("/v1/transfer-runs/{run_id}/payment-file"),
            &fund.admin,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("bank_account_missing")),
        "{problem}"
    );
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
}
