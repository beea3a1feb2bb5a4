//! End-to-end tests of a southern mutual's portal pages (issue 21, item 3) on SQLite and
//! PostgreSQL, over HTTP with cookies and CSRF tokens as a browser without JavaScript: a mutual's
//! manager confirms a transfer (an error first, shown at its field, nothing written; then a
//! shortfall the API tops up), files a redistribution report (an error at its row first), declares
//! a fact with its evidence document (a document of the wrong type refused at its field) and
//! downloads it, sees its eligibility and its statement in its own currency; another mutual's
//! transfer and evidence are refused as the API refuses them, and forms without their CSRF token
//! are refused.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use ledger_web::format::money;
use ledger_web::i18n::{Lang, message};
use serde_json::Value;
use support::portal::signed_in;
use support::southern::{Fund, burkina_paid_for_september, fund};
use support::{TestServer, today, token};

const MINUTES_PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% assembly minutes";

/// The hidden `request_id` of the first form on a page.
fn request_id(page: &str) -> String {
    page.split("name=\"request_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

fn fr(key: &str) -> String {
    message(Lang::Fr, key, &[])
}

/// The text of element `id` up to the end of its line of markup (its errors follow it).
fn after<'a>(page: &'a str, marker: &str) -> &'a str {
    page.split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("{marker} not in {page}"))
}

async fn transfers_of(server: &TestServer, organisation: &str) -> Value {
    let (status, list) = server
        .get("/v1/transfers", &token(organisation, Role::Beneficiary))
        .await;
    assert_eq!(status, 200, "{list}");
    list
}

async fn a_mutual_confirms_reports_declares_and_prints(server: TestServer) {
    // Proves the mutual's everyday work without curl: its home lists its transfer; a confirmation
    // with wrong fields is refused at those fields (422) and writes nothing; a right one with a
    // shortfall is settled the API's way (a top-up from fee coverage) and a double click writes
    // once; a report with a wrong line is refused at its row, then filed once; a fact with a
    // document that is not a PDF/PNG/JPEG is refused at the document, then declared with a PDF
    // that downloads as sent; the statement is in XOF.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let transfer = transfers_of(&server, &fund.burkina).await["items"][0].clone();
    let id = transfer["id"].as_str().unwrap().to_owned();
    let mut burkina = signed_in(&server, "gestion@mutuelle.bf", &fund.burkina, "beneficiary").await;

    // Its home: /portal leads there; the transfer, to confirm, with its reference.
    assert_eq!(burkina.get("/portal").await.location, "/portal/mutual");
    let home = burkina.get("/portal/mutual").await.text();
    assert!(
        home.contains(&format!("/portal/mutual/transfers/{id}")),
        "{home}"
    );
    assert!(home.contains(transfer["end_to_end_id"].as_str().unwrap()));
    assert!(home.contains(&fr("mutual-status-pending")));
    assert!(home.contains(&money("393574", "XOF", Lang::Fr)), "{home}");

    // A confirmation with a wrong amount and date: refused at those fields, nothing written.
    let path = format!("/portal/mutual/transfers/{id}");
    let page = burkina.get(&path).await.text();
    let request = request_id(&page);
    let today = today();
    let wrong = [
        ("request_id", request.as_str()),
        ("received", "trois cent mille"),
        ("value_date", "2026-13-01"),
        ("bank_reference", "BOA-2026-10-001"),
        ("fees_deducted", ""),
    ];
    let refused = burkina.post(&path, &wrong, true).await;
    assert_eq!(refused.status, 422);
    let refused = refused.text();
    assert!(
        after(&refused, "id=\"received-error\"")
            .starts_with(&format!("><li>{}", fr("mutual-error-received")))
    );
    assert!(refused.contains("id=\"value_date-error\""));
    assert!(!refused.contains("id=\"bank_reference-error\""));
    assert!(refused.contains("value=\"trois cent mille\""));
    assert_eq!(
        transfers_of(&server, &fund.burkina).await["items"][0]["status"],
        "pending"
    );

    // 10,000 XOF less arrived, deducted by an intermediary: the API tops it up; twice is once.
    let right = [
        ("request_id", request.as_str()),
        ("received", "383574"),
        ("value_date", today.as_str()),
        ("bank_reference", "BOA-2026-10-001"),
        ("fees_deducted", "10000"),
    ];
    let done = burkina.post(&path, &right, true).await;
    assert_eq!((done.status, done.location.as_str()), (303, path.as_str()));
    let again = burkina.post(&path, &right, true).await;
    assert_eq!(
        (again.status, again.location.as_str()),
        (303, path.as_str())
    );
    let (_, confirmed) = server
        .get(
            &format!("/v1/transfers/{id}"),
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(confirmed["status"], "topped_up", "{confirmed}");
    assert_eq!(
        transfers_of(&server, &fund.burkina).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let page = burkina.get(&path).await.text();
    assert!(page.contains(&fr("mutual-status-topped_up")), "{page}");
    assert!(page.contains(&money("383574", "XOF", Lang::Fr)));
    assert!(page.contains(&fr("mutual-top-up-sent")));
    assert!(
        !page.contains("id=\"received\""),
        "the form is gone once confirmed"
    );

    // A report with a wrong amount on its administration row (XOF has no cents).
    let reports = burkina.get("/portal/mutual/reports").await.text();
    assert!(reports.contains(&fr("mutual-reports-empty")));
    let request = request_id(&reports);
    let mut fields = vec![
        ("request_id", request.as_str()),
        ("period", "2026-09"),
        ("purpose_0", "premium_subsidy"),
        ("amount_0", "200000"),
        ("members_0", "120"),
        ("purpose_4", "administration"),
        ("amount_4", "20000.5"),
        ("members_4", ""),
        ("notes", "Cotisations subventionnées"),
    ];
    let refused = burkina.post("/portal/mutual/reports", &fields, true).await;
    assert_eq!(refused.status, 422);
    let refused = refused.text();
    let row = after(&refused, "id=\"row-4\"")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains(&fr("mutual-report-error-amount")), "{row}");
    let first = after(&refused, "id=\"row-0\"")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(!first.contains("field-error"), "{first}");
    let (_, listed) = server
        .get(
            "/v1/redistribution-reports",
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    fields[6] = ("amount_4", "20000");
    for _ in 0..2 {
        let done = burkina.post("/portal/mutual/reports", &fields, true).await;
        assert_eq!(done.status, 303, "{}", done.text());
    }
    let (_, listed) = server
        .get(
            "/v1/redistribution-reports",
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["total"]["amount"], "220000");
    let reports = burkina.get("/portal/mutual/reports").await.text();
    assert!(reports.contains(&fr("mutual-report-status-submitted")));
    assert!(reports.contains(&money("220000", "XOF", Lang::Fr)));

    // Eligibility: both conditions met (the network's facts).
    let eligibility = burkina.get("/portal/mutual/eligibility").await.text();
    assert!(eligibility.contains("Solidarity euro"), "{eligibility}");
    assert!(eligibility.contains(&fr("condition-public_cofinancing")));
    let request = request_id(&eligibility);
    let facts_path = format!("/v1/organisations/{}/facts", fund.burkina);
    let facts_before = server.get(&facts_path, &fund.admin).await.1;
    let fact_fields = [
        ("request_id", request.as_str()),
        ("code", "general_assembly_date"),
        ("value", today.as_str()),
        ("as_of", today.as_str()),
        ("evidence_reference", "PV de l'AG"),
    ];
    let html = b"<html><body>%PDF-1.7</body></html>";
    let refused = burkina
        .post_multipart(
            "/portal/mutual/eligibility",
            &fact_fields,
            ("evidence_document", "pv.html", html),
            true,
        )
        .await;
    assert_eq!(refused.status, 422);
    let refused = refused.text();
    assert!(
        after(&refused, "id=\"evidence_document-error\"")
            .contains(&fr("mutual-fact-error-document"))
    );
    assert!(!refused.contains("id=\"value-error\""));
    assert_eq!(server.get(&facts_path, &fund.admin).await.1, facts_before);
    let done = burkina
        .post_multipart(
            "/portal/mutual/eligibility",
            &fact_fields,
            ("evidence_document", "pv.pdf", MINUTES_PDF),
            true,
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text());
    let (_, facts) = server.get(&facts_path, &fund.admin).await;
    let declared = facts.as_array().unwrap().last().unwrap().clone();
    assert_eq!(declared["status"], "submitted", "{facts}");
    let eligibility = burkina.get("/portal/mutual/eligibility").await.text();
    assert!(eligibility.contains(&fr("mutual-fact-status-submitted")));
    let link = format!(
        "/portal/mutual/facts/{}/evidence",
        declared["id"].as_str().unwrap()
    );
    assert!(eligibility.contains(&link), "{eligibility}");
    let document = burkina.get(&link).await;
    assert_eq!(document.status, 200);
    assert_eq!(document.content_type, "application/pdf");
    assert_eq!(document.bytes, MINUTES_PDF);

    // The statement, in XOF, as the API's statement for the mutual gives it.
    let (_, statement) = server
        .get(
            &format!("/v1/organisations/{}/statement", fund.burkina),
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(statement["currency"], "XOF", "{statement}");
    let page = burkina.get("/portal/mutual/statement").await;
    assert_eq!(page.status, 200);
    let page = page.text();
    let closing = &statement["closing_balance"];
    assert!(
        page.contains(&money(closing["amount"].as_str().unwrap(), "XOF", Lang::Fr)),
        "{page}"
    );
    assert!(page.contains("statement-section"));
    let refused = burkina
        .get("/portal/mutual/statement?from=2026-13-01")
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("id=\"from-error\""));
}

async fn one_mutual_cannot_open_anothers_pages(server: TestServer) {
    // Proves the pages answer as the API does: another mutual's transfer is a 404 to read and to
    // confirm (nothing written), another mutual's evidence is a 404, a union's user is refused the
    // mutual's pages (403); forms without their CSRF token are refused (403, nothing written);
    // and a fact the mutual declared shows as waiting for verification on its eligibility page,
    // beside what fixes the condition it lacks.
    let fund: Fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let transfer = transfers_of(&server, &fund.burkina).await["items"][0].clone();
    let id = transfer["id"].as_str().unwrap().to_owned();
    let (_, facts) = server
        .get(
            &format!("/v1/organisations/{}/facts", fund.burkina),
            &fund.admin,
        )
        .await;
    let burkina_fact = facts[0]["id"].as_str().unwrap().to_owned();

    let mut mesp = signed_in(&server, "gestion@mesp.cd", &fund.mesp, "beneficiary").await;
    let home = mesp.get("/portal/mutual").await;
    assert_eq!(home.status, 200);
    assert!(!home.text().contains(&id));
    assert!(home.text().contains(&fr("mutual-transfers-empty")));
    let path = format!("/portal/mutual/transfers/{id}");
    assert_eq!(mesp.get(&path).await.status, 404);
    let fields = [
        ("request_id", "steal"),
        ("received", "393574"),
        ("value_date", "2026-10-01"),
        ("bank_reference", "X-1"),
    ];
    assert_eq!(mesp.post(&path, &fields, true).await.status, 404);
    assert_eq!(
        mesp.get(&format!("/portal/mutual/facts/{burkina_fact}/evidence"))
            .await
            .status,
        404
    );
    assert_eq!(
        transfers_of(&server, &fund.burkina).await["items"][0]["status"],
        "pending"
    );

    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    assert_eq!(union.get("/portal/mutual").await.status, 403);
    assert_eq!(union.get("/portal/mutual/reports").await.status, 403);
    assert_eq!(union.get(&path).await.status, 403);

    // Without their CSRF token: refused, nothing written.
    let mut burkina = signed_in(&server, "g@mutuelle.bf", &fund.burkina, "beneficiary").await;
    let refused = burkina
        .post(
            &path,
            &[
                ("request_id", "no-csrf"),
                ("received", "393574"),
                ("value_date", &today()),
                ("bank_reference", "BOA-1"),
            ],
            false,
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains(&fr("error-csrf-title")));
    assert_eq!(
        transfers_of(&server, &fund.burkina).await["items"][0]["status"],
        "pending"
    );
    let report = [
        ("request_id", "no-csrf"),
        ("period", "2026-09"),
        ("amount_0", "1000"),
        ("members_0", "1"),
    ];
    assert_eq!(
        burkina
            .post("/portal/mutual/reports", &report, false)
            .await
            .status,
        403
    );
    let fact = [
        ("request_id", "no-csrf"),
        ("code", "mutual_operational"),
        ("value", "true"),
        ("as_of", "2026-01-01"),
        ("evidence_reference", "statuts"),
    ];
    let refused = burkina
        .post_multipart(
            "/portal/mutual/eligibility",
            &fact,
            ("evidence_document", "", b""),
            false,
        )
        .await;
    assert_eq!(refused.status, 403);

    // MESP declares it operates: pending on its page; public co-financing says what to declare.
    let eligibility = mesp.get("/portal/mutual/eligibility").await.text();
    assert!(eligibility.contains(&fr("mutual-fix-mutual_operational")));
    let request = request_id(&eligibility);
    let mut declared = fact.to_vec();
    declared[0] = ("request_id", request.as_str());
    let done = mesp
        .post_multipart(
            "/portal/mutual/eligibility",
            &declared,
            ("evidence_document", "", b""),
            true,
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text());
    let eligibility = mesp.get("/portal/mutual/eligibility").await.text();
    let operational = after(&eligibility, &fr("condition-mutual_operational"))
        .split("</li>")
        .next()
        .unwrap();
    assert!(
        operational.contains(&fr("mutual-condition-waiting")),
        "{operational}"
    );
    assert!(!operational.contains(&fr("mutual-fix-mutual_operational")));
    let public = after(&eligibility, &fr("condition-public_cofinancing"))
        .split("</li>")
        .next()
        .unwrap();
    assert!(
        public.contains(&fr("mutual-fix-public_cofinancing")),
        "{public}"
    );
    // The statement is in the mutual's own currency.
    let statement = mesp.get("/portal/mutual/statement").await.text();
    assert!(statement.contains("CDF"), "{statement}");
}

async fn a_large_shortfall_becomes_a_claim_for_the_networks_review(server: TestServer) {
    // Proves the dispute path as the rules say: a confirmation whose shortfall needs a top-up
    // beyond the transfer's expected fee plus the tolerance moves no money; the transfer is under
    // review, the page shows the claim and no longer offers the form, and the API agrees.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let transfer = transfers_of(&server, &fund.burkina).await["items"][0].clone();
    let id = transfer["id"].as_str().unwrap().to_owned();
    let mut burkina = signed_in(&server, "gestion@mutuelle.bf", &fund.burkina, "beneficiary").await;
    let path = format!("/portal/mutual/transfers/{id}");
    let page = burkina.get(&path).await.text();
    let request = request_id(&page);
    let today = today();
    let claim = [
        ("request_id", request.as_str()),
        ("received", "193574"),
        ("value_date", today.as_str()),
        ("bank_reference", "BOA-2026-10-002"),
        ("fees_deducted", ""),
    ];
    let done = burkina.post(&path, &claim, true).await;
    assert_eq!((done.status, done.location.as_str()), (303, path.as_str()));
    let (_, api) = server
        .get(
            &format!("/v1/transfers/{id}"),
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(api["status"], "disputed", "{api}");
    assert_eq!(
        transfers_of(&server, &fund.burkina).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let page = burkina.get(&path).await.text();
    assert!(page.contains(&fr("mutual-status-disputed")), "{page}");
    assert!(page.contains(&fr("mutual-claims-title")));
    assert!(page.contains(&fr("mutual-claim-open")));
    assert!(page.contains(&money("193574", "XOF", Lang::Fr)));
    assert!(
        !page.contains("id=\"received\""),
        "no second claim while one is open"
    );
}

on_both_engines!(
    a_mutual_confirms_reports_declares_and_prints,
    a_large_shortfall_becomes_a_claim_for_the_networks_review,
    one_mutual_cannot_open_anothers_pages,
);
