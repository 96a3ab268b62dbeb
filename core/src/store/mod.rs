//! The counter store of one group: current and last window of every event in
//! every interval, every event's total, and the tallies of §4.2/§4.3.
//!
//! Time is always an argument: the module passes the server's clock (or the
//! master's), tests pass whatever they like. A write is first admitted
//! against the store as it will be at its time (`admission`), and only then
//! are the windows moved (`windows`) and the counts added; a refused write
//! changes nothing. Reads never change the store: they compute what a store
//! brought to their time would hold, so they are exact even if no timer ran.
//!
//! Layout: `types` (the vocabulary), `windows` (the window model),
//! `admission` (accept or refuse a batch), `expiry` (live auto-declared
//! events by expiry), `sweep` (freeing dead ones in steps), `rebuild`
//! (encoding parts and reshaping), `event_table`, `slot_counts`, `producers`.

mod admission;
mod chunked;
mod event_table;
mod expiry;
mod history;
mod producers;
mod rebuild;
mod slot_counts;
mod slot_index;
mod sweep;
mod types;
mod windows;

pub use history::{ClosedWindow, RangeReply};
pub use producers::{ProducerState, ProducerTable, MAX_PRODUCERS, MAX_PRODUCER_ID_LEN};
pub use rebuild::ReshapeReport;
pub(crate) use rebuild::{StoreParts, StoredEvent};
pub use sweep::SWEEP_STEP;
pub use types::{Batch, GroupShape, LogOutcome, LogReport, Tallies, WindowKind};
pub use windows::IntervalState;

use crate::bytes::parse_u64;
use crate::error::EclError;
use crate::id_hash::HashId;
use crate::time::{self, ActTimes};
use admission::{Admission, Plan, Target};
use chunked::ChunkedVec;
use event_table::{EventTable, Finder, Lookups};
use expiry::ExpiryIndex;
use slot_counts::{SlotCounts, SmallAdd};
use sweep::Sweep;
use windows::Place;

/// Everything stored for one group. A clone is an exact copy (`COPY`).
#[derive(Clone)]
pub struct GroupStore {
    name: String,
    intervals: Vec<IntervalState>,
    /// The times inside every interval's current window (and at most
    /// `MAX_TIME_MS`), `[from, until)`: a write at such a time moves no
    /// window and lands in every current one. Derived from `intervals`,
    /// set again wherever a window or the list of intervals changes
    /// ([`set_current_span`](Self::set_current_span)); checked against
    /// them on every write that uses it in debug builds.
    current_span: (u64, u64),
    /// The shortest interval: how far behind the store a clock may be
    /// before it counts as a clock step.
    shortest_ms: u64,
    events: EventTable,
    totals: SlotCounts,
    /// No total exceeds this (it only grows, by every count added): a batch
    /// that fits under it needs no per-event overflow check.
    totals_bound: u64,
    /// For auto-declared slots: the time from which the event has no count in
    /// any kept window (it is then dead and its slot can be freed).
    /// `u64::MAX` for declared events, which never expire.
    expires_ms: ChunkedVec<u64>,
    /// Auto-declared slots in use by expiry (not `@overflow`).
    expiries: ExpiryIndex,
    declared_count: usize,
    auto_declare: bool,
    max_events: u64,
    /// The schema's `history` (0: the last window only).
    history_ms: u64,
    overflow_slot: Option<u32>,
    tallies: Tallies,
    producers: ProducerTable,
    sweep: Sweep,
}

/// The slots and counts of a batch of known events (see
/// [`GroupStore::known_slot`]), in order, and their sum;
/// `None` if one is not known or has no count, or the sum overflows.
/// Looked up with the event table's hasher chosen once for the batch.
struct KnownCounts<'s, I> {
    store: &'s GroupStore,
    events: I,
    now: u64,
}

impl<'a, I> Lookups for KnownCounts<'_, I>
where
    I: ExactSizeIterator<Item = Option<(&'a [u8], u64)>>,
{
    type Output = Option<(Vec<(u32, u64)>, u64)>;

    #[inline(always)]
    fn run<H: HashId>(self, finder: &Finder<'_, H>) -> Self::Output {
        // Written in place, zero counts too (adding 0 changes nothing, and
        // the renewal skips them): no capacity test per event.
        let mut counts = vec![(0, 0); self.events.len()];
        let mut events = self.events;
        // Declared events with short IDs, the commonest batch, in a loop
        // of their own that calls nothing out of line (so fewer of its
        // values are spilled: ≈ 20 instructions an event fewer) until an
        // event needs more: that one and the rest go the general way.
        let declared = self.store.declared_count;
        let mut sum = 0u64;
        let mut next = None;
        for (out, event) in counts.iter_mut().zip(&mut events) {
            let (id, count) = event?;
            match finder.find_short(id) {
                Some(slot) if (slot as usize) < declared => {
                    sum = sum.checked_add(count)?;
                    *out = (slot, count);
                }
                _ => {
                    next = Some((id, count));
                    break;
                }
            }
        }
        let fast = counts.len() - events.len() - usize::from(next.is_some());
        let rest = next.into_iter().map(Some).chain(events);
        for (out, event) in counts[fast..].iter_mut().zip(rest) {
            let (id, count) = event?;
            let slot = self.store.loggable(finder.find(id)?, id, self.now)?;
            sum = sum.checked_add(count)?;
            *out = (slot, count);
        }
        Some((counts, sum))
    }
}

/// Pushes onto a per-slot vector, growing it by about an eighth rather than
/// doubling: there are `2 × intervals + 3` such vectors per group, and
/// doubling would leave up to half of each unused. Still amortised O(1).
/// A vector never holds more than `max_capacity` (a chunk's slots).
pub(crate) fn push_compact_capped<T>(v: &mut Vec<T>, value: T, max_capacity: usize) {
    if v.len() == v.capacity() {
        let element = std::mem::size_of::<T>().max(1);
        let wanted = v.capacity() + (v.capacity() / 8).max(16);
        let capacity = (allocation_class(wanted * element) / element)
            .min(max_capacity)
            .max(v.len() + 1);
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

impl GroupStore {
    /// An empty store of this shape, its windows at `now_ms`.
    pub fn new(shape: &GroupShape, now_ms: u64) -> Self {
        let now_ms = now_ms.min(time::MAX_TIME_MS);
        let mut store = GroupStore {
            name: shape.name.clone(),
            intervals: Vec::new(),
            current_span: (0, 0),
            shortest_ms: shape.intervals.iter().copied().min().unwrap_or(0),
            events: EventTable::new(shape.auto_declare),
            totals: SlotCounts::zeros(0),
            totals_bound: 0,
            expires_ms: ChunkedVec::new(),
            expiries: ExpiryIndex::default(),
            declared_count: shape.declared.len(),
            auto_declare: shape.auto_declare,
            max_events: shape.max_events,
            history_ms: shape.history_ms,
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
            .zip(shape.kept_windows())
            .map(|(&len, kept)| IntervalState::new(len, now_ms, shape.declared.len(), kept))
            .collect();
        store.set_current_span();
        store
    }

    /// Derives [`current_span`](Self::current_span) from the intervals.
    pub(super) fn set_current_span(&mut self) {
        self.current_span = self.span_of_current_windows();
    }

    /// The times inside every interval's current window, up to `MAX_TIME_MS`.
    fn span_of_current_windows(&self) -> (u64, u64) {
        let from = self.intervals.iter().map(|i| i.cur_start()).max();
        let from = from.unwrap_or(0);
        let until = self.intervals.iter().map(|i| i.cur_end()).min();
        let until = until.unwrap_or(u64::MAX).min(time::MAX_TIME_MS + 1);
        (from, until)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's schema, as stored with its counts.
    pub fn shape(&self) -> GroupShape {
        GroupShape {
            name: self.name.clone(),
            intervals: self.intervals.iter().map(|i| i.len_ms).collect(),
            declared: (0..self.declared_count as u32)
                .filter_map(|s| self.events.id(s).map(<[u8]>::to_vec))
                .collect(),
            auto_declare: self.auto_declare,
            max_events: self.max_events,
            history_ms: self.history_ms,
        }
    }

    /// The schema's `history` in ms (0: the last window only).
    pub fn history_ms(&self) -> u64 {
        self.history_ms
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

    /// Slots in use or free (the length of the per-slot vectors).
    pub(crate) fn slot_count(&self) -> usize {
        self.events.slot_count()
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

    /// The earliest time inside the current window of every interval: where
    /// the store stands. A time that rotates no interval is equivalent to it
    /// for every decision the store makes (windows, expiry, the cap).
    /// The start of [`current_span`](Self::current_span), kept with the
    /// windows.
    pub fn position_ms(&self) -> u64 {
        debug_assert_eq!(self.current_span, self.span_of_current_windows());
        self.current_span.0
    }

    /// The times a command with `AT at_ms` run by the clock `clock_ms` acts
    /// at on this store (see [`crate::time::resolve`]).
    pub fn resolve_times(&self, at_ms: Option<u64>, clock_ms: u64) -> ActTimes {
        time::resolve(at_ms, clock_ms, self.position_ms(), self.shortest_ms)
    }

    /// Brings the windows to `times` (rotation, or back to real time after a
    /// clock step, which is tallied). Costs a memset per moved interval and
    /// nothing per event, except after a clock step, when every
    /// auto-declared event's expiry is derived again. Returns whether any
    /// window moved.
    #[inline]
    fn move_to(&mut self, times: &ActTimes) -> bool {
        // Nearly always: nothing moves (one compare per interval).
        if self.intervals.iter().all(|i| i.stays_at(times)) {
            return false;
        }
        self.move_windows(times)
    }

    /// The rare part of [`move_to`](Self::move_to), kept out of line so the
    /// common check stays small enough to inline.
    #[inline(never)]
    fn move_windows(&mut self, times: &ActTimes) -> bool {
        let mut moved = false;
        for interval in &mut self.intervals {
            moved |= interval.move_to(times);
        }
        self.set_current_span();
        if times.clock_step && moved {
            self.tallies.clock_steps = self.tallies.clock_steps.saturating_add(1);
            for slot in self.declared_count as u32..self.events.slot_count() as u32 {
                if self.events.id(slot).is_some() {
                    self.derive_expiry(slot);
                }
            }
        }
        moved
    }

    /// Brings the windows to the clock `clock_ms` (what the timer and
    /// `ECL.ROTATE` do). Returns whether any window moved.
    pub fn advance(&mut self, clock_ms: u64) -> bool {
        let times = self.resolve_times(None, clock_ms);
        self.move_to(&times)
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

    /// Adds a batch of counts: every event or none. A refused batch (an
    /// error, or a producer's duplicate) changes nothing, not even the
    /// windows' position.
    pub fn log(&mut self, batch: Batch<'_>) -> Result<LogReport, EclError> {
        if let (None, None, [(id, count)]) = (batch.at_ms, batch.producer, batch.events) {
            if let Some(report) = self.log_in_place(id, *count, batch.now_ms) {
                return Ok(report);
            }
        }
        let times = self.resolve_times(batch.at_ms, batch.now_ms);
        let report = |outcome, moved| LogReport {
            outcome,
            moved,
            times,
        };
        if batch.producer.is_none() {
            if let Some(moved) = self.log_known(batch.events, &times) {
                return Ok(report(LogOutcome::Applied, moved));
            }
        }
        let plan = match self.admit(&batch, &times)? {
            Admission::Apply(plan) => plan,
            Admission::Duplicate => return Ok(report(LogOutcome::AlreadyApplied, false)),
        };
        let moved = self.move_to(&times);
        self.apply(plan, &times);
        if let Some((producer, seq)) = batch.producer {
            // The store's position, not the clock: replicas see the same.
            self.producers.record(producer, seq, self.position_ms());
        }
        Ok(report(LogOutcome::Applied, moved))
    }

    /// The commonest write: one event the store counts (declared, or
    /// auto-declared and alive), no `AT`, no producer, the clock inside
    /// every current window. By the rules of `time::resolve` and
    /// `windows::place` it acts at the clock, moves nothing and lands in
    /// every current window, so none of them is asked. `None`, having
    /// changed nothing, for any other case ([`log`](Self::log) takes it).
    ///
    /// It adds no event and moves no window, and an auto-declared event it
    /// counts only lives longer: the group's next timer work
    /// ([`next_timer_work_ms`](Self::next_timer_work_ms)) comes no earlier
    /// after it, so whoever keeps that time need not look again.
    #[inline]
    pub fn log_in_place(&mut self, id: &[u8], count: u64, clock_ms: u64) -> Option<LogReport> {
        let times = self.in_place_times(clock_ms)?;
        let slot = self.known_slot(id, clock_ms)?;
        if !self.fits_every_total(count) {
            return None;
        }
        if count > 0 {
            if !self.is_declared(slot) {
                let until = self.kept_until(clock_ms);
                self.renew_auto_event(slot, clock_ms, until);
            }
            let s = slot as usize;
            self.totals_bound = self.totals_bound.saturating_add(count);
            // Two loops, so the one nearly every write takes decides the
            // chunk and the count's width once, not once per interval.
            match SmallAdd::new(s, count) {
                Some(small) => {
                    self.totals.add_small(small);
                    for interval in &mut self.intervals {
                        interval.cur.add_small(small);
                    }
                }
                None => {
                    self.totals.add(s, count);
                    for interval in &mut self.intervals {
                        interval.cur.add(s, count);
                    }
                }
            }
        }
        Some(Self::applied_in_place(times))
    }

    /// [`log_in_place`](Self::log_in_place) of a plain `ECL.MLOG` (no
    /// option): `pairs` are its `event count` pairs as the client sent
    /// them, an even number, each count parsed ([`parse_u64`]) as its event
    /// is looked up, so no parsed batch is built first. `None`, having
    /// changed nothing, for any other case: a count that does not parse,
    /// an event not known, a clock outside the current windows, a total
    /// that might overflow ([`log`](Self::log) takes it, errors included).
    /// As `log_in_place`, it adds no event and moves no window.
    #[inline]
    pub fn mlog_in_place(&mut self, pairs: &[&[u8]], clock_ms: u64) -> Option<LogReport> {
        debug_assert!(pairs.len().is_multiple_of(2));
        let times = self.in_place_times(clock_ms)?;
        let events = pairs
            .as_chunks::<2>()
            .0
            .iter()
            .map(|&[id, count]| Some((id, parse_u64(count)?)));
        let moved = self.add_known(events, &times)?;
        debug_assert!(!moved, "in place, nothing moves");
        Some(Self::applied_in_place(times))
    }

    /// The times of a write in place at `clock_ms`: the clock, when it is
    /// inside every current window (then, by the rules of `time::resolve`
    /// and `windows::place`, a write without `AT` acts at the clock and
    /// moves nothing); else `None`.
    #[inline(always)]
    fn in_place_times(&self, clock_ms: u64) -> Option<ActTimes> {
        debug_assert_eq!(self.current_span, self.span_of_current_windows());
        let (from, until) = self.current_span;
        (from <= clock_ms && clock_ms < until).then_some(ActTimes {
            at: clock_ms,
            now: clock_ms,
            clock_step: false,
        })
    }

    /// What a write in place at `times` reports.
    #[inline(always)]
    fn applied_in_place(times: ActTimes) -> LogReport {
        LogReport {
            outcome: LogOutcome::Applied,
            moved: false,
            times,
        }
    }

    /// The hot path: a batch (without producer) whose events all live at
    /// `times.now` and whose counts cannot overflow any total has nothing
    /// to admit, so it is applied at once. Returns whether a window moved,
    /// or `None`, having changed nothing, for a batch that needs
    /// [`admit`](Self::admit) (a new, dead or reserved event, or a total
    /// that might overflow).
    #[inline]
    fn log_known(&mut self, events: &[(&[u8], u64)], times: &ActTimes) -> Option<bool> {
        if let [(id, count)] = *events {
            // `ECL.LOG`: no vector to build.
            let slot = self.known_slot(id, times.now)?;
            if !self.fits_every_total(count) {
                return None;
            }
            let moved = self.move_to(times);
            if count > 0 {
                self.add(&[(slot, count)], times);
            }
            return Some(moved);
        }
        self.add_known(events.iter().map(|&event| Some(event)), times)
    }

    /// [`log_known`](Self::log_known) of `events` given one by one, `None`
    /// for one that cannot be counted (a count that did not parse).
    #[inline(always)]
    fn add_known<'a>(
        &mut self,
        events: impl ExactSizeIterator<Item = Option<(&'a [u8], u64)>>,
        times: &ActTimes,
    ) -> Option<bool> {
        let (counts, sum) = self.events.lookup(KnownCounts {
            store: self,
            events,
            now: times.now,
        })?;
        if !self.fits_every_total(sum) {
            return None;
        }
        let moved = self.move_to(times);
        // What `add` does, without its second look at every count where
        // the group holds declared events only (then none is renewed).
        if self.events.slot_count() > self.declared_count {
            self.renew_auto_events(&counts, times);
        }
        self.add_to_windows(&counts, sum, times);
        Some(moved)
    }

    /// The slot of an event a client may log that lives at `now`: declared,
    /// or auto-declared and alive (not `@overflow`, which only the store
    /// counts into).
    #[inline(always)]
    fn known_slot(&self, id: &[u8], now: u64) -> Option<u32> {
        self.loggable(self.events.find(id)?, id, now)
    }

    /// [`known_slot`](Self::known_slot) given the slot that holds `id`.
    #[inline(always)]
    fn loggable(&self, slot: u32, id: &[u8], now: u64) -> Option<u32> {
        // A declared ID never starts with '@' (the config's are checked),
        // so only the others are tested for it.
        let ok = self.is_declared(slot) || (id.first() != Some(&b'@') && self.is_live(slot, now));
        ok.then_some(slot)
    }

    /// Whether every total can take `sum` more without overflowing (no
    /// total exceeds `totals_bound`). Counts are small: this is the rule,
    /// the exact per-event check of admission the exception.
    #[inline]
    fn fits_every_total(&self, sum: u64) -> bool {
        sum <= u64::MAX - self.totals_bound
    }

    /// Carries out an admitted batch, the windows already at `times`.
    fn apply(&mut self, plan: Plan<'_>, times: &ActTimes) {
        let slots: Vec<Option<u32>> = plan
            .new_events
            .iter()
            .map(|event| {
                event.admitted.then(|| {
                    event
                        .dead_slot
                        .unwrap_or_else(|| self.new_auto_slot(event.id))
                })
            })
            .collect();
        let mut counts: Vec<(u32, u64)> = Vec::with_capacity(plan.targets.len());
        for &(target, count) in &plan.targets {
            if count == 0 {
                continue;
            }
            let slot = match target {
                Target::Slot(slot) => slot,
                Target::New(n) => match slots[n] {
                    Some(slot) => slot,
                    None if !plan.at_is_kept => {
                        self.tallies.late_dropped = self.tallies.late_dropped.saturating_add(count);
                        continue;
                    }
                    None => {
                        self.tallies.overflowed = self.tallies.overflowed.saturating_add(count);
                        self.overflow_slot()
                    }
                },
            };
            counts.push((slot, count));
        }
        self.add(&counts, times);
    }

    fn overflow_slot(&mut self) -> u32 {
        match self.overflow_slot {
            Some(slot) => slot,
            None => self.new_auto_slot(crate::event_id::OVERFLOW_EVENT),
        }
    }

    fn new_slot(&mut self, id: &[u8]) -> u32 {
        let slot = self.events.insert(id);
        let s = slot as usize;
        if s == self.totals.len() {
            self.totals.push_zero();
            self.expires_ms.push(0);
            for interval in &mut self.intervals {
                interval.cur.push_zero();
                interval.last.push_zero();
            }
        }
        slot
    }

    /// Adds `(slot, count)` pairs (counts > 0, totals checked for overflow)
    /// at `times.at`, the windows already at `times.now`. A slot may appear
    /// more than once.
    ///
    /// One pass over the batch per vector: where a count lands in an
    /// interval, and until when it keeps an event alive, is the same for
    /// every event of the batch, so it is decided once per interval rather
    /// than once per event and interval. Auto-declared events are renewed
    /// first, so a dead one's total restarts from zero before it is added to.
    ///
    /// Always inlined: for `ECL.LOG`'s one-element slice the loops then
    /// fold away (out of line, the call cost about 70 instructions of the
    /// write's 530 in the store).
    #[inline(always)]
    fn add(&mut self, counts: &[(u32, u64)], times: &ActTimes) {
        self.renew_auto_events(counts, times);
        let sum = counts
            .iter()
            .fold(0u64, |sum, &(_, count)| sum.saturating_add(count));
        self.add_to_windows(counts, sum, times);
    }

    /// Keeps the auto-declared events among `counts` alive as long as this
    /// batch's counts are kept. Inlined, as `add`.
    #[inline(always)]
    fn renew_auto_events(&mut self, counts: &[(u32, u64)], times: &ActTimes) {
        // Declared events never expire: a batch of them needs no time.
        let mut kept_until = None;
        for &(slot, count) in counts {
            // A zero count does not keep an event alive.
            if count > 0 && !self.is_declared(slot) {
                let until = *kept_until.get_or_insert_with(|| self.kept_until(times.at));
                self.renew_auto_event(slot, times.now, until);
            }
        }
    }

    /// Adds `counts`, which sum to `sum`, to the totals and to the window
    /// of each interval that `times.at` falls in (the auto-declared events
    /// among them already renewed). Inlined, as `add`.
    #[inline(always)]
    fn add_to_windows(&mut self, counts: &[(u32, u64)], sum: u64, times: &ActTimes) {
        let at = times.at;
        self.totals_bound = self.totals_bound.saturating_add(sum);
        let mut late = false;
        let slots = self.totals.len();
        // The totals and the windows the batch lands in, in one pass.
        let windows = self.intervals.iter_mut().filter_map(|interval| {
            Some(match interval.place(at) {
                Place::Current => &mut interval.cur,
                Place::Last => &mut interval.last,
                Place::Older(k) => interval.older_window_mut(k, slots),
                Place::TooOld => {
                    late = true;
                    return None;
                }
            })
        });
        SlotCounts::add_each_to_all(std::iter::once(&mut self.totals).chain(windows), counts);
        if late {
            // Counted in the total and the windows that keep it, not in this one.
            self.tallies.late_dropped = self.tallies.late_dropped.saturating_add(sum);
        }
    }

    /// Until when a count at `at_ms` stays visible in some kept window.
    fn kept_until(&self, at_ms: u64) -> u64 {
        self.intervals
            .iter()
            .map(|interval| interval.kept_until(interval.place(at_ms)))
            .max()
            .unwrap_or(0)
    }

    /// Keeps an auto-declared event that is counted at `now_ms` alive until
    /// at least `kept_until`. A dead one starts a new life: its total from
    /// zero.
    #[inline]
    fn renew_auto_event(&mut self, slot: u32, now_ms: u64, kept_until: u64) {
        let s = slot as usize;
        let old_expiry = self.expires_ms[s];
        if old_expiry <= now_ms {
            self.totals.set(s, 0);
        }
        if kept_until > old_expiry {
            self.set_expiry(slot, kept_until);
        }
    }

    /// Sets an auto-declared slot's expiry, keeping the index of live
    /// events by expiry in step (`@overflow` is not in it).
    fn set_expiry(&mut self, slot: u32, expires_ms: u64) {
        let s = slot as usize;
        if Some(slot) != self.overflow_slot {
            self.expiries.change(self.expires_ms[s], expires_ms);
        }
        self.expires_ms[s] = expires_ms;
    }

    /// What the timer does to a group with work (see
    /// [`has_timer_work`](Self::has_timer_work)): brings it to `clock_ms`
    /// and frees up to `budget` dead events. Returns whether any window
    /// moved and whether work remains.
    pub fn tidy(&mut self, clock_ms: u64, budget: usize) -> (bool, bool) {
        let times = self.resolve_times(None, clock_ms);
        let moved = self.move_to(&times);
        let more = self.sweep(times.now, budget);
        (moved, more)
    }

    /// [`tidy`](Self::tidy) step after step: at least one, at most
    /// `max_steps`, until no work remains or `stop()` says so. Returns the
    /// steps taken: what a replica takes (`ECL.ROTATE ... STEPS n`) to end
    /// in the same state.
    pub fn tidy_steps(&mut self, clock_ms: u64, max_steps: u64, stop: impl Fn() -> bool) -> u64 {
        let mut steps = 0;
        loop {
            let more = self.tidy(clock_ms, SWEEP_STEP).1;
            steps += 1;
            if !more || steps >= max_steps || stop() {
                return steps;
            }
        }
    }

    /// Whether the clock `clock_ms` is behind this store by more than a
    /// window: the timer then brings it back to real time.
    pub fn clock_stepped_back(&self, clock_ms: u64) -> bool {
        self.resolve_times(None, clock_ms).clock_step
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
        self.counts_of(self.intervals[interval].view(kind, at_ms))
    }

    /// Every declared event (zeros included) and every other event with a
    /// non-zero count in `window`, sorted by ID.
    pub(super) fn counts_of(&self, window: Option<&SlotCounts>) -> Vec<(&[u8], u64)> {
        let mut out = self.counts_unsorted(window);
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// [`counts_of`](Self::counts_of) in slot order.
    pub(super) fn counts_unsorted(&self, window: Option<&SlotCounts>) -> Vec<(&[u8], u64)> {
        let count_of = |s: usize| window.map_or(0, |v| if s < v.len() { v.get(s) } else { 0 });
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
        self.expiries.alive_at(at_ms)
    }

    /// The work of freeing the store, in allocations (about one per event
    /// with a long ID, one per chunk of a per-slot vector), for Redis's
    /// choice to free it on the main thread or off it: the slots, which
    /// bound both.
    pub fn free_effort(&self) -> usize {
        self.events.slot_count().max(1)
    }

    /// Approximate bytes held by the store (for `MEMORY USAGE`).
    pub fn memory_bytes(&self) -> usize {
        let per_slot_vecs: usize = self
            .intervals
            .iter()
            .map(|i| i.cur.heap_bytes() + i.last.heap_bytes() + i.older_heap_bytes())
            .sum::<usize>()
            + self.totals.heap_bytes()
            + self.expires_ms.heap_bytes();
        std::mem::size_of::<Self>()
            + self.name.len()
            + self.intervals.capacity() * std::mem::size_of::<IntervalState>()
            + per_slot_vecs
            + self.events.heap_bytes()
            + self.producers.heap_bytes()
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

#[cfg(test)]
mod tests;
