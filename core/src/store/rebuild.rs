//! A store taken apart and put back together: what the encoding holds
//! (`stored_events`, `from_parts`) and reshaping to another schema.

use super::{GroupShape, GroupStore, IntervalState, ProducerState, Tallies};
use crate::event_id::OVERFLOW_EVENT;
use crate::time::MAX_TIME_MS;

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
    /// The schema's `history` (0: none).
    pub history_ms: u64,
    /// Per interval, its closed windows before the last that have a count:
    /// `(window index, [(index into events, count)])`.
    pub older: Vec<Vec<OlderWindow>>,
}

/// A closed window before the last, as the encoding holds it.
pub(crate) type OlderWindow = (u64, Vec<(usize, u64)>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    pub id: Vec<u8>,
    pub total: u64,
    /// `(cur, last)` per interval.
    pub windows: Vec<(u64, u64)>,
}

impl StoreParts {
    /// The invariants every store keeps, so that a state accepted here can
    /// be written to, saved and loaded at any later time (SPEC §4.4): window
    /// positions no later than [`MAX_TIME_MS`], and no window count above
    /// its event's total (the windows are part of it).
    pub fn validate(&self) -> Result<(), String> {
        let shape = self.shape();
        shape.check_limits(0).map_err(|e| e.to_string())?;
        if self.older.len() != self.intervals.len() {
            return Err("closed windows for a wrong number of intervals".into());
        }
        for ((&(_, cur_window), older), kept) in self
            .intervals
            .iter()
            .zip(&self.older)
            .zip(shape.kept_windows())
        {
            let mut previous = None;
            for (k, entries) in older {
                // Newest first, strictly, within the windows kept.
                let in_range = *k + 2 <= cur_window && *k >= cur_window.saturating_sub(kept);
                if !in_range || previous.is_some_and(|p| p <= *k) {
                    return Err(format!("closed window {k} out of place"));
                }
                previous = Some(*k);
                for &(event, count) in entries {
                    let over = self.events.get(event).is_none_or(|e| count > e.total);
                    if over {
                        return Err(format!(
                            "closed window {k}: a count without its event or above its total"
                        ));
                    }
                }
            }
        }
        for &(len_ms, cur_window) in &self.intervals {
            let beyond = match cur_window.checked_mul(len_ms) {
                Some(start) => start > MAX_TIME_MS,
                None => true,
            };
            if beyond {
                return Err(format!(
                    "interval {len_ms} ms at window {cur_window} lies beyond the year 9999"
                ));
            }
        }
        for event in &self.events {
            if event.windows.len() != self.intervals.len() {
                return Err("event with a wrong number of windows".into());
            }
            if event
                .windows
                .iter()
                .any(|&(cur, last)| cur > event.total || last > event.total)
            {
                return Err(format!(
                    "event '{}' has a window count above its total",
                    crate::event_id::display_id(&event.id)
                ));
            }
        }
        Ok(())
    }
}

impl StoreParts {
    fn shape(&self) -> GroupShape {
        GroupShape {
            name: self.name.clone(),
            intervals: self.intervals.iter().map(|i| i.0).collect(),
            declared: self.declared.clone(),
            auto_declare: self.auto_declare,
            max_events: self.max_events,
            history_ms: self.history_ms,
        }
    }
}

impl GroupStore {
    /// Every event with its slot data, in slot order, for encoding: `(slot,
    /// id, total, [(cur, last)] per interval)`. Dead events with no count
    /// left in any kept window are skipped, so the encoding is the logical
    /// state.
    pub(crate) fn stored_events(
        &self,
    ) -> impl Iterator<Item = (usize, &[u8], u64, Vec<(u64, u64)>)> + '_ {
        (0..self.events.slot_count()).filter_map(move |s| {
            let id = self.events.id(s as u32)?;
            let windows: Vec<(u64, u64)> = self
                .intervals
                .iter()
                .map(|i| (i.cur.get(s), i.last.get(s)))
                .collect();
            let has_count = windows.iter().any(|&(c, l)| c > 0 || l > 0)
                || self.intervals.iter().any(|i| i.older_counts(s));
            (s < self.declared_count || has_count).then_some((s, id, self.totals.get(s), windows))
        })
    }

    /// Per interval, its closed windows before the last, for encoding:
    /// `(window index, [(slot, count)])`, the counts that are not zero.
    pub(crate) fn older_windows(&self) -> Vec<Vec<OlderWindow>> {
        self.intervals
            .iter()
            .map(|i| {
                i.older
                    .iter()
                    .map(|(k, counts)| {
                        let entries = (0..counts.len())
                            .filter_map(|s| {
                                let n = counts.get(s);
                                (n > 0).then_some((s, n))
                            })
                            .collect();
                        (*k, entries)
                    })
                    .collect()
            })
            .collect()
    }

    /// Rebuilds a store from decoded parts; see `encoding`. Events not
    /// declared in the parts become auto-declared (ephemeral) ones.
    pub(crate) fn from_parts(parts: StoreParts) -> Result<GroupStore, String> {
        parts.validate()?;
        let mut store = GroupStore::new(&parts.shape(), 0);
        for (interval, &(_, cur_window)) in store.intervals.iter_mut().zip(&parts.intervals) {
            interval.set_window(cur_window);
        }
        store.set_current_span();
        let mut slots = Vec::with_capacity(parts.events.len());
        for event in &parts.events {
            let slot = match store.events.find(&event.id) {
                Some(slot) => slot,
                None => store.new_auto_slot(&event.id),
            };
            store.set_slot(slot, event.total, &event.windows);
            slots.push(slot);
        }
        let width = store.totals.len();
        for (interval, older) in store.intervals.iter_mut().zip(&parts.older) {
            // Oldest first, so each window is appended at the back.
            for (k, entries) in older.iter().rev() {
                let window = interval.older_window_mut(*k, width);
                for &(event, count) in entries {
                    window.set(slots[event] as usize, count);
                }
            }
        }
        if parts.older.iter().any(|o| !o.is_empty()) {
            // Events alive in the older windows only live longer.
            for &slot in &slots {
                store.derive_expiry(slot);
            }
        }
        store.tallies = parts.tallies;
        for (producer, state) in parts.producers {
            store.producers.record(&producer, state.seq, state.seen_ms);
        }
        Ok(store)
    }

    /// A slot for an auto-declared event (or `@overflow`), dead until counted.
    pub(super) fn new_auto_slot(&mut self, id: &[u8]) -> u32 {
        let slot = self.new_slot(id);
        if id == OVERFLOW_EVENT {
            self.overflow_slot = Some(slot);
        } else {
            self.expiries.insert(0);
        }
        slot
    }

    /// Sets a slot's total and per-interval `(cur, last)` counts and derives
    /// its expiry from them.
    pub(super) fn set_slot(&mut self, slot: u32, total: u64, windows: &[(u64, u64)]) {
        let s = slot as usize;
        self.totals.set(s, total);
        self.totals_bound = self.totals_bound.max(total);
        for (interval, &(cur, last)) in self.intervals.iter_mut().zip(windows) {
            interval.cur.set(s, cur);
            interval.last.set(s, last);
        }
        self.derive_expiry(slot);
    }

    /// Sets an auto-declared slot's expiry from its stored counts.
    pub(super) fn derive_expiry(&mut self, slot: u32) {
        if self.is_declared(slot) {
            return;
        }
        let s = slot as usize;
        let expires = self
            .intervals
            .iter()
            .map(|i| i.slot_kept_until(s))
            .max()
            .unwrap_or(0);
        self.set_expiry(slot, expires);
    }

    /// Gives the store another shape: counts of (interval, event) pairs that
    /// still exist are kept; intervals and events the shape dropped are
    /// dropped. Returns what was dropped, for the log. A shape beyond the
    /// limits, with the events the group holds now, is refused.
    pub fn reshape(
        &self,
        shape: &GroupShape,
        now_ms: u64,
    ) -> Result<(GroupStore, ReshapeReport), crate::limits::OverLimit> {
        shape.check_limits(self.events.slot_count())?;
        let mut fresh = GroupStore::new(shape, now_ms);
        let mut report = ReshapeReport::default();
        // Old slot -> new slot, for the closed windows before the last.
        let mut moved_slots: Vec<Option<u32>> = vec![None; self.events.slot_count()];
        // Intervals kept keep their window position.
        let mapping: Vec<Option<usize>> = shape
            .intervals
            .iter()
            .map(|&len| self.interval_index(len))
            .collect();
        for (new, old) in fresh.intervals.iter_mut().zip(&mapping) {
            if let Some(old) = old {
                new.set_window(self.intervals[*old].cur_window());
            }
        }
        fresh.set_current_span();
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
            let has_count = windows.iter().any(|&(c, l)| c > 0 || l > 0)
                || mapping
                    .iter()
                    .flatten()
                    .any(|&o| self.intervals[o].older_counts(s));
            let target = match fresh.events.find(id) {
                Some(slot) => Some(slot),
                None if fresh.auto_declare && has_count => Some(fresh.new_auto_slot(id)),
                None => None,
            };
            match target {
                Some(new_slot) => {
                    fresh.set_slot(new_slot, self.totals.get(s), &windows);
                    moved_slots[s] = Some(new_slot);
                }
                None if self.is_declared(slot) || has_count => report.dropped_events += 1,
                None => {}
            }
        }
        // Closed windows before the last, of the intervals kept, as far as
        // the new history keeps them.
        let width = fresh.totals.len();
        let mut any_older = false;
        for (new, old) in fresh.intervals.iter_mut().zip(&mapping) {
            let Some(old) = old else { continue };
            let (first, _) = new.kept_range(0);
            for (k, counts) in self.intervals[*old].older.iter().rev() {
                if *k < first {
                    continue;
                }
                any_older = true;
                let window = new.older_window_mut(*k, width);
                for s in 0..counts.len() {
                    let n = counts.get(s);
                    if let (true, Some(new_slot)) = (n > 0, moved_slots.get(s).copied().flatten()) {
                        window.set(new_slot as usize, n);
                    }
                }
            }
        }
        if any_older {
            for new_slot in moved_slots.iter().flatten() {
                fresh.derive_expiry(*new_slot);
            }
        }
        fresh.tallies = self.tallies;
        fresh.producers = self.producers.clone();
        Ok((fresh, report))
    }

    /// Gives the store `shape` without rebuilding it where that is exact and
    /// costs nothing per event: a shape that only adds intervals (the
    /// existing ones keep their order) and may change `max_events`. A new
    /// interval starts empty at `now_ms`, as [`reshape`](Self::reshape)
    /// starts it, and no event's lifetime changes (none has a count in it).
    /// `Ok(false)`, having changed nothing, for any other shape, which
    /// `reshape` rebuilds (a million events: most of a second).
    pub fn reshape_in_place(
        &mut self,
        shape: &GroupShape,
        now_ms: u64,
    ) -> Result<bool, crate::limits::OverLimit> {
        let same_events = self.name == shape.name
            && self.auto_declare == shape.auto_declare
            && self.history_ms == shape.history_ms
            && self.declared_count == shape.declared.len()
            && (0..self.declared_count as u32)
                .all(|s| self.events.id(s) == Some(&shape.declared[s as usize][..]));
        let kept_in_order = shape
            .intervals
            .iter()
            .filter(|&&len| self.interval_index(len).is_some())
            .copied()
            .eq(self.intervals.iter().map(|i| i.len_ms));
        if !same_events || !kept_in_order {
            return Ok(false);
        }
        shape.check_limits(self.events.slot_count())?;
        let now_ms = now_ms.min(MAX_TIME_MS);
        let slots = self.totals.len();
        let mut old: Vec<Option<IntervalState>> = std::mem::take(&mut self.intervals)
            .into_iter()
            .map(Some)
            .collect();
        let old_lens: Vec<u64> = old.iter().flatten().map(|i| i.len_ms).collect();
        self.intervals = shape
            .intervals
            .iter()
            .zip(shape.kept_windows())
            .map(|(&len, kept)| {
                old_lens
                    .iter()
                    .position(|&l| l == len)
                    .and_then(|i| old[i].take())
                    .unwrap_or_else(|| IntervalState::new(len, now_ms, slots, kept))
            })
            .collect();
        self.set_current_span();
        self.shortest_ms = shape.intervals.iter().copied().min().unwrap_or(0);
        self.max_events = shape.max_events;
        Ok(true)
    }

    /// Whether the store already has exactly this shape.
    pub fn has_shape(&self, shape: &GroupShape) -> bool {
        self.name == shape.name
            && self.auto_declare == shape.auto_declare
            && self.max_events == shape.max_events
            && self.history_ms == shape.history_ms
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

/// What [`GroupStore::reshape`] dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReshapeReport {
    pub dropped_intervals: Vec<u64>,
    pub dropped_events: u64,
}
