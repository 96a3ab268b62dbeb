//! What a write sends to replicas and the AOF (SPEC §4.4): decided here,
//! from what the store reports it did, so the rule is unit-tested without a
//! server and the module only carries it out.

use crate::store::{LogOutcome, LogReport};

/// How a write is propagated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Nothing changed (a deduplicated batch): send nothing.
    Nothing,
    /// Send the command as received: it acts at the store's position on the
    /// replica too, where the same windows stand.
    Verbatim,
    /// Send `ECL.MLOG group AT at NOW now ...` with the master's resolved
    /// times, so the replica moves its windows exactly as the master did.
    WithTimes { at: u64, now: u64 },
}

/// Where the write came from and what it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSource {
    /// From the master's stream or the AOF (it may carry `NOW`).
    pub trusted: bool,
    /// The command gave `AT`.
    pub had_at: bool,
    /// The command created the group's key.
    pub created: bool,
}

/// The propagation rule. A write that moved no window, created nothing and
/// had no `AT` acts at the store's position, which a replica shares: it goes
/// verbatim (no formatting cost on the hot path). Anything else carries the
/// master's times. Commands from the master or the AOF are passed on as
/// received (sub-replicas and the replica's own AOF).
pub fn propagation(report: &LogReport, source: WriteSource) -> Propagation {
    if report.outcome == LogOutcome::AlreadyApplied {
        return Propagation::Nothing;
    }
    if source.trusted {
        return Propagation::Verbatim;
    }
    if source.created || source.had_at || report.moved {
        Propagation::WithTimes {
            at: report.times.at,
            now: report.times.now,
        }
    } else {
        Propagation::Verbatim
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ActTimes;

    fn report(outcome: LogOutcome, moved: bool) -> LogReport {
        LogReport {
            outcome,
            moved,
            times: ActTimes {
                at: 10,
                now: 20,
                clock_step: false,
            },
        }
    }

    const CLIENT: WriteSource = WriteSource {
        trusted: false,
        had_at: false,
        created: false,
    };

    #[test]
    fn a_write_in_place_goes_verbatim() {
        assert_eq!(
            propagation(&report(LogOutcome::Applied, false), CLIENT),
            Propagation::Verbatim
        );
    }

    #[test]
    fn a_write_that_moved_created_or_had_at_carries_the_times() {
        let with_times = Propagation::WithTimes { at: 10, now: 20 };
        assert_eq!(
            propagation(&report(LogOutcome::Applied, true), CLIENT),
            with_times
        );
        for source in [
            WriteSource {
                had_at: true,
                ..CLIENT
            },
            WriteSource {
                created: true,
                ..CLIENT
            },
        ] {
            assert_eq!(
                propagation(&report(LogOutcome::Applied, false), source),
                with_times
            );
        }
    }

    #[test]
    fn a_duplicate_sends_nothing_and_the_master_s_commands_pass_on() {
        assert_eq!(
            propagation(&report(LogOutcome::AlreadyApplied, true), CLIENT),
            Propagation::Nothing
        );
        let trusted = WriteSource {
            trusted: true,
            ..CLIENT
        };
        assert_eq!(
            propagation(&report(LogOutcome::Applied, true), trusted),
            Propagation::Verbatim
        );
    }
}
