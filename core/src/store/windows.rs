//! The window model of one interval (SPEC §2, §4.3): which stored window a
//! time falls in. Window k covers [k·len, (k+1)·len); a group keeps the
//! current and the last window of each interval. Every decision about
//! windows — where a count lands, what a read sees, when a count stops
//! being visible, how the windows move — is made here.

use super::slot_counts::SlotCounts;
use super::types::WindowKind;
use crate::time::ActTimes;

/// Where a time falls among the kept windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Current,
    Last,
    /// Before the last window: no kept window holds it.
    TooOld,
}

/// Places `t` among the windows of an interval of `len` ms whose current
/// window starts at `current_start`. Times after the current window count
/// as current (they are never asked: `AT` is capped at now).
pub(crate) fn place(current_start: u64, len: u64, t: u64) -> Place {
    if t >= current_start {
        Place::Current
    } else if t >= current_start.saturating_sub(len) {
        Place::Last
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
    pub(crate) cur: SlotCounts,
    pub(crate) last: SlotCounts,
}

impl IntervalState {
    pub(crate) fn new(len_ms: u64, now_ms: u64, slots: usize) -> Self {
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

    /// Start (Unix ms) of the stored current window.
    pub fn cur_start(&self) -> u64 {
        self.cur_start
    }

    pub(crate) fn set_window(&mut self, k: u64) {
        self.cur_window = k;
        self.cur_start = k.saturating_mul(self.len_ms);
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

    /// Start of the current window once the group is moved to `times`.
    pub(crate) fn start_after(&self, times: &ActTimes) -> u64 {
        if !times.clock_step && times.now < self.cur_start.saturating_add(self.len_ms) {
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
        if !times.clock_step && times.now < self.cur_start.saturating_add(self.len_ms) {
            return false;
        }
        let k = self.window_after(times);
        if k == self.cur_window {
            return false;
        }
        if k == self.cur_window + 1 {
            std::mem::swap(&mut self.cur, &mut self.last);
            self.cur.clear();
        } else if k > self.cur_window {
            self.cur.clear();
            self.last.clear();
        }
        self.set_window(k);
        true
    }

    /// Where a count at `t` lands, the windows standing where they are.
    #[inline]
    pub(crate) fn place(&self, t: u64) -> Place {
        place(self.cur_start, self.len_ms, t)
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

    /// Until when a count placed in the current or last window stays visible.
    pub(crate) fn kept_until(&self, place: Place) -> u64 {
        match place {
            Place::Current => self.cur_start.saturating_add(2 * self.len_ms),
            Place::Last => self.cur_start.saturating_add(self.len_ms),
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
            0
        }
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
        assert_eq!(place(2000, 1000, 2500), Place::Current);
        assert_eq!(place(2000, 1000, 1000), Place::Last);
        assert_eq!(place(2000, 1000, 999), Place::TooOld);
        assert_eq!(place(500, 1000, 0), Place::Last, "no underflow");
    }

    #[test]
    fn moving_one_window_keeps_the_current_as_last() {
        let mut i = IntervalState::new(1000, 5500, 1);
        i.cur.add(0, 3);
        assert!(!i.move_to(&times(5999, false)));
        assert!(i.move_to(&times(6000, false)));
        assert_eq!((i.cur.get(0), i.last.get(0)), (0, 3));
        assert!(i.move_to(&times(9000, false)));
        assert_eq!((i.cur.get(0), i.last.get(0)), (0, 0));
    }

    #[test]
    fn time_never_goes_back_except_on_a_clock_step() {
        let mut i = IntervalState::new(1000, 5500, 1);
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
        let mut i = IntervalState::new(1000, 5500, 1);
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
