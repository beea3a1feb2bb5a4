//! The SQLite half of the writer: the group is written under SQLite's write lock (`BEGIN
//! IMMEDIATE`, taken by the caller), after reading the head, the keys and the balances it needs.

use std::collections::HashMap;

use sqlx::SqliteConnection;

use super::plan::{
    KeyStates, columns, guarded_keys, head_from_row, plan_group, requested_keys, touched_accounts,
};
use super::request::{KeyState, WriteOutcome, WriteRequest};
use crate::error::StoreError;
use crate::idempotency;
use crate::records::insert::insert_records_sqlite;
use crate::rows::sequence_to_db;

/// What a guarded API key's liveness depends on: its revocation, its expiry, its creator.
const KEY_STATE: &str = "SELECT k.id, k.revoked_at, k.expires_at, u.disabled_at AS creator_disabled_at \
     FROM api_keys k JOIN users u ON u.id = k.created_by WHERE k.id = $1";

const UPDATE_HEAD: &str = "UPDATE chain_head SET last_sequence = $1, last_hash = $2 WHERE id = 1";

/// Writes a group on SQLite, in the caller's transaction: every request's outcome.
pub(super) async fn commit_group(
    connection: &mut SqliteConnection,
    requests: &[&WriteRequest],
) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
    let head = head_from_row(
        sqlx::query_as("SELECT last_sequence, last_hash FROM chain_head WHERE id = 1")
            .fetch_one(&mut *connection)
            .await?,
    )?;
    let used_keys = idempotency::used_keys_sqlite(connection, requested_keys(requests)).await?;
    let mut balances = HashMap::new();
    for account in touched_accounts(requests) {
        let balance: Option<i64> =
            sqlx::query_scalar("SELECT balance_minor FROM account_balances WHERE account_id = $1")
                .bind(account)
                .fetch_optional(&mut *connection)
                .await?;
        if let Some(balance) = balance {
            balances.insert(account, balance);
        }
    }
    // Read under the write lock: a revocation committed before it refuses the request.
    let mut key_states = KeyStates::new();
    for key_id in guarded_keys(requests) {
        let state: Option<KeyState> = sqlx::query_as(KEY_STATE)
            .bind(key_id)
            .fetch_optional(&mut *connection)
            .await?;
        if let Some(state) = state {
            key_states.insert(state.id, state);
        }
    }
    let plan = plan_group(head, requests, used_keys, balances, &key_states);
    let (transactions, postings) = columns(&plan)?;
    insert_records_sqlite(&mut *connection, &plan.records, true).await?;
    for index in 0..transactions.sequence.len() {
        sqlx::query(
            "INSERT INTO journal_transactions (sequence, transaction_id, kind, effective_date, recorded_at, \
             actor_subject, actor_organisation_id, memo, metadata, posting_count, previous_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(transactions.sequence[index])
        .bind(transactions.transaction_id[index])
        .bind(&transactions.kind[index])
        .bind(transactions.effective_date[index])
        .bind(transactions.recorded_at[index])
        .bind(&transactions.actor_subject[index])
        .bind(transactions.actor_organisation_id[index])
        .bind(&transactions.memo[index])
        .bind(&transactions.metadata[index])
        .bind(transactions.posting_count[index])
        .bind(&transactions.previous_hash[index])
        .bind(&transactions.hash[index])
        .execute(&mut *connection)
        .await?;
    }
    for index in 0..postings.sequence.len() {
        sqlx::query(
            "INSERT INTO journal_postings (sequence, posting_index, account_id, currency, amount_minor) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(postings.sequence[index])
        .bind(postings.posting_index[index])
        .bind(postings.account_id[index])
        .bind(&postings.currency[index])
        .bind(postings.amount_minor[index])
        .execute(&mut *connection)
        .await?;
    }
    for (account, balance, last_sequence) in &plan.balances {
        sqlx::query(
            "INSERT INTO account_balances (account_id, balance_minor, last_sequence) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET balance_minor = excluded.balance_minor, \
             last_sequence = excluded.last_sequence",
        )
        .bind(account)
        .bind(balance)
        .bind(last_sequence)
        .execute(&mut *connection)
        .await?;
    }
    insert_records_sqlite(&mut *connection, &plan.records, false).await?;
    idempotency::insert_sqlite(&mut *connection, &plan.idempotency).await?;
    if plan.head != head {
        sqlx::query(UPDATE_HEAD)
            .bind(sequence_to_db(plan.head.0)?)
            .bind(plan.head.1.as_bytes().as_slice())
            .execute(&mut *connection)
            .await?;
    }
    Ok(plan.outcomes)
}
