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

mod plan;
mod postgres;
mod request;
mod sqlite;

use ledger_core::ChainHash;
use sqlx::PgConnection;
use tokio::sync::{mpsc, oneshot};

use crate::backend::Backend;
use crate::error::StoreError;

pub use crate::idempotency::{IdempotencyEntry, StoredResponse};
pub use ledger_core::postings::{BalanceBound, BalanceGuard};
pub use request::{CommittedTransaction, KeyGuard, WriteOutcome, WriteRequest};

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
                let outcomes = sqlite::commit_group(&mut transaction, requests).await?;
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
                    postgres::commit_group(&mut connection, requests, &mut self.known_head).await;
                if result.is_ok() {
                    self.postgres_connection = Some(connection);
                }
                result
            }
        }
    }
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
