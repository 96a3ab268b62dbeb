//! Local counting for cached groups: what `log` touches.
//!
//! Every event has two counter banks. `log` adds to the active bank and never
//! reads the clock. The flusher owns time: at each span boundary (a window
//! boundary of any of the group's intervals) it makes the other bank active
//! and, after a short grace, drains the old one into a batch stamped with the
//! old span's start. So a count goes to the window in which it was logged,
//! however late the batch reaches Redis.
//!
//! Where a count goes: each counting thread has cells of its own in the
//! group ([`ThreadCells`], found through its [`thread_slot`]), one per event,
//! which only it writes — a plain load and store, no atomic
//! read-modify-write and no cache line shared with other threads. The cells
//! only ever grow; the flusher reads them and remembers how much it took.
//! Threads past [`MAX_THREAD_SLOTS`] and events past [`MAX_CELL_EVENTS`]
//! share the event's atomic banks instead. A [`LocalEventHandle`] owns a
//! cell of its own the same way.
//!
//! [`LocalEventHandle`]: crate::LocalEventHandle

use crate::bank_schedule::Bank;
use crate::thread_slot;
use crate::wake::Wake;
// hashbrown's default hasher (foldhash, randomly seeded): several times
// faster than SipHash on short IDs, on the by-name hot path.
use ecl_core::id_hash::IdHasher;
use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Threads with a slot below this count in cells of their own.
const MAX_THREAD_SLOTS: usize = 256;
/// Cells are allocated per thread in chunks of this many events.
const CELL_CHUNK: usize = 64;
const CELL_CHUNKS: usize = 256;
/// Events with an index below this get per-thread cells.
const MAX_CELL_EVENTS: usize = CELL_CHUNK * CELL_CHUNKS;

/// The local counts of one event that do not go to a thread's own cell.
pub(crate) struct EventCounter {
    /// Position of the event's cells in every thread's [`ThreadCells`].
    index: usize,
    /// Shared banks, for threads and events without cells of their own.
    banks: [AtomicU64; 2],
    /// Cells of thread-local handles of this event.
    locals: Mutex<Vec<Arc<OwnedCell>>>,
}

impl EventCounter {
    fn new(index: usize) -> EventCounter {
        EventCounter {
            index,
            banks: Default::default(),
            locals: Mutex::default(),
        }
    }

    /// Takes what the shared bank and the thread-local handles counted in
    /// `bank`, and forgets cells whose handle is gone and whose counts were
    /// all taken.
    fn drain(&self, bank: usize) -> u64 {
        let shared = self.banks[bank].swap(0, Ordering::AcqRel);
        let mut locals = self.locals.lock().unwrap_or_else(|e| e.into_inner());
        let local: u64 = locals.iter().map(|cell| cell.take(bank)).sum();
        locals.retain(|cell| Arc::strong_count(cell) > 1 || cell.pending() > 0);
        shared + local
    }

    /// A new cell for a thread-local handle.
    pub fn new_local(&self) -> Arc<OwnedCell> {
        let cell = Arc::new(OwnedCell::default());
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

/// Counts that one owner alone writes (a counting thread's own cell, or a
/// thread-local handle's). Only the owner writes `counted` (so
/// a load and a store suffice, no read-modify-write); only the flusher
/// writes `taken`. Both only grow, so a count added while the flusher reads
/// is simply taken at the next drain of that bank.
#[derive(Default)]
pub(crate) struct OwnedCell {
    counted: [AtomicU64; 2],
    taken: [AtomicU64; 2],
}

impl OwnedCell {
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

/// One thread's cells in a group, indexed by event index, allocated a chunk
/// at a time as the thread counts events (addresses never move, so the
/// flusher reads them while the owner writes).
struct ThreadCells {
    chunks: Box<[OnceLock<Box<[OwnedCell; CELL_CHUNK]>>]>,
}

impl ThreadCells {
    fn new() -> ThreadCells {
        ThreadCells {
            chunks: (0..CELL_CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The cell of event `index` (< `MAX_CELL_EVENTS`), made if new.
    #[inline]
    fn cell(&self, index: usize) -> &OwnedCell {
        let chunk = self.chunks[index / CELL_CHUNK]
            .get_or_init(|| Box::new(std::array::from_fn(|_| OwnedCell::default())));
        &chunk[index % CELL_CHUNK]
    }

    /// The cell of event `index`, if this thread ever counted near it.
    fn existing(&self, index: usize) -> Option<&OwnedCell> {
        let chunk = self.chunks.get(index / CELL_CHUNK)?.get()?;
        Some(&chunk[index % CELL_CHUNK])
    }
}

/// Hashed as the module's event tables are (`ecl_core::id_hash`): fast
/// where only the config's IDs go in, SipHash where logging adds IDs.
type EventMap = HashMap<Box<[u8]>, Arc<EventCounter>, IdHasher>;

/// A group's event counters by ID.
struct CounterIndex {
    map: EventMap,
    next_index: usize,
}

/// Where pruned events go: cell indices free for new events, and events
/// removed while a count may still have reached their cells (those are
/// drained with the others until empty, then their index is free).
#[derive(Default)]
struct Recycling {
    free: Vec<usize>,
    retired: Vec<(Box<[u8]>, Arc<EventCounter>)>,
}

impl CounterIndex {
    /// An empty index; `grows`: logging adds IDs to it (auto-declared
    /// events).
    fn new(grows: bool) -> CounterIndex {
        CounterIndex {
            map: HashMap::with_hasher(IdHasher::new(grows)),
            next_index: 0,
        }
    }

    fn insert(&mut self, id: &[u8], recycling: &Mutex<Recycling>) -> Arc<EventCounter> {
        let reused = recycling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .free
            .pop();
        let index = reused.unwrap_or_else(|| {
            self.next_index += 1;
            self.next_index - 1
        });
        let counter = Arc::new(EventCounter::new(index));
        self.map.insert(id.into(), counter.clone());
        counter
    }
}

/// A group's events.
enum Events {
    /// Only declared events: the table never changes, so it is read without
    /// a lock (a read lock costs two atomic read-modify-writes per `log`).
    Fixed(CounterIndex),
    /// Auto-declared events come and go: read-mostly, behind a lock.
    Growing(RwLock<CounterIndex>),
}

impl Events {
    fn read<R>(&self, f: impl FnOnce(&EventMap) -> R) -> R {
        match self {
            Events::Fixed(table) => f(&table.map),
            Events::Growing(lock) => f(&lock.read().unwrap_or_else(|e| e.into_inner()).map),
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
    recycling: Mutex<Recycling>,
    /// Cells of each thread that counted here, by thread slot.
    threads: Box<[OnceLock<ThreadCells>]>,
    /// One past the highest thread slot that counted here.
    slots_used: AtomicUsize,
    /// How many thread slots counted here.
    slots_joined: AtomicUsize,
    /// `sync_limit` shared out among the threads counting here: when one
    /// thread's cell reaches it the flusher is woken, so a flush starts no
    /// later than when all of them together reach `sync_limit`.
    thread_limit: AtomicU64,
    /// Set by `log` when a count crosses `sync_limit`.
    pub limit_hit: AtomicBool,
    wake: Arc<Wake>,
}

impl CachedGroup {
    pub fn new(config: &ecl_core::GroupConfig, wake: Arc<Wake>) -> CachedGroup {
        let recycling = Mutex::default();
        let mut declared = CounterIndex::new(config.auto_declare_events);
        for event in &config.events {
            declared.insert(event.as_bytes(), &recycling);
        }
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
            recycling,
            threads: (0..MAX_THREAD_SLOTS).map(|_| OnceLock::new()).collect(),
            slots_used: AtomicUsize::new(0),
            slots_joined: AtomicUsize::new(0),
            thread_limit: AtomicU64::new(config.sync_limit.unwrap_or(u64::MAX)),
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
            Events::Fixed(table) => table.map.get(id).cloned(),
            Events::Growing(lock) => {
                if let Some(counter) = self.find(id) {
                    return Some(counter);
                }
                let mut table = lock.write().unwrap_or_else(|e| e.into_inner());
                match table.map.get(id) {
                    Some(counter) => Some(counter.clone()),
                    None => Some(table.insert(id, &self.recycling)),
                }
            }
        }
    }

    /// Adds `n` to an event's active bank: the whole hot path. In the
    /// calling thread's own cell when it has one, else with an atomic add.
    ///
    /// Always inlined: the add to the thread's own cell is a few loads and
    /// an add, smaller than a call; the shared counter is out of line.
    #[inline(always)]
    pub fn add(&self, counter: &EventCounter, n: u64) {
        if let Some(cell) = self.own_cell(counter.index) {
            // The bank is read last, right before the add, so that a flip
            // seldom falls between the two (see `bank_schedule`).
            let bank = self.active.load(Ordering::Acquire);
            self.check_cell_limit(cell.add_owned(bank, n));
            return;
        }
        self.add_shared(counter, n);
    }

    /// [`add`](Self::add) for a thread without a cell of its own (past
    /// `MAX_THREAD_SLOTS`, or exiting) or an event past `MAX_CELL_EVENTS`.
    #[inline(never)]
    fn add_shared(&self, counter: &EventCounter, n: u64) {
        let bank = self.active.load(Ordering::Acquire);
        let before = counter.banks[bank].fetch_add(n, Ordering::Relaxed);
        if let Some(limit) = self.sync_limit {
            if before < limit && before.saturating_add(n) >= limit {
                self.wake_flusher();
            }
        }
    }

    /// Adds `n` through a thread-local handle's cell (see [`OwnedCell`]).
    #[inline]
    pub fn add_local(&self, cell: &OwnedCell, n: u64) {
        let bank = self.active.load(Ordering::Acquire);
        self.check_cell_limit(cell.add_owned(bank, n));
    }

    /// After an add to a cell with `pending` counts not yet taken: wakes the
    /// flusher when the cell holds its share of `sync_limit`.
    #[inline]
    fn check_cell_limit(&self, pending: u64) {
        if self.sync_limit.is_some() && pending >= self.thread_limit.load(Ordering::Relaxed) {
            self.wake_flusher();
        }
    }

    /// Asks for a drain because `sync_limit` was reached (once until the
    /// flusher takes the request).
    fn wake_flusher(&self) {
        if !self.limit_hit.load(Ordering::Relaxed) {
            self.limit_hit.store(true, Ordering::Release);
            self.wake.notify();
        }
    }

    /// The calling thread's cell for event `index`, when it can have one.
    #[inline]
    fn own_cell(&self, index: usize) -> Option<&OwnedCell> {
        let slot = thread_slot::current();
        if slot >= MAX_THREAD_SLOTS || index >= MAX_CELL_EVENTS {
            return None;
        }
        let cells = match self.threads[slot].get() {
            Some(cells) => cells,
            None => self.join(slot),
        };
        Some(cells.cell(index))
    }

    /// First count of the thread in `slot` in this group.
    #[cold]
    fn join(&self, slot: usize) -> &ThreadCells {
        let mut joined = false;
        let cells = self.threads[slot].get_or_init(|| {
            joined = true;
            ThreadCells::new()
        });
        if joined {
            self.slots_used.fetch_max(slot + 1, Ordering::AcqRel);
            let threads = self.slots_joined.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(limit) = self.sync_limit {
                self.thread_limit
                    .fetch_min(limit.div_ceil(threads as u64).max(1), Ordering::Relaxed);
            }
        }
        cells
    }

    /// The cells of every thread that counted here.
    fn thread_cells(&self) -> impl Iterator<Item = &ThreadCells> {
        let used = self.slots_used.load(Ordering::Acquire);
        self.threads[..used].iter().filter_map(OnceLock::get)
    }

    /// The threads' own cells of `counter`'s event.
    fn thread_cells_of<'a>(
        &'a self,
        counter: &'a EventCounter,
    ) -> impl Iterator<Item = &'a OwnedCell> + 'a {
        self.thread_cells()
            .filter_map(|cells| cells.existing(counter.index))
    }

    /// Takes everything counted for `counter` in `bank`.
    fn drain_counter(&self, counter: &EventCounter, bank: usize) -> u64 {
        let own: u64 = self
            .thread_cells_of(counter)
            .map(|cell| cell.take(bank))
            .fold(0, u64::wrapping_add);
        counter.drain(bank).wrapping_add(own)
    }

    fn has_pending(&self, counter: &EventCounter) -> bool {
        counter.has_pending() || self.thread_cells_of(counter).any(|cell| cell.pending() > 0)
    }

    /// Makes the other bank active (the flusher alone calls this); returns
    /// the bank that was active.
    pub fn flip(&self) -> usize {
        self.active.fetch_xor(1, Ordering::AcqRel)
    }

    /// The number of the bank in `role` now.
    pub fn bank(&self, role: Bank) -> usize {
        let active = self.active.load(Ordering::Acquire);
        match role {
            Bank::Active => active,
            Bank::Other => active ^ 1,
        }
    }

    /// Forgets auto-declared events with nothing counted that no handle
    /// holds, so a stream of one-off IDs does not grow memory forever.
    pub fn prune_idle(&self) {
        let idle = self.idle_events();
        if !idle.is_empty() {
            self.retire(idle);
        }
    }

    /// Auto-declared events that look idle: nothing pending, no handle.
    /// Found under the read lock, so counting goes on while it scans.
    fn idle_events(&self) -> Vec<(Box<[u8]>, Arc<EventCounter>)> {
        let Events::Growing(lock) = &self.events else {
            return Vec::new(); // declared events stay
        };
        let table = lock.read().unwrap_or_else(|e| e.into_inner());
        table
            .map
            .iter()
            .filter(|(_, c)| Arc::strong_count(c) == 1 && !self.has_pending(c))
            .map(|(id, c)| (id.clone(), c.clone()))
            .collect()
    }

    /// Removes `idle` events still unheld; the write lock is held only for
    /// the removals. A `log` by name between the scan and the removal may
    /// have counted in their cells: no one can count there any more, so
    /// what is left is final, and such an event retires until drained.
    fn retire(&self, idle: Vec<(Box<[u8]>, Arc<EventCounter>)>) {
        let Events::Growing(lock) = &self.events else {
            return;
        };
        let mut removed = Vec::with_capacity(idle.len());
        {
            let mut table = lock.write().unwrap_or_else(|e| e.into_inner());
            for (id, counter) in idle {
                // Two references: the table's and ours. More: a handle
                // was made since, and the event stays.
                if Arc::strong_count(&counter) == 2 {
                    table.map.remove(&id);
                    removed.push((id, counter));
                }
            }
        }
        let mut recycling = self.recycling.lock().unwrap_or_else(|e| e.into_inner());
        for (id, counter) in removed {
            if self.has_pending(&counter) {
                recycling.retired.push((id, counter));
            } else {
                recycling.free.push(counter.index);
            }
        }
    }

    /// Takes every non-zero count of `bank`.
    pub fn drain(&self, bank: usize) -> Vec<(Box<[u8]>, u64)> {
        let mut counts: Vec<_> = self.events.read(|events| {
            events
                .iter()
                .filter_map(|(id, counter)| {
                    let n = self.drain_counter(counter, bank);
                    (n > 0).then(|| (id.clone(), n))
                })
                .collect()
        });
        let mut recycling = self.recycling.lock().unwrap_or_else(|e| e.into_inner());
        let Recycling { free, retired } = &mut *recycling;
        retired.retain(|(id, counter)| {
            let n = self.drain_counter(counter, bank);
            if n > 0 {
                counts.push((id.clone(), n));
            }
            let pending = self.has_pending(counter);
            if !pending {
                free.push(counter.index);
            }
            pending
        });
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(body: &str) -> CachedGroup {
        let text = format!("groups:\n  g:\n{body}");
        let config = ecl_core::Config::parse(&text, "test.yml").unwrap();
        CachedGroup::new(&config.groups[0], Arc::new(Wake::default()))
    }

    fn drained(group: &CachedGroup, bank: usize) -> Vec<(String, u64)> {
        let mut counts: Vec<_> = group
            .drain(bank)
            .into_iter()
            .map(|(id, n)| (String::from_utf8(id.into_vec()).unwrap(), n))
            .collect();
        counts.sort();
        counts
    }

    #[test]
    fn every_thread_count_is_drained_once_also_from_exited_threads() {
        let g = group("    events: [a, b]\n    intervals: [1m]\n    sync_interval: 1\n");
        let a = g.find(b"a").unwrap();
        std::thread::scope(|s| {
            // Eight threads at once, then eight more reusing their slots.
            for round in 0..2 {
                let workers: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            for i in 0..10_000u64 {
                                g.add(&a, 1);
                                assert!(g.add_by_name(b"b", i % 2));
                            }
                        })
                    })
                    .collect();
                // Drains while they count take each count once.
                let mut mid = drained(&g, 0);
                for w in workers {
                    w.join().unwrap();
                }
                mid.extend(drained(&g, 0));
                let sum = |id: &str| mid.iter().filter(|p| p.0 == id).map(|p| p.1).sum::<u64>();
                assert_eq!((sum("a"), sum("b")), (80_000, 40_000), "round {round}");
            }
        });
        assert_eq!(drained(&g, 0), vec![]);
        assert_eq!(drained(&g, 1), vec![]);
    }

    #[test]
    fn counts_go_to_the_bank_active_when_logged() {
        let g = group("    events: [a]\n    intervals: [1m]\n    sync_interval: 1\n");
        assert!(g.add_by_name(b"a", 3));
        let old = g.flip();
        assert!(g.add_by_name(b"a", 4));
        assert_eq!(drained(&g, old), vec![("a".to_string(), 3)]);
        assert_eq!(drained(&g, 1 - old), vec![("a".to_string(), 4)]);
    }

    #[test]
    fn a_straggler_added_after_its_bank_was_drained_is_sent_for_its_span() {
        use crate::bank_schedule::{BankSchedule, Drain, GRACE};
        use std::time::Instant;
        let g = group("    events: [a]\n    intervals: [1s]\n    sync_interval: 1\n");
        let a = g.find(b"a").unwrap();
        let t0 = Instant::now();
        let mut schedule = BankSchedule::new(0, None, t0);
        let take = |drains: Vec<Drain>| -> Vec<(u64, u64)> {
            drains
                .iter()
                .flat_map(|d| {
                    let bank = g.bank(d.bank);
                    drained(&g, bank).into_iter().map(move |(_, n)| (d.span, n))
                })
                .collect()
        };
        g.add(&a, 1);
        // A `log` reads the active bank, then is descheduled...
        let straggler_bank = g.active.load(Ordering::Acquire);
        let cell = g.own_cell(a.index).unwrap();
        // ...while the boundary passes and the closed bank is drained.
        let first_drains = schedule.at_span(1000, t0).unwrap();
        assert_eq!(take(first_drains), vec![]);
        assert_eq!(g.flip(), straggler_bank);
        assert_eq!(take(schedule.due(t0 + GRACE, false, false)), vec![(0, 1)]);
        // It adds late, to the drained bank: the next flush still sends it,
        // for span 0, in which the `log` was made.
        cell.add_owned(straggler_bank, 1);
        g.add(&a, 5);
        assert_eq!(
            take(schedule.due(t0 + GRACE, true, false)),
            vec![(0, 1), (1000, 5)]
        );
    }

    #[test]
    fn a_pruned_events_cells_are_reused_without_its_counts() {
        let g = group("    auto_declare_events: true\n    intervals: [1m]\n    sync_interval: 1\n");
        let old = g.find_or_insert(b"old").unwrap();
        let index = old.index;
        g.add(&old, 5);
        drop(old);
        g.prune_idle();
        assert!(g.find(b"old").is_some(), "pending counts keep the event");
        assert_eq!(drained(&g, 0), vec![("old".to_string(), 5)]);
        g.prune_idle();
        assert!(g.find(b"old").is_none(), "idle and unheld: forgotten");
        let new = g.find_or_insert(b"new").unwrap();
        assert_eq!(new.index, index, "the index is reused");
        g.add(&new, 2);
        assert_eq!(drained(&g, 0), vec![("new".to_string(), 2)]);
    }

    #[test]
    fn a_count_that_reaches_an_event_while_it_is_pruned_is_still_sent() {
        let g = group("    auto_declare_events: true\n    intervals: [1m]\n    sync_interval: 1\n");
        let index = g.find_or_insert(b"late").unwrap().index;
        let idle = g.idle_events();
        assert_eq!(idle.len(), 1);
        // A `log` by name between the scan and the removal.
        assert!(g.add_by_name(b"late", 3));
        g.retire(idle);
        assert!(g.find(b"late").is_none(), "removed");
        let next = g.find_or_insert(b"next").unwrap();
        assert_ne!(next.index, index, "not reused while a count is left");
        assert_eq!(drained(&g, 0), vec![("late".to_string(), 3)]);
        let after = g.find_or_insert(b"after").unwrap();
        assert_eq!(after.index, index, "reused once drained");
    }

    #[test]
    fn an_event_with_a_handle_made_during_pruning_stays() {
        let g = group("    auto_declare_events: true\n    intervals: [1m]\n    sync_interval: 1\n");
        g.find_or_insert(b"held").unwrap();
        let idle = g.idle_events();
        let handle = g.find(b"held").unwrap();
        g.retire(idle);
        g.add(&handle, 2);
        assert!(g.find(b"held").is_some());
        assert_eq!(drained(&g, 0), vec![("held".to_string(), 2)]);
    }

    #[test]
    fn sync_limit_is_shared_out_among_counting_threads() {
        let g = group("    events: [a]\n    intervals: [1m]\n    sync_limit: 100\n");
        let a = g.find(b"a").unwrap();
        g.add(&a, 99);
        assert!(
            !g.limit_hit.load(Ordering::Acquire),
            "one thread, below the limit"
        );
        g.add(&a, 1);
        assert!(
            g.limit_hit.swap(false, Ordering::AcqRel),
            "one thread, at the limit"
        );
        drained(&g, 0);
        // Four threads of 25 each reach 100 together: one of them asks.
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    barrier.wait(); // all four joined before anyone counts
                    g.add(&a, 0);
                    barrier.wait();
                    g.add(&a, 25);
                });
            }
        });
        assert!(g.limit_hit.load(Ordering::Acquire));
        assert_eq!(drained(&g, 0), vec![("a".to_string(), 100)]);
    }
}
