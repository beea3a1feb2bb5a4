//! PostgreSQL's migration 0006, which moves each contribution batch's lines from rows of the
//! `contribution_lines` table into arrays on the batch's own row: lines written before it read the
//! same afterwards, in submission order, through the view that replaces the table, and the new
//! columns refuse what the table's constraints refused. PostgreSQL only: SQLite keeps the table.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger_testkit::store as support;

use ledger_store::registry::BatchLineRow;
use ledger_store::{Store, StoreOptions};
use sqlx::PgPool;
use support::open;
use uuid::Uuid;

/// The last migration before the lines moved.
const BEFORE_LINES_MOVED: i64 = 5;
const NETWORK: &str = "00000000-0000-0000-0000-000000000001";

/// Inserts a batch as the schema of migration 0005 stored it, lines given as
/// `(line_index, reference, members, amount_minor, kind)` in the order they are inserted.
async fn insert_old_batch(
    pool: &PgPool,
    (programme, receivable, pledge): (Uuid, Uuid, Uuid),
    lines: &[(i32, &str, i64, i64, &str)],
) -> Uuid {
    let id = Uuid::new_v4();
    let amount: i64 = lines.iter().map(|line| line.3).sum::<i64>().max(1);
    sqlx::query(
        "INSERT INTO contribution_batches (id, programme_id, contributor_id, period, \
         earmark_beneficiary_id, currency, members_total, amount_minor, solidarity_minor, donation_minor, \
         line_count, receivable_account_id, pledge_transaction_id, submitted_by, created_at) \
         VALUES ($1, $2, $3::uuid, '2026-11', NULL, 'EUR', 0, $4, $4, 0, $5, $6, $7, 'test', CURRENT_TIMESTAMP)",
    )
    .bind(id)
    .bind(programme)
    .bind(NETWORK)
    .bind(amount)
    .bind(i32::try_from(lines.len()).unwrap())
    .bind(receivable)
    .bind(pledge)
    .execute(pool)
    .await
    .unwrap();
    for (index, reference, members, amount_minor, kind) in lines {
        sqlx::query(
            "INSERT INTO contribution_lines (batch_id, line_index, reference, members, amount_minor, kind) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(index)
        .bind(reference)
        .bind(members)
        .bind(amount_minor)
        .bind(kind)
        .execute(pool)
        .await
        .unwrap();
    }
    id
}

fn line(index: i32, reference: &str, members: i64, amount_minor: i64, kind: &str) -> BatchLineRow {
    BatchLineRow {
        line_index: index,
        reference: reference.into(),
        members,
        amount_minor,
        kind: kind.into(),
    }
}

/// A database migrated up to 0005 holding two batches in the old shape, then migrated to the end.
/// Returns the store, its pool, the batches (three lines, none) and what a new batch refers to.
async fn migrated_with_old_batches() -> (Store, PgPool, Uuid, Uuid, (Uuid, Uuid, Uuid)) {
    let database = ledger_testkit::postgres_database().await;
    let store = Store::connect(&database.url, StoreOptions::default())
        .await
        .unwrap();
    let pool = store.postgres_pool().unwrap().clone();
    sqlx::migrate!("../../migrations/postgres")
        .run_to(BEFORE_LINES_MOVED, &pool)
        .await
        .unwrap();
    // The rows a batch refers to, written as the old schema took them (the store's writer speaks
    // the newest schema only).
    let receivable = open(&store, "receivable", "EUR").await;
    let pledge = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO journal_transactions (sequence, transaction_id, kind, effective_date, recorded_at, \
         actor_subject, actor_organisation_id, memo, metadata, posting_count, previous_hash, hash) \
         VALUES (1, $1, 'pledge', '2026-11-23', CURRENT_TIMESTAMP, 'test', NULL, '', '{}', 0, \
         '\\x00'::bytea, '\\x00'::bytea)",
    )
    .bind(pledge)
    .execute(&pool)
    .await
    .unwrap();
    let programme = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO programmes (id, name, currency, rate_per_member_minor, period_kind, allocation, \
         conditions, minimum_transfer_minor, admin_cost_cap_percent, created_at) \
         VALUES ($1, 'solidarity euro', 'EUR', 100, 'month', '{}', '[]', 0, '10', CURRENT_TIMESTAMP)",
    )
    .bind(programme)
    .execute(&pool)
    .await
    .unwrap();
    let refers_to = (programme, receivable.id.as_uuid(), pledge);
    // Inserted out of order: the order that counts is the line index.
    let three = insert_old_batch(
        &pool,
        refers_to,
        &[
            (2, "gift, \"quoted\"", 0, 50, "donation"),
            (0, "section Montréal", 100, 100, "solidarity"),
            (1, "section Québec", 150, 150, "solidarity"),
        ],
    )
    .await;
    let none = insert_old_batch(&pool, refers_to, &[]).await;
    store.migrate().await.unwrap();
    assert!(store.is_ready().await.unwrap());
    (store, pool, three, none, refers_to)
}

#[tokio::test]
async fn lines_written_before_the_migration_read_the_same_after_it() {
    let (store, pool, three, none, _) = migrated_with_old_batches().await;
    assert_eq!(
        store.batch_lines(three).await.unwrap(),
        vec![
            line(0, "section Montréal", 100, 100, "solidarity"),
            line(1, "section Québec", 150, 150, "solidarity"),
            line(2, "gift, \"quoted\"", 0, 50, "donation"),
        ]
    );
    assert_eq!(store.batch_lines(none).await.unwrap(), vec![]);
    let (references, kinds): (Vec<String>, Vec<String>) = sqlx::query_as(
        "SELECT line_references, line_kinds FROM contribution_batches WHERE id = $1",
    )
    .bind(three)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        references,
        ["section Montréal", "section Québec", "gift, \"quoted\""]
    );
    assert_eq!(kinds, ["solidarity", "solidarity", "donation"]);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contribution_lines")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 3);
}

#[tokio::test]
async fn batch_rows_refuse_lines_the_old_table_refused() {
    let (_store, pool, three, _, (programme, receivable, pledge)) =
        migrated_with_old_batches().await;
    // Each case: one line, its arrays as SQL, the constraint that must refuse it.
    let cases = [
        (
            "ARRAY['a', 'b'], ARRAY[1]::bigint[], ARRAY[100]::bigint[], ARRAY['solidarity']",
            "contribution_batches_lines_shape",
        ),
        (
            "ARRAY[NULL]::text[], ARRAY[1]::bigint[], ARRAY[100]::bigint[], ARRAY['solidarity']",
            "contribution_batches_lines_shape",
        ),
        (
            "ARRAY['a'], ARRAY[NULL]::bigint[], ARRAY[100]::bigint[], ARRAY['solidarity']",
            "contribution_batches_lines_shape",
        ),
        (
            "ARRAY['a'], ARRAY[1]::bigint[], ARRAY[100]::bigint[], ARRAY['gift']",
            "contribution_batches_line_kinds_check",
        ),
        (
            "ARRAY['a'], ARRAY[1]::bigint[], ARRAY[100]::bigint[], NULL",
            "line_kinds",
        ),
    ];
    for (arrays, constraint) in cases {
        let sql = format!(
            "INSERT INTO contribution_batches (id, programme_id, contributor_id, period, \
             earmark_beneficiary_id, currency, members_total, amount_minor, solidarity_minor, donation_minor, \
             line_count, receivable_account_id, pledge_transaction_id, submitted_by, created_at, \
             line_references, line_members, line_amounts_minor, line_kinds, period_ordinal, \
             period_total_minor) \
             VALUES ($1, $2, $3::uuid, '2026-12', NULL, 'EUR', 1, 100, 100, 0, 1, $4, $5, 'test', \
             CURRENT_TIMESTAMP, {arrays}, 1, 100)"
        );
        let error = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::new_v4())
            .bind(programme)
            .bind(NETWORK)
            .bind(receivable)
            .bind(pledge)
            .execute(&pool)
            .await
            .expect_err(arrays);
        assert!(error.to_string().contains(constraint), "{arrays}: {error}");
    }
    // The batch table is append-only again once the migration has moved the lines.
    let error =
        sqlx::query("UPDATE contribution_batches SET line_references = '{x}' WHERE id = $1")
            .bind(three)
            .execute(&pool)
            .await
            .expect_err("batches are append-only");
    assert!(error.to_string().contains("append_only"), "{error}");
}
