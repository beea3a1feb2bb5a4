//! End-to-end tests of the secretariat's bank-statement pages (issue 21 item 4) on SQLite and
//! PostgreSQL: a camt.053 statement uploaded through the form is imported once (its receipt, its
//! transfer debit, its bank charge and its unmatched lines shown), a hostile file is refused at
//! the file field with nothing written, unmatched lines are assigned to a batch or marked not
//! ours through their forms with errors at their fields, and the pages refuse whoever the API
//! refuses.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::Value;
use support::camt053::{Line, batch, camt053, our_iban};
use support::portal::{
    Answer, Browser, back_to, hidden, linked, older_link, pages_of, signed_in, sizes,
};
use support::southern::{burkina_paid_for_september, fund};
use support::{NETWORK_ID, TestServer, token};

/// Posts the statement form (`multipart/form-data`) with `document` as its file.
async fn upload_statement(
    browser: &mut Browser,
    request_id: &str,
    document: &[u8],
    csrf: bool,
) -> Answer {
    let file = ("camt053.xml", document);
    browser
        .upload(
            "/portal/network/statements",
            &[("request_id", request_id)],
            file,
            csrf,
        )
        .await
}

/// The hidden request id of the form posting to `action` on a page.
fn request_id_of(body: &str, action: &str) -> String {
    let form = body
        .split(&format!("action=\"{action}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no form for {action} in {body}"));
    hidden(form, "request_id")
}

/// What the API lists at `path` (`items`).
async fn items(server: &TestServer, path: &str) -> Vec<Value> {
    let (status, list) = server.get(path, &token(NETWORK_ID, Role::Admin)).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

/// How many journal transactions the books hold.
async fn journal_count(server: &TestServer) -> usize {
    items(server, "/v1/journal?after_sequence=0&limit=1000")
        .await
        .len()
}

/// The entry with `id` as the API gives it.
async fn entry(server: &TestServer, id: &str) -> Value {
    let (status, entry) = server
        .get(
            &format!("/v1/bank-statement-entries/{id}"),
            &token(NETWORK_ID, Role::Admin),
        )
        .await;
    assert_eq!(status, 200, "{entry}");
    entry
}

/// The table row of a page that holds `needle`.
fn row_of<'a>(body: &'a str, needle: &str) -> &'a str {
    let start = body
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle} in {body}"));
    let row_start = body[..start].rfind("<tr").unwrap();
    let row_end = start + body[start..].find("</tr>").unwrap();
    &body[row_start..row_end]
}

async fn a_statement_is_uploaded_shown_and_its_lines_decided(server: TestServer) {
    // Proves the statement pages end to end: a form without its CSRF token, a hostile file (a
    // DTD; an amount written with a comma, named by its element path at the file field) and a
    // file over the limit (413, the limit named) write nothing; a valid statement is imported
    // once (a double click, and the same file sent again later, say so and write nothing more);
    // its page shows each entry's date, amount, direction, counterparty, references and fate (the
    // receipt with its batch's link, the transfer's debit, the bank charge, the unmatched lines);
    // the list counts its entries and unmatched lines; an unmatched credit is assigned to its
    // proposed batch (which gets its receipt); an unknown batch and more than a batch owes are
    // refused at the batch field; "not ours" without a reason is refused at its field, with one
    // it leaves the list; a second decision is a 409.
    let fund = fund(&server).await;
    let executed = burkina_paid_for_september(&server, &fund).await;
    let transfer = &executed["transfers"][0];
    let (csq_batch, csq_reference) = batch(&server, &fund, &fund.csq, "2026-08", 1000).await;
    let (mgen_batch, _) = batch(&server, &fund, &fund.mgen, "2026-08", 400).await;
    let mut exact = Line::credit("1000.00", "BANK-0001");
    exact.creditor_reference = Some(csq_reference.clone());
    exact.debtor = Some("CSQ".to_owned());
    let mut unreferenced = Line::credit("400.00", "BANK-0002");
    unreferenced.debtor = Some("M.G.E.N.".to_owned());
    let mut unknown = Line::credit("12.00", "BANK-0003");
    unknown.debtor = Some("Inconnu SARL".to_owned());
    let mut sent = Line::debit(transfer["amount"]["amount"].as_str().unwrap(), "BANK-0004");
    sent.end_to_end_id = Some(transfer["end_to_end_id"].as_str().unwrap().to_owned());
    let mut charge = Line::debit("4.00", "BANK-0005");
    charge.code = ("ACMT", "MDOP", "CHRG");
    let lines = [exact, unreferenced, unknown, sent, charge];
    let document = camt053("08", "STMT-PORTAL-1", &our_iban(), "EUR", &lines);

    let mut admin = signed_in(&server, "admin@network.example", NETWORK_ID, "admin").await;
    let home = admin.get("/portal/network").await;
    assert!(home.body.contains("href=\"/portal/network/statements\""));
    let list = admin.get("/portal/network/statements").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("Aucun relevé importé"), "{}", list.body);
    assert!(
        list.body
            .contains("aria-current=\"page\">Relevés bancaires<")
    );
    let request_id = request_id_of(&list.body, "/portal/network/statements");
    let journal_before = journal_count(&server).await;

    // Without its CSRF token: refused, nothing imported.
    let refused = upload_statement(&mut admin, &request_id, document.as_bytes(), false).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(items(&server, "/v1/bank-statements").await.is_empty());

    // Hostile or malformed: 422 at the file field, naming the problem, nothing written.
    let body = document.split_once("?>").unwrap().1;
    let hostile = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE Document [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        body.replace("MSG-STMT-PORTAL-1", "&x;")
    );
    let answer = upload_statement(&mut admin, &request_id, hostile.as_bytes(), true).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let at_file = answer
        .body
        .split("id=\"statement-file-error\"")
        .nth(1)
        .unwrap();
    assert!(
        at_file.contains("Ce fichier n’est pas un relevé importable"),
        "{}",
        answer.body
    );
    assert!(
        at_file.contains("DOCTYPE") || at_file.contains("document type"),
        "{at_file}"
    );
    let comma = document.replacen(">400.00<", ">400,00<", 1);
    let answer = upload_statement(&mut admin, &request_id, comma.as_bytes(), true).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let at_file = answer
        .body
        .split("id=\"statement-file-error\"")
        .nth(1)
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(
        at_file.contains("<code>Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt</code>"),
        "{at_file}"
    );
    // Over the 10 MiB a statement may have: 413, the limit named at the file field.
    let mut huge = document.clone().into_bytes();
    huge.resize(10 * 1024 * 1024 + 1, b' ');
    let answer = upload_statement(&mut admin, &request_id, &huge, true).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    let at_file = answer
        .body
        .split("id=\"statement-file-error\"")
        .nth(1)
        .unwrap();
    assert!(at_file.contains("dépasse 10 Mio"), "{at_file}");
    assert!(items(&server, "/v1/bank-statements").await.is_empty());
    assert_eq!(journal_count(&server).await, journal_before);

    // Imported: its page. A double click is the same import.
    let imported = upload_statement(&mut admin, &request_id, document.as_bytes(), true).await;
    assert_eq!(imported.status, 303, "{}", imported.body);
    let statements = items(&server, "/v1/bank-statements").await;
    assert_eq!(statements.len(), 1);
    let statement_id = statements[0]["id"].as_str().unwrap();
    let page_path = format!("/portal/network/statements/{statement_id}");
    assert_eq!(imported.location, page_path);
    let again = upload_statement(&mut admin, &request_id, document.as_bytes(), true).await;
    assert_eq!(again.location, page_path, "a double click imports once");
    // The receipt and the bank charge are the two transactions written.
    assert_eq!(journal_count(&server).await, journal_before + 2);

    let page = admin.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("id=\"imported-before\""));
    assert!(page.body.contains("STMT-PORTAL-1"));
    let receipt = row_of(&page.body, "BANK-0001");
    assert!(receipt.contains("Encaissement d’un lot"), "{receipt}");
    assert!(
        receipt.contains(&format!("href=\"/portal/batches/{csq_batch}\"")),
        "{receipt}"
    );
    assert!(receipt.contains("1\u{a0}000,00\u{a0}€"), "{receipt}");
    assert!(receipt.contains("2 octobre 2026"), "{receipt}");
    assert!(receipt.contains(">Crédit<"), "{receipt}");
    assert!(receipt.contains(">CSQ<"), "{receipt}");
    assert!(receipt.contains(&csq_reference), "{receipt}");
    let debit = row_of(&page.body, "BANK-0004");
    assert!(debit.contains("Débit d’un transfert rapproché"), "{debit}");
    assert!(debit.contains(">Débit<"), "{debit}");
    assert!(row_of(&page.body, "BANK-0005").contains("Frais bancaires imputés"));
    let open = row_of(&page.body, "BANK-0002");
    assert!(open.contains("Non rapprochée"), "{open}");
    assert!(open.contains("M.G.E.N."), "{open}");
    // Why, in the page's language (the import's words stay beside it, marked English).
    assert!(
        open.contains("Le virement ne cite aucune référence structurée (RF…)."),
        "{open}"
    );
    assert!(row_of(&page.body, "BANK-0003").contains("Non rapprochée"));

    let list = admin.get("/portal/network/statements").await;
    let listed = row_of(&list.body, "STMT-PORTAL-1");
    assert!(
        listed.contains(&format!("href=\"{page_path}\"")),
        "{listed}"
    );
    assert!(listed.contains("<td class=\"num\">5</td>"), "{listed}");
    assert!(listed.contains("<td class=\"num\">2</td>"), "{listed}");
    assert!(list.body.contains("Lignes non rapprochées à traiter : 2"));

    // The same file later, from a new form: the first import, said so; nothing written.
    let fresh = request_id_of(&list.body, "/portal/network/statements");
    assert_ne!(fresh, request_id);
    let resent = upload_statement(&mut admin, &fresh, document.as_bytes(), true).await;
    assert_eq!(
        resent.location,
        format!("{page_path}?imported=before"),
        "{}",
        resent.body
    );
    let page = admin.get(&resent.location).await;
    assert!(
        page.body.contains("id=\"imported-before\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("avait déjà été importé"));
    assert_eq!(items(&server, "/v1/bank-statements").await.len(), 1);
    assert_eq!(journal_count(&server).await, journal_before + 2);

    // The unmatched lines, with their proposals.
    let unmatched = items(&server, "/v1/bank-statement-entries?status=unmatched").await;
    let id_of = |reference: &str| {
        unmatched
            .iter()
            .find(|entry| entry["account_servicer_reference"] == reference)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (open_id, unknown_id) = (id_of("BANK-0002"), id_of("BANK-0003"));
    let lines_page = admin.get("/portal/network/statement-lines").await;
    assert_eq!(lines_page.status, 200, "{}", lines_page.body);
    let open_line = lines_page
        .body
        .split(&format!("id=\"line-{open_id}\""))
        .nth(1)
        .unwrap()
        .split("</li>")
        .next()
        .unwrap();
    assert!(
        open_line.contains(&format!("value=\"{mgen_batch}\" checked")),
        "the proposed batch is chosen: {open_line}"
    );
    assert!(open_line.contains("MGEN, 2026-08"), "{open_line}");
    assert!(
        open_line.contains("Le virement ne cite aucune référence structurée"),
        "{open_line}"
    );
    assert!(open_line.contains("400,00\u{a0}€"), "{open_line}");
    assert!(open_line.contains("le même montant"), "{open_line}");
    assert!(open_line.contains("le payeur porte le nom du syndicat"));
    assert!(
        lines_page
            .body
            .contains(&format!("id=\"line-{unknown_id}\""))
    );

    let assignment = format!("/portal/network/statement-lines/{open_id}/assignment");
    let assign_id = request_id_of(&lines_page.body, &assignment);
    let fields = [
        ("batch_id", mgen_batch.as_str()),
        ("request_id", &assign_id),
    ];
    let refused = admin.post(&assignment, &fields, false).await;
    assert_eq!(refused.status, 403);
    assert_eq!(entry(&server, &open_id).await["status"], "unmatched");
    let assigned = admin.post(&assignment, &fields, true).await;
    assert_eq!(
        (assigned.status, assigned.location.as_str()),
        (303, "/portal/network/statement-lines"),
        "{}",
        assigned.body
    );
    let (_, mgen) = server
        .get(
            &format!("/v1/contribution-batches/{mgen_batch}"),
            &fund.admin,
        )
        .await;
    assert_eq!(mgen["status"], "received", "{mgen}");
    assert_eq!(mgen["receipts"][0]["bank_reference"], "BANK-0002");
    assert_eq!(entry(&server, &open_id).await["status"], "assigned");

    // The other line: an unknown batch, then a batch owing less, refused at the batch field.
    let lines_page = admin.get("/portal/network/statement-lines").await;
    assert!(!lines_page.body.contains(&format!("id=\"line-{open_id}\"")));
    let assignment = format!("/portal/network/statement-lines/{unknown_id}/assignment");
    let assign_id = request_id_of(&lines_page.body, &assignment);
    let nowhere = "0190a0a0-0000-7000-8000-000000000000";
    let answer = admin
        .post(
            &assignment,
            &[("other_batch_id", nowhere), ("request_id", &assign_id)],
            true,
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let at_batch = answer
        .body
        .split(&format!("id=\"batch-{unknown_id}-error\""))
        .nth(1)
        .unwrap();
    assert!(at_batch.contains("Ce lot n’existe pas"), "{at_batch}");
    assert!(answer.body.contains(&format!("value=\"{nowhere}\"")));
    let answer = admin
        .post(
            &assignment,
            &[("other_batch_id", &csq_batch), ("request_id", &assign_id)],
            true,
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let at_batch = answer
        .body
        .split(&format!("id=\"batch-{unknown_id}-error\""))
        .nth(1)
        .unwrap();
    assert!(
        at_batch.contains("dépasse ce que le lot doit encore"),
        "{at_batch}"
    );
    assert_eq!(entry(&server, &unknown_id).await["status"], "unmatched");

    // Not ours: a reason is required, then it leaves the list.
    let not_ours = format!("/portal/network/statement-lines/{unknown_id}/not-ours");
    let dismiss_id = request_id_of(&lines_page.body, &not_ours);
    let answer = admin
        .post(
            &not_ours,
            &[("reason", " "), ("request_id", &dismiss_id)],
            true,
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let at_reason = answer
        .body
        .split(&format!("id=\"reason-{unknown_id}-error\""))
        .nth(1)
        .unwrap();
    assert!(at_reason.contains("Dites pourquoi"), "{at_reason}");
    assert_eq!(entry(&server, &unknown_id).await["status"], "unmatched");
    let reason = "un remboursement pour un autre compte du réseau";
    let dismissed = admin
        .post(
            &not_ours,
            &[("reason", reason), ("request_id", &dismiss_id)],
            true,
        )
        .await;
    assert_eq!(dismissed.status, 303, "{}", dismissed.body);
    assert_eq!(entry(&server, &unknown_id).await["status"], "not_ours");
    let lines_page = admin.get("/portal/network/statement-lines").await;
    assert!(
        !lines_page
            .body
            .contains(&format!("id=\"line-{unknown_id}\""))
    );
    assert!(
        lines_page
            .body
            .contains("Aucune ligne n’attend de décision")
    );
    let page = admin.get(&page_path).await;
    let decided = row_of(&page.body, "BANK-0003");
    assert!(decided.contains("Pas pour nous"), "{decided}");
    assert!(decided.contains(reason), "{decided}");

    // A second, different decision on it: 409, said on the page; nothing changes.
    let answer = admin
        .post(
            &assignment,
            &[("batch_id", &mgen_batch), ("request_id", "another-click")],
            true,
        )
        .await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    let said = answer.body.split("id=\"decision-error\"").nth(1).unwrap();
    assert!(said.contains("a déjà été traitée"), "{said}");
    assert_eq!(entry(&server, &unknown_id).await["status"], "not_ours");
    assert_eq!(journal_count(&server).await, journal_before + 3);
}

async fn the_statement_pages_refuse_whom_the_api_refuses(server: TestServer) {
    // Proves a union's treasurer and a mutual's manager get the 403 page on the statements'
    // list, a statement's page and the unmatched lines, and cannot upload or decide (nothing
    // written), as the API refuses them; an auditor reads the pages as the API lets it, and is
    // offered no upload or decision form.
    let fund = fund(&server).await;
    let (_, reference) = batch(&server, &fund, &fund.csq, "2026-08", 1000).await;
    let mut exact = Line::credit("1000.00", "BANK-R1");
    exact.creditor_reference = Some(reference);
    let mut open = Line::credit("7.00", "BANK-R2");
    open.debtor = Some("Quelqu’un".to_owned());
    let document = camt053("08", "STMT-R", &our_iban(), "EUR", &[exact, open]);
    let response = server
        .client
        .post(server.url("/v1/bank-statements"))
        .bearer_auth(&fund.admin)
        .header("idempotency-key", "statement-r")
        .header("content-type", "application/xml")
        .body(document.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let imported: Value = response.json().await.unwrap();
    let statement = imported["id"].as_str().unwrap();
    let line = imported["entries"][1]["id"].as_str().unwrap();
    let pages = [
        "/portal/network/statements".to_owned(),
        format!("/portal/network/statements/{statement}"),
        "/portal/network/statement-lines".to_owned(),
    ];
    for (email, organisation, role) in [
        ("t@csq.example", fund.csq.as_str(), "contributor"),
        ("m@burkina.example", fund.burkina.as_str(), "beneficiary"),
    ] {
        let mut browser = signed_in(&server, email, organisation, role).await;
        for path in &pages {
            let answer = browser.get(path).await;
            assert_eq!(answer.status, 403, "{role} {path}: {}", answer.body);
            assert!(answer.body.contains("Votre rôle ne donne pas accès"));
        }
        let other = camt053("08", "STMT-OTHER", &our_iban(), "EUR", &[]);
        let answer = upload_statement(&mut browser, "forbidden", other.as_bytes(), true).await;
        assert_eq!(answer.status, 403, "{role}: {}", answer.body);
        let answer = browser
            .post(
                &format!("/portal/network/statement-lines/{line}/not-ours"),
                &[("reason", "not ours"), ("request_id", "forbidden")],
                true,
            )
            .await;
        assert_eq!(answer.status, 403, "{role}: {}", answer.body);
    }
    assert_eq!(items(&server, "/v1/bank-statements").await.len(), 1);
    assert_eq!(entry(&server, line).await["status"], "unmatched");

    let mut auditor = signed_in(&server, "a@audit.example", NETWORK_ID, "auditor").await;
    for path in &pages {
        let answer = auditor.get(path).await;
        assert_eq!(answer.status, 200, "auditor {path}: {}", answer.body);
    }
    let list = auditor.get("/portal/network/statements").await;
    assert!(list.body.contains("STMT-R"));
    assert!(
        list.body
            .contains("<a href=\"/portal/network/statements\" aria-current=\"page\">"),
        "the auditor's navigation leads to the statements"
    );
    assert!(!list.body.contains("type=\"file\""), "{}", list.body);
    let lines = auditor.get("/portal/network/statement-lines").await;
    assert!(lines.body.contains(&format!("id=\"line-{line}\"")));
    assert!(!lines.body.contains("/not-ours\""), "{}", lines.body);
}

async fn the_statements_and_their_unmatched_lines_back_to_the_newest(server: TestServer) {
    // Proves the statements list pages 50 statements at a time, the newest first, and the
    // unmatched lines 100 at a time, the oldest first, each with "Older" links and a link back to
    // the newest, every statement and line shown once; the counts of unmatched lines (in all and
    // per statement) are of every line, not of a page; a line decided from an older page is
    // refused at its own form on that page and, decided, goes back to that page; a cursor the
    // list did not give is the 422 page.
    fund(&server).await;
    let mut admin = signed_in(&server, "admin@network.example", NETWORK_ID, "admin").await;
    let list_path = "/portal/network/statements";
    let request_id = request_id_of(&admin.get(list_path).await.body, list_path);
    let unknown = |n: usize| {
        let mut line = Line::credit("12.00", &format!("BANK-P{n:03}"));
        line.debtor = Some("Inconnu SARL".to_owned());
        line
    };
    let mut imports = Vec::new();
    for n in 0..51 {
        imports.push((format!("STMT-PAGED-{n:02}"), vec![unknown(n)]));
    }
    imports.push((
        "STMT-PAGED-BIG".to_owned(),
        (100..201).map(unknown).collect(),
    ));
    for (n, (statement, lines)) in imports.iter().enumerate() {
        let document = camt053("08", statement, &our_iban(), "EUR", lines);
        let answer = upload_statement(
            &mut admin,
            &format!("{request_id}-{n}"),
            document.as_bytes(),
            true,
        )
        .await;
        assert_eq!(answer.status, 303, "{statement}: {}", answer.body);
    }

    let statements = |body: &str| linked(body, "<td><a href=\"/portal/network/statements/");
    let listed = pages_of(&mut admin, list_path, list_path, statements).await;
    assert_eq!(sizes(&listed), [50, 2]);
    let first = admin.get(list_path).await;
    assert!(
        first
            .body
            .contains("Lignes non rapprochées à traiter : 152"),
        "{}",
        first.body
    );
    let newest = row_of(&first.body, ">STMT-PAGED-BIG<");
    assert!(newest.contains("<td class=\"num\">101</td>"), "{newest}");
    assert!(first.body.find(">STMT-PAGED-BIG<") < first.body.find(">STMT-PAGED-50<"));
    let older = older_link(&first.body).unwrap();
    let oldest = admin.get(&older).await;
    for statement in ["STMT-PAGED-00", "STMT-PAGED-01"] {
        let row = row_of(&oldest.body, &format!(">{statement}<"));
        assert!(row.contains("<td class=\"num\">1</td>"), "{row}");
    }

    let lines_path = "/portal/network/statement-lines";
    let lines = |body: &str| linked(body, "<li class=\"proposal\" id=\"line-");
    let pages = pages_of(&mut admin, lines_path, lines_path, lines).await;
    assert_eq!(sizes(&pages), [100, 52]);

    // A line of the older page: refused at its form there, then decided back to that page.
    let older = older_link(&admin.get(lines_path).await.body).unwrap();
    let page = admin.get(&older).await;
    let line = pages[1][0].clone();
    let cursor = older.split("?cursor=").nth(1).unwrap();
    let action = format!("/portal/network/statement-lines/{line}/not-ours?cursor={cursor}");
    let request_id = request_id_of(&page.body, &action);
    let refused = admin
        .post(
            &action,
            &[("reason", " "), ("request_id", &request_id)],
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(&format!("id=\"reason-{line}-error\"")),
        "{}",
        refused.body
    );
    assert_eq!(lines(&refused.body), pages[1]);
    assert!(
        refused.body.contains(&back_to(lines_path)),
        "{}",
        refused.body
    );
    let dismissed = admin
        .post(
            &action,
            &[
                ("reason", "pas pour le réseau"),
                ("request_id", &request_id),
            ],
            true,
        )
        .await;
    assert_eq!(
        (dismissed.status, dismissed.location.as_str()),
        (303, older.as_str()),
        "{}",
        dismissed.body
    );
    assert_eq!(entry(&server, &line).await["status"], "not_ours");

    for path in [list_path, lines_path] {
        let garbage = admin.get(&format!("{path}?cursor=c1zz")).await;
        assert_eq!(garbage.status, 422, "{path}: {}", garbage.body);
    }
}

on_both_engines!(
    the_statements_and_their_unmatched_lines_back_to_the_newest,
    a_statement_is_uploaded_shown_and_its_lines_decided,
    the_statement_pages_refuse_whom_the_api_refuses,
);
