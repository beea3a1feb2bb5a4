//! End-to-end tests of bank statements in (issue 19, item 3), on SQLite and PostgreSQL: camt.053
//! statements GENERATED from the books (`support::camt053`) (the batches' creditor references, the executed run's
//! EndToEndIds), the `.001.08` ones validated against the official schema
//! (`../shared/standards/camt.053.001.08.xsd`). There is no `.001.02` schema in the standards
//! directory, so the `.02` statement is checked by what the import reads from it.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_app::bank_statements::ImportStatement;
use ledger_app::{App, Caller, IdempotencyKey, Sources};
use ledger_core::{Currency, chart};
use ledger_store::records::Record;
use ledger_testkit::on_both_engines;
use ledger_testkit::xsd::{assert_valid, standard_schema};
use serde_json::{Value, json};
use support::camt053::{Line, batch, camt053, our_iban};
use support::southern::{Fund, burkina_paid_for_september, credit, fund, programme_id, store};
use support::{TestServer, collection_account, token};

/// POSTs a statement; status and body.
async fn import(server: &TestServer, admin: &str, key: &str, document: Vec<u8>) -> (u16, Value) {
    let response = server
        .client
        .post(server.url("/v1/bank-statements"))
        .bearer_auth(admin)
        .header("idempotency-key", key)
        .header("content-type", "application/xml")
        .body(document)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status >= 400 {
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json"),
            "{status}"
        );
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

/// How many journal transactions the books hold.
async fn journal_count(server: &TestServer, admin: &str) -> usize {
    let (status, journal) = server
        .get("/v1/journal?after_sequence=0&limit=1000", admin)
        .await;
    assert_eq!(status, 200, "{journal}");
    journal["items"].as_array().unwrap().len()
}

/// How many statements were imported.
async fn statements_count(server: &TestServer, admin: &str) -> usize {
    let (status, list) = server.get("/v1/bank-statements", admin).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().len()
}

/// A reference with wrong check digits (the last digit of a valid one changed).
fn mistyped(reference: &str) -> String {
    let mut characters: Vec<char> = reference.chars().collect();
    let last = characters.len() - 1;
    characters[last] = if characters[last] == '1' { '2' } else { '1' };
    characters.into_iter().collect()
}

async fn credits_become_receipts_once_and_the_rest_waits(server: TestServer) {
    // Proves a .08 statement (valid against the official schema) books the credit quoting a
    // batch's creditor reference for exactly what it owes as that batch's receipt (value date and
    // bank reference from the line, the line naming the receipt), keeps every line's raw
    // identifiers, lists a credit without a reference with the batch of the same amount and payer
    // as a proposal, refuses a mistyped reference's match; that importing it again writes nothing
    // and answers the first import; and that an admin assigns an unmatched line (a receipt) and
    // marks another not ours, both idempotent.
    let fund = fund(&server).await;
    let admin = fund.admin.clone();
    let (csq_batch, csq_reference) = batch(&server, &fund, &fund.csq, "2026-09", 1000).await;
    let (mgen_batch, mgen_reference) = batch(&server, &fund, &fund.mgen, "2026-09", 400).await;
    let mut exact = Line::credit("1000.00", "BANK-0001");
    exact.creditor_reference = Some(csq_reference.clone());
    exact.debtor = Some("CSQ".to_owned());
    let mut unreferenced = Line::credit("400.00", "BANK-0002");
    unreferenced.debtor = Some("M.G.E.N.".to_owned());
    let mut mistyped_line = Line::credit("12.00", "BANK-0003");
    mistyped_line.creditor_reference = Some(mistyped(&mgen_reference));
    let document = camt053(
        "08",
        "STMT-2026-10",
        &our_iban(),
        "EUR",
        &[exact, unreferenced, mistyped_line],
    );
    assert_valid(document.as_bytes(), &standard_schema("camt.053.001.08.xsd"));
    let journal_before = journal_count(&server, &admin).await;

    let (status, imported) = import(
        &server,
        &admin,
        "statement-1",
        document.clone().into_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["statement_id"], "STMT-2026-10");
    assert_eq!(imported["camt_version"], "camt.053.001.08");
    assert_eq!(imported["account"], our_iban());
    let entries = imported["entries"].as_array().unwrap();
    let statuses: Vec<&str> = entries
        .iter()
        .map(|entry| entry["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["receipt", "unmatched", "unmatched"]);
    assert_eq!(entries[0]["batch_id"], csq_batch.as_str());
    assert_eq!(entries[0]["account_servicer_reference"], "BANK-0001");
    assert_eq!(entries[0]["bank_transaction_code"], "PMNT/RCDT/ESCT");
    assert_eq!(
        entries[0]["transactions"][0]["creditor_reference"],
        csq_reference.as_str()
    );
    assert_eq!(entries[0]["element"], "Document/BkToCstmrStmt/Stmt/Ntry[1]");
    assert!(
        entries[2]["detail"]
            .as_str()
            .unwrap()
            .contains("check digits"),
        "{}",
        entries[2]
    );
    assert_eq!(entries[0]["detail_code"], Value::Null);
    assert_eq!(entries[2]["detail_code"], "invalid_reference");
    let receipt_id = entries[0]["receipt_id"].as_str().unwrap().to_owned();
    let (_, csq) = server
        .get(&format!("/v1/contribution-batches/{csq_batch}"), &admin)
        .await;
    assert_eq!(csq["status"], "received");
    assert_eq!(csq["receipts"][0]["id"], receipt_id.as_str());
    assert_eq!(csq["receipts"][0]["bank_reference"], "BANK-0001");
    assert_eq!(csq["receipts"][0]["value_date"], "2026-10-02");
    assert_eq!(journal_count(&server, &admin).await, journal_before + 1);

    // The same statement again, under another key: nothing new, the first import.
    let (status, again) = import(&server, &admin, "statement-1-again", document.into_bytes()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], imported["id"]);
    assert_eq!(again["entries"][0]["receipt_id"], receipt_id.as_str());
    assert_eq!(journal_count(&server, &admin).await, journal_before + 1);
    assert_eq!(statements_count(&server, &admin).await, 1);

    // The unmatched list, with proposals.
    let (status, unmatched) = server
        .get("/v1/bank-statement-entries?status=unmatched", &admin)
        .await;
    assert_eq!(status, 200, "{unmatched}");
    let items = unmatched["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let proposal = &items[0]["proposals"][0];
    assert_eq!(proposal["batch_id"], mgen_batch.as_str());
    assert_eq!(proposal["same_amount"], true);
    assert_eq!(proposal["payer_matches"], true);
    assert_eq!(proposal["outstanding"]["amount"], "400.00");
    let unreferenced_id = items[0]["id"].as_str().unwrap().to_owned();
    let mistyped_id = items[1]["id"].as_str().unwrap().to_owned();

    let assignment = format!("/v1/bank-statement-entries/{unreferenced_id}/assignment");
    let (status, assigned) = server
        .post(
            &assignment,
            &admin,
            "assign-1",
            &json!({"batch_id": mgen_batch}),
        )
        .await;
    assert_eq!(status, 201, "{assigned}");
    let (status, assigned_again) = server
        .post(
            &assignment,
            &admin,
            "assign-1-again",
            &json!({"batch_id": mgen_batch}),
        )
        .await;
    assert_eq!(status, 200, "{assigned_again}");
    assert_eq!(assigned_again["receipt_id"], assigned["receipt_id"]);
    let (status, refused) = server
        .post(
            &assignment,
            &admin,
            "assign-elsewhere",
            &json!({"batch_id": csq_batch}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    let (_, mgen) = server
        .get(&format!("/v1/contribution-batches/{mgen_batch}"), &admin)
        .await;
    assert_eq!(mgen["status"], "received");
    assert_eq!(mgen["receipts"][0]["id"], assigned["receipt_id"]);
    assert_eq!(mgen["receipts"][0]["bank_reference"], "BANK-0002");
    let (_, entry) = server
        .get(
            &format!("/v1/bank-statement-entries/{unreferenced_id}"),
            &admin,
        )
        .await;
    assert_eq!(entry["status"], "assigned");
    assert_eq!(entry["receipt_id"], assigned["receipt_id"]);
    assert_eq!(entry["batch_id"], mgen_batch.as_str());

    let not_ours = format!("/v1/bank-statement-entries/{mistyped_id}/not-ours");
    let (status, blank) = server
        .post(&not_ours, &admin, "not-ours-blank", &json!({"reason": " "}))
        .await;
    assert_eq!(status, 422, "{blank}");
    assert_eq!(blank["field"], "reason");
    let (status, dismissed) = server
        .post(
            &not_ours,
            &admin,
            "not-ours",
            &json!({"reason": "a refund for the network's own account"}),
        )
        .await;
    assert_eq!(status, 201, "{dismissed}");
    let (status, _) = server
        .post(
            &not_ours,
            &admin,
            "not-ours-again",
            &json!({"reason": "same"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, unmatched) = server
        .get("/v1/bank-statement-entries?status=unmatched", &admin)
        .await;
    assert_eq!(unmatched["items"], json!([]));
    let (_, not_ours_list) = server
        .get("/v1/bank-statement-entries?status=not_ours", &admin)
        .await;
    assert_eq!(
        not_ours_list["items"][0]["decision"]["reason"],
        "a refund for the network's own account"
    );
    // The statement, its lines and the decisions are history: the database refuses to rewrite
    // or remove them, on both engines.
    let ledger = store(&server).await;
    for sql in [
        "UPDATE bank_statements SET statement_id = 'other'",
        "DELETE FROM bank_statements",
        "UPDATE bank_statement_entries SET outcome = 'unmatched'",
        "DELETE FROM bank_statement_entries",
        "UPDATE bank_statement_entry_decisions SET reason = 'rewritten'",
        "DELETE FROM bank_statement_entry_decisions",
    ] {
        let refused = if let Some(pool) = ledger.sqlite_pool() {
            sqlx::query(sql)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        } else {
            sqlx::query(sql)
                .execute(ledger.postgres_pool().unwrap())
                .await
                .map(|done| done.rows_affected())
        };
        let error = refused.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    // Auditors read, never import; contributors do neither.
    let auditor = token(support::NETWORK_ID, Role::Auditor);
    let (status, _) = server.get("/v1/bank-statement-entries", &auditor).await;
    assert_eq!(status, 200);
    let (status, _) = import(&server, &auditor, "auditor", b"<x/>".to_vec()).await;
    assert_eq!(status, 403);
    let (status, _) = server
        .get("/v1/bank-statements", &token(&fund.csq, Role::Contributor))
        .await;
    assert_eq!(status, 403);
}

async fn debits_meet_transfers_and_charges_go_to_fee_coverage(server: TestServer) {
    // Proves a .02 statement's debit is matched to the executed transfer by its EndToEndId (the
    // line names the transfer), and that the bank's charges are booked to fee coverage while the
    // pool is unchanged: a line whose bank transaction code is a charge in full, and the debit's
    // Chrgs beyond the transfer's expected fee (18.00, reserved at execution and paid by the
    // settlement that follows the mutual's confirmation, so counted once though the statement
    // comes first).
    let fund = fund(&server).await;
    let executed = burkina_paid_for_september(&server, &fund).await;
    let transfer = &executed["transfers"][0];
    let end_to_end_id = transfer["end_to_end_id"].as_str().unwrap().to_owned();
    let ledger = store(&server).await;
    let eur = Currency::eur();
    let pool_before = credit(&ledger, chart::programme_pool(programme_id(&fund), eur)).await;
    let coverage_before = credit(&ledger, chart::fee_coverage(eur)).await;
    let bank_before = ledger
        .balance(chart::fund_bank(eur).id, None)
        .await
        .unwrap();

    let mut sent = Line::debit(transfer["amount"]["amount"].as_str().unwrap(), "BANK-D1");
    sent.end_to_end_id = Some(end_to_end_id.clone());
    sent.charges = Some("20.50".to_owned());
    let mut charge = Line::debit("4.00", "BANK-D2");
    charge.code = ("ACMT", "MDOP", "CHRG");
    let mut stranger = Line::debit("9.99", "BANK-D3");
    stranger.end_to_end_id = Some("NOT-OURS-E2E".to_owned());
    // No .02 schema is in ../shared/standards: this statement is checked by what is read of it.
    let document = camt053(
        "02",
        "STMT-D",
        &our_iban(),
        "EUR",
        &[sent, charge, stranger],
    );
    let (status, imported) = import(&server, &fund.admin, "debits", document.into_bytes()).await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["camt_version"], "camt.053.001.02");
    let entries = imported["entries"].as_array().unwrap();
    assert_eq!(entries[0]["status"], "transfer_debit");
    assert_eq!(entries[0]["transfer_id"], transfer["id"]);
    assert_eq!(entries[0]["charges"]["amount"], "20.50");
    assert!(entries[0]["charge_transaction_id"].is_string());
    assert!(
        entries[0]["detail"]
            .as_str()
            .unwrap()
            .contains("only the excess 2.50"),
        "{imported}"
    );
    assert_eq!(entries[0]["detail_code"], "charges_excess");
    assert_eq!(entries[1]["status"], "charge");
    assert!(entries[1]["charge_transaction_id"].is_string());
    assert_eq!(entries[2]["status"], "unmatched");
    assert!(
        entries[2]["detail"]
            .as_str()
            .unwrap()
            .contains("NOT-OURS-E2E")
    );
    assert_eq!(entries[2]["detail_code"], "unknown_end_to_end_id");

    assert_eq!(
        credit(&ledger, chart::programme_pool(programme_id(&fund), eur)).await,
        pool_before
    );
    assert_eq!(
        credit(&ledger, chart::fee_coverage(eur)).await,
        coverage_before - 650
    );
    assert_eq!(
        ledger
            .balance(chart::fund_bank(eur).id, None)
            .await
            .unwrap(),
        bank_before - 650
    );
    let (_, journal) = server
        .get("/v1/journal?after_sequence=0&limit=1000", &fund.admin)
        .await;
    let charges: Vec<&Value> = journal["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|transaction| transaction["kind"] == "bank_charge")
        .collect();
    assert_eq!(charges.len(), 2, "{journal}");
}

/// The Burkina transfer executed and confirmed by the mutual (so its settlement booked the
/// expected fee, 18.00 EUR, from reserved fee coverage to the bank).
async fn settled_transfer(server: &TestServer, fund: &Fund) -> Value {
    let executed = burkina_paid_for_september(server, fund).await;
    let transfer = executed["transfers"][0].clone();
    let fee = transfer["expected_fee"]["amount"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fee, "18.00");
    let (status, confirmed) = server
        .post(
            &format!("/v1/transfers/{}/confirmation", transfer["id"].as_str().unwrap()),
            &token(&fund.burkina, Role::Beneficiary),
            "confirm",
            &json!({"received": {"amount": "393574", "currency": "XOF"}, "value_date": support::today(), "bank_reference": "BOA-1"}),
        )
        .await;
    assert_eq!(status, 201, "{confirmed}");
    transfer
}

/// Imports a statement with the settled transfer's debit charged `charges`; the debit's entry,
/// how many bank-charge transactions the import booked and what it took from fee coverage (the
/// pool unchanged).
async fn import_settled_debit(charges: &str, server: &TestServer) -> (Value, usize, i64) {
    let fund = fund(server).await;
    let transfer = settled_transfer(server, &fund).await;
    let ledger = store(server).await;
    let eur = Currency::eur();
    let pool = chart::programme_pool(programme_id(&fund), eur);
    let (pool_before, coverage_before) = (
        credit(&ledger, pool.clone()).await,
        credit(&ledger, chart::fee_coverage(eur)).await,
    );
    let bank_charges = |journal: &Value| {
        journal["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|transaction| transaction["kind"] == "bank_charge")
            .count()
    };
    let (_, journal) = server
        .get("/v1/journal?after_sequence=0&limit=1000", &fund.admin)
        .await;
    let charges_before = bank_charges(&journal);
    let mut sent = Line::debit(transfer["amount"]["amount"].as_str().unwrap(), "BANK-F1");
    sent.end_to_end_id = Some(transfer["end_to_end_id"].as_str().unwrap().to_owned());
    sent.charges = Some(charges.to_owned());
    let document = camt053("08", "STMT-F", &our_iban(), "EUR", &[sent]);
    assert_valid(document.as_bytes(), &standard_schema("camt.053.001.08.xsd"));
    let (status, imported) = import(server, &fund.admin, "fee", document.into_bytes()).await;
    assert_eq!(status, 201, "{imported}");
    let entry = imported["entries"][0].clone();
    assert_eq!(entry["status"], "transfer_debit", "{entry}");
    assert_eq!(entry["transfer_id"], transfer["id"]);
    assert_eq!(entry["charges"]["amount"], charges);
    assert_eq!(credit(&ledger, pool).await, pool_before);
    let (_, journal) = server
        .get("/v1/journal?after_sequence=0&limit=1000", &fund.admin)
        .await;
    (
        entry,
        bank_charges(&journal) - charges_before,
        coverage_before - credit(&ledger, chart::fee_coverage(eur)).await,
    )
}

async fn charges_covered_by_a_settled_transfers_expected_fee_book_nothing(server: TestServer) {
    // Proves a fee is not counted twice: the settlement booked the transfer's expected fee F
    // (18.00), so a statement charging exactly F on the transfer's debit books no bank charge;
    // the entry keeps the charge and says the expected fee covered it; pool and fee coverage
    // unchanged.
    let (entry, booked, coverage_spent) = import_settled_debit("18.00", &server).await;
    assert_eq!(booked, 0, "{entry}");
    assert!(entry["charge_transaction_id"].is_null(), "{entry}");
    assert_eq!(coverage_spent, 0);
    let detail = entry["detail"].as_str().unwrap();
    assert!(
        detail.contains("covered by the transfer's expected fee"),
        "{detail}"
    );
    assert_eq!(entry["detail_code"], "charges_covered");
}

async fn charges_above_a_settled_transfers_expected_fee_book_the_excess(server: TestServer) {
    // Proves only the excess of the bank's charges over the expected fee the settlement booked
    // is booked: charges of 20.50 on an 18.00 fee book one bank charge of 2.50 to fee coverage,
    // the pool unchanged.
    let (entry, booked, coverage_spent) = import_settled_debit("20.50", &server).await;
    assert_eq!(booked, 1, "{entry}");
    assert!(entry["charge_transaction_id"].is_string(), "{entry}");
    assert_eq!(coverage_spent, 250);
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("excess 2.50 EUR")
    );
}

async fn a_transfer_debit_is_matched_once(server: TestServer) {
    // Proves a transfer's debit is matched at most once: a second line of the same statement and
    // a later statement with the same EndToEndId stay unmatched naming the entry that matched it
    // first (its charges booked once); and the store itself refuses a second entry naming the
    // transfer (two imports planned before either was committed: the second commit is refused).
    let fund = fund(&server).await;
    let executed = burkina_paid_for_september(&server, &fund).await;
    let transfer = &executed["transfers"][0];
    let mut sent = Line::debit(transfer["amount"]["amount"].as_str().unwrap(), "BANK-M1");
    sent.end_to_end_id = Some(transfer["end_to_end_id"].as_str().unwrap().to_owned());
    // 19.00 on an expected fee of 18.00: one bank charge of the 1.00 beyond it.
    sent.charges = Some("19.00".to_owned());
    let mut again = sent.clone();
    again.bank_reference = "BANK-M2".to_owned();

    // Two imports planned while nothing is matched yet: the first commits, the second is refused
    // by the unique index on the entries' transfer (migration 0023).
    let ledger = store(&server).await;
    let app = App::new(ledger.clone(), Sources::default(), Default::default())
        .with_collection_account(Some(collection_account()));
    let caller = Caller::with_token(
        "admin-user".to_owned(),
        ledger_core::OrganisationId::from_uuid(uuid::Uuid::parse_str(support::NETWORK_ID).unwrap()),
        ledger_app::Role::Admin,
    );
    let plan = |statement_id: &str| {
        let document = camt053("08", statement_id, &our_iban(), "EUR", &[sent.clone()]);
        ledger_app::Command::plan(
            ImportStatement {
                document: document.into_bytes(),
            },
            &app,
            &caller,
        )
    };
    let (first, second) = (
        plan("STMT-R1").await.unwrap(),
        plan("STMT-R2").await.unwrap(),
    );
    let key = |name: &str| {
        IdempotencyKey::new(name, "POST\n/v1/bank-statements", b"{}".to_vec()).unwrap()
    };
    let journal_before = journal_count(&server, &fund.admin).await;
    app.commit(&caller, &key("r1"), first).await.unwrap();
    assert!(app.commit(&caller, &key("r2"), second).await.is_err());
    assert_eq!(statements_count(&server, &fund.admin).await, 1);
    assert_eq!(
        journal_count(&server, &fund.admin).await,
        journal_before + 1
    );

    // Through the door: a statement with the debit twice, then another statement with it.
    let (_, listed) = server.get("/v1/bank-statements", &fund.admin).await;
    let first_id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, first) = server
        .get(&format!("/v1/bank-statements/{first_id}"), &fund.admin)
        .await;
    let matched = first["entries"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["entries"][0]["status"], "transfer_debit");
    let document = camt053("08", "STMT-M", &our_iban(), "EUR", &[sent.clone(), again]);
    assert_valid(document.as_bytes(), &standard_schema("camt.053.001.08.xsd"));
    let (status, imported) = import(&server, &fund.admin, "twice", document.into_bytes()).await;
    assert_eq!(status, 201, "{imported}");
    for entry in imported["entries"].as_array().unwrap() {
        assert_eq!(entry["status"], "unmatched", "{entry}");
        assert!(entry["transfer_id"].is_null());
        assert!(entry["charge_transaction_id"].is_null());
        let detail = entry["detail"].as_str().unwrap();
        assert!(
            detail.contains(&matched) && detail.contains("STMT-R1"),
            "{detail}"
        );
        assert_eq!(entry["detail_code"], "transfer_matched_before");
    }
    assert_eq!(
        journal_count(&server, &fund.admin).await,
        journal_before + 1
    );
}

async fn two_lines_of_one_statement_match_a_transfer_once(server: TestServer) {
    // Proves the second line of one statement with a transfer's EndToEndId stays unmatched,
    // naming the line that matched it, and only the first line's charges are booked.
    let fund = fund(&server).await;
    let executed = burkina_paid_for_september(&server, &fund).await;
    let transfer = &executed["transfers"][0];
    let mut sent = Line::debit(transfer["amount"]["amount"].as_str().unwrap(), "BANK-T1");
    sent.end_to_end_id = Some(transfer["end_to_end_id"].as_str().unwrap().to_owned());
    // 19.00 on an expected fee of 18.00: one bank charge of the 1.00 beyond it.
    sent.charges = Some("19.00".to_owned());
    let mut again = sent.clone();
    again.bank_reference = "BANK-T2".to_owned();
    let document = camt053("08", "STMT-T", &our_iban(), "EUR", &[sent, again]);
    let journal_before = journal_count(&server, &fund.admin).await;
    let (status, imported) = import(&server, &fund.admin, "lines", document.into_bytes()).await;
    assert_eq!(status, 201, "{imported}");
    let entries = imported["entries"].as_array().unwrap();
    assert_eq!(entries[0]["status"], "transfer_debit");
    assert_eq!(entries[0]["transfer_id"], transfer["id"]);
    assert_eq!(entries[1]["status"], "unmatched");
    assert!(entries[1]["transfer_id"].is_null());
    assert!(
        entries[1]["detail"].as_str().unwrap().contains("Ntry[1]"),
        "{}",
        entries[1]
    );
    assert_eq!(
        entries[1]["detail_code"],
        "transfer_matched_by_earlier_line"
    );
    assert_eq!(
        journal_count(&server, &fund.admin).await,
        journal_before + 1
    );
}

async fn hostile_statements_are_refused_and_write_nothing(server: TestServer) {
    // Proves a DTD, an entity bomb, an external entity, a 12 MB and a 50 MB body, a statement of
    // another account, one in another currency and a malformed amount are each refused with a
    // problem+json naming the element, and that none of them writes anything.
    let fund = fund(&server).await;
    let admin = fund.admin.clone();
    let (_, reference) = batch(&server, &fund, &fund.csq, "2026-09", 1000).await;
    let mut exact = Line::credit("1000.00", "BANK-H1");
    exact.creditor_reference = Some(reference);
    let good = camt053("08", "STMT-H", &our_iban(), "EUR", &[exact.clone()]);
    let body = good.split_once("?>").unwrap().1;
    let journal_before = journal_count(&server, &admin).await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bomb",
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>{}",
                body.replace("MSG-STMT-H", "&c;")
            ),
            "Document",
        ),
        (
            "external",
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                body.replace("MSG-STMT-H", "&x;")
            ),
            "Document",
        ),
        (
            "undefined-entity",
            good.replace("MSG-STMT-H", "&x;"),
            "Document/BkToCstmrStmt/GrpHdr/MsgId",
        ),
        (
            "other-account",
            camt053(
                "08",
                "STMT-H",
                "DE89 3704 0044 0532 0130 00",
                "EUR",
                &[exact.clone()],
            ),
            "Document/BkToCstmrStmt/Stmt/Acct/Id/IBAN",
        ),
        (
            "other-currency",
            camt053("08", "STMT-H", &our_iban(), "USD", &[exact.clone()]),
            "Document/BkToCstmrStmt/Stmt/Acct/Ccy",
        ),
        (
            "malformed-amount",
            camt053(
                "08",
                "STMT-H",
                &our_iban(),
                "EUR",
                &[exact.clone(), Line::credit("12,50", "BANK-H2")],
            ),
            "Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt",
        ),
    ];
    for (name, document, element) in cases {
        let (status, problem) = import(&server, &admin, name, document.into_bytes()).await;
        assert_eq!(status, 422, "{name}: {problem}");
        assert_eq!(problem["field"], element, "{name}: {problem}");
    }
    // Over the statement's 10 MiB but within the service's body limit: read to its end, so the
    // client always gets the 413 (not a reset connection).
    let response = server
        .client
        .post(server.url("/v1/bank-statements"))
        .bearer_auth(&admin)
        .header("idempotency-key", "large")
        .header("content-type", "application/xml")
        .body(vec![b' '; 12 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert!(
        !response.headers().contains_key("connection"),
        "the body was read: the connection stays open"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "payload_too_large");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("10485760 bytes"),
        "{problem}"
    );
    let huge = vec![b' '; 50 * 1024 * 1024];
    let response = server
        .client
        .post(server.url("/v1/bank-statements"))
        .bearer_auth(&admin)
        .header("idempotency-key", "huge")
        .header("content-type", "application/xml")
        .body(huge)
        .send()
        .await;
    // The server answers 413 after 10 MiB and closes: the client may see the answer or, having
    // not finished sending, a reset connection; never a success.
    if let Ok(response) = response {
        assert_eq!(response.status().as_u16(), 413);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "payload_too_large");
    }
    assert_eq!(journal_count(&server, &admin).await, journal_before);
    assert_eq!(statements_count(&server, &admin).await, 0);
    let (_, entries) = server.get("/v1/bank-statement-entries", &admin).await;
    assert_eq!(entries["items"], json!([]));
}

async fn one_statement_is_one_commit(server: TestServer) {
    // Proves the import is all or nothing: a statement whose second line cannot be read writes
    // nothing (the first line's receipt is not booked), and a planned import whose write fails
    // in the middle of its rows (a line recorded twice, refused by the database) leaves no
    // statement, no line, no receipt and no journal transaction.
    let fund = fund(&server).await;
    let admin = fund.admin.clone();
    let (csq_batch, reference) = batch(&server, &fund, &fund.csq, "2026-09", 1000).await;
    let mut exact = Line::credit("1000.00", "BANK-A1");
    exact.creditor_reference = Some(reference);
    let journal_before = journal_count(&server, &admin).await;
    let broken = camt053(
        "08",
        "STMT-A",
        &our_iban(),
        "EUR",
        &[
            exact.clone(),
            Line::credit("1.001", "BANK-A2"),
            Line::credit("5.00", "BANK-A3"),
        ],
    );
    let (status, problem) = import(&server, &admin, "broken", broken.into_bytes()).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt");
    let (_, csq) = server
        .get(&format!("/v1/contribution-batches/{csq_batch}"), &admin)
        .await;
    assert_eq!(csq["status"], "pledged");

    let ledger = store(&server).await;
    let app = App::new(ledger.clone(), Sources::default(), Default::default())
        .with_collection_account(Some(collection_account()));
    let caller = Caller::with_token(
        "admin-user".to_owned(),
        ledger_core::OrganisationId::from_uuid(uuid::Uuid::parse_str(support::NETWORK_ID).unwrap()),
        ledger_app::Role::Admin,
    );
    let document = camt053(
        "08",
        "STMT-A",
        &our_iban(),
        "EUR",
        &[exact, Line::credit("5.00", "BANK-A3")],
    )
    .into_bytes();
    let planned = ledger_app::Command::plan(ImportStatement { document }, &app, &caller)
        .await
        .unwrap();
    let mut planned = planned;
    let lines: Vec<Record> = planned
        .write
        .records
        .iter()
        .filter(|record| matches!(record, Record::BankStatementEntry(_)))
        .cloned()
        .collect();
    assert_eq!(lines.len(), 2);
    // The first line again, between the receipt and the last line: the unique line number fails.
    let position = planned.write.records.len() - 1;
    planned.write.records.insert(position, lines[0].clone());
    let key = IdempotencyKey::new("crash", "POST\n/v1/bank-statements", b"{}".to_vec()).unwrap();
    assert!(app.commit(&caller, &key, planned).await.is_err());
    assert_eq!(journal_count(&server, &admin).await, journal_before);
    assert_eq!(statements_count(&server, &admin).await, 0);
    let (_, csq) = server
        .get(&format!("/v1/contribution-batches/{csq_batch}"), &admin)
        .await;
    assert_eq!(csq["status"], "pledged");
    assert_eq!(csq["receipts"], json!([]));
}

on_both_engines!(
    credits_become_receipts_once_and_the_rest_waits,
    debits_meet_transfers_and_charges_go_to_fee_coverage,
    hostile_statements_are_refused_and_write_nothing,
    one_statement_is_one_commit,
    charges_covered_by_a_settled_transfers_expected_fee_book_nothing,
    charges_above_a_settled_transfers_expected_fee_book_the_excess,
    a_transfer_debit_is_matched_once,
    two_lines_of_one_statement_match_a_transfer_once,
);
