//! Migration 0008 on both engines: batches written before it get their place in their period and
//! their period's running total, in submission (id) order per contributor, programme and period, so
//! the list reads "supplementary" as it did when it counted earlier batches, and the contributor's
//! period total is what its batches pledged.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::store as support;

use ledger_core::{OrganisationId, Period, PeriodKind};
use ledger_store::{Store, StoreOptions};
use ledger_testkit::{Engine, fresh_database};
use support::open;
use uuid::Uuid;

/// Every migration before 0008.
const BEFORE_PERIOD_ORDINALS: i64 = 7;
const NETWORK: &str = "00000000-0000-0000-0000-000000000001";

/// The batches written before the migration: (period, amount in minor units), in id order.
const OLD_BATCHES: [(&str, i64); 4] = [
    ("2026-11", 100),
    ("2026-11", 250),
    ("2026-12", 40),
    ("2026-11", 5),
];

/// Runs `sql` with the binds of an old batch on whichever engine the store uses.
macro_rules! insert_old_batch {
    ($pool:expr, $sql:expr, $id:expr, $programme:expr, $period:expr, $amount:expr, $receivable:expr, $pledge:expr) => {
        sqlx::query($sql)
            .bind($id)
            .bind($programme)
            .bind(Uuid::parse_str(NETWORK).unwrap())
            .bind($period)
            .bind($amount)
            .bind($receivable)
            .bind($pledge)
            .execute($pool)
            .await
            .unwrap()
    };
}

async fn old_batches_get_their_place_and_running_total(store: Store) {
    let receivable = open(&store, "receivable", "EUR").await.id.as_uuid();
    let pledge = Uuid::new_v4();
    let programme = Uuid::new_v4();
    let transaction = "INSERT INTO journal_transactions (sequence, transaction_id, kind, effective_date, \
        recorded_at, actor_subject, actor_organisation_id, memo, metadata, posting_count, previous_hash, hash) \
        VALUES (1, $1, 'pledge', '2026-11-23', '2026-11-23T00:00:00Z', 'test', NULL, '', '{}', 0, $2, $2)";
    let programme_row = "INSERT INTO programmes (id, name, currency, rate_per_member_minor, period_kind, \
        allocation, conditions, minimum_transfer_minor, admin_cost_cap_percent, created_at) \
        VALUES ($1, 'solidarity euro', 'EUR', 100, 'month', '{}', '[]', 0, '10', '2026-11-01T00:00:00Z')";
    let mut ids: Vec<Uuid> = (0..OLD_BATCHES.len()).map(|_| Uuid::new_v4()).collect();
    ids.sort_unstable();
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(transaction)
            .bind(pledge)
            .bind(vec![0_u8; 32])
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(programme_row)
            .bind(programme)
            .execute(pool)
            .await
            .unwrap();
        // Written out of id order: the place follows the id (submission) order.
        for index in [3, 0, 2, 1] {
            let (period, amount) = OLD_BATCHES[index];
            insert_old_batch!(
                pool,
                "INSERT INTO contribution_batches (id, programme_id, contributor_id, period, \
                 earmark_beneficiary_id, currency, members_total, amount_minor, solidarity_minor, \
                 donation_minor, line_count, receivable_account_id, pledge_transaction_id, submitted_by, \
                 created_at) VALUES ($1, $2, $3, $4, NULL, 'EUR', 0, $5, $5, 0, 0, $6, $7, 'test', \
                 '2026-11-23T00:00:00Z')",
                ids[index],
                programme,
                period,
                amount,
                receivable,
                pledge
            );
        }
    } else {
        let pool = store.postgres_pool().unwrap();
        sqlx::query(transaction)
            .bind(pledge)
            .bind(vec![0_u8; 32])
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(programme_row)
            .bind(programme)
            .execute(pool)
            .await
            .unwrap();
        for index in [3, 0, 2, 1] {
            let (period, amount) = OLD_BATCHES[index];
            insert_old_batch!(
                pool,
                "INSERT INTO contribution_batches (id, programme_id, contributor_id, period, \
                 earmark_beneficiary_id, currency, members_total, amount_minor, solidarity_minor, \
                 donation_minor, line_count, receivable_account_id, pledge_transaction_id, submitted_by, \
                 created_at, line_references, line_members, line_amounts_minor, line_kinds) \
                 VALUES ($1, $2, $3, $4, NULL, 'EUR', 0, $5, $5, 0, 0, $6, $7, 'test', \
                 '2026-11-23T00:00:00Z', '{}', '{}', '{}', '{}')",
                ids[index],
                programme,
                period,
                amount,
                receivable,
                pledge
            );
        }
    }
    store.migrate().await.unwrap();
    assert!(store.is_ready().await.unwrap());

    let mut earlier = Vec::new();
    for id in &ids {
        earlier.push(store.batch(*id).await.unwrap().unwrap().earlier_in_period);
    }
    assert_eq!(earlier, [0, 1, 0, 2]);
    let network = OrganisationId::from_uuid(Uuid::parse_str(NETWORK).unwrap());
    let total = |period: &str| {
        let period = Period::parse(period, PeriodKind::Month).unwrap();
        let store = &store;
        async move {
            store
                .contributor_period_total(network, programme, &period)
                .await
                .unwrap()
        }
    };
    assert_eq!(total("2026-11").await, 355);
    assert_eq!(total("2026-12").await, 40);
    assert_eq!(total("2027-01").await, 0);
}

#[tokio::test]
async fn sqlite_batches_written_before_0008_get_their_place_and_running_total() {
    // Proves the SQLite backfill of migration 0008.
    let database = fresh_database(Engine::Sqlite).await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    sqlx::migrate!("../../migrations/sqlite")
        .run_to(BEFORE_PERIOD_ORDINALS, store.sqlite_pool().unwrap())
        .await
        .unwrap();
    old_batches_get_their_place_and_running_total(store).await;
}

#[tokio::test]
async fn postgres_batches_written_before_0008_get_their_place_and_running_total() {
    // Proves the PostgreSQL backfill of migration 0008.
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    sqlx::migrate!("../../migrations/postgres")
        .run_to(BEFORE_PERIOD_ORDINALS, store.postgres_pool().unwrap())
        .await
        .unwrap();
    old_batches_get_their_place_and_running_total(store).await;
}
