//! The PostgreSQL half of the writer: optimistic groups written in one statement from the head
//! this writer last committed, and the careful path under the chain-head row lock.

use std::collections::HashMap;

use ledger_core::ChainHash;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::plan::{
    KeyStates, columns, guarded_keys, head_from_row, key_guard_columns, plan_group, requested_keys,
    touched_accounts,
};
use super::request::{KeyState, WriteOutcome, WriteRequest};
use crate::error::StoreError;
use crate::hot_rows;
use crate::idempotency::{self, KeyColumns, KeyMap};
use crate::records::insert::insert_records_postgres;
use crate::rows::sequence_to_db;

/// The PostgreSQL side of [`super::Writer::commit_group`]: tries the optimistic write from the known
/// head first, and falls back to locking and reading the head.
pub(super) async fn commit_group(
    connection: &mut PgConnection,
    requests: &[&WriteRequest],
    known_head: &mut Option<(u64, ChainHash)>,
) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
    let guarded = requests.iter().any(|request| !request.guards.is_empty());
    let has_generic_records = requests.iter().any(|request| {
        request
            .records
            .iter()
            .any(|record| !hot_rows::is_hot(record))
    });
    if let Some(head) = known_head.take().filter(|_| !guarded) {
        let attempt = if has_generic_records {
            // Records of other kinds are separate statements: they need a transaction around them.
            let mut transaction = connection.begin().await?;
            match commit_group_postgres(&mut transaction, requests, Some(head)).await {
                Ok(Some(committed)) => transaction.commit().await.map(|()| Some(committed)),
                _ => transaction.rollback().await.map(|()| None),
            }
        } else {
            // A single statement is atomic on its own: one round trip, no BEGIN/COMMIT.
            Ok(
                commit_group_postgres(&mut *connection, requests, Some(head))
                    .await
                    .ok()
                    .flatten(),
            )
        };
        if let Some((outcomes, new_head)) = attempt? {
            *known_head = Some(new_head);
            return Ok(outcomes);
        }
        // Another instance moved the head, an idempotency key was already used (which only the
        // careful path looks up), or a guarded API key is no longer live: nothing was written;
        // redo the group under the lock, which decides each request.
    }
    let mut transaction = connection.begin().await?;
    let (outcomes, new_head) = commit_group_postgres(&mut transaction, requests, None)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the chain head moved under its lock".into()))?;
    transaction.commit().await?;
    *known_head = Some(new_head);
    Ok(outcomes)
}

/// What a PostgreSQL group commit produced: every request's outcome and the new chain head.
type PostgresCommit = (Vec<Result<WriteOutcome, StoreError>>, (u64, ChainHash));

/// Writes a group on PostgreSQL. With `optimistic_head`, nothing is read first: hashes chain from
/// that head, balances are written as deltas, and keys are not looked up (an existing key makes the
/// insert fail, and the writer retries each request alone, under the lock); the guarded API keys
/// are checked by the statement itself (every one live, or nothing written). Returns `None` when
/// the head was not the one expected, or a guarded key was no longer live, having written nothing:
/// the careful path then decides each request.
async fn commit_group_postgres(
    connection: &mut PgConnection,
    requests: &[&WriteRequest],
    optimistic_head: Option<(u64, ChainHash)>,
) -> Result<Option<PostgresCommit>, StoreError> {
    let (head, used_keys, balances, balances_are_deltas, key_states) = match optimistic_head {
        Some(head) => (head, KeyMap::new(), HashMap::new(), true, None),
        None => {
            // The lock that serialises appends across every service instance sharing the database.
            let head = head_from_row(
                sqlx::query_as(
                    "SELECT last_sequence, last_hash FROM chain_head WHERE id = 1 FOR UPDATE",
                )
                .fetch_one(&mut *connection)
                .await?,
            )?;
            let used_keys =
                idempotency::used_keys_postgres(connection, requested_keys(requests)).await?;
            let touched = touched_accounts(requests);
            let balances: HashMap<Uuid, i64> = sqlx::query_as::<_, (Uuid, i64)>(
                "SELECT account_id, balance_minor FROM account_balances WHERE account_id = ANY($1)",
            )
            .bind(&touched)
            .fetch_all(&mut *connection)
            .await?
            .into_iter()
            .collect();
            // Under the chain-head lock: a revocation committed before it refuses the request.
            let guarded = guarded_keys(requests);
            let key_states: KeyStates = if guarded.is_empty() {
                KeyStates::new()
            } else {
                sqlx::query_as::<_, KeyState>(
                    "SELECT k.id, k.revoked_at, k.expires_at, u.disabled_at AS creator_disabled_at \
                     FROM api_keys k JOIN users u ON u.id = k.created_by WHERE k.id = ANY($1)",
                )
                .bind(&guarded)
                .fetch_all(&mut *connection)
                .await?
                .into_iter()
                .map(|state| (state.id, state))
                .collect()
            };
            (head, used_keys, balances, false, Some(key_states))
        }
    };
    // The optimistic statement checks every guarded key itself; the careful path has read them.
    let (key_guard_ids, key_guard_times) = match &key_states {
        None => key_guard_columns(requests),
        Some(_) => (Vec::new(), Vec::new()),
    };
    let key_states = key_states.unwrap_or_else(|| {
        // Taken as live here: the statement writes nothing unless each one is.
        requests
            .iter()
            .filter_map(|request| request.key)
            .map(|key| {
                (
                    key.key_id,
                    KeyState {
                        id: key.key_id,
                        revoked_at: None,
                        expires_at: None,
                        creator_disabled_at: None,
                    },
                )
            })
            .collect()
    });
    let plan = plan_group(head, requests, used_keys, balances, &key_states);
    let (transactions, postings) = columns(&plan)?;
    let (hot, generic_records) = hot_rows::split(&plan.records)?;
    insert_records_postgres(&mut *connection, &generic_records, true).await?;
    let (accounts, rest): (Vec<Uuid>, Vec<(i64, i64)>) = plan
        .balances
        .iter()
        .map(|(account, balance, last)| (*account, (*balance, *last)))
        .unzip();
    let (balance_values, lasts): (Vec<i64>, Vec<i64>) = rest.into_iter().unzip();
    let keys = KeyColumns::of(&plan.idempotency);
    // One statement, one round trip: the head moves only if it is where we expect, and every row of
    // the group is written only if it did. Foreign keys between its parts (postings and batches to
    // the accounts opened here) are checked at the end of the statement. The group's lines travel
    // as flat arrays; each batch's row takes its slice of them, `first_line..=last_line` (1-based,
    // empty when `first_line > last_line`), see migrations/postgres/0006_batch_lines_in_row.sql.
    // A batch's place in its period and the period's running total continue from the period's
    // latest stored batch (read in the statement's snapshot: a batch committed by another instance
    // since then also moved the head, so this statement then writes nothing), counting the group's
    // own batches of that period in queue order (migrations/postgres/0008).
    let head_moved: i64 = sqlx::query_scalar(
        "WITH head AS ( \
             UPDATE chain_head SET last_sequence = $1, last_hash = $2 \
             WHERE id = 1 AND last_sequence = $3 AND last_hash = $4 \
               AND NOT EXISTS ( \
                 SELECT 1 FROM UNNEST($59::uuid[], $60::timestamptz[]) AS guarded (key_id, at) \
                 LEFT JOIN api_keys k ON k.id = guarded.key_id \
                 LEFT JOIN users u ON u.id = k.created_by \
                 WHERE k.id IS NULL OR k.revoked_at IS NOT NULL OR k.expires_at <= guarded.at \
                    OR u.disabled_at IS NOT NULL) \
             RETURNING 1 \
         ), transactions AS ( \
             INSERT INTO journal_transactions (sequence, transaction_id, kind, effective_date, recorded_at, \
                 actor_subject, actor_organisation_id, memo, metadata, posting_count, previous_hash, hash) \
             SELECT * FROM UNNEST($5::bigint[], $6::uuid[], $7::text[], $8::date[], $9::timestamptz[], \
                 $10::text[], $11::uuid[], $12::text[], $13::text[], $14::int[], $15::bytea[], $16::bytea[]) \
             WHERE EXISTS (SELECT 1 FROM head) \
         ), postings AS ( \
             INSERT INTO journal_postings (sequence, posting_index, account_id, currency, amount_minor) \
             SELECT * FROM UNNEST($17::bigint[], $18::int[], $19::uuid[], $20::text[], $21::bigint[]) \
             WHERE EXISTS (SELECT 1 FROM head) \
         ), balances AS ( \
             INSERT INTO account_balances (account_id, balance_minor, last_sequence) \
             SELECT * FROM UNNEST($22::uuid[], $23::bigint[], $24::bigint[]) WHERE EXISTS (SELECT 1 FROM head) \
             ON CONFLICT (account_id) DO UPDATE SET \
                 balance_minor = CASE WHEN $25 THEN account_balances.balance_minor + excluded.balance_minor \
                                      ELSE excluded.balance_minor END, \
                 last_sequence = excluded.last_sequence \
         ), keys AS ( \
             INSERT INTO idempotency_records (scope, idempotency_key, request_fingerprint, response_status, \
                 response_body, created_at) \
             SELECT * FROM UNNEST($26::text[], $27::text[], $28::bytea[], $29::int[], $30::text[], $31::timestamptz[]) \
             WHERE EXISTS (SELECT 1 FROM head) \
         ), opened_accounts AS ( \
             INSERT INTO accounts (id, code, name, kind, currency, owner_organisation_id, created_at) \
             SELECT *, CURRENT_TIMESTAMP FROM UNNEST($32::uuid[], $33::text[], $34::text[], $35::text[], \
                 $36::text[], $37::uuid[]) WHERE EXISTS (SELECT 1 FROM head) \
             ON CONFLICT (code) DO NOTHING \
         ), batches AS ( \
             INSERT INTO contribution_batches (id, programme_id, contributor_id, period, earmark_beneficiary_id, \
                 currency, members_total, amount_minor, solidarity_minor, donation_minor, line_count, \
                 receivable_account_id, pledge_transaction_id, submitted_by, created_at, creditor_reference, \
                 line_references, line_members, line_amounts_minor, line_kinds, period_ordinal, period_total_minor) \
             SELECT batch.id, batch.programme_id, batch.contributor_id, batch.period, batch.earmark_beneficiary_id, \
                 batch.currency, batch.members_total, batch.amount_minor, batch.solidarity_minor, \
                 batch.donation_minor, batch.line_count, batch.receivable_account_id, \
                 batch.pledge_transaction_id, batch.submitted_by, batch.created_at, batch.creditor_reference, \
                 ($55::text[])[first_line:last_line], ($56::bigint[])[first_line:last_line], \
                 ($57::bigint[])[first_line:last_line], ($58::text[])[first_line:last_line], \
                 COALESCE(latest.period_ordinal, 0) + ROW_NUMBER() OVER in_period, \
                 (COALESCE(latest.period_total_minor, 0) + SUM(batch.amount_minor) OVER in_period)::BIGINT \
             FROM UNNEST($38::uuid[], $39::uuid[], $40::uuid[], $41::text[], $42::uuid[], $43::text[], \
                 $44::bigint[], $45::bigint[], $46::bigint[], $47::bigint[], $48::int[], $49::uuid[], $50::uuid[], \
                 $51::text[], $52::timestamptz[], $53::int[], $54::int[], $61::text[]) WITH ORDINALITY AS batch (id, \
                 programme_id, contributor_id, period, earmark_beneficiary_id, currency, members_total, amount_minor, \
                 solidarity_minor, donation_minor, line_count, receivable_account_id, pledge_transaction_id, \
                 submitted_by, created_at, first_line, last_line, creditor_reference, position) \
             LEFT JOIN LATERAL ( \
                 SELECT p.period_ordinal, p.period_total_minor FROM contribution_batches p \
                 WHERE p.contributor_id = batch.contributor_id AND p.programme_id = batch.programme_id \
                   AND p.period = batch.period ORDER BY p.period_ordinal DESC LIMIT 1 \
             ) AS latest ON TRUE \
             WHERE EXISTS (SELECT 1 FROM head) \
             WINDOW in_period AS (PARTITION BY batch.contributor_id, batch.programme_id, batch.period \
                 ORDER BY batch.position ROWS UNBOUNDED PRECEDING) \
         ) SELECT COUNT(*) FROM head",
    )
    .bind(sequence_to_db(plan.head.0)?)
    .bind(plan.head.1.as_bytes().as_slice())
    .bind(sequence_to_db(head.0)?)
    .bind(head.1.as_bytes().as_slice())
    .bind(&transactions.sequence)
    .bind(&transactions.transaction_id)
    .bind(&transactions.kind)
    .bind(&transactions.effective_date)
    .bind(&transactions.recorded_at)
    .bind(&transactions.actor_subject)
    .bind(&transactions.actor_organisation_id)
    .bind(&transactions.memo)
    .bind(&transactions.metadata)
    .bind(&transactions.posting_count)
    .bind(&transactions.previous_hash)
    .bind(&transactions.hash)
    .bind(&postings.sequence)
    .bind(&postings.posting_index)
    .bind(&postings.account_id)
    .bind(&postings.currency)
    .bind(&postings.amount_minor)
    .bind(&accounts)
    .bind(&balance_values)
    .bind(&lasts)
    .bind(balances_are_deltas)
    .bind(&keys.scope)
    .bind(&keys.key)
    .bind(&keys.fingerprint)
    .bind(&keys.status)
    .bind(&keys.body)
    .bind(&keys.created_at)
    .bind(&hot.accounts.id)
    .bind(&hot.accounts.code)
    .bind(&hot.accounts.name)
    .bind(&hot.accounts.kind)
    .bind(&hot.accounts.currency)
    .bind(&hot.accounts.owner_organisation_id)
    .bind(&hot.batches.id)
    .bind(&hot.batches.programme_id)
    .bind(&hot.batches.contributor_id)
    .bind(&hot.batches.period)
    .bind(&hot.batches.earmark_beneficiary_id)
    .bind(&hot.batches.currency)
    .bind(&hot.batches.members_total)
    .bind(&hot.batches.amount_minor)
    .bind(&hot.batches.solidarity_minor)
    .bind(&hot.batches.donation_minor)
    .bind(&hot.batches.line_count)
    .bind(&hot.batches.receivable_account_id)
    .bind(&hot.batches.pledge_transaction_id)
    .bind(&hot.batches.submitted_by)
    .bind(&hot.batches.created_at)
    .bind(&hot.batches.first_line)
    .bind(&hot.batches.last_line)
    .bind(&hot.lines.reference)
    .bind(&hot.lines.members)
    .bind(&hot.lines.amount_minor)
    .bind(&hot.lines.kind)
    .bind(&key_guard_ids)
    .bind(&key_guard_times)
    .bind(&hot.batches.creditor_reference)
    .fetch_one(&mut *connection)
    .await
    .map(|updated: i64| 1 - updated)?;
    if head_moved != 0 {
        return Ok(None);
    }
    insert_records_postgres(&mut *connection, &generic_records, false).await?;
    Ok(Some((plan.outcomes, plan.head)))
}
