//! Migration 0009, which bounds stored dates to the fund's life (2000-01-01 to 2099-12-31, and on
//! SQLite the one text form `YYYY-MM-DD`), applied to a database that already holds rows written
//! before it: in-range rows read the same, a row out of range (the defect it closes let a date of
//! year 99999 in) is kept as recorded rather than rewritten or deleted — history is append-only —
//! and from then on the database refuses any such date. Run on both engines.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use ledger_core::{FundDate, OrganisationId, Timestamp};
use ledger_store::records::{FactRecord, Record};
use ledger_store::{Store, StoreOptions, WriteOutcome, WriteRequest};
use ledger_testkit::{Engine, fresh_database};
use uuid::Uuid;

/// The last migration before dates were bounded (the numbers below 0009 of every branch).
const BEFORE_DATES_BOUNDED: i64 = 8;
const NETWORK: Uuid = Uuid::from_u128(1);

/// Inserts a fact about the network as the schema before 0009 took it, with `as_of` written as
/// each engine stored it (SQLite: sqlx's `%F` text, so year 99999 became `+99999-12-31`).
async fn insert_old_fact(
    store: &Store,
    as_of_sqlite: &str,
    as_of_postgres: &str,
) -> Result<(), sqlx::Error> {
    let id = Uuid::now_v7();
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(
            "INSERT INTO organisation_facts (id, organisation_id, code, value, as_of, evidence_reference, \
             recorded_by, created_at) VALUES ($1, $2, 'mutual_operational', 'true', $3, 'minutes', 'test', \
             '2026-11-23T00:00:00Z')",
        )
        .bind(id)
        .bind(NETWORK)
        .bind(as_of_sqlite)
        .execute(pool)
        .await
        .map(|_| ())
    } else {
        sqlx::query(
            "INSERT INTO organisation_facts (id, organisation_id, code, value, as_of, evidence_reference, \
             recorded_by, created_at) VALUES ($1, $2, 'mutual_operational', 'true', $3::date, 'minutes', 'test', \
             CURRENT_TIMESTAMP)",
        )
        .bind(id)
        .bind(NETWORK)
        .bind(as_of_postgres)
        .execute(store.postgres_pool().unwrap())
        .await
        .map(|_| ())
    }
}

/// A store whose database is migrated up to just before 0009 and holds an in-range fact and one
/// dated year 99999, then migrated to the end.
async fn migrated_with_old_facts(store: &Store) {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::migrate!("../../migrations/sqlite")
            .run_to(BEFORE_DATES_BOUNDED, pool)
            .await
            .unwrap();
    } else {
        sqlx::migrate!("../../migrations/postgres")
            .run_to(BEFORE_DATES_BOUNDED, store.postgres_pool().unwrap())
            .await
            .unwrap();
    }
    insert_old_fact(store, "2026-11-30", "2026-11-30")
        .await
        .unwrap();
    insert_old_fact(store, "+99999-12-31", "99999-12-31")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert!(store.is_ready().await.unwrap());
}

async fn old_rows_are_kept_and_new_out_of_range_dates_refused(store: Store) {
    migrated_with_old_facts(&store).await;
    // Both old rows read back as recorded: nothing rewritten, nothing deleted.
    let facts = store
        .facts(OrganisationId::from_uuid(NETWORK))
        .await
        .unwrap();
    let dates: Vec<NaiveDate> = facts.iter().map(|fact| fact.as_of).collect();
    assert_eq!(
        dates,
        [
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            NaiveDate::from_ymd_opt(99_999, 12, 31).unwrap()
        ]
    );
    // The same dates written now: refused by the database itself, whatever path writes them.
    for (sqlite, postgres) in [
        ("+99999-12-31", "99999-12-31"),
        ("1999-12-31", "1999-12-31"),
        ("2100-01-01", "2100-01-01"),
    ] {
        let error = insert_old_fact(&store, sqlite, postgres)
            .await
            .expect_err(postgres);
        assert!(
            error.to_string().contains("fund_date"),
            "{postgres}: {error}"
        );
    }
    // A fact within the fund's life is written through the store as before.
    let outcome = store
        .write(WriteRequest {
            records: vec![Record::Fact(FactRecord {
                id: Uuid::now_v7(),
                organisation_id: OrganisationId::from_uuid(NETWORK),
                code: "mutual_operational".into(),
                value: "true".into(),
                as_of: FundDate::parse("2027-01-01").unwrap(),
                evidence_reference: "minutes".into(),
                posted_status: ledger_core::conditions::FactStatus::Verified,
                evidence_sha256: None,
                recorded_by: "test".into(),
                created_at: Timestamp::from_unix_micros(1_795_404_316_000_000).unwrap(),
            })],
            ..WriteRequest::default()
        })
        .await
        .unwrap();
    assert!(matches!(outcome, WriteOutcome::Committed(_)), "{outcome:?}");
    assert_eq!(
        store
            .facts(OrganisationId::from_uuid(NETWORK))
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn sqlite_keeps_old_rows_and_refuses_new_out_of_range_dates() {
    // Proves migration 0009 on SQLite: an old `+99999-12-31` row survives and reads back, and the
    // triggers refuse that date (and the first days outside 2000–2099) from then on.
    let database = fresh_database(Engine::Sqlite).await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    old_rows_are_kept_and_new_out_of_range_dates_refused(store).await;
}

#[tokio::test]
async fn postgres_keeps_old_rows_and_refuses_new_out_of_range_dates() {
    // Proves migration 0009 on PostgreSQL: the NOT VALID constraints accept a database holding an
    // old year-99999 row, keep it, and refuse such dates in every new row.
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    old_rows_are_kept_and_new_out_of_range_dates_refused(store).await;
}
