//! Local counting for cached groups: what `log` touches.
//!
//! Every event has two counter banks. `log` adds to the active bank with one
//! atomic add and never reads the clock. The flusher owns time: at each span
//! boundary (a window boundary of any of the group's intervals) it makes the
//! other bank active and, after a short grace, drains the old one into a batch
//! stamped with the old span's start. So a count goes to the window in which
//! it was logged, however late the batch reaches Redis.
//!
//! A thread-local handle ([`LocalCell`]) avoids even the atomic add: its
//! owner thread alone writes its banks, with a plain load and store, and they
//! only ever grow; the flusher reads them and remembers how much it took.

use crate::flusher::Wake;
// hashbrown's default hasher (foldhash, randomly seeded): several times
// faster than SipHash on short IDs, on the by-name hot path.
use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The local counts of one event.
#[derive(Default)]
pub(crate) struct EventCounter {
    banks: [AtomicU64; 2],
    /// Cells of thread-local handles of this event.
    locals: Mutex<Vec<Arc<LocalCell>>>,
}

impl EventCounter {
    /// Takes everything counted in `bank`, thread-local cells included, and
    /// forgets cells whose handle is gone and whose counts were all taken.
    pub fn drain(&self, bank: usize) -> u64 {
        let shared = self.banks[bank].swap(0, Ordering::AcqRel);
        let mut locals = self.locals.lock().unwrap_or_else(|e| e.into_inner());
        let local: u64 = locals.iter().map(|cell| cell.take(bank)).sum();
        locals.retain(|cell| Arc::strong_count(cell) > 1 || cell.pending() > 0);
        shared + local
    }

    /// A new cell for a thread-local handle.
    pub fn new_local(&self) -> Arc<LocalCell> {
        let cell = Arc::new(LocalCell::default());
        self.locals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cell.clone());
        cell
    }

    fn has_pending(&self) -> bool {
        self.banks.iter().any(|b| b.load(Ordering::Acquire) != 0)
            || self
                .locals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|cell| cell.pending() > 0)
    }
}

/// The counts of one thread-local handle. Only the owning thread writes
/// `counted` (so a load and a store suffice, no read-modify-write); only
/// the flusher writes `taken`. Both only grow, so a count added while the
/// flusher reads is simply taken at the next drain of that bank.
#[derive(Default)]
pub(crate) struct LocalCell {
    counted: [AtomicU64; 2],
    taken: [AtomicU64; 2],
}

impl LocalCell {
    /// Adds `n` to `bank`. Only the owning thread may call this; returns the
    /// bank's count not yet taken, for the `sync_limit` check.
    #[inline]
    pub fn add_owned(&self, bank: usize, n: u64) -> u64 {
        let counted = self.counted[bank].load(Ordering::Relaxed).wrapping_add(n);
        self.counted[bank].store(counted, Ordering::Release);
        counted.wrapping_sub(self.taken[bank].load(Ordering::Relaxed))
    }

    /// What was counted in `bank` since the last take (flusher only).
    fn take(&self, bank: usize) -> u64 {
        let counted = self.counted[bank].load(Ordering::Acquire);
        let taken = self.taken[bank].swap(counted, Ordering::Relaxed);
        counted.wrapping_sub(taken)
    }

    fn pending(&self) -> u64 {
        (0..2)
            .map(|b| {
                self.counted[b]
                    .load(Ordering::Acquire)
                    .wrapping_sub(self.taken[b].load(Ordering::Relaxed))
            })
            .sum()
    }
}

type EventMap = HashMap<Box<[u8]>, Arc<EventCounter>>;

/// A group's event counters by ID.
enum Events {
    /// Only declared events: the map never changes, so it is read without a
    /// lock (a read lock costs two atomic read-modify-writes per `log`).
    Fixed(EventMap),
    /// Auto-declared events come and go: read-mostly, behind a lock.
    Growing(RwLock<EventMap>),
}

impl Events {
    fn read<R>(&self, f: impl FnOnce(&EventMap) -> R) -> R {
        match self {
            Events::Fixed(map) => f(map),
            Events::Growing(lock) => f(&lock.read().unwrap_or_else(|e| e.into_inner())),
        }
    }
}

/// The cached state of one group.
pub(crate) struct CachedGroup {
    pub name: String,
    pub intervals_ms: Vec<u64>,
    pub sync_limit: Option<u64>,
    pub sync_interval: Option<std::time::Duration>,
    /// Index of the bank `log` adds to.
    active: AtomicUsize,
    events: Events,
    /// Set by `log` when a count crosses `sync_limit`.
    pub limit_hit: AtomicBool,
    wake: Arc<Wake>,
}

impl CachedGroup {
    pub fn new(config: &ecl_core::GroupConfig, wake: Arc<Wake>) -> CachedGroup {
        let declared: EventMap = config
            .events
            .iter()
            .map(|e| (e.as_bytes().into(), Arc::new(EventCounter::default())))
            .collect();
        let events = if config.auto_declare_events {
            Events::Growing(RwLock::new(declared))
        } else {
            Events::Fixed(declared)
        };
        CachedGroup {
            name: config.name.clone(),
            intervals_ms: config.intervals.iter().map(|i| i.ms).collect(),
            sync_limit: config.sync_limit,
            sync_interval: config.sync_interval,
            active: AtomicUsize::new(0),
            events,
            limit_hit: AtomicBool::new(false),
            wake,
        }
    }

    /// Adds `n` to a known event; false if the event has no counter yet.
    /// The by-name hot path: a hash lookup (under a read lock only in an
    /// auto-declaring group), no reference counting.
    #[inline]
    pub fn add_by_name(&self, id: &[u8], n: u64) -> bool {
        self.events.read(|events| match events.get(id) {
            Some(counter) => {
                self.add(counter, n);
                true
            }
            None => false,
        })
    }

    /// The counter of a known event.
    pub fn find(&self, id: &[u8]) -> Option<Arc<EventCounter>> {
        self.events.read(|events| events.get(id).cloned())
    }

    /// The counter of an event the caller checked may be counted (declared,
    /// or valid in an auto-declaring group), created if new. `None` only for
    /// an undeclared event of a group that cannot add events.
    pub fn find_or_insert(&self, id: &[u8]) -> Option<Arc<EventCounter>> {
        match &self.events {
            Events::Fixed(map) => map.get(id).cloned(),
            Events::Growing(lock) => {
                if let Some(counter) = self.find(id) {
                    return Some(counter);
                }
                let mut events = lock.write().unwrap_or_else(|e| e.into_inner());
                Some(events.entry(id.into()).or_default().clone())
            }
        }
    }

    /// Adds `n` to an event's active bank: the whole hot path.
    #[inline]
    pub fn add(&self, counter: &EventCounter, n: u64) {
        let bank = self.active.load(Ordering::Acquire);
        let before = counter.banks[bank].fetch_add(n, Ordering::Relaxed);
        if let Some(limit) = self.sync_limit {
            if before < limit && before.saturating_add(n) >= limit {
                self.limit_hit.store(true, Ordering::Release);
                self.wake.notify();
            }
        }
    }

    /// Adds `n` through a thread-local handle's cell (see [`LocalCell`]).
    #[inline]
    pub fn add_local(&self, cell: &LocalCell, n: u64) {
        let bank = self.active.load(Ordering::Acquire);
        let pending = cell.add_owned(bank, n);
        if let Some(limit) = self.sync_limit {
            if pending >= limit && pending - n.min(pending) < limit {
                self.limit_hit.store(true, Ordering::Release);
                self.wake.notify();
            }
        }
    }

    /// Makes the other bank active; returns the bank that was active.
    pub fn flip(&self) -> usize {
        self.active.fetch_xor(1, Ordering::AcqRel)
    }

    pub fn active_bank(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Forgets auto-declared events with nothing counted that no handle
    /// holds, so a stream of one-off IDs does not grow memory forever.
    pub fn prune_idle(&self) {
        let Events::Growing(lock) = &self.events else {
            return; // declared events stay
        };
        let mut events = lock.write().unwrap_or_else(|e| e.into_inner());
        // Under the write lock nobody can be cloning a counter by name, so a
        // strong count of 1 means no handle and no `log` in flight holds it.
        events.retain(|_, c| Arc::strong_count(c) > 1 || c.has_pending());
    }

    /// Takes every non-zero count of `bank`.
    pub fn drain(&self, bank: usize) -> Vec<(Box<[u8]>, u64)> {
        self.events.read(|events| {
            events
                .iter()
                .filter_map(|(id, counter)| {
                    let n = counter.drain(bank);
                    (n > 0).then(|| (id.clone(), n))
                })
                .collect()
        })
    }
}
