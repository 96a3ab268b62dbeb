//! Freeing the memory of dead auto-declared events (SPEC §4.3), in bounded
//! steps so that no step stalls the server whatever the group's size: first
//! the slots, `SWEEP_STEP` at a time, then giving memory back, one buffer
//! per step (returning megabytes to the allocator is what takes time).
//! Nothing here changes a reply: dead events are invisible already.

use super::GroupStore;

/// Slots visited per sweep step: well under a millisecond of work. Freeing
/// a slot of a large group costs about 300 ns in a server (its index entry
/// and expiry are cache misses), so 2,000 make a step of ~0.6 ms, and a
/// timer tick (steps while its 1 ms budget lasts) stays under 2 ms.
pub const SWEEP_STEP: usize = 2_000;

/// Progress of a sweep.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sweep {
    pub pending: bool,
    pub cursor: usize,
    /// Set once the slots are done: cutting the free tail, in steps.
    pub trimming: bool,
    /// Set once the tail is cut: the buffers to shrink next.
    pub shrink_stage: Option<usize>,
}

impl GroupStore {
    /// Whether the timer has something to do here at `now_ms`: a sweep under
    /// way, or an event in use that is dead.
    pub fn has_timer_work(&self, now_ms: u64) -> bool {
        self.sweep.pending
            || self.expiries.any_dead_at(now_ms)
            || self
                .overflow_slot
                .is_some_and(|s| self.expires_ms[s as usize] <= now_ms)
    }

    /// The earliest time the timer may have something to do here.
    pub fn next_timer_work_ms(&self) -> Option<u64> {
        if self.sweep.pending {
            return Some(0);
        }
        let overflow = self.overflow_slot.map(|s| self.expires_ms[s as usize]);
        match (self.expiries.earliest(), overflow) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a sweep is under way.
    pub fn sweep_pending(&self) -> bool {
        self.sweep.pending
    }

    /// Starts a sweep when dead events wait and none is under way.
    pub(super) fn start_sweep_if_due(&mut self, now_ms: u64) {
        if !self.sweep.pending && self.has_timer_work(now_ms) {
            self.sweep = Sweep {
                pending: true,
                cursor: self.declared_count,
                trimming: false,
                shrink_stage: None,
            };
        }
    }

    /// Frees dead auto-declared events, visiting at most `budget` slots, or
    /// gives back one buffer. Returns whether work remains.
    pub fn sweep(&mut self, now_ms: u64, budget: usize) -> bool {
        self.start_sweep_if_due(now_ms);
        if !self.sweep.pending {
            return false;
        }
        if let Some(stage) = self.sweep.shrink_stage {
            return self.shrink_step(stage);
        }
        if self.sweep.trimming {
            return self.trim_step(budget);
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
        // Slots done: cut the free tail in the next steps, then give the
        // memory back.
        self.sweep.trimming = true;
        true
    }

    /// Cuts up to `budget` free slots off the tail, and the count vectors
    /// with them (all stay the same length between steps, so a write in
    /// between appends to all alike).
    fn trim_step(&mut self, budget: usize) -> bool {
        let (len, done) = self.events.trim_free_tail(budget);
        self.totals.truncate(len);
        self.expires_ms.truncate(len);
        for interval in &mut self.intervals {
            interval.cur.truncate(len);
            interval.last.truncate(len);
        }
        if done {
            self.sweep.trimming = false;
            self.sweep.shrink_stage = Some(0);
        }
        true
    }

    /// Shrinks one buffer: stage 0 and 1 the totals and expiries, then each
    /// interval's two windows, then the event table. Returns whether more
    /// stages remain.
    fn shrink_step(&mut self, stage: usize) -> bool {
        let windows = 2 * self.intervals.len();
        match stage {
            0 => self.totals.shrink_if_loose(),
            1 => self.expires_ms.shrink_if_loose(),
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

    pub(super) fn free_slot(&mut self, slot: u32) {
        debug_assert!(!self.is_declared(slot));
        self.events.remove(slot);
        let s = slot as usize;
        if self.overflow_slot == Some(slot) {
            self.overflow_slot = None;
        } else {
            self.expiries.remove(self.expires_ms[s]);
        }
        self.totals.set(s, 0);
        self.expires_ms[s] = 0;
        for interval in &mut self.intervals {
            interval.cur.set(s, 0);
            interval.last.set(s, 0);
        }
    }
}
