//! End-to-end tests of the public site on SQLite and PostgreSQL (issue 20): pages served at `/` by
//! the service's own router, naming only the organisations that agreed (the publication choice,
//! made by the organisation itself or the network's admin, stored append-only), with figures
//! equal to the API's, everything escaped, the language negotiated and remembered, and the
//! security headers of pages.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ledger_api::auth::Role;
use ledger_testkit::on_both_engines;
use reqwest::Method;
use serde_json::{Value, json};
use support::southern::{burkina_paid_for_september, fund};
use support::{NETWORK_ID, TestServer, token};

async fn page(server: &TestServer, path: &str, language: &str) -> (u16, String) {
    let response = server
        .request(Method::GET, path)
        .header("accept-language", language)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn choose(server: &TestServer, organisation: &str, caller: &str, published: bool) -> u16 {
    let (status, _) = server
        .post(
            &format!("/v1/organisations/{organisation}/publication"),
            caller,
            &format!(
                "publication-{organisation}-{published}-{}",
                &caller[caller.len() - 8..]
            ),
            &json!({"published": published}),
        )
        .await;
    status
}

async fn open_fund(server: &TestServer) -> Value {
    let response = server
        .request(Method::GET, "/open-data/fund.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

async fn only_what_organisations_agreed_to_publish_is_named(server: TestServer) {
    // Proves the defaults (a union unnamed until it chooses, a mutual named until it refuses),
    // that a union chooses for itself but not for another, that an auditor may not choose, that
    // the latest choice is in force, and that an unpublished organisation's page is a 404.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let (status, home) = page(&server, "/", "fr").await;
    assert_eq!(status, 200);
    assert!(home.contains("Autres syndicats (non nommés)"), "{home}");
    assert!(!home.contains("CSQ"));
    assert_eq!(page(&server, "/unions/csq", "fr").await.0, 404);
    assert_eq!(page(&server, "/mutuals/mesp", "fr").await.0, 200);

    let csq = token(&fund.csq, Role::Contributor);
    assert_eq!(choose(&server, &fund.mgen, &csq, true).await, 403);
    let auditor = token(NETWORK_ID, Role::Auditor);
    assert_eq!(choose(&server, &fund.csq, &auditor, true).await, 403);
    assert_eq!(choose(&server, NETWORK_ID, &fund.admin, true).await, 422);
    assert_eq!(choose(&server, &fund.csq, &csq, true).await, 201);
    let (_, home) = page(&server, "/", "fr").await;
    assert!(home.contains(">CSQ</a>"), "{home}");
    let (status, union) = page(&server, "/unions/csq", "en").await;
    assert_eq!(status, 200);
    assert!(union.contains("€1,000.00"), "{union}");

    let mesp = token(&fund.mesp, Role::Beneficiary);
    assert_eq!(choose(&server, &fund.mesp, &mesp, false).await, 201);
    assert_eq!(page(&server, "/mutuals/mesp", "fr").await.0, 404);
    let (_, directory) = page(&server, "/mutuals", "fr").await;
    assert!(!directory.contains("MESP"), "{directory}");
    assert!(directory.contains("Burkina"), "{directory}");
    let opened = open_fund(&server).await;
    assert!(!opened.to_string().contains("MESP"), "{opened}");
    // The network's admin may choose for it again; the latest choice is in force.
    assert_eq!(choose(&server, &fund.mesp, &fund.admin, true).await, 201);
    assert_eq!(page(&server, "/mutuals/mesp", "fr").await.0, 200);
}

/// EUR cents of an amount with two decimals (`"1000.00"`), exactly.
fn cents(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap();
    assert_eq!(fraction.len(), 2, "{amount}");
    format!("{whole}{fraction}").parse().unwrap()
}

async fn the_public_figures_equal_the_apis(server: TestServer) {
    // Proves the fund's public totals are the API's tracing of every contributor, summed.
    let fund = fund(&server).await;
    burkina_paid_for_september(&server, &fund).await;
    let mut received = 0_i64;
    let mut in_transit = 0_i64;
    let mut held = 0_i64;
    for contributor in [&fund.csq, &fund.mgen] {
        let (status, tracing) = server
            .get(
                &format!("/v1/tracing/contributors/{contributor}"),
                &fund.admin,
            )
            .await;
        assert_eq!(status, 200, "{tracing}");
        let amount = |name: &str| cents(tracing[name]["amount"].as_str().unwrap());
        received += amount("received_total");
        in_transit += amount("in_transit");
        held += amount("held");
    }
    let opened = open_fund(&server).await;
    let public = |name: &str| cents(opened["totals"][name]["amount"].as_str().unwrap());
    assert_eq!(public("received"), received);
    assert_eq!(public("in_transit"), in_transit);
    assert_eq!(public("held"), held);
    assert_eq!(public("transferred"), 60_000);
    let (_, home) = page(&server, "/", "es").await;
    assert!(home.contains("1.000,00\u{a0}€"), "{home}");
    assert!(home.contains("600,00\u{a0}€"), "{home}");
    let (_, csv) = page(&server, "/open-data/fund.csv", "es").await;
    assert!(csv.starts_with("year,programme_id,"), "{csv}");
    assert!(csv.contains(",1000.00,600.00,"), "{csv}");
}

async fn a_hostile_name_is_shown_as_text(server: TestServer) {
    // Proves organisation names are escaped on every page that shows them.
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, body) = server
        .post(
            "/v1/organisations",
            &token(NETWORK_ID, Role::Admin),
            "hostile",
            &json!({"slug": "hostile", "name": hostile, "kind": "beneficiary", "country": "BF",
                    "currency": "XOF", "covered_members": 10}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for path in ["/mutuals", "/mutuals/hostile"] {
        let (status, html) = page(&server, path, "en").await;
        assert_eq!(status, 200);
        assert!(!html.contains("<script"), "{path}: {html}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{path}: {html}"
        );
    }
}

async fn pages_negotiate_and_remember_the_language_and_carry_a_strict_policy(server: TestServer) {
    // Proves Accept-Language, the switch's cookie (which wins), the switch's refusal to send
    // elsewhere, the security headers of pages, and that the API keeps its JSON 404.
    let (_, spanish) = page(&server, "/", "es-ES,es;q=0.9").await;
    assert!(spanish.contains("<html lang=\"es\">"));
    assert!(spanish.contains("El euro solidario"));
    let switched = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("/language/en?next=//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 303);
    assert_eq!(switched.headers()["location"], "/");
    let cookie = switched.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("lang=en;"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"));
    let response = server
        .request(Method::GET, "/mutuals")
        .header("accept-language", "fr")
        .header("cookie", "lang=en")
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("Member mutuals"));
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(!html.contains("<script"));
    assert!(!html.contains(" style="));
    let (status, missing) = page(&server, "/mutuals/nobody", "fr").await;
    assert_eq!(status, 404);
    assert!(missing.contains("Page introuvable"));
    let (status, body) = server.get("/v1/nothing-here", "").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
}

on_both_engines!(
    only_what_organisations_agreed_to_publish_is_named,
    the_public_figures_equal_the_apis,
    a_hostile_name_is_shown_as_text,
    pages_negotiate_and_remember_the_language_and_carry_a_strict_policy,
);
