//! The store's side of the partners change (issue 18), on SQLite and PostgreSQL alike: facts with
//! where they stand with the network, decisions, and evidence documents stored once by their
//! SHA-256 — all append-only in the database itself.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_core::conditions::FactStatus;
use ledger_core::evidence::EvidenceDocument;
use ledger_core::{FundDate, OrganisationId};
use ledger_store::records::{
    BankAccountRecord, EvidenceDocumentRecord, FactDecisionRecord, FactRecord,
    OrganisationVersionRecord, Record,
};
use ledger_store::{Store, StoreError, WriteOutcome, WriteRequest};
use ledger_testkit::on_both_engines;
use ledger_testkit::store::{Fixture, now};
use uuid::Uuid;

on_both_engines!(
    facts_keep_their_status_decision_and_evidence,
    fact_decisions_and_evidence_are_append_only,
    organisation_versions_are_append_only_and_numbered_once,
    bank_accounts_are_append_only_and_need_an_identifier,
);

/// The network organisation seeded by the migrations.
const NETWORK: Uuid = Uuid::from_u128(1);

fn document() -> EvidenceDocument {
    EvidenceDocument::accept(b"%PDF-1.7\nminutes of the general assembly".to_vec()).unwrap()
}

fn fact(status: FactStatus, evidence: Option<&EvidenceDocument>) -> FactRecord {
    FactRecord {
        id: Uuid::now_v7(),
        organisation_id: OrganisationId::from_uuid(NETWORK),
        code: "public_cofinancing_percent".into(),
        value: "12".into(),
        as_of: FundDate::parse("2026-01-01").unwrap(),
        evidence_reference: "minutes".into(),
        posted_status: status,
        evidence_sha256: evidence.map(|document| document.sha256().to_owned()),
        recorded_by: "test".into(),
        created_at: now(),
    }
}

fn stored(document: &EvidenceDocument) -> Record {
    Record::EvidenceDocument(EvidenceDocumentRecord {
        sha256: document.sha256().to_owned(),
        media_type: document.kind().media_type(),
        content: document.content().to_vec(),
        created_at: now(),
    })
}

fn decision(fact: Uuid, decision: FactStatus, reason: Option<&str>) -> Record {
    Record::FactDecision(FactDecisionRecord {
        fact_id: fact,
        decision,
        reason: reason.map(str::to_owned),
        decided_by: "admin".into(),
        created_at: now(),
    })
}

async fn write(store: &Store, records: Vec<Record>) -> Result<WriteOutcome, StoreError> {
    store
        .write(WriteRequest {
            records,
            ..WriteRequest::default()
        })
        .await
}

async fn facts_keep_their_status_decision_and_evidence(fixture: Fixture) {
    // Proves a submitted fact reads as submitted until decided, then as its decision (with the
    // reason of a rejection); the network's fact reads as verified; a document attached twice is
    // stored once and read back byte for byte; a second decision on a fact is refused.
    let store = &fixture.store;
    let document = document();
    let submitted = fact(FactStatus::Submitted, Some(&document));
    let rejected = fact(FactStatus::Submitted, Some(&document));
    let network = fact(FactStatus::Verified, None);
    let ids = [submitted.id, rejected.id, network.id];
    write(
        store,
        vec![
            stored(&document),
            Record::Fact(submitted),
            stored(&document),
            Record::Fact(rejected),
            Record::Fact(network),
        ],
    )
    .await
    .unwrap();
    let statuses = |facts: Vec<ledger_core::conditions::Fact>| {
        facts.iter().map(|fact| fact.status).collect::<Vec<_>>()
    };
    let organisation = OrganisationId::from_uuid(NETWORK);
    assert_eq!(
        statuses(store.facts(organisation).await.unwrap()),
        [
            FactStatus::Submitted,
            FactStatus::Submitted,
            FactStatus::Verified
        ]
    );
    write(
        store,
        vec![
            decision(ids[0], FactStatus::Verified, None),
            decision(ids[1], FactStatus::Rejected, Some("minutes unsigned")),
        ],
    )
    .await
    .unwrap();
    let facts = store.facts(organisation).await.unwrap();
    assert_eq!(
        statuses(facts.clone()),
        [
            FactStatus::Verified,
            FactStatus::Rejected,
            FactStatus::Verified
        ]
    );
    assert_eq!(facts[0].evidence_sha256.as_deref(), Some(document.sha256()));
    let row = store.fact_row(ids[1]).await.unwrap().unwrap();
    assert_eq!(row.reason.as_deref(), Some("minutes unsigned"));
    assert_eq!(row.decided_by.as_deref(), Some("admin"));
    let read = store
        .evidence_document(document.sha256())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.content, document.content());
    assert_eq!(read.media_type, "application/pdf");
    let again = write(
        store,
        vec![decision(ids[0], FactStatus::Rejected, Some("late"))],
    )
    .await;
    assert!(
        matches!(again, Err(StoreError::UniqueViolation(_))),
        "{again:?}"
    );
    assert_eq!(
        store
            .fact_row(ids[0])
            .await
            .unwrap()
            .unwrap()
            .decision
            .as_deref(),
        Some("verified")
    );
}

/// Runs raw SQL against whichever engine the store uses.
async fn execute_raw(store: &Store, sql: &'static str) -> Result<u64, sqlx::Error> {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    } else {
        let pool = store.postgres_pool().unwrap();
        sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    }
}

async fn fact_decisions_and_evidence_are_append_only(fixture: Fixture) {
    // Proves the database itself refuses to rewrite or remove a decision, a document or a fact's
    // status, on both engines.
    let store = &fixture.store;
    let document = document();
    let submitted = fact(FactStatus::Submitted, Some(&document));
    let id = submitted.id;
    write(store, vec![stored(&document), Record::Fact(submitted)])
        .await
        .unwrap();
    write(store, vec![decision(id, FactStatus::Rejected, Some("no"))])
        .await
        .unwrap();
    for sql in [
        "UPDATE fact_decisions SET decision = 'verified'",
        "DELETE FROM fact_decisions",
        "UPDATE evidence_documents SET media_type = 'image/png'",
        "DELETE FROM evidence_documents",
        "UPDATE organisation_facts SET posted_status = 'verified'",
        "UPDATE organisation_facts SET evidence_sha256 = NULL",
    ] {
        let error = execute_raw(store, sql).await.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
    assert_eq!(
        store.fact_row(id).await.unwrap().unwrap().status().unwrap(),
        FactStatus::Rejected
    );
}

fn version(number: i32, effective_from: &str, members: i64) -> Record {
    Record::OrganisationVersion(OrganisationVersionRecord {
        organisation_id: OrganisationId::from_uuid(NETWORK),
        version_number: number,
        effective_from: FundDate::parse(effective_from).unwrap(),
        name: "Education and Solidarity Network".into(),
        contact: Some("secretariat".into()),
        covered_members: Some(members),
        fee_schedule: Some((1500, "EUR".into(), "0.5".into())),
        changed_fields: vec!["covered_members"],
        changed_by: "admin".into(),
        created_at: now(),
    })
}

async fn organisation_versions_are_append_only_and_numbered_once(fixture: Fixture) {
    // Proves versions read back in order with every field, a second writer of the same version
    // number is refused (two admins racing cannot both write "version 2"), and the database
    // refuses to rewrite or remove a version, on both engines.
    let store = &fixture.store;
    write(store, vec![version(1, "2026-03-01", 4000)])
        .await
        .unwrap();
    write(store, vec![version(2, "2026-10-01", 14000)])
        .await
        .unwrap();
    let raced = write(store, vec![version(2, "2026-11-01", 15000)]).await;
    assert!(
        matches!(raced, Err(StoreError::UniqueViolation(_))),
        "{raced:?}"
    );
    let versions = store
        .organisation_versions(OrganisationId::from_uuid(NETWORK))
        .await
        .unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|version| (version.version_number, version.covered_members))
            .collect::<Vec<_>>(),
        [(1, Some(4000)), (2, Some(14000))]
    );
    assert_eq!(versions[1].fee_fixed_minor, Some(1500));
    assert_eq!(versions[1].fee_percent.as_deref(), Some("0.5"));
    assert_eq!(versions[1].effective_from.to_string(), "2026-10-01");
    assert_eq!(
        store.all_organisation_versions().await.unwrap()[&NETWORK],
        versions
    );
    for sql in [
        "UPDATE organisation_versions SET covered_members = 1",
        "DELETE FROM organisation_versions",
    ] {
        let error = execute_raw(store, sql).await.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
}

fn bank_account(
    number: i32,
    iban: Option<&str>,
    account_number: Option<&str>,
    bic: Option<&str>,
) -> Record {
    Record::BankAccount(BankAccountRecord {
        organisation_id: OrganisationId::from_uuid(NETWORK),
        version_number: number,
        holder_name: "Education and Solidarity Network".into(),
        iban: iban.map(str::to_owned),
        account_number: account_number.map(str::to_owned),
        bic: bic.map(str::to_owned),
        currency: "EUR".into(),
        proposed_by: "alice".into(),
        approved_by: Some("bob".into()),
        proposal_id: Some(Uuid::now_v7()),
        created_at: now(),
    })
}

async fn bank_accounts_are_append_only_and_need_an_identifier(fixture: Fixture) {
    // Proves accounts read back in order with both admins' names, the database refuses an account
    // with both or neither of IBAN and national number, or a national number without a BIC, a
    // second writer of the same number, and any rewrite or removal, on both engines.
    let store = &fixture.store;
    write(
        store,
        vec![bank_account(
            1,
            Some("FR1420041010050500013M02606"),
            None,
            None,
        )],
    )
    .await
    .unwrap();
    write(
        store,
        vec![bank_account(2, None, Some("123"), Some("ECOCBFBF"))],
    )
    .await
    .unwrap();
    for refused in [
        bank_account(
            3,
            Some("FR1420041010050500013M02606"),
            Some("123"),
            Some("ECOCBFBF"),
        ),
        bank_account(3, None, None, None),
        bank_account(3, None, Some("123"), None),
    ] {
        assert!(write(store, vec![refused]).await.is_err());
    }
    let raced = write(
        store,
        vec![bank_account(2, None, Some("456"), Some("ECOCBFBF"))],
    )
    .await;
    assert!(
        matches!(raced, Err(StoreError::UniqueViolation(_))),
        "{raced:?}"
    );
    let accounts = store
        .bank_accounts(OrganisationId::from_uuid(NETWORK))
        .await
        .unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1].account_number.as_deref(), Some("123"));
    assert_eq!(accounts[1].approved_by.as_deref(), Some("bob"));
    for sql in [
        "UPDATE bank_accounts SET iban = 'DE44500105175407324931'",
        "DELETE FROM bank_accounts",
    ] {
        let error = execute_raw(store, sql).await.expect_err(sql);
        assert!(error.to_string().contains("append_only"), "{sql}: {error}");
    }
}
