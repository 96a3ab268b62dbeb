//! The time a command acts at. One place decides it, for writes, reads and
//! the timer alike, so master, replica and AOF agree by construction.
//!
//! Rules (SPEC §4.3):
//! - `AT` is never later than the time acted at.
//! - A clock a little behind the store's position (by at most the group's
//!   shortest interval) acts at the position: no window moves back, counts
//!   go to the current window.
//! - A clock further behind is a clock step: the group is brought back to
//!   real time at once (see `IntervalState::move_to`) and the step is tallied.

/// No time ECL acts at lies beyond this (the start of the year 10000). A
/// clock, `AT` or `NOW` past it is taken as this; stored windows past it are
/// refused on load. Every window end (`(k + 2) · len`) then fits in `u64`
/// with room to spare.
pub const MAX_TIME_MS: u64 = 253_402_300_800_000;

/// This machine's wall clock in Unix milliseconds (0 before 1970): the one
/// clock reading the module and the clients share.
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The times one command acts at, resolved against a store's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActTimes {
    /// The time the counts belong to (`AT`, or `now`).
    pub at: u64,
    /// The time the group is brought to.
    pub now: u64,
    /// The clock was behind the store by more than one window: the group
    /// goes back to real time.
    pub clock_step: bool,
}

/// Resolves `(AT, clock)` against a store standing at `position_ms` whose
/// shortest interval is `shortest_ms`.
pub fn resolve(at_ms: Option<u64>, clock_ms: u64, position_ms: u64, shortest_ms: u64) -> ActTimes {
    let clock = clock_ms.min(MAX_TIME_MS);
    let behind = position_ms.saturating_sub(clock);
    let (now, clock_step) = if behind == 0 {
        (clock, false)
    } else if behind <= shortest_ms {
        (position_ms, false)
    } else {
        (clock, true)
    };
    ActTimes {
        at: at_ms.map_or(now, |at| at.min(now)),
        now,
        clock_step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_ahead_of_the_position_is_used_as_it_is() {
        let t = resolve(None, 5_500, 5_000, 1_000);
        assert_eq!((t.at, t.now, t.clock_step), (5_500, 5_500, false));
        let t = resolve(Some(9_999), 5_500, 5_000, 1_000);
        assert_eq!(t.at, 5_500, "AT is never later than now");
    }

    #[test]
    fn a_clock_behind_by_at_most_one_window_acts_at_the_position() {
        let t = resolve(Some(100), 4_000, 5_000, 1_000);
        assert_eq!((t.at, t.now, t.clock_step), (100, 5_000, false));
    }

    #[test]
    fn a_clock_further_behind_is_a_step() {
        let t = resolve(None, 3_999, 5_000, 1_000);
        assert_eq!((t.at, t.now, t.clock_step), (3_999, 3_999, true));
    }

    #[test]
    fn times_past_the_year_9999_are_capped() {
        let t = resolve(Some(u64::MAX), u64::MAX, 0, 1_000);
        assert_eq!((t.at, t.now), (MAX_TIME_MS, MAX_TIME_MS));
    }
}
