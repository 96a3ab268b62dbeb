//! The store's public vocabulary: the shape a group is built from, what a
//! write brings and what it reports back, and the tallies of counts that
//! reached no window.

use crate::time::ActTimes;

/// What a group looks like: its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShape {
    pub name: String,
    /// Interval lengths in ms, in config order, all distinct.
    pub intervals: Vec<u64>,
    pub declared: Vec<Vec<u8>>,
    pub auto_declare: bool,
    pub max_events: u64,
    /// Closed windows kept per interval cover this duration (0: the last
    /// window only, as without history; SPEC §4.5).
    pub history_ms: u64,
}

impl GroupShape {
    /// Closed windows each interval keeps: as many as `history_ms` covers,
    /// and at least the last one.
    pub fn kept_windows(&self) -> impl Iterator<Item = u64> + '_ {
        self.intervals
            .iter()
            .map(|&len_ms| (self.history_ms / len_ms.max(1)).max(1))
    }

    /// This schema within the limits, for a group holding `live_events`.
    pub fn check_limits(&self, live_events: usize) -> Result<(), crate::limits::OverLimit> {
        crate::limits::check_schema(crate::limits::SchemaSize {
            intervals: self.intervals.len(),
            declared: self.declared.len(),
            max_events: self.max_events,
            live_events,
            most_kept: self.kept_windows().max().unwrap_or(1),
            kept_total: self.kept_windows().sum(),
        })
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
    /// The clock the command runs by: the server's, or the master's `NOW`.
    pub now_ms: u64,
    /// `(producer, seq)` for exactly-once retries.
    pub producer: Option<(&'a [u8], u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOutcome {
    Applied,
    /// The producer's batch with this sequence number was applied before:
    /// nothing was changed.
    AlreadyApplied,
}

/// What an accepted write did, for the replication rule
/// ([`crate::replication::propagation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogReport {
    pub outcome: LogOutcome,
    /// Some window moved (rotation or a clock step).
    pub moved: bool,
    /// The times the batch acted at.
    pub times: ActTimes,
}

/// Counts never delivered to a window, and clock steps absorbed, so a reader
/// can tell nothing was lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tallies {
    /// Counts for new auto-declared events beyond `max_events`, kept in `@overflow`.
    pub overflowed: u64,
    /// Counts whose `AT` was older than a kept window of at least one interval
    /// (they still went into the total and the kept windows they fit).
    pub late_dropped: u64,
    /// Times the clock was found behind the group by more than a window and
    /// the group was brought back to real time.
    pub clock_steps: u64,
}
