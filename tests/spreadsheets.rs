//! End-to-end: the files of contribution batches, on SQLite and PostgreSQL. Batches sent as
//! spreadsheets (a French Excel CSV in Windows-1252 or UTF-8 with a BOM, an `.xlsx`) make the same
//! batch as the JSON one, with the same idempotency; bad and hostile files are refused naming the
//! row and column (or the file) and write nothing; templates are served per programme; every batch
//! says how to pay it (collection account, ISO 11649 creditor reference).

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use serde_json::{Value, json};
use support::{NETWORK_ID, TestServer, token};

on_both_engines!(
    french_csv_and_xlsx_batches_are_the_json_batch,
    bad_and_hostile_sheets_name_each_problem_and_write_nothing,
    templates_are_served_per_programme_and_language,
    each_batch_says_how_to_pay_it,
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The batch of every test: two sections (one with thousands), a donation.
const FRENCH_CSV: &str = "Référence;Membres;Montant;Type\r\n\
    Section Orléans;1 200;1 200,00;solidarité\r\n\
    Section Besançon;35;35,00;solidarité\r\n\
    ;;;\r\n\
    Kermesse;0;50,50;don\r\n";

fn json_batch(programme: &str, period: &str) -> Value {
    json!({
        "programme_id": programme,
        "period": period,
        "lines": [
            {"reference": "Section Orléans", "members": 1200, "amount": "1200.00", "kind": "solidarity"},
            {"reference": "Section Besançon", "members": 35, "amount": "35.00", "kind": "solidarity"},
            {"reference": "Kermesse", "members": 0, "amount": "50.50", "kind": "donation"}
        ]
    })
}

/// The same batch as an `.xlsx` with Spanish headers, numbers as number cells.
fn spanish_xlsx() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, header) in ["referencia", "miembros", "importe", "tipo"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, column as u16, *header).unwrap();
    }
    let lines: [(&str, f64, f64, &str); 3] = [
        ("Section Orléans", 1200.0, 1200.0, "solidaridad"),
        ("Section Besançon", 35.0, 35.0, "solidaridad"),
        ("Kermesse", 0.0, 50.5, "donación"),
    ];
    for (row, (reference, members, amount, kind)) in (1u32..).zip(lines) {
        sheet.write_string(row, 0, reference).unwrap();
        sheet.write_number(row, 1, members).unwrap();
        sheet.write_number(row, 2, amount).unwrap();
        sheet.write_string(row, 3, kind).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

async fn upload(
    server: &TestServer,
    token: &str,
    key: &str,
    query: &str,
    media_type: &str,
    body: Vec<u8>,
) -> (u16, Value, bool) {
    let response = server
        .client
        .post(server.url(&format!("/v1/contribution-batches?{query}")))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", media_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        replayed,
    )
}

/// What a batch is, without what differs between two submissions (ids, times, place in period).
async fn batch_content(server: &TestServer, token: &str, id: &str) -> Value {
    let (status, mut batch) = server
        .get(&format!("/v1/contribution-batches/{id}"), token)
        .await;
    assert_eq!(status, 200, "{batch}");
    let object = batch.as_object_mut().unwrap();
    for varying in [
        "id",
        "transaction_id",
        "created_at",
        "supplementary",
        "period",
        "payment_instructions",
    ] {
        object.remove(varying);
    }
    batch
}

async fn french_csv_and_xlsx_batches_are_the_json_batch(server: TestServer) {
    // Proves a French Excel CSV (`;`, decimal comma, thousands with a space, Windows-1252, and
    // again in UTF-8 with a BOM) and a Spanish `.xlsx` give the same batch as the JSON one
    // (lines, totals, status), and that a sheet's Idempotency-Key behaves as for JSON: the same
    // file again is a replay, another file with the key a conflict.
    let union = server
        .organisation("fsu", "contributor", "FR", "EUR", 200_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let union_token = token(&union, Role::Contributor);
    let (status, from_json) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "json-2026-09",
            &json_batch(&programme, "2026-09"),
        )
        .await;
    assert_eq!(status, 201, "{from_json}");
    let expected = batch_content(&server, &union_token, from_json["id"].as_str().unwrap()).await;
    assert_eq!(expected["totals"]["amount"]["amount"], "1285.50");

    let (windows_1252, _, unmappable) = encoding_rs::WINDOWS_1252.encode(FRENCH_CSV);
    assert!(!unmappable);
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(FRENCH_CSV.as_bytes());
    let uploads = [
        ("csv-1252", "2026-10", "text/csv", windows_1252.into_owned()),
        ("csv-bom", "2026-11", "text/csv; charset=utf-8", with_bom),
        ("xlsx", "2026-12", XLSX, spanish_xlsx()),
    ];
    for (key, period, media_type, body) in uploads {
        let query = format!("programme_id={programme}&period={period}");
        let (status, batch, replayed) =
            upload(&server, &union_token, key, &query, media_type, body.clone()).await;
        assert_eq!((status, replayed), (201, false), "{key}: {batch}");
        assert_eq!(batch["period"], period);
        let id = batch["id"].as_str().unwrap().to_owned();
        assert_eq!(
            batch_content(&server, &union_token, &id).await,
            expected,
            "{key}"
        );
        let (status, again, replayed) =
            upload(&server, &union_token, key, &query, media_type, body).await;
        assert_eq!((status, replayed), (201, true), "{key}: {again}");
        assert_eq!(again["id"], id.as_str());
    }
    // Another file under a key already used.
    let (status, conflict, _) = upload(
        &server,
        &union_token,
        "csv-1252",
        &format!("programme_id={programme}&period=2026-10"),
        "text/csv",
        b"reference,members,amount\nother,1,1.00\n".to_vec(),
    )
    .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["code"], "idempotency_conflict");
    let (_, list) = server.get("/v1/contribution-batches", &union_token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
}

/// A zip archive with one member of `megabytes` MiB of zeros (a few kilobytes compressed).
fn zip_bomb(megabytes: usize) -> Vec<u8> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    archive
        .start_file(
            "xl/worksheets/sheet1.xml",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..megabytes {
        archive.write_all(&zeros).unwrap();
    }
    archive.finish().unwrap().into_inner()
}

/// An `.xlsx` whose amount is a formula.
fn xlsx_with_a_formula() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, header) in ["reference", "members", "amount"].iter().enumerate() {
        sheet.write_string(0, column as u16, *header).unwrap();
    }
    sheet.write_string(1, 0, "Leeds").unwrap();
    sheet.write_number(1, 1, 10.0).unwrap();
    sheet
        .write_formula(
            1,
            2,
            rust_xlsxwriter::Formula::new("=B2*1").set_result("10"),
        )
        .unwrap();
    workbook.save_to_buffer().unwrap()
}

async fn bad_and_hostile_sheets_name_each_problem_and_write_nothing(server: TestServer) {
    // Proves every bad cell of a sheet is listed at once as `row N, column "header"` (the
    // reader's problems and the command's own, such as an amount that is not members × rate), a
    // missing column and a missing query parameter are named, and hostile files (a formula, a zip
    // bomb, a file over the size limit, something that is no workbook) are refused; nothing is
    // written by any of them.
    let union = server
        .organisation("fsu", "contributor", "FR", "EUR", 200_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let union_token = token(&union, Role::Contributor);
    let query = format!("programme_id={programme}&period=2026-10");
    let fields = |problem: &Value| -> Vec<(String, String)> {
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| {
                (
                    error["field"].as_str().unwrap().to_owned(),
                    error["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };

    let bad_cells = "référence;membres;montant;type\n\
        Lyon;douze;12,00;solidarité\n\
        =HYPERLINK(\"http://evil.example\");3;3,00;solidarité\n\
        Nice;3;3,00;cadeau\n";
    let (status, problem, _) = upload(
        &server,
        &union_token,
        "bad-cells",
        &query,
        "text/csv",
        bad_cells.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "validation_failed");
    let named: Vec<String> = fields(&problem)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(
        named,
        [
            "row 2, column \"membres\"",
            "row 3, column \"référence\"",
            "row 4, column \"type\""
        ]
    );

    // The command's own rule, named by the row and column the line came from.
    let (status, problem, _) = upload(
        &server,
        &union_token,
        "wrong-amount",
        &query,
        "text/csv",
        b"reference;members;amount\nLyon;12;12,00\nNice;10;12,00\n".to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let problems = fields(&problem);
    assert_eq!(problems.len(), 1, "{problem}");
    assert_eq!(problems[0].0, "row 3, column \"amount\"");
    assert!(problems[0].1.contains("members × rate"), "{problem}");

    let (status, problem, _) = upload(
        &server,
        &union_token,
        "no-amount",
        &query,
        "text/csv",
        "référence;membres;total\nLyon;12;12,00\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem)[0].0, "row 1");
    assert!(fields(&problem)[0].1.contains("\"montant\""), "{problem}");

    let (status, problem, _) = upload(
        &server,
        &union_token,
        "no-period",
        &format!("programme_id={programme}"),
        "text/csv",
        b"reference,members,amount\nLyon,12,12.00\n".to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem)[0].0, "period");

    let (status, problem, _) = upload(
        &server,
        &union_token,
        "formula",
        &query,
        XLSX,
        xlsx_with_a_formula(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        fields(&problem),
        [(
            "row 2, column \"amount\"".to_owned(),
            "is a formula: type (or paste) its value instead".to_owned()
        )]
    );

    let (status, problem, _) =
        upload(&server, &union_token, "bomb", &query, XLSX, zip_bomb(100)).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem)[0].0, "file");
    assert!(
        fields(&problem)[0].1.contains("inflates to more than"),
        "{problem}"
    );

    let (status, problem, _) = upload(
        &server,
        &union_token,
        "not-a-workbook",
        &query,
        XLSX,
        FRENCH_CSV.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem)[0].0, "file");

    let huge = "reference,members,amount\n".to_owned() + &"Lyon,1,1.00\n".repeat(800_000);
    let (status, problem, _) = upload(
        &server,
        &union_token,
        "huge",
        &query,
        "text/csv",
        huge.into_bytes(),
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["code"], "payload_too_large");

    let (_, list) = server.get("/v1/contribution-batches", &union_token).await;
    assert_eq!(list["items"], json!([]));
}

async fn templates_are_served_per_programme_and_language(server: TestServer) {
    // Proves a programme's template comes as CSV (French: `;`, UTF-8 with a BOM) and as an
    // `.xlsx` workbook named after the programme, that an unknown language or programme is
    // refused, and that a filled French template is accepted as a batch.
    let union = server
        .organisation("fsu", "contributor", "FR", "EUR", 200_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let union_token = token(&union, Role::Contributor);
    let path = format!("/v1/programmes/{programme}/batch-template");
    let response = server
        .client
        .get(server.url(&format!("{path}?format=csv&language=fr")))
        .bearer_auth(&union_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"solidarity-euro-fr.csv\""
    );
    let mut filled = response.bytes().await.unwrap().to_vec();
    assert_eq!(
        filled,
        "\u{feff}référence;membres;montant;type\r\n".as_bytes()
    );
    filled.extend_from_slice("Section Lyon;12;12,00;solidarité\r\n".as_bytes());
    let (status, batch, _) = upload(
        &server,
        &union_token,
        "filled-template",
        &format!("programme_id={programme}&period=2026-10"),
        "text/csv",
        filled,
    )
    .await;
    assert_eq!(status, 201, "{batch}");

    let response = server
        .client
        .get(server.url(&format!("{path}?format=xlsx&language=es")))
        .bearer_auth(&union_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], XLSX);
    assert!(response.bytes().await.unwrap().starts_with(b"PK\x03\x04"));

    let (status, problem) = server
        .get(&format!("{path}?language=de"), &union_token)
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "language");
    let (status, _) = server
        .get(
            "/v1/programmes/00000000-0000-0000-0000-00000000dead/batch-template",
            &token(NETWORK_ID, Role::Admin),
        )
        .await;
    assert_eq!(status, 404);
}

async fn each_batch_says_how_to_pay_it(server: TestServer) {
    // Proves a batch's answer, its read and the list carry the same payment instructions: the
    // configured collection account and an ISO 11649 creditor reference whose check digits
    // verify, different for each batch (whether sent as JSON or as a sheet).
    use ledger_core::payment_reference::CreditorReference;
    let union = server
        .organisation("fsu", "contributor", "FR", "EUR", 200_000)
        .await;
    let programme = server.programme("Solidarity euro").await;
    let union_token = token(&union, Role::Contributor);
    let (status, first) = server
        .post(
            "/v1/contribution-batches",
            &union_token,
            "json-2026-09",
            &json_batch(&programme, "2026-09"),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, second, _) = upload(
        &server,
        &union_token,
        "csv-2026-10",
        &format!("programme_id={programme}&period=2026-10"),
        "text/csv",
        FRENCH_CSV.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let mut references = Vec::new();
    for batch in [&first, &second] {
        let instructions = &batch["payment_instructions"];
        assert_eq!(
            instructions["collection_account"],
            json!({
                "holder": "Education and Solidarity Network",
                "iban": "FR7630006000011234567890189",
                "account_number": null,
                "bic": "AGRIFRPP",
                "currency": "EUR",
                "recorded_version": null
            })
        );
        let reference = instructions["creditor_reference"].as_str().unwrap();
        let parsed = CreditorReference::parse(reference).unwrap();
        assert_eq!(
            instructions["creditor_reference_printed"],
            parsed.printed().as_str()
        );
        let id = batch["id"].as_str().unwrap();
        let (_, read) = server
            .get(&format!("/v1/contribution-batches/{id}"), &union_token)
            .await;
        assert_eq!(read["payment_instructions"], *instructions);
        references.push(reference.to_owned());
    }
    assert_ne!(references[0], references[1]);
    let (_, list) = server.get("/v1/contribution-batches", &union_token).await;
    let mut listed: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|batch| {
            batch["payment_instructions"]["creditor_reference"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    listed.sort();
    references.sort();
    assert_eq!(listed, references);
}
