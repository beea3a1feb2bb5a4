//! Fixtures of the end-to-end tests of the southern side: two unions, a Burkina Faso mutual (XOF,
//! with a fee schedule) and MESP (CDF), a monthly programme with two conditions, and helpers to
//! contribute, record facts, pay the September run and read balances straight from the ledger.

use ledger_api::auth::Role;
use ledger_core::OrganisationId;
use ledger_store::{Store, StoreOptions};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{NETWORK_ID, TestServer, token};

pub struct Fund {
    pub admin: String,
    pub programme: String,
    pub csq: String,
    pub mgen: String,
    pub burkina: String,
    pub mesp: String,
}

pub async fn fund(server: &TestServer) -> Fund {
    let admin = token(NETWORK_ID, Role::Admin);
    let csq = server
        .organisation("csq", "contributor", "CA", "CAD", 125_000)
        .await;
    let mgen = server
        .organisation("mgen", "contributor", "FR", "EUR", 40_000)
        .await;
    let (status, burkina) = server
        .post(
            "/v1/organisations",
            &admin,
            "org-burkina",
            &json!({"slug": "mutuelle-education-bf", "name": "Mutuelle de l'éducation de base (Burkina Faso)",
                    "kind": "beneficiary", "country": "BF", "currency": "XOF", "covered_members": 6000,
                    "fee_schedule": {"fixed": "15.00", "percent": "0.5"}}),
        )
        .await;
    assert_eq!(status, 201, "{burkina}");
    let mesp = server
        .organisation("mesp", "beneficiary", "CD", "CDF", 4000)
        .await;
    let (status, programme) = server
        .post(
            "/v1/programmes",
            &admin,
            "programme-transfers",
            &json!({"name": "Solidarity euro", "currency": "EUR", "rate_per_member": "1.00", "period": "month",
                    "allocation": {"policy": "pro_rata_covered_members"},
                    "conditions": [{"code": "mutual_operational"}, {"code": "public_cofinancing", "parameter": "5"}],
                    "minimum_transfer": "100.00", "admin_cost_cap_percent": "15",
                    "fee_schedule": {"fixed": "10.00", "percent": "0"}}),
        )
        .await;
    assert_eq!(status, 201, "{programme}");
    Fund {
        admin,
        programme: programme["id"].as_str().unwrap().to_owned(),
        csq,
        mgen,
        burkina: burkina["id"].as_str().unwrap().to_owned(),
        mesp,
    }
}

/// A batch of `members` solidarity euros for `period`, received in full on `value_date`.
pub async fn contribute(
    server: &TestServer,
    fund: &Fund,
    union: &str,
    period: &str,
    members: i64,
    value_date: &str,
) {
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(union, Role::Contributor),
            &format!("batch-{union}-{period}-{value_date}"),
            &json!({"programme_id": fund.programme, "period": period, "lines": [
                {"reference": "all-sections", "members": members, "amount": format!("{members}.00"), "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let (status, receipt) = server
        .post(
            &format!("/v1/contribution-batches/{}/receipts", batch["id"].as_str().unwrap()),
            &fund.admin,
            &format!("receipt-{union}-{period}-{value_date}"),
            &json!({"amount": format!("{members}.00"), "value_date": value_date, "bank_reference": format!("CAMT-{union}-{period}")}),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
}

pub async fn fact(
    server: &TestServer,
    fund: &Fund,
    organisation: &str,
    code: &str,
    value: Value,
    as_of: &str,
) {
    let (status, body) = server
        .post(
            &format!("/v1/organisations/{organisation}/facts"),
            &fund.admin,
            &format!("fact-{organisation}-{code}-{as_of}"),
            &json!({"code": code, "value": value, "as_of": as_of, "evidence_reference": format!("minutes {as_of}")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The Burkina mutual made eligible, 1,000 euros received for 2026-09, fee coverage funded, and the
/// September run planned and executed: the execution's answer (MESP, without facts, is held). The
/// Burkina transfer is 600.00 EUR, expected 393,574 XOF, with an expected fee of 18.00 EUR.
pub async fn burkina_paid_for_september(server: &TestServer, fund: &Fund) -> Value {
    burkina_paid_for_september_with_coverage(server, fund, "100.00").await
}

/// The Burkina mutual made eligible, 1,000 euros received for 2026-09 and `coverage` EUR
/// deposited into fee coverage: ready for the September run.
pub async fn burkina_ready_for_september(server: &TestServer, fund: &Fund, coverage: &str) {
    fact(
        server,
        fund,
        &fund.burkina,
        "mutual_operational",
        json!(true),
        "2026-01-01",
    )
    .await;
    fact(
        server,
        fund,
        &fund.burkina,
        "public_cofinancing_percent",
        json!("5"),
        "2026-01-01",
    )
    .await;
    contribute(server, fund, &fund.csq, "2026-09", 1000, "2026-09-20").await;
    let (status, _) = server
        .post(
            "/v1/fee-coverage/deposits",
            &fund.admin,
            "coverage",
            &json!({"amount": coverage, "reference": "sponsor"}),
        )
        .await;
    assert_eq!(status, 201);
}

/// [`burkina_ready_for_september`], and the September run planned (not executed): the plan's
/// answer.
pub async fn burkina_run_for_september(server: &TestServer, fund: &Fund, coverage: &str) -> Value {
    burkina_ready_for_september(server, fund, coverage).await;
    let (status, run) = server
        .post(
            "/v1/transfer-runs",
            &fund.admin,
            "run",
            &json!({"programme_id": fund.programme, "period": "2026-09", "dry_run": false}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    run
}

/// [`burkina_paid_for_september`] with `coverage` EUR deposited into fee coverage before the run.
pub async fn burkina_paid_for_september_with_coverage(
    server: &TestServer,
    fund: &Fund,
    coverage: &str,
) -> Value {
    let run = burkina_run_for_september(server, fund, coverage).await;
    let (status, executed) = server
        .post(
            &format!(
                "/v1/transfer-runs/{}/execution",
                run["id"].as_str().unwrap()
            ),
            &fund.admin,
            "exec",
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{executed}");
    executed
}

pub async fn store(server: &TestServer) -> Store {
    Store::connect(
        &server.database_url,
        StoreOptions {
            max_connections: 2,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap()
}

pub fn organisation(id: &str) -> OrganisationId {
    OrganisationId::from_uuid(Uuid::parse_str(id).unwrap())
}

pub fn programme_id(fund: &Fund) -> Uuid {
    Uuid::parse_str(&fund.programme).unwrap()
}

/// A net-asset (credit) balance as a positive number of minor units.
pub async fn credit(store: &Store, account: ledger_core::Account) -> i64 {
    -store.balance(account.id, None).await.unwrap()
}

pub fn money(value: &Value) -> (&str, &str) {
    (
        value["amount"].as_str().unwrap(),
        value["currency"].as_str().unwrap(),
    )
}
