//! In-process memory of what the database has already told this instance and cannot change:
//! organisations and programmes (written once, never updated) and "this contributor has a batch
//! for this programme and period" (batches are never deleted). The hot write path then reads
//! nothing of the registry from the database on every request.
//!
//! Only what was *found* is remembered: "not found" may become "found" at any moment, on this
//! instance or another one sharing the database, so absent rows are always read again. Should a
//! later change allow updating organisations or programmes, this memory must go (another
//! instance could not invalidate ours).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

use ledger_core::organisation::{Organisation, Programme};
use ledger_core::{OrganisationId, Period};
use uuid::Uuid;

/// The most entries one memory holds. Registries are small (hundreds of organisations and
/// programmes); periods with batches grow by contributors × programmes × periods. When a memory is
/// full it starts over, which bounds memory without eviction bookkeeping on the hot path (the
/// cost is one database read per forgotten entry).
pub(crate) const MAX_REMEMBERED_ENTRIES: usize = 100_000;

/// A bounded map from keys to values known to never change.
#[derive(Debug)]
pub(crate) struct Memo<K, V> {
    entries: RwLock<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    fn new() -> Memo<K, V> {
        Memo {
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        // A panic while holding the lock cannot leave a half-written entry: inserts are single
        // HashMap operations, so a poisoned map is still consistent.
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    pub(crate) fn remember(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_REMEMBERED_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, value);
    }
}

/// Which contributor, programme and period a batch belongs to.
pub(crate) type PeriodKey = (OrganisationId, Uuid, String);

pub(crate) fn period_key(
    contributor: OrganisationId,
    programme: Uuid,
    period: &Period,
) -> PeriodKey {
    (contributor, programme, period.to_string())
}

/// Everything the store remembers.
#[derive(Debug)]
pub(crate) struct Memory {
    pub(crate) organisations: Memo<OrganisationId, Organisation>,
    pub(crate) programmes: Memo<Uuid, Programme>,
    /// Periods known to hold at least one batch of the contributor for the programme.
    pub(crate) periods_with_batches: Memo<PeriodKey, ()>,
}

impl Memory {
    pub(crate) fn new() -> Memory {
        Memory {
            organisations: Memo::new(),
            programmes: Memo::new(),
            periods_with_batches: Memo::new(),
        }
    }
}
