//! The window model of one interval (SPEC §2, §4.3, §4.5): which stored
//! window a time falls in. Window k covers [k·len, (k+1)·len); a group
//! keeps the current window of each interval and its `kept` closed ones
//! (the group's `history`, at least the last). Every decision about
//! windows — where a count lands, what a read sees, when a count stops
//! being visible, how the windows move — is made here.
//!
//! The closed windows are `last` (the newest, where late counts of the
//! last window land on the hot path) and `older` (the rest, newest first,
//! by window index; a window with no count is not stored and reads as
//! zeros).

use super::slot_counts::SlotCounts;
use super::types::WindowKind;
use crate::time::ActTimes;
use std::collections::VecDeque;

/// Where a time falls among the kept windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Current,
    Last,
    /// A kept closed window before the last: its index.
    Older(u64),
    /// Before the oldest kept window: no kept window holds it.
    TooOld,
}

/// Places `t` among the windows of an interval of `len` ms whose current
/// window starts at `current_start`, keeping `kept` closed windows. Times
/// after the current window count as current (they are never asked: `AT`
/// is capped at now).
#[inline]
pub(crate) fn place(current_start: u64, len: u64, kept: u64, t: u64) -> Place {
    if t >= current_start {
        Place::Current
    } else if t >= current_start.saturating_sub(len) {
        Place::Last
    } else if t >= current_start.saturating_sub(kept.saturating_mul(len)) {
        Place::Older(t / len)
    } else {
        Place::TooOld
    }
}

/// One interval's windows for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalState {
    pub len_ms: u64,
    /// Index k of the current window.
    cur_window: u64,
    /// `cur_window * len_ms`, kept so the hot path compares instead of
    /// dividing.
    cur_start: u64,
    /// `cur_start + len_ms`: before it, the windows do not move (one
    /// compare on the hot path).
    cur_end: u64,
    pub(crate) cur: SlotCounts,
    pub(crate) last: SlotCounts,
    /// Closed windows kept, `last` included (at least 1).
    kept: u64,
    /// Closed windows before `last` with a count, newest first:
    /// `(window index, counts)`, indexes in `[cur_window - kept, cur_window - 2]`.
    pub(crate) older: VecDeque<(u64, SlotCounts)>,
}

impl IntervalState {
    pub(crate) fn new(len_ms: u64, now_ms: u64, slots: usize, kept: u64) -> Self {
        let mut state = IntervalState {
            len_ms,
            cur_window: 0,
            cur_start: 0,
            cur_end: 0,
            cur: SlotCounts::zeros(slots),
            last: SlotCounts::zeros(slots),
            kept: kept.max(1),
            older: VecDeque::new(),
        };
        state.set_window(now_ms / len_ms);
        state
    }

    /// Closed windows kept, the last included.
    pub fn kept(&self) -> u64 {
        self.kept
    }

    /// Index of the current window.
    pub fn cur_window(&self) -> u64 {
        self.cur_window
    }

    /// Start (Unix ms) of the stored current window.
    pub fn cur_start(&self) -> u64 {
        self.cur_start
    }

    /// End (Unix ms, exclusive) of the stored current window.
    pub fn cur_end(&self) -> u64 {
        self.cur_end
    }

    pub(crate) fn set_window(&mut self, k: u64) {
        self.cur_window = k;
        self.cur_start = k.saturating_mul(self.len_ms);
        self.cur_end = self.cur_start.saturating_add(self.len_ms);
    }

    /// The window the interval stands at once the group is moved to `times`:
    /// time never goes back, except on a clock step, which brings the
    /// interval back to real time.
    fn window_after(&self, times: &ActTimes) -> u64 {
        let k = times.now / self.len_ms;
        if times.clock_step {
            k
        } else {
            k.max(self.cur_window)
        }
    }

    /// Whether the windows stay where they are at `times`: no clock step,
    /// and `now` still in the current window.
    #[inline]
    pub(crate) fn stays_at(&self, times: &ActTimes) -> bool {
        !times.clock_step && times.now < self.cur_end
    }

    /// Start of the current window once the group is moved to `times`.
    pub(crate) fn start_after(&self, times: &ActTimes) -> u64 {
        if self.stays_at(times) {
            return self.cur_start; // still in the current window: no division
        }
        self.window_after(times) * self.len_ms
    }

    /// Start (Unix ms) of the current window as a read at `at_ms` sees it.
    pub fn current_start_at(&self, at_ms: u64) -> u64 {
        self.cur_window.max(at_ms / self.len_ms) * self.len_ms
    }

    /// Moves the windows to `times`. Forward by one window, current becomes
    /// last; by more, both start at 0. Back (a clock step), the counts stay
    /// where they are: they were counted a moment ago in real time, under a
    /// wrong clock. Returns whether the window moved.
    #[inline]
    pub(crate) fn move_to(&mut self, times: &ActTimes) -> bool {
        if self.stays_at(times) {
            return false;
        }
        let k = self.window_after(times);
        if k == self.cur_window {
            return false;
        }
        if self.kept == 1 {
            // No history: the windows move as they always did.
            if k == self.cur_window + 1 {
                std::mem::swap(&mut self.cur, &mut self.last);
                self.cur.clear();
            } else if k > self.cur_window {
                self.cur.clear();
                self.last.clear();
            }
        } else if k > self.cur_window {
            // The last window joins the older ones (the current one too when
            // more than one window passed); a buffer that falls off the end
            // is reused for the new current window.
            let len = self.cur.len();
            let closing_last = std::mem::replace(&mut self.last, SlotCounts::zeros(0));
            if self.cur_window > 0 {
                self.room_for_one_older();
                self.older.push_front((self.cur_window - 1, closing_last));
            }
            if k == self.cur_window + 1 {
                self.last = std::mem::replace(&mut self.cur, SlotCounts::zeros(0));
            } else {
                let closing_cur = std::mem::replace(&mut self.cur, SlotCounts::zeros(0));
                self.room_for_one_older();
                self.older.push_front((self.cur_window, closing_cur));
                self.last = SlotCounts::zeros(len);
            }
            let oldest_kept = k.saturating_sub(self.kept);
            let mut reuse = None;
            while self.older.back().is_some_and(|(w, _)| *w < oldest_kept) {
                reuse = self.older.pop_back().map(|(_, counts)| counts);
            }
            self.cur = match reuse {
                Some(mut counts) if counts.len() == len => {
                    counts.clear();
                    counts
                }
                _ => SlotCounts::zeros(len),
            };
        } else {
            // A clock step back: closed windows from the new current one on
            // are ahead of the clock; the counts of the moment stay.
            self.older.retain(|(w, _)| *w + 1 < k);
        }
        self.set_window(k);
        true
    }

    /// Room for one more closed window before the last: the queue grows by
    /// an eighth (at least 4), never past the `kept - 1` it holds at most,
    /// rather than doubling (a group that keeps a day of 5-minute windows
    /// has 287; doubling would leave up to half of the queue unused).
    fn room_for_one_older(&mut self) {
        if self.older.len() < self.older.capacity() {
            return;
        }
        let most = usize::try_from(self.kept.saturating_sub(1)).unwrap_or(usize::MAX);
        let grow = (self.older.len() / 8).max(4);
        let grow = grow.min(most.saturating_sub(self.older.len())).max(1);
        self.older.reserve_exact(grow);
    }

    /// The counts of closed window `k` (kept, before the last), made if
    /// missing, long enough for `slots` slots.
    pub(crate) fn older_window_mut(&mut self, k: u64, slots: usize) -> &mut SlotCounts {
        let position = match self.older.iter().position(|(w, _)| *w <= k) {
            Some(i) if self.older[i].0 == k => i,
            Some(i) => {
                self.room_for_one_older();
                self.older.insert(i, (k, SlotCounts::zeros(slots)));
                i
            }
            None => {
                self.room_for_one_older();
                self.older.push_back((k, SlotCounts::zeros(slots)));
                self.older.len() - 1
            }
        };
        let counts = &mut self.older[position].1;
        while counts.len() < slots {
            counts.push_zero();
        }
        counts
    }

    /// The stored closed window `k` as a read at `at_ms` sees it (`None`:
    /// zeros, or not kept at `at_ms`).
    pub(crate) fn closed_view(&self, k: u64, at_ms: u64) -> Option<&SlotCounts> {
        let now_k = self.cur_window.max(at_ms / self.len_ms);
        if k >= now_k || k < now_k.saturating_sub(self.kept) {
            return None;
        }
        if k == self.cur_window {
            Some(&self.cur)
        } else if k + 1 == self.cur_window {
            Some(&self.last)
        } else {
            self.older.iter().find(|(w, _)| *w == k).map(|(_, c)| c)
        }
    }

    /// Indexes of the closed windows kept at `at_ms`: `[first, end)`.
    pub fn kept_range(&self, at_ms: u64) -> (u64, u64) {
        let now_k = self.cur_window.max(at_ms / self.len_ms);
        (now_k.saturating_sub(self.kept), now_k)
    }

    /// Bytes held by the closed windows before the last.
    pub(crate) fn older_heap_bytes(&self) -> usize {
        self.older
            .iter()
            .map(|(_, c)| c.heap_bytes())
            .sum::<usize>()
            + self.older.capacity() * std::mem::size_of::<(u64, SlotCounts)>()
    }

    /// Where a count at `t` lands, the windows standing where they are.
    #[inline]
    pub(crate) fn place(&self, t: u64) -> Place {
        place(self.cur_start, self.len_ms, self.kept, t)
    }

    /// The stored counts a read at `at_ms` sees as the `kind` window, without
    /// moving anything (`None`: that window is empty at `at_ms`).
    pub(crate) fn view(&self, kind: WindowKind, at_ms: u64) -> Option<&SlotCounts> {
        let ahead = (at_ms / self.len_ms).saturating_sub(self.cur_window);
        match (kind, ahead) {
            (WindowKind::Current, 0) => Some(&self.cur),
            (WindowKind::Last, 0) => Some(&self.last),
            (WindowKind::Last, 1) => Some(&self.cur),
            _ => None,
        }
    }

    /// Until when a count placed in a window stays visible: window k is
    /// kept while the current window is at most `k + kept`.
    pub(crate) fn kept_until(&self, place: Place) -> u64 {
        let visible_until = |k: u64| {
            k.saturating_add(self.kept)
                .saturating_add(1)
                .saturating_mul(self.len_ms)
        };
        match place {
            Place::Current => visible_until(self.cur_window),
            Place::Last => visible_until(self.cur_window.saturating_sub(1)),
            Place::Older(k) => visible_until(k),
            Place::TooOld => 0,
        }
    }

    /// Until when the slot's stored counts stay visible (0: no count).
    pub(crate) fn slot_kept_until(&self, slot: usize) -> u64 {
        if self.cur.get(slot) > 0 {
            self.kept_until(Place::Current)
        } else if self.last.get(slot) > 0 {
            self.kept_until(Place::Last)
        } else {
            self.older
                .iter()
                .find(|(_, c)| slot < c.len() && c.get(slot) > 0)
                .map_or(0, |&(k, _)| self.kept_until(Place::Older(k)))
        }
    }

    /// Whether any closed window before the last counts the slot.
    pub(crate) fn older_counts(&self, slot: usize) -> bool {
        self.older
            .iter()
            .any(|(_, c)| slot < c.len() && c.get(slot) > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(now: u64, clock_step: bool) -> ActTimes {
        ActTimes {
            at: now,
            now,
            clock_step,
        }
    }

    #[test]
    fn a_time_is_current_last_or_too_old() {
        assert_eq!(place(2000, 1000, 1, 2500), Place::Current);
        assert_eq!(place(2000, 1000, 1, 1000), Place::Last);
        assert_eq!(place(2000, 1000, 1, 999), Place::TooOld);
        assert_eq!(place(5000, 1000, 3, 2500), Place::Older(2));
        assert_eq!(place(5000, 1000, 3, 1999), Place::TooOld);
        assert_eq!(place(500, 1000, 1, 0), Place::Last, "no underflow");
    }

    /// The queue of closed windows grows by steps to what it can hold,
    /// not by doubling past it: written into by `AT` or filled by rotation.
    #[test]
    fn the_closed_windows_take_little_more_room_than_they_can_hold() {
        let kept = 288;
        let mut by_at = IntervalState::new(1000, 1_000_000, 1, kept);
        for k in (1000 - kept..1000 - 1).rev() {
            by_at.older_window_mut(k, 1).add(0, 1);
        }
        let mut by_rotation = IntervalState::new(1000, 1_000_000, 1, kept);
        for k in 1001..1001 + 2 * kept {
            by_rotation.cur.add(0, 1);
            by_rotation.move_to(&times(k * 1000, false));
        }
        for i in [by_at, by_rotation] {
            assert_eq!(i.older.len() as u64, kept - 1);
            assert!(
                i.older.capacity() as u64 <= kept + 4,
                "{}",
                i.older.capacity()
            );
        }
    }

    #[test]
    fn moving_one_window_keeps_the_current_as_last() {
        let mut i = IntervalState::new(1000, 5500, 1, 1);
        i.cur.add(0, 3);
        assert!(!i.move_to(&times(5999, false)));
        assert!(i.move_to(&times(6000, false)));
        assert_eq!((i.cur.get(0), i.last.get(0)), (0, 3));
        assert!(i.move_to(&times(9000, false)));
        assert_eq!((i.cur.get(0), i.last.get(0)), (0, 0));
    }

    #[test]
    fn time_never_goes_back_except_on_a_clock_step() {
        let mut i = IntervalState::new(1000, 5500, 1, 1);
        i.cur.add(0, 3);
        assert!(!i.move_to(&times(4000, false)));
        assert_eq!(i.cur_window(), 5);
        assert!(i.move_to(&times(1500, true)));
        assert_eq!(i.cur_window(), 1);
        assert_eq!(i.cur.get(0), 3, "counts of a moment ago are kept");
        assert_eq!(i.start_after(&times(1500, true)), 1000);
    }

    #[test]
    fn reads_see_the_windows_as_they_would_be() {
        let mut i = IntervalState::new(1000, 5500, 1, 1);
        i.cur.add(0, 3);
        let seen = |kind, at| i.view(kind, at).map_or(0, |c| c.get(0));
        assert_eq!(seen(WindowKind::Current, 5900), 3);
        assert_eq!(seen(WindowKind::Last, 6100), 3);
        assert_eq!(seen(WindowKind::Current, 6100), 0);
        assert_eq!(seen(WindowKind::Last, 7000), 0);
        assert_eq!(
            seen(WindowKind::Current, 100),
            3,
            "a clock behind reads the stored window"
        );
    }
}
