//! The counter store of one group: current and last window of every event in
//! every interval, every event's total, and the tallies of §4.2/§4.3.
//!
//! Time is always an argument (`now_ms`, Unix milliseconds): the module passes
//! the server's clock, tests pass whatever they like. Writes first bring the
//! store to `now_ms` (rotation); reads never change the store, they compute
//! what a store brought to their time would hold. So reads are exact even if
//! no timer ran, and a replica's reads equal its master's.

mod event_table;
mod producers;
mod slot_counts;

pub use producers::{ProducerState, ProducerTable, MAX_PRODUCERS, MAX_PRODUCER_ID_LEN};

use crate::config::GroupConfig;
use crate::error::EclError;
use crate::event_id::{check_client_event_id, OVERFLOW_EVENT};
use event_table::EventTable;
use hashbrown::HashMap;
use slot_counts::SlotCounts;

/// What a group looks like according to the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShape {
    pub name: String,
    /// Interval lengths in ms, in config order, all distinct.
    pub intervals: Vec<u64>,
    pub declared: Vec<Vec<u8>>,
    pub auto_declare: bool,
    pub max_events: u64,
}

impl From<&GroupConfig> for GroupShape {
    fn from(g: &GroupConfig) -> Self {
        GroupShape {
            name: g.name.clone(),
            intervals: g.intervals.iter().map(|i| i.ms).collect(),
            declared: g.events.iter().map(|e| e.as_bytes().to_vec()).collect(),
            auto_declare: g.auto_declare_events,
            max_events: g.max_events,
        }
    }
}

/// Which window a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The last complete window.
    Last,
    /// The window in progress.
    Current,
}

/// One batch of counts to add (`ECL.LOG` is a batch of one).
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub events: &'a [(&'a [u8], u64)],
    /// The time the counts belong to (`AT`); `None` is now.
    pub at_ms: Option<u64>,
    /// The server's time.
    pub now_ms: u64,
    /// `(producer, seq)` for exactly-once retries.
    pub producer: Option<(&'a [u8], u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOutcome {
    Applied,
    /// The producer's batch with this sequence number was applied before.
    AlreadyApplied,
}

/// Counts never delivered to a window, so a reader can tell nothing was lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tallies {
    /// Counts for new auto-declared events beyond `max_events`, kept in `@overflow`.
    pub overflowed: u64,
    /// Counts whose `AT` was older than a kept window of at least one interval
    /// (they still went into the total and the kept windows they fit).
    pub late_dropped: u64,
}

/// One interval's windows for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalState {
    pub len_ms: u64,
    /// Index k of the current window: it covers [k·len, (k+1)·len).
    cur_window: u64,
    /// `cur_window * len_ms`, kept so the hot path compares instead of
    /// dividing.
    cur_start: u64,
    pub(crate) cur: SlotCounts,
    pub(crate) last: SlotCounts,
}

impl IntervalState {
    fn new(len_ms: u64, now_ms: u64, slots: usize) -> Self {
        let mut state = IntervalState {
            len_ms,
            cur_window: 0,
            cur_start: 0,
            cur: SlotCounts::zeros(slots),
            last: SlotCounts::zeros(slots),
        };
        state.set_window(now_ms / len_ms);
        state
    }

    /// Index of the current window.
    pub fn cur_window(&self) -> u64 {
        self.cur_window
    }

    fn set_window(&mut self, k: u64) {
        self.cur_window = k;
        self.cur_start = k.saturating_mul(self.len_ms);
    }

    /// Start (Unix ms) of the current window as seen at `at_ms`.
    pub fn current_start_at(&self, at_ms: u64) -> u64 {
        self.cur_window.max(at_ms / self.len_ms) * self.len_ms
    }

    /// Moves to the window containing `now_ms`. Returns whether it moved.
    /// Time never goes back: an earlier `now_ms` leaves the windows as they are.
    #[inline]
    fn advance(&mut self, now_ms: u64) -> bool {
        if now_ms < self.cur_start.saturating_add(self.len_ms) {
            return false; // still in the current window: no division needed
        }
        let k = now_ms / self.len_ms;
        if k == self.cur_window + 1 {
            std::mem::swap(&mut self.cur, &mut self.last);
            self.cur.clear();
        } else {
            self.cur.clear();
            self.last.clear();
        }
        self.set_window(k);
        true
    }

    /// The window's counts as they would be at `at_ms`, without rotating.
    fn view(&self, kind: WindowKind, at_ms: u64) -> Option<&SlotCounts> {
        let k = at_ms / self.len_ms;
        let ahead = k.saturating_sub(self.cur_window);
        match (kind, ahead) {
            (WindowKind::Current, 0) => Some(&self.cur),
            (WindowKind::Last, 0) => Some(&self.last),
            (WindowKind::Last, 1) => Some(&self.cur),
            _ => None,
        }
    }

    /// Until when a count in the current (or last) window stays visible.
    fn kept_until(&self, in_current: bool) -> u64 {
        let offset = if in_current { 2 } else { 1 };
        self.cur_start.saturating_add(offset * self.len_ms)
    }
}

/// Progress of freeing expired auto-declared events, done in bounded steps so
/// that rotating a huge group never stalls the server: first the slots,
/// `SWEEP_STEP` at a time, then giving back memory, one buffer per step
/// (returning a buffer of megabytes to the allocator is what takes time).
#[derive(Debug, Clone, Copy, Default)]
struct Sweep {
    pending: bool,
    cursor: usize,
    /// Set once the slots are done: the buffers to shrink next.
    shrink_stage: Option<usize>,
}

/// Everything stored for one group.
pub struct GroupStore {
    name: String,
    intervals: Vec<IntervalState>,
    events: EventTable,
    totals: SlotCounts,
    /// For auto-declared slots: the time from which the event has no count in
    /// any kept window (it is then dead and its slot can be freed).
    /// `u64::MAX` for declared events, which never expire.
    expires_ms: Vec<u64>,
    declared_count: usize,
    auto_declare: bool,
    max_events: u64,
    /// Slots held by auto-declared events (not `@overflow`), dead ones not yet
    /// swept included.
    auto_slots: u64,
    overflow_slot: Option<u32>,
    tallies: Tallies,
    producers: ProducerTable,
    sweep: Sweep,
}

/// Where the counts for one event of a batch go.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Slot(u32),
    /// The n-th new auto-declared event of the batch.
    New(usize),
    Overflow,
}

/// Pushes onto a per-slot vector, growing it by about an eighth rather than
/// doubling: there are `2 × intervals + 3` such vectors per group, and
/// doubling would leave up to half of each unused. Still amortised O(1).
pub(crate) fn push_compact<T>(v: &mut Vec<T>, value: T) {
    if v.len() == v.capacity() {
        let element = std::mem::size_of::<T>().max(1);
        let wanted = v.capacity() + (v.capacity() / 8).max(16);
        let capacity = allocation_class(wanted * element) / element;
        v.reserve_exact(capacity - v.len());
    }
    v.push(value);
}

/// `bytes` rounded up to the allocation size classes of jemalloc (Redis's
/// allocator): four per power of two. The allocator hands out the whole
/// class anyway, so a vector may as well use it as capacity.
pub(crate) fn allocation_class(bytes: usize) -> usize {
    if bytes <= 64 {
        return bytes.next_multiple_of(16);
    }
    let power = 1usize << (usize::BITS - 1 - bytes.leading_zeros());
    bytes.next_multiple_of(power / 4)
}

/// Slots visited per sweep step: about a millisecond of work at most.
pub const SWEEP_STEP: usize = 5_000;

impl GroupStore {
    /// An empty store shaped by the config, its windows at `now_ms`.
    pub fn new(shape: &GroupShape, now_ms: u64) -> Self {
        let mut store = GroupStore {
            name: shape.name.clone(),
            intervals: Vec::new(),
            events: EventTable::new(shape.auto_declare),
            totals: SlotCounts::zeros(0),
            expires_ms: Vec::new(),
            declared_count: shape.declared.len(),
            auto_declare: shape.auto_declare,
            max_events: shape.max_events,
            auto_slots: 0,
            overflow_slot: None,
            tallies: Tallies::default(),
            producers: ProducerTable::default(),
            sweep: Sweep::default(),
        };
        for id in &shape.declared {
            let slot = store.events.insert(id);
            debug_assert_eq!(slot as usize, store.totals.len());
            store.totals.push_zero();
            store.expires_ms.push(u64::MAX);
        }
        store.intervals = shape
            .intervals
            .iter()
            .map(|&len| IntervalState::new(len, now_ms, shape.declared.len()))
            .collect();
        store
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn intervals(&self) -> &[IntervalState] {
        &self.intervals
    }

    pub fn tallies(&self) -> Tallies {
        self.tallies
    }

    pub fn producers(&self) -> &ProducerTable {
        &self.producers
    }

    pub fn max_events(&self) -> u64 {
        self.max_events
    }

    pub fn auto_declare(&self) -> bool {
        self.auto_declare
    }

    pub fn declared_count(&self) -> usize {
        self.declared_count
    }

    fn is_declared(&self, slot: u32) -> bool {
        (slot as usize) < self.declared_count
    }

    /// Whether the event in `slot` has a count in a window kept at `at_ms`
    /// (declared events always live).
    fn is_live(&self, slot: u32, at_ms: u64) -> bool {
        self.events.id(slot).is_some() && self.expires_ms[slot as usize] > at_ms
    }

    /// Brings every interval to the window containing `now_ms`. Returns
    /// whether any window moved. Costs a memset per moved interval, nothing
    /// per event; freeing dead auto-declared events is left to [`sweep`].
    ///
    /// [`sweep`]: GroupStore::sweep
    pub fn advance(&mut self, now_ms: u64) -> bool {
        let mut moved = false;
        for interval in &mut self.intervals {
            moved |= interval.advance(now_ms);
        }
        if moved && self.events.slot_count() > self.declared_count {
            self.sweep = Sweep {
                pending: true,
                cursor: self.declared_count,
                shrink_stage: None,
            };
        }
        moved
    }

    /// The earliest time inside the current window of every interval: where
    /// the store stands. A time that rotates no interval is equivalent to it
    /// for every decision the store makes (windows, expiry, the cap).
    pub fn position_ms(&self) -> u64 {
        self.intervals
            .iter()
            .map(|i| i.cur_start)
            .max()
            .unwrap_or(0)
    }

    /// The `(at, now)` a batch acts at: time never goes back behind the
    /// store's position (a clock stepped back counts as the position), and
    /// `at` is never later than `now`.
    pub fn resolve_times(&self, at_ms: Option<u64>, now_ms: u64) -> (u64, u64) {
        let now = now_ms.max(self.position_ms());
        (at_ms.map_or(now, |at| at.min(now)), now)
    }

    /// Whether dead auto-declared events may be waiting to be freed.
    pub fn sweep_pending(&self) -> bool {
        self.sweep.pending
    }

    /// Frees dead auto-declared events, visiting at most `budget` slots.
    /// Returns whether work remains. Call after [`advance`](Self::advance).
    pub fn sweep(&mut self, now_ms: u64, budget: usize) -> bool {
        if !self.sweep.pending {
            return false;
        }
        if let Some(stage) = self.sweep.shrink_stage {
            return self.shrink_step(stage);
        }
        let end = self.events.slot_count();
        let stop = self.sweep.cursor.saturating_add(budget).min(end);
        for slot in self.sweep.cursor..stop {
            let slot = slot as u32;
            if self.events.id(slot).is_some() && self.expires_ms[slot as usize] <= now_ms {
                self.free_slot(slot);
            }
        }
        self.sweep.cursor = stop;
        if stop < end {
            return true;
        }
        // Slots done. Cut the free tail now (cheap, and new slots must not
        // land beyond it); give the memory back in the next steps.
        let len = self.events.trim_free_tail();
        self.totals.truncate(len);
        self.expires_ms.truncate(len);
        for interval in &mut self.intervals {
            interval.cur.truncate(len);
            interval.last.truncate(len);
        }
        self.sweep.shrink_stage = Some(0);
        true
    }

    /// Shrinks one buffer: stage 0 and 1 the totals and expiries, then each
    /// interval's two windows, then the event table. Returns whether more
    /// stages remain.
    fn shrink_step(&mut self, stage: usize) -> bool {
        fn shrink(v: &mut Vec<u64>) {
            if v.capacity() > 2 * v.len() + 16 {
                v.shrink_to_fit();
            }
        }
        let windows = 2 * self.intervals.len();
        match stage {
            0 => self.totals.shrink_if_loose(),
            1 => shrink(&mut self.expires_ms),
            s if s < 2 + windows => {
                let interval = &mut self.intervals[(s - 2) / 2];
                if s % 2 == 0 {
                    interval.cur.shrink_if_loose();
                } else {
                    interval.last.shrink_if_loose();
                }
            }
            s if s < 2 + windows + 3 => self.events.shrink(s - 2 - windows),
            _ => {
                self.sweep = Sweep::default();
                return false;
            }
        }
        self.sweep.shrink_stage = Some(stage + 1);
        true
    }

    fn free_slot(&mut self, slot: u32) {
        debug_assert!(!self.is_declared(slot));
        self.events.remove(slot);
        if self.overflow_slot == Some(slot) {
            self.overflow_slot = None;
        } else {
            self.auto_slots -= 1;
        }
        let s = slot as usize;
        self.totals.set(s, 0);
        self.expires_ms[s] = 0;
        for interval in &mut self.intervals {
            interval.cur.set(s, 0);
            interval.last.set(s, 0);
        }
    }

    fn new_slot(&mut self, id: &[u8]) -> u32 {
        let slot = self.events.insert(id);
        let s = slot as usize;
        if s == self.totals.len() {
            self.totals.push_zero();
            push_compact(&mut self.expires_ms, 0);
            for interval in &mut self.intervals {
                interval.cur.push_zero();
                interval.last.push_zero();
            }
        }
        slot
    }

    /// The total of a slot as the batch will see it: a dead auto-declared
    /// event starts again from zero.
    fn live_total(&self, slot: u32, now_ms: u64) -> u64 {
        if self.is_live(slot, now_ms) {
            self.totals.get(slot as usize)
        } else {
            0
        }
    }

    /// Adds a batch of counts: every event or none.
    pub fn log(&mut self, batch: Batch<'_>) -> Result<LogOutcome, EclError> {
        let (at, now) = self.resolve_times(batch.at_ms, batch.now_ms);
        self.advance(now);
        if let Some(outcome) =
            self.log_existing_one(batch.events, batch.producer.is_some(), at, now)?
        {
            return Ok(outcome);
        }

        // Resolve every event before changing anything.
        let mut targets: Vec<(Target, u64)> = Vec::with_capacity(batch.events.len());
        let mut new_ids: Vec<&[u8]> = Vec::new();
        let mut new_index: HashMap<&[u8], usize> = HashMap::new();
        for &(id, count) in batch.events {
            check_client_event_id(id).map_err(|reason| EclError::BadEventId {
                event: id.to_vec(),
                reason,
            })?;
            let target = match self.events.find(id) {
                Some(slot) => Target::Slot(slot),
                None if !self.auto_declare => {
                    return Err(EclError::UndeclaredEvent {
                        group: self.name.clone(),
                        event: id.to_vec(),
                    })
                }
                None => Target::New(*new_index.entry(id).or_insert_with(|| {
                    new_ids.push(id);
                    new_ids.len() - 1
                })),
            };
            targets.push((target, count));
        }
        if let Some((producer, seq)) = batch.producer {
            if producer.is_empty() || producer.len() > MAX_PRODUCER_ID_LEN {
                return Err(EclError::Syntax(format!(
                    "producer ID must be 1 to {MAX_PRODUCER_ID_LEN} bytes"
                )));
            }
            if self.producers.is_duplicate(producer, seq) {
                return Ok(LogOutcome::AlreadyApplied);
            }
        }

        // Sums of the new events, to know which really get a count.
        let mut new_sums: Vec<u64> = vec![0; new_ids.len()];
        for &(target, count) in &targets {
            if let Target::New(n) = target {
                new_sums[n] = new_sums[n]
                    .checked_add(count)
                    .ok_or_else(|| self.overflow_error(target, &new_ids))?;
            }
        }
        // New events with a zero sum are not created, nor are new events whose
        // counts fit no kept window (they would be dead on arrival; their
        // counts are tallied as late). The others get slots while the group
        // has room, in batch order; the rest overflow.
        let at_is_kept = self
            .intervals
            .iter()
            .any(|i| at >= i.cur_start.saturating_sub(i.len_ms));
        let wanted: Vec<usize> = (0..new_ids.len())
            .filter(|&n| at_is_kept && new_sums[n] > 0)
            .collect();
        let mut room = self.max_events.saturating_sub(self.auto_slots);
        if (wanted.len() as u64) > room && self.sweep.pending {
            self.sweep(now, usize::MAX);
            room = self.max_events.saturating_sub(self.auto_slots);
        }
        let mut overflow_sum = 0u64;
        let mut admitted: Vec<bool> = vec![false; new_ids.len()];
        for (i, &n) in wanted.iter().enumerate() {
            if (i as u64) < room {
                admitted[n] = true;
            } else {
                overflow_sum = overflow_sum
                    .checked_add(new_sums[n])
                    .ok_or_else(|| self.overflow_error(Target::Overflow, &new_ids))?;
            }
        }
        self.check_slot_totals(&targets, now, &new_ids)?;
        if overflow_sum > 0 {
            let total = self.overflow_slot.map_or(0, |s| self.live_total(s, now));
            if total.checked_add(overflow_sum).is_none() {
                return Err(self.overflow_error(Target::Overflow, &new_ids));
            }
        }

        // Apply.
        let mut new_slots: Vec<Option<u32>> = vec![None; new_ids.len()];
        for (n, id) in new_ids.iter().enumerate() {
            if admitted[n] {
                new_slots[n] = Some(self.new_slot(id));
                self.auto_slots += 1;
            }
        }
        for &(target, count) in &targets {
            if count == 0 {
                continue;
            }
            match target {
                Target::Slot(slot) => self.add(slot, count, at, now),
                Target::New(n) => match new_slots[n] {
                    Some(slot) => self.add(slot, count, at, now),
                    None if !at_is_kept => {
                        self.tallies.late_dropped = self.tallies.late_dropped.saturating_add(count);
                    }
                    None => {
                        let slot = self.overflow_slot_for(now);
                        self.add(slot, count, at, now);
                        self.tallies.overflowed = self.tallies.overflowed.saturating_add(count);
                    }
                },
                Target::Overflow => unreachable!(),
            }
        }
        if let Some((producer, seq)) = batch.producer {
            // The store's position, not the clock: replicas see the same.
            self.producers.record(producer, seq, self.position_ms());
        }
        Ok(LogOutcome::Applied)
    }

    /// Checks that no existing event's total would overflow. Counts are
    /// normally small: if every total can take the whole batch's sum, no
    /// per-event aggregation is needed; otherwise sum per event exactly.
    fn check_slot_totals(
        &self,
        targets: &[(Target, u64)],
        now: u64,
        new_ids: &[&[u8]],
    ) -> Result<(), EclError> {
        let batch_sum = targets.iter().try_fold(0u64, |a, t| a.checked_add(t.1));
        let slots = targets.iter().filter_map(|&(t, c)| match t {
            Target::Slot(slot) => Some((slot, c)),
            _ => None,
        });
        if let Some(batch_sum) = batch_sum {
            if slots
                .clone()
                .all(|(slot, _)| self.live_total(slot, now) <= u64::MAX - batch_sum)
            {
                return Ok(());
            }
        }
        let mut sums: HashMap<u32, u64> = HashMap::new();
        for (slot, count) in slots {
            let sum = sums.entry(slot).or_insert(0);
            *sum = sum
                .checked_add(count)
                .filter(|s| self.live_total(slot, now).checked_add(*s).is_some())
                .ok_or_else(|| self.overflow_error(Target::Slot(slot), new_ids))?;
        }
        Ok(())
    }

    /// The hot path: one event that already has a slot, no producer ID.
    /// Returns `None` when the general path must decide.
    fn log_existing_one(
        &mut self,
        events: &[(&[u8], u64)],
        has_producer: bool,
        at: u64,
        now: u64,
    ) -> Result<Option<LogOutcome>, EclError> {
        let [(id, count)] = events else {
            return Ok(None);
        };
        if has_producer || id.first() == Some(&b'@') {
            return Ok(None);
        }
        let Some(slot) = self.events.find(id) else {
            return Ok(None);
        };
        if self.live_total(slot, now).checked_add(*count).is_none() {
            return Err(EclError::CountOverflow(id.to_vec()));
        }
        if *count > 0 {
            self.add(slot, *count, at, now);
        }
        Ok(Some(LogOutcome::Applied))
    }

    fn overflow_error(&self, target: Target, new_ids: &[&[u8]]) -> EclError {
        let id = match target {
            Target::Slot(slot) => self.events.id(slot).unwrap_or_default(),
            Target::New(n) => new_ids[n],
            Target::Overflow => OVERFLOW_EVENT,
        };
        EclError::CountOverflow(id.to_vec())
    }

    fn overflow_slot_for(&mut self, now_ms: u64) -> u32 {
        match self.overflow_slot {
            Some(slot) => slot,
            None => {
                let _ = now_ms;
                let slot = self.new_slot(OVERFLOW_EVENT);
                self.overflow_slot = Some(slot);
                slot
            }
        }
    }

    /// Adds `count` (> 0) at time `at_ms` to a slot whose overflow was checked.
    fn add(&mut self, slot: u32, count: u64, at_ms: u64, now_ms: u64) {
        let s = slot as usize;
        let declared = self.is_declared(slot);
        if !declared && self.expires_ms[s] <= now_ms {
            // A dead auto-declared event counted again starts a new life.
            self.totals.set(s, 0);
        }
        self.totals.add(s, count);
        let mut late = false;
        let mut expires = self.expires_ms[s];
        // After `advance`, at_ms <= now < cur_start + len: compare, no division.
        for interval in &mut self.intervals {
            if at_ms >= interval.cur_start {
                interval.cur.add(s, count);
                expires = expires.max(interval.kept_until(true));
            } else if at_ms >= interval.cur_start.saturating_sub(interval.len_ms) {
                interval.last.add(s, count);
                expires = expires.max(interval.kept_until(false));
            } else {
                late = true;
            }
        }
        if !declared {
            self.expires_ms[s] = expires;
        }
        if late {
            self.tallies.late_dropped = self.tallies.late_dropped.saturating_add(count);
        }
    }

    /// Position of an interval by its length.
    pub fn interval_index(&self, len_ms: u64) -> Option<usize> {
        self.intervals.iter().position(|i| i.len_ms == len_ms)
    }

    /// Counts of one window as seen at `at_ms`: every declared event (zeros
    /// included) and every other event with a non-zero count, sorted by ID.
    pub fn window_counts(
        &self,
        interval: usize,
        kind: WindowKind,
        at_ms: u64,
    ) -> Vec<(&[u8], u64)> {
        let view = self.intervals[interval].view(kind, at_ms);
        let count_of = |s: usize| view.map_or(0, |v| v.get(s));
        let mut out: Vec<(&[u8], u64)> = Vec::with_capacity(self.declared_count);
        for slot in 0..self.events.slot_count() {
            let Some(id) = self.events.id(slot as u32) else {
                continue;
            };
            let count = count_of(slot);
            if slot < self.declared_count || count > 0 {
                out.push((id, count));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Every live event's total as seen at `at_ms`, sorted by ID.
    pub fn totals(&self, at_ms: u64) -> Vec<(&[u8], u64)> {
        let mut out: Vec<(&[u8], u64)> = (0..self.events.slot_count() as u32)
            .filter(|&slot| self.is_live(slot, at_ms))
            .filter_map(|slot| Some((self.events.id(slot)?, self.totals.get(slot as usize))))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Number of live auto-declared events (not counting `@overflow`) at `at_ms`.
    pub fn live_auto_events(&self, at_ms: u64) -> u64 {
        (self.declared_count as u32..self.events.slot_count() as u32)
            .filter(|&slot| Some(slot) != self.overflow_slot && self.is_live(slot, at_ms))
            .count() as u64
    }

    /// Approximate bytes held by the store (for `MEMORY USAGE`).
    pub fn memory_bytes(&self) -> usize {
        let per_slot_vecs: usize = self
            .intervals
            .iter()
            .map(|i| i.cur.heap_bytes() + i.last.heap_bytes())
            .sum::<usize>()
            + self.totals.heap_bytes()
            + self.expires_ms.capacity() * 8;
        std::mem::size_of::<Self>()
            + self.name.len()
            + self.intervals.capacity() * std::mem::size_of::<IntervalState>()
            + per_slot_vecs
            + self.events.heap_bytes()
            + self.producers.heap_bytes()
    }

    /// Every event with its slot data, in slot order, for encoding: `(id,
    /// total, [(cur, last)] per interval)`. Dead events with no count left
    /// are skipped, so the encoding is the logical state.
    pub(crate) fn stored_events(&self) -> impl Iterator<Item = (&[u8], u64, Vec<(u64, u64)>)> + '_ {
        (0..self.events.slot_count()).filter_map(move |s| {
            let id = self.events.id(s as u32)?;
            let windows: Vec<(u64, u64)> = self
                .intervals
                .iter()
                .map(|i| (i.cur.get(s), i.last.get(s)))
                .collect();
            let has_count = windows.iter().any(|&(c, l)| c > 0 || l > 0);
            (s < self.declared_count || has_count).then_some((id, self.totals.get(s), windows))
        })
    }

    /// Rebuilds a store from decoded parts; see `encoding`. Events not
    /// declared in `shape` become auto-declared (ephemeral) ones.
    pub(crate) fn from_parts(parts: StoreParts) -> Result<GroupStore, String> {
        let shape = GroupShape {
            name: parts.name,
            intervals: parts.intervals.iter().map(|i| i.0).collect(),
            declared: parts.declared,
            auto_declare: parts.auto_declare,
            max_events: parts.max_events,
        };
        let mut store = GroupStore::new(&shape, 0);
        for (interval, &(_, cur_window)) in store.intervals.iter_mut().zip(&parts.intervals) {
            interval.set_window(cur_window);
        }
        for event in parts.events {
            let slot = match store.events.find(&event.id) {
                Some(slot) => slot,
                None => {
                    let slot = store.new_slot(&event.id);
                    if event.id == OVERFLOW_EVENT {
                        store.overflow_slot = Some(slot);
                    } else {
                        store.auto_slots += 1;
                    }
                    slot
                }
            };
            store.set_slot(slot, event.total, &event.windows);
        }
        store.tallies = parts.tallies;
        for (producer, state) in parts.producers {
            store.producers.record(&producer, state.seq, state.seen_ms);
        }
        Ok(store)
    }

    /// Sets a slot's total and per-interval `(cur, last)` counts and derives
    /// its expiry from them.
    fn set_slot(&mut self, slot: u32, total: u64, windows: &[(u64, u64)]) {
        let s = slot as usize;
        self.totals.set(s, total);
        let mut expires = 0;
        for (interval, &(cur, last)) in self.intervals.iter_mut().zip(windows) {
            interval.cur.set(s, cur);
            interval.last.set(s, last);
            if cur > 0 {
                expires = expires.max(interval.kept_until(true));
            }
            if last > 0 {
                expires = expires.max(interval.kept_until(false));
            }
        }
        if !self.is_declared(slot) {
            self.expires_ms[s] = expires;
        }
    }

    /// Gives the store the config's shape (after a restart with a changed
    /// config): counts of (interval, event) pairs that still exist are kept;
    /// intervals and events the config dropped are dropped. Returns what was
    /// dropped, for the log.
    pub fn reshape(&self, shape: &GroupShape, now_ms: u64) -> (GroupStore, ReshapeReport) {
        let mut fresh = GroupStore::new(shape, now_ms);
        let mut report = ReshapeReport::default();
        // Intervals kept keep their window position.
        let mapping: Vec<Option<usize>> = shape
            .intervals
            .iter()
            .map(|&len| self.interval_index(len))
            .collect();
        for (new, old) in fresh.intervals.iter_mut().zip(&mapping) {
            if let Some(old) = old {
                new.set_window(self.intervals[*old].cur_window);
            }
        }
        report.dropped_intervals = self
            .intervals
            .iter()
            .filter(|i| !shape.intervals.contains(&i.len_ms))
            .map(|i| i.len_ms)
            .collect();
        for slot in 0..self.events.slot_count() as u32 {
            let Some(id) = self.events.id(slot) else {
                continue;
            };
            let s = slot as usize;
            let windows: Vec<(u64, u64)> = mapping
                .iter()
                .map(|old| {
                    old.map_or((0, 0), |o| {
                        (self.intervals[o].cur.get(s), self.intervals[o].last.get(s))
                    })
                })
                .collect();
            let has_count = windows.iter().any(|&(c, l)| c > 0 || l > 0);
            let target = match fresh.events.find(id) {
                Some(slot) => Some(slot),
                None if fresh.auto_declare && has_count => {
                    let slot = fresh.new_slot(id);
                    if id == OVERFLOW_EVENT {
                        fresh.overflow_slot = Some(slot);
                    } else {
                        fresh.auto_slots += 1;
                    }
                    Some(slot)
                }
                None => None,
            };
            match target {
                Some(new_slot) => fresh.set_slot(new_slot, self.totals.get(s), &windows),
                None if self.is_declared(slot) || has_count => report.dropped_events += 1,
                None => {}
            }
        }
        fresh.tallies = self.tallies;
        fresh.producers = self.producers.clone();
        (fresh, report)
    }

    /// Whether the store already has exactly this shape.
    pub fn has_shape(&self, shape: &GroupShape) -> bool {
        self.name == shape.name
            && self.auto_declare == shape.auto_declare
            && self.max_events == shape.max_events
            && self
                .intervals
                .iter()
                .map(|i| i.len_ms)
                .eq(shape.intervals.iter().copied())
            && self.declared_count == shape.declared.len()
            && (0..self.declared_count as u32)
                .all(|s| self.events.id(s) == Some(&shape.declared[s as usize][..]))
    }
}

impl std::fmt::Debug for GroupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupStore")
            .field("name", &self.name)
            .field(
                "intervals",
                &self.intervals.iter().map(|i| i.len_ms).collect::<Vec<_>>(),
            )
            .field("slots", &self.events.slot_count())
            .field("tallies", &self.tallies)
            .finish_non_exhaustive()
    }
}

/// What [`GroupStore::reshape`] dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReshapeReport {
    pub dropped_intervals: Vec<u64>,
    pub dropped_events: u64,
}

/// A store taken apart, as the encoding holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreParts {
    pub name: String,
    /// `(len_ms, cur_window)`
    pub intervals: Vec<(u64, u64)>,
    pub declared: Vec<Vec<u8>>,
    pub auto_declare: bool,
    pub max_events: u64,
    pub events: Vec<StoredEvent>,
    pub tallies: Tallies,
    pub producers: Vec<(Vec<u8>, ProducerState)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    pub id: Vec<u8>,
    pub total: u64,
    /// `(cur, last)` per interval.
    pub windows: Vec<(u64, u64)>,
}

#[cfg(test)]
mod tests;
