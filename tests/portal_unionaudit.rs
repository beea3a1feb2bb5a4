//! End-to-end tests of a union's and an auditor's portal pages (issue 21, items 2 and 5) on
//! SQLite and PostgreSQL: a spreadsheet batch refused at its cells then accepted, the template in
//! the page's language, "where are our members' euros", the annual statement, API keys created
//! and revoked; the auditor's export, verification, trial balance and checkpoints; and every
//! page refused to the roles and organisations the API refuses.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::Value;
use support::portal::{hidden, signed_in};
use support::southern::{burkina_paid_for_september, fund};
use support::{NETWORK_ID, TestServer, today, token};

/// How many items the API lists at `path` to a contributor of `organisation`.
async fn listed(server: &TestServer, path: &str, organisation: &str) -> usize {
    let (status, list) = server
        .get(path, &token(organisation, Role::Contributor))
        .await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().len()
}

async fn a_union_uploads_a_spreadsheet_refused_at_its_cells_then_right(server: TestServer) {
    // Proves the upload reads the sheet as the API does and runs the same command: a French CSV
    // with a bad cell is refused with "ligne 3, colonne « membres »" on the page and nothing
    // written, a wrong amount (the command's rule) is named by its row and column too, a right
    // sheet is written once (sent twice: the same batch), and the template downloads in the
    // page's language. Without its CSRF token the upload is refused.
    let fund = fund(&server).await;
    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let home = union.get("/portal").await.text();
    assert!(home.contains("action=\"/portal/upload\""), "{home}");
    assert!(home.contains("enctype=\"multipart/form-data\""));
    let template = format!("/portal/programmes/{}/template?format=csv", fund.programme);
    assert!(home.contains(&template.replace('&', "&amp;")), "{home}");
    let file = union.get(&template).await;
    assert_eq!(file.status, 200);
    let disposition = file.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.ends_with("-fr.csv\""), "{disposition}");
    assert!(file.text().contains("membres"), "{}", file.text());
    let xlsx = union
        .get(&template.replace("format=csv", "format=xlsx"))
        .await;
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.bytes.starts_with(b"PK"));

    let period = today()[..7].to_owned();
    let request_id = hidden(&home, "request_id");
    let upload_id = home
        .split("action=\"/portal/upload\"")
        .nth(1)
        .map(|form| hidden(form, "request_id"))
        .unwrap();
    assert_ne!(upload_id, request_id);
    let fields = [
        ("programme_id", fund.programme.as_str()),
        ("period", period.as_str()),
        ("request_id", upload_id.as_str()),
    ];
    let bad = "référence;membres;montant\nSection Montréal;10;10,00\nSection Québec;dix;5,00\n";
    let refused = union
        .upload(
            "/portal/upload",
            &fields,
            ("cotisations.csv", bad.as_bytes()),
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    let page = refused.text();
    assert!(page.contains("ligne 3, colonne « membres »"), "{page}");
    assert!(page.contains("rien n’a été enregistré"), "{page}");
    assert_eq!(
        listed(&server, "/v1/contribution-batches", &fund.csq).await,
        0
    );
    // The page offers the form again, with a new request id.
    let again = hidden(&page, "request_id");
    assert_ne!(again, upload_id);

    let wrong = "référence;membres;montant\nSection Montréal;10;10,00\nSection Québec;5;9,00\n";
    let fields = [
        ("programme_id", fund.programme.as_str()),
        ("period", period.as_str()),
        ("request_id", again.as_str()),
    ];
    let refused = union
        .upload(
            "/portal/upload",
            &fields,
            ("cotisations.csv", wrong.as_bytes()),
            true,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        refused.text().contains("ligne 3, colonne « montant »"),
        "{}",
        refused.text()
    );
    assert_eq!(
        listed(&server, "/v1/contribution-batches", &fund.csq).await,
        0
    );

    let right = "référence;membres;montant\nSection Montréal;10;10,00\nSection Québec;5;5,00\n";
    let forged = union
        .upload(
            "/portal/upload",
            &fields,
            ("cotisations.csv", right.as_bytes()),
            false,
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        listed(&server, "/v1/contribution-batches", &fund.csq).await,
        0
    );
    let done = union
        .upload(
            "/portal/upload",
            &fields,
            ("cotisations.csv", right.as_bytes()),
            true,
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert!(done.location.starts_with("/portal/batches/"));
    let twice = union
        .upload(
            "/portal/upload",
            &fields,
            ("cotisations.csv", right.as_bytes()),
            true,
        )
        .await;
    assert_eq!(twice.location, done.location);
    assert_eq!(
        listed(&server, "/v1/contribution-batches", &fund.csq).await,
        1
    );
    let batch = union.get(&done.location).await.text();
    assert!(batch.contains("Section Québec"), "{batch}");
    assert!(batch.contains("15,00\u{a0}€"), "{batch}");

    // A file that is no spreadsheet is refused on the page, not with a 500.
    let refused = union
        .upload("/portal/upload", &fields, ("notes.pdf", b"%PDF-1.4"), true)
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("ni un CSV ni un fichier Excel"));
}

async fn a_union_sees_where_its_euros_went_and_its_statement(server: TestServer) {
    // Proves "where are our members' euros" draws and tables the tracing query's figures (the
    // euros sent to the Burkina mutual, with the checkpoint they were read at), the statement of
    // a year is the API's, printable, and both are the union's alone: a mutual's user is refused
    // the tracing page as the API refuses its query.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let (status, tracing) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.csq),
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(status, 200, "{tracing}");
    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let euros = union.get("/portal/euros").await;
    assert_eq!(euros.status, 200, "{}", euros.text());
    let page = euros.text();
    assert!(page.contains("<svg"), "{page}");
    assert!(!page.contains("<script"));
    let share = &tracing["beneficiaries"][0];
    // The mutual is named as the registry names it (its apostrophe escaped), not by its slug.
    assert!(
        page.contains("Mutuelle de l&#x27;éducation de base (Burkina Faso)"),
        "{page}"
    );
    assert!(
        !page.contains(share["beneficiary"].as_str().unwrap()),
        "{page}"
    );
    let sent = share["in_transit"]["amount"].as_str().unwrap();
    let received = share["received"]["amount"].as_str().unwrap();
    let shown = if sent == "0.00" { received } else { sent };
    assert!(
        page.contains(&format!("{}\u{a0}€", shown.replace('.', ","))),
        "{shown} {page}"
    );
    let sequence = tracing["checkpoint"]["sequence"].as_u64().unwrap();
    assert!(
        page.contains(&format!("point de contrôle signé {sequence}")),
        "{page}"
    );

    let statement = union.get("/portal/statement?year=2026").await;
    assert_eq!(statement.status, 200, "{}", statement.text());
    let page = statement.text();
    assert!(page.contains("Relevé 2026"), "{page}");
    let thousand = ledger_web::format::money("1000.00", "EUR", ledger_web::i18n::Lang::Fr);
    assert!(page.contains(&thousand), "{page}");
    assert!(page.contains("point de contrôle signé"), "{page}");
    assert!(page.contains("<option value=\"2026\" selected>"), "{page}");
    assert_eq!(union.get("/portal/statement?year=1999").await.status, 404);
    assert_eq!(union.get("/portal/statement?year=soon").await.status, 404);
    let css = union.get("/static/site.css").await.text();
    assert!(
        css.contains("@media print"),
        "the statement prints without the site's frame"
    );

    let mut mutual = signed_in(&server, "t@burkina.example", &fund.burkina, "beneficiary").await;
    assert_eq!(mutual.get("/portal/euros").await.status, 403);
    let (status, _) = server
        .get(
            &format!("/v1/tracing/contributors/{}", fund.csq),
            &token(&fund.burkina, Role::Beneficiary),
        )
        .await;
    assert_eq!(status, 403);
}

async fn a_union_creates_and_revokes_an_api_key(server: TestServer) {
    // Proves the keys page runs the people actions: a key created is shown once and works on the
    // API, the list never shows it again, revoking it makes the API refuse it; another union's
    // user cannot revoke it (404, as in the API); a form without its CSRF token does nothing.
    let fund = fund(&server).await;
    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let page = union.get("/portal/keys").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Aucune clé"), "{}", page.text());
    assert_eq!(
        union
            .post("/portal/keys", &[("name", "comptabilité")], false)
            .await
            .status,
        403
    );
    let request = hidden(&page.text(), "request_id");
    let created = union
        .post(
            "/portal/keys",
            &[("name", "comptabilité"), ("request_id", &request)],
            true,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let page = created.text();
    let key = page
        .split("value=\"slk_")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let key = format!("slk_{key}");
    assert!(page.contains("ne sera plus jamais affichée"));
    let (status, _) = server.get("/v1/contribution-batches", &key).await;
    assert_eq!(status, 200);
    let listed = union.get("/portal/keys").await.text();
    assert!(listed.contains("comptabilité"));
    assert!(!listed.contains(&key));
    let (_, keys) = server
        .get("/v1/api-keys", &token(&fund.csq, Role::Contributor))
        .await;
    let id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let revoke = format!("/portal/keys/{id}/revoke");

    let mut other = signed_in(&server, "t@mgen.example", &fund.mgen, "contributor").await;
    assert_eq!(other.post(&revoke, &[], true).await.status, 404);
    assert_eq!(union.post(&revoke, &[], false).await.status, 403);
    let (status, _) = server.get("/v1/contribution-batches", &key).await;
    assert_eq!(status, 200);

    let revoked = union.post(&revoke, &[], true).await;
    assert_eq!(
        (revoked.status, revoked.location.as_str()),
        (303, "/portal/keys")
    );
    let (status, _) = server.get("/v1/contribution-batches", &key).await;
    assert_eq!(status, 401);
    assert!(
        union
            .get("/portal/keys")
            .await
            .text()
            .contains("révoquée le")
    );
}

async fn the_same_key_form_sent_twice_creates_one_key(server: TestServer) {
    // Proves the keys form is idempotent by its one-off request id: sent twice, one after the
    // other or both at once, it creates one key; the second answer names the key the first
    // created and shows no secret (it is kept only as a hash); the same request id with another
    // name is refused (409) and a form without its request id (400), nothing created.
    let fund = fund(&server).await;
    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    let request = hidden(&union.get("/portal/keys").await.text(), "request_id");
    let fields = [("name", "comptabilité"), ("request_id", request.as_str())];
    let first = union.post("/portal/keys", &fields, true).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.text().contains("value=\"slk_"), "{}", first.text());
    let again = union.post("/portal/keys", &fields, true).await;
    assert_eq!(again.status, 200, "{}", again.text());
    let page = again.text();
    assert!(
        !page.contains("value=\"slk_"),
        "the secret is never shown twice: {page}"
    );
    assert!(page.contains("Ce formulaire a déjà été envoyé"), "{page}");
    assert!(page.contains("« comptabilité »"), "{page}");
    assert_eq!(listed(&server, "/v1/api-keys", &fund.csq).await, 1);
    let renamed = [("name", "autre"), ("request_id", request.as_str())];
    assert_eq!(union.post("/portal/keys", &renamed, true).await.status, 409);
    assert_eq!(
        union
            .post("/portal/keys", &[("name", "sans identifiant")], true)
            .await
            .status,
        400
    );
    assert_eq!(listed(&server, "/v1/api-keys", &fund.csq).await, 1);

    // A double click: both sendings at once, from the same signed-in browser.
    let request = hidden(&union.get("/portal/keys").await.text(), "request_id");
    let fields = [
        ("name", "export nocturne"),
        ("request_id", request.as_str()),
    ];
    let mut twin = union.twin();
    let (left, right) = tokio::join!(
        union.post("/portal/keys", &fields, true),
        twin.post("/portal/keys", &fields, true)
    );
    assert_eq!((left.status, right.status), (200, 200));
    let secrets_shown = [left.text(), right.text()]
        .iter()
        .filter(|page| page.contains("value=\"slk_"))
        .count();
    assert_eq!(secrets_shown, 1);
    assert_eq!(listed(&server, "/v1/api-keys", &fund.csq).await, 2);
}

async fn an_auditor_exports_verifies_and_reads_the_books(server: TestServer) {
    // Proves the auditor's pages: the home redirects to /portal/audit, which lists the signed
    // checkpoints and the trial balance (as at an accounting date too; a bad date refused at its
    // field); the export downloads with its checkpoint; an uploaded export is verified as
    // `verify --file` does: consistent with itself only, or matching the chosen checkpoint;
    // a changed byte breaks it, and a file that is no export is said to be one.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let mut auditor = signed_in(&server, "audit@network.example", NETWORK_ID, "auditor").await;
    let home = auditor.get("/portal").await;
    assert_eq!(
        (home.status, home.location.as_str()),
        (303, "/portal/audit")
    );
    let page = auditor.get("/portal/audit").await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.text();
    let latest: Value = server
        .client
        .get(server.url("/v1/checkpoints/latest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sequence = latest["sequence"].as_u64().unwrap();
    assert!(sequence > 2, "{latest}");
    assert!(page.contains(latest["hash"].as_str().unwrap()), "{page}");
    assert!(page.contains("Chaque monnaie s’équilibre à zéro"), "{page}");
    let dated = auditor.get("/portal/audit?as_of=2026-09-01").await;
    assert_eq!(dated.status, 200);
    assert!(
        dated.text().contains("Au 1 septembre 2026")
            || dated.text().contains("Au 1er septembre 2026"),
        "{}",
        dated.text()
    );
    let refused = auditor.get("/portal/audit?as_of=demain").await;
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("Donnez une date comme 2026-11-30"));

    let export = auditor.get("/portal/audit/export?format=jsonl").await;
    assert_eq!(export.status, 200);
    let named: Value =
        serde_json::from_str(export.headers["ledger-checkpoint"].to_str().unwrap()).unwrap();
    assert_eq!(named, latest);
    assert!(
        export.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".jsonl")
    );
    let file = export.bytes;
    let csv = auditor.get("/portal/audit/export?format=csv").await;
    assert_eq!(csv.status, 200);

    let alone = auditor
        .upload("/portal/audit/verify", &[], ("journal.jsonl", &file), true)
        .await;
    assert_eq!(alone.status, 200, "{}", alone.text());
    assert!(
        alone.text().contains("cohérent avec lui-même seulement"),
        "{}",
        alone.text()
    );
    let against = sequence.to_string();
    let proven = auditor
        .upload(
            "/portal/audit/verify",
            &[("checkpoint", &against)],
            ("journal.jsonl", &file),
            true,
        )
        .await;
    assert!(
        proven
            .text()
            .contains(&format!("conforme au point de contrôle {sequence}")),
        "{}",
        proven.text()
    );
    let proven_csv = auditor
        .upload(
            "/portal/audit/verify",
            &[("checkpoint", &against), ("format", "csv")],
            ("copie", &csv.bytes),
            true,
        )
        .await;
    assert!(proven_csv.text().contains("conforme au point de contrôle"));
    // One amount changed in the first transaction: the chain breaks.
    let text = String::from_utf8(file.clone()).unwrap();
    let tampered = text.replacen("\"amount_minor\":100000}", "\"amount_minor\":100001}", 1);
    assert_ne!(tampered, text);
    let broken = auditor
        .upload(
            "/portal/audit/verify",
            &[("checkpoint", &against)],
            ("journal.jsonl", tampered.as_bytes()),
            true,
        )
        .await;
    assert!(broken.text().contains("Non valide"), "{}", broken.text());
    let garbage = auditor
        .upload(
            "/portal/audit/verify",
            &[],
            ("journal.jsonl", b"hello\n"),
            true,
        )
        .await;
    assert!(
        garbage.text().contains("pas un fichier d’export lisible"),
        "{}",
        garbage.text()
    );
    let unknown = auditor
        .upload(
            "/portal/audit/verify",
            &[("checkpoint", "999999")],
            ("journal.jsonl", &file),
            true,
        )
        .await;
    assert_eq!(unknown.status, 422);
    let forged = auditor
        .upload("/portal/audit/verify", &[], ("journal.jsonl", &file), false)
        .await;
    assert_eq!(forged.status, 403);
}

async fn a_contributor_is_refused_the_audit_pages(server: TestServer) {
    // Proves the auditor's pages check the API's policy: a union's user is refused the audit
    // home, the export and the verification (403), as the API refuses it the export.
    let fund = fund(&server).await;
    let mut union = signed_in(&server, "t@csq.example", &fund.csq, "contributor").await;
    assert_eq!(union.get("/portal/audit").await.status, 403);
    assert_eq!(
        union.get("/portal/audit/export?format=jsonl").await.status,
        403
    );
    let verify = union
        .upload(
            "/portal/audit/verify",
            &[],
            ("journal.jsonl", b"{}\n"),
            true,
        )
        .await;
    assert_eq!(verify.status, 403);
    let (status, _) = server
        .get(
            "/v1/audit/export?format=jsonl",
            &token(&fund.csq, Role::Contributor),
        )
        .await;
    assert_eq!(status, 403);
}

on_both_engines!(
    a_union_uploads_a_spreadsheet_refused_at_its_cells_then_right,
    a_union_sees_where_its_euros_went_and_its_statement,
    a_union_creates_and_revokes_an_api_key,
    the_same_key_form_sent_twice_creates_one_key,
    an_auditor_exports_verifies_and_reads_the_books,
    a_contributor_is_refused_the_audit_pages,
);
