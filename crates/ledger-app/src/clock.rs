//! Time and identifiers come from outside the commands: the service uses the system clock and
//! UUIDv7, tests and the demo may fix both. No command reads `Utc::now()` or mints an id itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use ledger_core::postings::Header;
use ledger_core::time::FundDate;
use ledger_core::{Actor, Timestamp, TransactionId};
use uuid::Uuid;

use crate::error::AppError;

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always answers the same instant (tests, reproducible demos).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Where new ids come from.
pub trait IdSource: Send + Sync + std::fmt::Debug {
    fn next_id(&self) -> Uuid;
}

/// Time-ordered UUIDv7 ids: what the service uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct V7Ids;

impl IdSource for V7Ids {
    fn next_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Ids counted up from a fixed prefix (tests that compare exact output). Each call answers the
/// next one, so two ids from one source never collide.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: u64,
    next: AtomicU64,
}

impl SequentialIds {
    pub fn new(prefix: u64) -> SequentialIds {
        SequentialIds {
            prefix,
            next: AtomicU64::new(1),
        }
    }
}

impl IdSource for SequentialIds {
    fn next_id(&self) -> Uuid {
        let counter = self.next.fetch_add(1, Ordering::Relaxed);
        Uuid::from_u64_pair(self.prefix, counter)
    }
}

/// The clock and the id source of one application, shared by every command.
#[derive(Debug, Clone)]
pub struct Sources {
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

impl Default for Sources {
    fn default() -> Self {
        Sources::new(Arc::new(SystemClock), Arc::new(V7Ids))
    }
}

impl Sources {
    pub fn new(clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> Sources {
        Sources { clock, ids }
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The current instant as the journal records it.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::from_datetime(self.clock.now())
    }

    /// Today's UTC date, in the range the fund accepts.
    pub fn today(&self) -> Result<FundDate, AppError> {
        FundDate::of_instant(self.clock.now())
            .map_err(|error| AppError::internal_message(format!("the clock's date: {error}")))
    }

    /// A new id.
    pub fn id(&self) -> Uuid {
        self.ids.next_id()
    }

    /// The header of a new journal transaction made now by `actor`, dated today (a flow with
    /// another accounting date, such as a bank value date, sets its own).
    pub fn header(&self, actor: Actor) -> Header {
        let now = self.clock.now();
        Header {
            id: self.transaction_id(),
            effective_date: now.date_naive(),
            recorded_at: Timestamp::from_datetime(now),
            actor,
        }
    }

    /// A new journal transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        TransactionId::from_uuid(self.ids.next_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_sources_answer_the_same_time_and_distinct_ids() {
        // Proves tests can pin time, and that sequential ids never repeat.
        let instant = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let sources = Sources::new(
            Arc::new(FixedClock(instant)),
            Arc::new(SequentialIds::new(7)),
        );
        assert_eq!(sources.now(), instant);
        assert_eq!(sources.today().unwrap().to_string(), "2026-11-30");
        let first = sources.id();
        let second = sources.id();
        assert_ne!(first, second);
        assert_eq!(first, Uuid::from_u64_pair(7, 1));
    }
}
