//! The journal writer: every write of the ledger goes through one task per process that takes the
//! requests queued since its last commit and commits them together in one database transaction
//! (group commit), so a commit's fixed cost (lock, fsync) is shared by everything waiting. A group
//! smaller than the one before it waits up to [`GROUP_LINGER`] for the callers just answered.
//!
//! Each request keeps its own outcome. Decisions that depend on the database (idempotency keys
//! already used, balance guards) are taken in memory under the chain-head lock, in queue order, so
//! a refused request writes nothing and does not disturb the others. If the group's database
//! transaction fails as a whole, the writer retries each request alone so only the faulty one fails.
//!
//! Across processes, appends are serialised by the database: PostgreSQL locks the chain-head row
//! `FOR UPDATE`; SQLite takes its write lock with `BEGIN IMMEDIATE`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use ledger_core::limits::MAX_ACCOUNT_BALANCE_MINOR;
use ledger_core::{
    AccountId, BalancedTransaction, ChainHash, JournalRecord, Timestamp, TransactionId,
};
use sqlx::{Connection, PgConnection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::hot_rows;
use crate::records::{Record, insert_records_postgres, insert_records_sqlite};
use crate::{Backend, StoreError, hash_from_db, sequence_from_db, sequence_to_db};

/// Requests waiting for the writer. A full queue makes callers wait (back-pressure) rather than
/// grow memory without bound.
const QUEUE_CAPACITY: usize = 10_000;
/// The most requests committed in one database transaction: large enough to absorb bursts, small
/// enough that one commit stays short and its arrays stay modest.
const MAX_GROUP_REQUESTS: usize = 512;
/// The most rows (journal postings and batch lines) in one group, for the same reason: a group's
/// rows travel as arrays of one statement. A single request above it is still written, alone.
const MAX_GROUP_ROWS: usize = 200_000;
/// The longest the writer waits for a group to grow back to the size of the one before it. A
/// commit's fixed cost (executor start-up, the WAL flush) is about a millisecond on PostgreSQL
/// against about 0.1 ms per batch, so with steady concurrent writers a group that waits for the
/// callers just answered commits more per millisecond than a group of one or two sent at once
/// (docs/benchmarks.md, issue 4). A lone writer never waits: its group is as large as the last.
const GROUP_LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// One unit of work: transactions to append, an optional idempotency record and balance guards,
/// committed together or not at all.
#[derive(Debug, Clone, Default)]
pub struct WriteRequest {
    /// Appended in this order, with consecutive sequence numbers within the request.
    pub transactions: Vec<BalancedTransaction>,
    /// Stored with the effect; if the key was already used in its scope, nothing is written and the
    /// outcome is [`WriteOutcome::Replayed`] or [`WriteOutcome::IdempotencyConflict`].
    pub idempotency: Option<IdempotencyEntry>,
    /// Bounds the accounts' balances must respect after this request's transactions.
    pub guards: Vec<BalanceGuard>,
    /// Domain rows written with the transactions.
    pub records: Vec<Record>,
}

impl WriteRequest {
    /// A request that appends one transaction.
    pub fn transaction(transaction: BalancedTransaction) -> WriteRequest {
        WriteRequest {
            transactions: vec![transaction],
            ..WriteRequest::default()
        }
    }

    /// How many rows the request writes, as far as group size is concerned.
    fn rows_count(&self) -> usize {
        let postings: usize = self
            .transactions
            .iter()
            .map(|transaction| transaction.postings().len())
            .sum();
        let lines: usize = self
            .records
            .iter()
            .map(|record| match record {
                Record::ContributionBatch(batch) => batch.lines.len(),
                _ => 1,
            })
            .sum();
        postings + lines
    }
}

/// The response to remember for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyEntry {
    /// Whose key it is (keys of different callers never collide).
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request (method, path, body): the same key with another request is a conflict.
    pub fingerprint: [u8; 32],
    pub response_status: u16,
    pub response_body: String,
    pub created_at: Timestamp,
}

/// A response stored under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub fingerprint: [u8; 32],
    pub response_status: u16,
    pub response_body: String,
}

pub use ledger_core::postings::{BalanceBound, BalanceGuard};

/// Where a committed transaction sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedTransaction {
    pub transaction_id: TransactionId,
    pub sequence: u64,
    pub hash: ChainHash,
}

/// What became of a write request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// Written and durable.
    Committed(Vec<CommittedTransaction>),
    /// The key was used before with the same request: here is the first response; nothing written.
    Replayed(StoredResponse),
    /// The key was used before with another request; nothing written.
    IdempotencyConflict,
    /// A guard did not hold; nothing written.
    GuardFailed {
        account_id: AccountId,
        balance_minor: i64,
    },
}

pub(crate) struct Queued {
    request: WriteRequest,
    respond: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Queued").finish_non_exhaustive()
    }
}

pub(crate) fn spawn(backend: Backend) -> mpsc::Sender<Queued> {
    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
    tokio::spawn(run(backend, receiver));
    sender
}

pub(crate) async fn submit(
    writer: &mpsc::Sender<Queued>,
    request: WriteRequest,
) -> Result<WriteOutcome, StoreError> {
    let (respond, response) = oneshot::channel();
    writer
        .send(Queued { request, respond })
        .await
        .map_err(|_| StoreError::WriterStopped)?;
    response.await.map_err(|_| StoreError::WriterStopped)?
}

/// The writer task's state. `known_head` is the chain head this writer last committed: while no
/// other instance appends, PostgreSQL groups can be written optimistically in one round trip,
/// without reading the head first (the write checks it and reports if it moved).
struct Writer {
    backend: Backend,
    known_head: Option<(u64, ChainHash)>,
    /// Detached from the pool, so closing the pool never waits for the writer to give it back.
    postgres_connection: Option<PgConnection>,
}

async fn run(backend: Backend, mut receiver: mpsc::Receiver<Queued>) {
    let mut writer = Writer {
        backend,
        known_head: None,
        postgres_connection: None,
    };
    // How many requests the last group held: callers answered then are likely writing again.
    let mut previous_group = 0;
    while let Some(first) = receiver.recv().await {
        let mut rows_count = first.request.rows_count();
        let mut group = vec![first];
        let full = |group: &Vec<Queued>, rows_count: usize| {
            group.len() >= MAX_GROUP_REQUESTS || rows_count >= MAX_GROUP_ROWS
        };
        let linger_until = tokio::time::Instant::now() + GROUP_LINGER;
        loop {
            while !full(&group, rows_count) {
                match receiver.try_recv() {
                    Ok(next) => {
                        rows_count += next.request.rows_count();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            if !keeps_lingering(group.len(), previous_group, full(&group, rows_count)) {
                break;
            }
            match tokio::time::timeout_at(linger_until, receiver.recv()).await {
                Ok(Some(next)) => {
                    rows_count += next.request.rows_count();
                    group.push(next);
                }
                Ok(None) | Err(_) => break,
            }
        }
        previous_group = group.len();
        writer.process(group).await;
    }
}

/// Whether a group of `group` requests waits for more (up to [`GROUP_LINGER`]): only while it is
/// smaller than the group before it and not full. A lone writer's groups are all of one, so it
/// never waits; after a group of eight, a group of one waits for the other seven to come back.
fn keeps_lingering(group: usize, previous_group: usize, full: bool) -> bool {
    !full && group < previous_group
}

impl Writer {
    async fn process(&mut self, group: Vec<Queued>) {
        let requests: Vec<&WriteRequest> = group.iter().map(|queued| &queued.request).collect();
        match self.commit_group(&requests).await {
            Ok(outcomes) => {
                for (queued, outcome) in group.into_iter().zip(outcomes) {
                    // A caller that went away (request cancelled) no longer needs the answer.
                    let _ = queued.respond.send(outcome);
                }
            }
            Err(error) if group.len() > 1 => {
                tracing::warn!(error = %error, requests = group.len(), "group commit failed; retrying each request alone");
                for queued in group {
                    let outcome =
                        self.commit_group(&[&queued.request])
                            .await
                            .and_then(|mut outcomes| {
                                outcomes.pop().unwrap_or(Err(StoreError::WriterStopped))
                            });
                    let _ = queued.respond.send(outcome);
                }
            }
            Err(error) => {
                if let Some(queued) = group.into_iter().next() {
                    let _ = queued.respond.send(Err(error));
                }
            }
        }
    }

    /// Commits a group in one database transaction. On PostgreSQL it first tries the optimistic write
    /// from the known head, and falls back to locking and reading the head when another instance moved
    /// it (or nothing is known yet, or a guard needs current balances).
    async fn commit_group(
        &mut self,
        requests: &[&WriteRequest],
    ) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await?;
                let outcomes = commit_group_sqlite(&mut transaction, requests).await?;
                transaction.commit().await?;
                Ok(outcomes)
            }
            Backend::Postgres(pool) => {
                // The writer keeps one connection: acquiring from the pool costs a round trip.
                let mut connection = match self.postgres_connection.take() {
                    Some(connection) => connection,
                    None => pool.acquire().await?.detach(),
                };
                let result =
                    commit_group_on_postgres(&mut connection, requests, &mut self.known_head).await;
                if result.is_ok() {
                    self.postgres_connection = Some(connection);
                }
                result
            }
        }
    }
}

/// The PostgreSQL side of [`Writer::commit_group`].
async fn commit_group_on_postgres(
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
        // Another instance moved the head, or a key was already used (which only the careful
        // path looks up): nothing was written; redo the group under the lock.
    }
    let mut transaction = connection.begin().await?;
    let (outcomes, new_head) = commit_group_postgres(&mut transaction, requests, None)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the chain head moved under its lock".into()))?;
    transaction.commit().await?;
    *known_head = Some(new_head);
    Ok(outcomes)
}

/// What the group will write, decided in memory.
struct GroupPlan<'a> {
    outcomes: Vec<Result<WriteOutcome, StoreError>>,
    sealed: Vec<(&'a BalancedTransaction, JournalRecord)>,
    /// Final balance and last sequence of every account the group moves.
    balances: Vec<(Uuid, i64, i64)>,
    idempotency: Vec<&'a IdempotencyEntry>,
    records: Vec<&'a Record>,
    head: (u64, ChainHash),
}

type KeyMap = HashMap<(String, String), StoredResponse>;

fn touched_accounts(requests: &[&WriteRequest]) -> Vec<Uuid> {
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

fn keys(requests: &[&WriteRequest]) -> Vec<(String, String)> {
    requests
        .iter()
        .filter_map(|request| request.idempotency.as_ref())
        .map(|entry| (entry.scope.clone(), entry.key.clone()))
        .collect()
}

/// Decides every request's outcome in queue order and seals the transactions that will be written.
fn plan_group<'a>(
    head: (u64, ChainHash),
    requests: &[&'a WriteRequest],
    mut used_keys: KeyMap,
    mut balances: HashMap<Uuid, i64>,
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
                    used_keys.insert(
                        (entry.scope.clone(), entry.key.clone()),
                        StoredResponse {
                            fingerprint: entry.fingerprint,
                            response_status: entry.response_status,
                            response_body: entry.response_body.clone(),
                        },
                    );
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
struct TransactionColumns {
    sequence: Vec<i64>,
    transaction_id: Vec<Uuid>,
    kind: Vec<String>,
    effective_date: Vec<NaiveDate>,
    recorded_at: Vec<DateTime<Utc>>,
    actor_subject: Vec<String>,
    actor_organisation_id: Vec<Option<Uuid>>,
    memo: Vec<String>,
    metadata: Vec<String>,
    posting_count: Vec<i32>,
    previous_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

#[derive(Default)]
struct PostingColumns {
    sequence: Vec<i64>,
    posting_index: Vec<i32>,
    account_id: Vec<Uuid>,
    currency: Vec<String>,
    amount_minor: Vec<i64>,
}

fn columns(plan: &GroupPlan<'_>) -> Result<(TransactionColumns, PostingColumns), StoreError> {
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

fn head_from_row((sequence, hash): (i64, Vec<u8>)) -> Result<(u64, ChainHash), StoreError> {
    Ok((sequence_from_db(sequence)?, hash_from_db(&hash)?))
}

const INSERT_IDEMPOTENCY: &str = "INSERT INTO idempotency_records \
    (scope, idempotency_key, request_fingerprint, response_status, response_body, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

const UPDATE_HEAD: &str = "UPDATE chain_head SET last_sequence = $1, last_hash = $2 WHERE id = 1";

async fn commit_group_sqlite(
    connection: &mut SqliteConnection,
    requests: &[&WriteRequest],
) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
    let head = head_from_row(
        sqlx::query_as("SELECT last_sequence, last_hash FROM chain_head WHERE id = 1")
            .fetch_one(&mut *connection)
            .await?,
    )?;
    let mut used_keys = KeyMap::new();
    for (scope, key) in keys(requests) {
        let row: Option<crate::rows::IdempotencyRow> =
            sqlx::query_as(crate::rows::SELECT_IDEMPOTENCY)
                .bind(&scope)
                .bind(&key)
                .fetch_optional(&mut *connection)
                .await?;
        if let Some(row) = row {
            used_keys.insert((scope, key), StoredResponse::try_from(row)?);
        }
    }
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
    let plan = plan_group(head, requests, used_keys, balances);
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
    for entry in &plan.idempotency {
        sqlx::query(INSERT_IDEMPOTENCY)
            .bind(&entry.scope)
            .bind(&entry.key)
            .bind(entry.fingerprint.as_slice())
            .bind(i32::from(entry.response_status))
            .bind(&entry.response_body)
            .bind(entry.created_at.to_datetime())
            .execute(&mut *connection)
            .await?;
    }
    if plan.head != head {
        sqlx::query(UPDATE_HEAD)
            .bind(sequence_to_db(plan.head.0)?)
            .bind(plan.head.1.as_bytes().as_slice())
            .execute(&mut *connection)
            .await?;
    }
    Ok(plan.outcomes)
}

/// What a PostgreSQL group commit produced: every request's outcome and the new chain head.
type PostgresCommit = (Vec<Result<WriteOutcome, StoreError>>, (u64, ChainHash));

/// Writes a group on PostgreSQL. With `optimistic_head`, nothing is read first: hashes chain from
/// that head, balances are written as deltas, and keys are not looked up (an existing key makes the
/// insert fail, and the writer retries each request alone, under the lock). Returns `None` when the
/// head was not the one expected, having written nothing.
async fn commit_group_postgres(
    connection: &mut PgConnection,
    requests: &[&WriteRequest],
    optimistic_head: Option<(u64, ChainHash)>,
) -> Result<Option<PostgresCommit>, StoreError> {
    let (head, used_keys, balances, balances_are_deltas) = match optimistic_head {
        Some(head) => (head, KeyMap::new(), HashMap::new(), true),
        None => {
            // The lock that serialises appends across every service instance sharing the database.
            let head = head_from_row(
                sqlx::query_as(
                    "SELECT last_sequence, last_hash FROM chain_head WHERE id = 1 FOR UPDATE",
                )
                .fetch_one(&mut *connection)
                .await?,
            )?;
            let used_keys = postgres_used_keys(connection, requests).await?;
            let touched = touched_accounts(requests);
            let balances: HashMap<Uuid, i64> = sqlx::query_as::<_, (Uuid, i64)>(
                "SELECT account_id, balance_minor FROM account_balances WHERE account_id = ANY($1)",
            )
            .bind(&touched)
            .fetch_all(&mut *connection)
            .await?
            .into_iter()
            .collect();
            (head, used_keys, balances, false)
        }
    };
    let plan = plan_group(head, requests, used_keys, balances);
    let (transactions, postings) = columns(&plan)?;
    let (hot, generic_records) = hot_rows::split(&plan.records)?;
    insert_records_postgres(&mut *connection, &generic_records, true).await?;
    let (accounts, rest): (Vec<Uuid>, Vec<(i64, i64)>) = plan
        .balances
        .iter()
        .map(|(account, balance, last)| (*account, (*balance, *last)))
        .unzip();
    let (balance_values, lasts): (Vec<i64>, Vec<i64>) = rest.into_iter().unzip();
    let mut key_scopes = Vec::new();
    let mut key_names = Vec::new();
    let mut key_fingerprints = Vec::new();
    let mut key_statuses = Vec::new();
    let mut key_bodies = Vec::new();
    let mut key_times = Vec::new();
    for entry in &plan.idempotency {
        key_scopes.push(entry.scope.as_str());
        key_names.push(entry.key.as_str());
        key_fingerprints.push(entry.fingerprint.to_vec());
        key_statuses.push(i32::from(entry.response_status));
        key_bodies.push(entry.response_body.as_str());
        key_times.push(entry.created_at.to_datetime());
    }
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
             WHERE id = 1 AND last_sequence = $3 AND last_hash = $4 RETURNING 1 \
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
                 receivable_account_id, pledge_transaction_id, submitted_by, created_at, \
                 line_references, line_members, line_amounts_minor, line_kinds, period_ordinal, period_total_minor) \
             SELECT batch.id, batch.programme_id, batch.contributor_id, batch.period, batch.earmark_beneficiary_id, \
                 batch.currency, batch.members_total, batch.amount_minor, batch.solidarity_minor, \
                 batch.donation_minor, batch.line_count, batch.receivable_account_id, \
                 batch.pledge_transaction_id, batch.submitted_by, batch.created_at, \
                 ($55::text[])[first_line:last_line], ($56::bigint[])[first_line:last_line], \
                 ($57::bigint[])[first_line:last_line], ($58::text[])[first_line:last_line], \
                 COALESCE(latest.period_ordinal, 0) + ROW_NUMBER() OVER in_period, \
                 (COALESCE(latest.period_total_minor, 0) + SUM(batch.amount_minor) OVER in_period)::BIGINT \
             FROM UNNEST($38::uuid[], $39::uuid[], $40::uuid[], $41::text[], $42::uuid[], $43::text[], \
                 $44::bigint[], $45::bigint[], $46::bigint[], $47::bigint[], $48::int[], $49::uuid[], $50::uuid[], \
                 $51::text[], $52::timestamptz[], $53::int[], $54::int[]) WITH ORDINALITY AS batch (id, programme_id, \
                 contributor_id, period, earmark_beneficiary_id, currency, members_total, amount_minor, \
                 solidarity_minor, donation_minor, line_count, receivable_account_id, pledge_transaction_id, \
                 submitted_by, created_at, first_line, last_line, position) \
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
    .bind(&key_scopes)
    .bind(&key_names)
    .bind(&key_fingerprints)
    .bind(&key_statuses)
    .bind(&key_bodies)
    .bind(&key_times)
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
    .fetch_one(&mut *connection)
    .await
    .map(|updated: i64| 1 - updated)?;
    if head_moved != 0 {
        return Ok(None);
    }
    insert_records_postgres(&mut *connection, &generic_records, false).await?;
    Ok(Some((plan.outcomes, plan.head)))
}

async fn postgres_used_keys(
    connection: &mut PgConnection,
    requests: &[&WriteRequest],
) -> Result<KeyMap, StoreError> {
    let mut used_keys = KeyMap::new();
    let wanted = keys(requests);
    if wanted.is_empty() {
        return Ok(used_keys);
    }
    let (scopes, keys): (Vec<String>, Vec<String>) = wanted.into_iter().unzip();
    let rows: Vec<(String, String, Vec<u8>, i32, String)> = sqlx::query_as(
        "SELECT r.scope, r.idempotency_key, r.request_fingerprint, r.response_status, r.response_body \
         FROM idempotency_records r JOIN UNNEST($1::text[], $2::text[]) AS wanted (scope, idempotency_key) \
         ON r.scope = wanted.scope AND r.idempotency_key = wanted.idempotency_key",
    )
    .bind(&scopes)
    .bind(&keys)
    .fetch_all(&mut *connection)
    .await?;
    for (scope, key, fingerprint, response_status, response_body) in rows {
        let stored = StoredResponse::try_from(crate::rows::IdempotencyRow::new(
            fingerprint,
            response_status,
            response_body,
        ))?;
        used_keys.insert((scope, key), stored);
    }
    Ok(used_keys)
}

#[cfg(test)]
mod tests {
    use super::keeps_lingering;

    #[test]
    fn only_a_group_smaller_than_the_last_waits_for_more() {
        // Proves the linger rule: a lone writer (groups of one) is never delayed, a group that
        // shrank after a larger one waits for the callers just answered, and a full group never
        // waits.
        assert!(!keeps_lingering(1, 0, false), "the first group");
        assert!(!keeps_lingering(1, 1, false), "a lone writer");
        assert!(keeps_lingering(1, 8, false), "after a group of eight");
        assert!(keeps_lingering(7, 8, false));
        assert!(
            !keeps_lingering(8, 8, false),
            "back to the size of the last"
        );
        assert!(!keeps_lingering(3, 8, true), "full");
    }
}
