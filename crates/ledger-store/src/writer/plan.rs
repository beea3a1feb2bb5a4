//! A group's write decided in memory, the same on both engines: every request's outcome in queue
//! order (replayed keys, refused guards, balances past their limit), the transactions sealed onto
//! the chain, and the rows to write as columns.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::limits::MAX_ACCOUNT_BALANCE_MINOR;
use ledger_core::postings::BalanceBound;
use ledger_core::{AccountId, BalancedTransaction, ChainHash, JournalRecord};
use uuid::Uuid;

use super::request::{CommittedTransaction, KeyState, WriteOutcome, WriteRequest};
use crate::error::StoreError;
use crate::idempotency::{self, IdempotencyEntry, KeyMap};
use crate::records::Record;
use crate::rows::{hash_from_db, sequence_from_db, sequence_to_db};

/// What the group will write, decided in memory.
pub(super) struct GroupPlan<'a> {
    pub(super) outcomes: Vec<Result<WriteOutcome, StoreError>>,
    pub(super) sealed: Vec<(&'a BalancedTransaction, JournalRecord)>,
    /// Final balance and last sequence of every account the group moves.
    pub(super) balances: Vec<(Uuid, i64, i64)>,
    pub(super) idempotency: Vec<&'a IdempotencyEntry>,
    pub(super) records: Vec<&'a Record>,
    pub(super) head: (u64, ChainHash),
}

pub(super) fn touched_accounts(requests: &[&WriteRequest]) -> Vec<Uuid> {
    let mut accounts: Vec<Uuid> = requests
        .iter()
        .flat_map(|request| {
            request
                .transactions
                .iter()
                .flat_map(|transaction| {
                    transaction
                        .postings()
                        .iter()
                        .map(|posting| posting.account_id.as_uuid())
                })
                .chain(
                    request
                        .guards
                        .iter()
                        .map(|guard| guard.account_id.as_uuid()),
                )
        })
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    accounts
}

/// The idempotency keys the requests would store, to look up before planning.
pub(super) fn requested_keys(requests: &[&WriteRequest]) -> Vec<(String, String)> {
    idempotency::keys(
        requests
            .iter()
            .filter_map(|request| request.idempotency.as_ref()),
    )
}

/// The API keys whose liveness the requests need, each once.
pub(super) fn guarded_keys(requests: &[&WriteRequest]) -> Vec<Uuid> {
    let mut keys: Vec<Uuid> = requests
        .iter()
        .filter_map(|request| request.key.map(|key| key.key_id))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The guarded keys and their requests' times, as columns (PostgreSQL binds them with UNNEST).
pub(super) fn key_guard_columns(requests: &[&WriteRequest]) -> (Vec<Uuid>, Vec<DateTime<Utc>>) {
    requests
        .iter()
        .filter_map(|request| request.key.map(|key| (key.key_id, key.at)))
        .unzip()
}

/// What the writer reads of the guarded keys, by id (an id absent from it is refused).
pub(super) type KeyStates = HashMap<Uuid, KeyState>;

/// Decides every request's outcome in queue order and seals the transactions that will be written.
pub(super) fn plan_group<'a>(
    head: (u64, ChainHash),
    requests: &[&'a WriteRequest],
    mut used_keys: KeyMap,
    mut balances: HashMap<Uuid, i64>,
    key_states: &KeyStates,
) -> GroupPlan<'a> {
    let (mut sequence, mut previous_hash) = head;
    let mut plan = GroupPlan {
        outcomes: Vec::with_capacity(requests.len()),
        sealed: Vec::new(),
        balances: Vec::new(),
        idempotency: Vec::new(),
        records: Vec::new(),
        head,
    };
    let mut last_sequences: HashMap<Uuid, u64> = HashMap::new();
    for request in requests {
        if let Some(key) = request.key
            && !key_states
                .get(&key.key_id)
                .is_some_and(|state| state.is_live(key.at))
        {
            plan.outcomes.push(Ok(WriteOutcome::KeyRefused));
            continue;
        }
        if let Some(entry) = &request.idempotency
            && let Some(stored) = used_keys.get(&(entry.scope.clone(), entry.key.clone()))
        {
            plan.outcomes
                .push(Ok(if stored.fingerprint == entry.fingerprint {
                    WriteOutcome::Replayed(stored.clone())
                } else {
                    WriteOutcome::IdempotencyConflict
                }));
            continue;
        }
        match apply_request(request, &balances) {
            Err(error) => plan.outcomes.push(Err(error)),
            Ok(tentative) => {
                if let Some(failed) = request.guards.iter().find_map(|guard| {
                    let id = guard.account_id.as_uuid();
                    let balance = tentative
                        .get(&id)
                        .or(balances.get(&id))
                        .copied()
                        .unwrap_or(0);
                    let holds = match guard.bound {
                        BalanceBound::AtLeast(minimum) => balance >= minimum,
                        BalanceBound::AtMost(maximum) => balance <= maximum,
                    };
                    (!holds).then_some(WriteOutcome::GuardFailed {
                        account_id: guard.account_id,
                        balance_minor: balance,
                    })
                }) {
                    plan.outcomes.push(Ok(failed));
                    continue;
                }
                let mut committed = Vec::with_capacity(request.transactions.len());
                for transaction in &request.transactions {
                    sequence += 1;
                    let record = transaction.seal(sequence, previous_hash);
                    previous_hash = record.hash;
                    for posting in transaction.postings() {
                        last_sequences.insert(posting.account_id.as_uuid(), sequence);
                    }
                    committed.push(CommittedTransaction {
                        transaction_id: transaction.id(),
                        sequence,
                        hash: record.hash,
                    });
                    plan.sealed.push((transaction, record));
                }
                balances.extend(tentative);
                plan.records.extend(request.records.iter());
                if let Some(entry) = &request.idempotency {
                    used_keys.insert(entry.scoped_key(), entry.stored_response());
                    plan.idempotency.push(entry);
                }
                plan.outcomes.push(Ok(WriteOutcome::Committed(committed)));
            }
        }
    }
    plan.head = (sequence, previous_hash);
    for (account, last_sequence) in last_sequences {
        let balance = balances.get(&account).copied().unwrap_or(0);
        // Sequences fit i64: they are checked when the head is read and grow by one per transaction.
        plan.balances.push((
            account,
            balance,
            i64::try_from(last_sequence).unwrap_or(i64::MAX),
        ));
    }
    plan
}

/// The balances a request's transactions would leave, with checked arithmetic.
fn apply_request(
    request: &WriteRequest,
    balances: &HashMap<Uuid, i64>,
) -> Result<HashMap<Uuid, i64>, StoreError> {
    let mut tentative: HashMap<Uuid, i64> = HashMap::new();
    for transaction in &request.transactions {
        for posting in transaction.postings() {
            let id = posting.account_id.as_uuid();
            let current = tentative
                .get(&id)
                .or(balances.get(&id))
                .copied()
                .unwrap_or(0);
            let next = current
                .checked_add(posting.amount.minor())
                .ok_or(StoreError::BalanceOverflow(posting.account_id))?;
            tentative.insert(id, next);
        }
    }
    // Every balance stays far inside the i64 range: a request that would carry one past the limit
    // is refused as a whole, and the others of its group go ahead.
    if let Some((account, _)) = tentative
        .iter()
        .find(|(_, balance)| balance.unsigned_abs() > MAX_ACCOUNT_BALANCE_MINOR.unsigned_abs())
    {
        return Err(StoreError::BalanceLimit(AccountId::from_uuid(*account)));
    }
    Ok(tentative)
}

/// Column arrays of the rows a plan writes (PostgreSQL binds them with UNNEST).
#[derive(Default)]
pub(super) struct TransactionColumns {
    pub(super) sequence: Vec<i64>,
    pub(super) transaction_id: Vec<Uuid>,
    pub(super) kind: Vec<String>,
    pub(super) effective_date: Vec<NaiveDate>,
    pub(super) recorded_at: Vec<DateTime<Utc>>,
    pub(super) actor_subject: Vec<String>,
    pub(super) actor_organisation_id: Vec<Option<Uuid>>,
    pub(super) memo: Vec<String>,
    pub(super) metadata: Vec<String>,
    pub(super) posting_count: Vec<i32>,
    pub(super) previous_hash: Vec<Vec<u8>>,
    pub(super) hash: Vec<Vec<u8>>,
}

#[derive(Default)]
pub(super) struct PostingColumns {
    pub(super) sequence: Vec<i64>,
    pub(super) posting_index: Vec<i32>,
    pub(super) account_id: Vec<Uuid>,
    pub(super) currency: Vec<String>,
    pub(super) amount_minor: Vec<i64>,
}

pub(super) fn columns(
    plan: &GroupPlan<'_>,
) -> Result<(TransactionColumns, PostingColumns), StoreError> {
    let mut transactions = TransactionColumns::default();
    let mut postings = PostingColumns::default();
    for (transaction, record) in &plan.sealed {
        let sequence = sequence_to_db(record.sequence)?;
        transactions.sequence.push(sequence);
        transactions.transaction_id.push(record.transaction_id);
        transactions.kind.push(record.kind.clone());
        transactions
            .effective_date
            .push(transaction.effective_date());
        transactions
            .recorded_at
            .push(transaction.recorded_at().to_datetime());
        transactions
            .actor_subject
            .push(record.actor_subject.clone());
        transactions.actor_organisation_id.push(
            transaction
                .actor()
                .organisation
                .map(|organisation| organisation.as_uuid()),
        );
        transactions.memo.push(record.memo.clone());
        transactions.metadata.push(record.metadata.clone());
        transactions.posting_count.push(
            i32::try_from(record.postings.len())
                .map_err(|_| StoreError::Corrupt("too many postings".into()))?,
        );
        transactions
            .previous_hash
            .push(record.previous_hash.as_bytes().to_vec());
        transactions.hash.push(record.hash.as_bytes().to_vec());
        for (index, posting) in record.postings.iter().enumerate() {
            postings.sequence.push(sequence);
            postings.posting_index.push(
                i32::try_from(index)
                    .map_err(|_| StoreError::Corrupt("too many postings".into()))?,
            );
            postings.account_id.push(posting.account_id);
            postings.currency.push(posting.currency.clone());
            postings.amount_minor.push(posting.amount_minor);
        }
    }
    Ok((transactions, postings))
}

pub(super) fn head_from_row(
    (sequence, hash): (i64, Vec<u8>),
) -> Result<(u64, ChainHash), StoreError> {
    Ok((sequence_from_db(sequence)?, hash_from_db(&hash)?))
}
