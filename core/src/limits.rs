//! Every limit on what a client, a config or a stored payload may give ECL,
//! in one table (SPEC §4.6). Each door checks against these constants:
//! command parsing, the config, `ECL.RESTORE`, RDB and AOF load. The rule
//! they keep: **whatever is accepted can be saved, loaded and replicated**,
//! so the encoder's output always passes the decoder's checks, which use the
//! same table.
//!
//! The values are chosen so that no command and no timer tick runs longer
//! than 5 ms at the limit (see `make bench`, "limits" rows).
//!
//! To add a limit: a constant, a row in [`TABLE`], a check where the input
//! enters (with [`within`]), and a row in the README (a unit test compares).

/// Longest group name in bytes. Names are the hash tag of the group's key
/// and appear in logs; no NUL byte, whitespace, `{` or `}`.
pub const GROUP_NAME_BYTES: usize = 128;
/// Longest event ID in bytes (IDs are binary-safe otherwise).
pub const EVENT_ID_BYTES: usize = 1024;
/// Intervals one group may have.
pub const INTERVALS_PER_GROUP: usize = 64;
/// Events a group may declare.
pub const DECLARED_EVENTS_PER_GROUP: usize = 5_000;
/// Highest `max_events` (auto-declared events alive at once in a group).
pub const MAX_EVENTS: u64 = 1_000_000;
/// Counters one group may hold: intervals × events (declared, auto-declared
/// up to `max_events`, and `@overflow`). Bounds a key's memory and the work
/// of one rotation.
pub const COUNTERS_PER_GROUP: u64 = 4_000_000;
/// Closed windows one interval may keep (its `history` / its length).
pub const KEPT_WINDOWS_PER_INTERVAL: u64 = 10_000;
/// Counters the kept closed windows of a group may hold: the sum over its
/// intervals of kept windows × events (a closed window takes 4 bytes an
/// event).
pub const HISTORY_COUNTERS_PER_GROUP: u64 = 16_000_000;
/// Events one `ECL.TOP` may ask for.
pub const TOP_EVENTS: u64 = 10_000;
/// `event count` pairs in one `ECL.MLOG`.
pub const EVENTS_PER_COMMAND: usize = 5_000;
/// Arguments of any `ECL.*` command, its name included: room for the most
/// events per command, or the most declared events with every option and
/// interval (what a replicated schema command carries).
pub const ARGS_PER_COMMAND: usize = 2 * EVENTS_PER_COMMAND + 2 * INTERVALS_PER_GROUP + 16;
/// Producers (`ECL.MLOG ... ID producer seq`) remembered per group; the
/// longest-idle one is forgotten beyond this.
pub const PRODUCERS_PER_GROUP: usize = 4096;
/// Longest producer name in bytes.
pub const PRODUCER_ID_BYTES: usize = 256;
/// Sweep steps in one `ECL.ROTATE` (the timer's steps of one tick on one
/// group; each step frees at most a bounded number of events).
pub const ROTATE_STEPS: u64 = 1000;
/// Default cap on groups per database (`MAX_GROUPS n` at load changes it).
pub const DEFAULT_GROUPS_PER_DB: usize = 100_000;
/// Highest `MAX_GROUPS` a server may be given.
pub const GROUPS_PER_DB: usize = 1_000_000;

// Every command the limits allow fits the argument limit (checked when
// building): an `ECL.MLOG` with every option and the most events, and a
// replicated schema command (group, NOW t, AUTO_DECLARE 1, MAX_EVENTS n,
// INTERVALS ..., EVENTS ...) with the most intervals and declared events.
const _: () = assert!(2 + 2 + 3 + 2 + 2 * EVENTS_PER_COMMAND <= ARGS_PER_COMMAND);
const _: () = assert!(
    2 + 2 + 2 + 2 + 2 + 1 + INTERVALS_PER_GROUP + 1 + DECLARED_EVENTS_PER_GROUP <= ARGS_PER_COMMAND
);

/// One row of the table, for the README and `ecl check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub value: u64,
    pub what: &'static str,
}

/// Every limit, as the README lists them.
pub const TABLE: &[Limit] = &[
    Limit {
        name: "group name",
        value: GROUP_NAME_BYTES as u64,
        what: "bytes; no NUL, whitespace, `{` or `}`",
    },
    Limit {
        name: "event ID",
        value: EVENT_ID_BYTES as u64,
        what: "bytes; binary-safe, not starting with `@`",
    },
    Limit {
        name: "intervals per group",
        value: INTERVALS_PER_GROUP as u64,
        what: "intervals",
    },
    Limit {
        name: "declared events per group",
        value: DECLARED_EVENTS_PER_GROUP as u64,
        what: "events",
    },
    Limit {
        name: "max_events",
        value: MAX_EVENTS,
        what: "auto-declared events alive at once in a group",
    },
    Limit {
        name: "counters per group",
        value: COUNTERS_PER_GROUP,
        what: "intervals × (declared events + max_events + 1)",
    },
    Limit {
        name: "kept windows per interval",
        value: KEPT_WINDOWS_PER_INTERVAL,
        what: "closed windows an interval keeps (`history` / interval length)",
    },
    Limit {
        name: "kept counters per group",
        value: HISTORY_COUNTERS_PER_GROUP,
        what: "sum over intervals of kept windows × (declared events + max_events + 1)",
    },
    Limit {
        name: "top events",
        value: TOP_EVENTS,
        what: "`k` of ECL.TOP",
    },
    Limit {
        name: "events per command",
        value: EVENTS_PER_COMMAND as u64,
        what: "`event count` pairs in one ECL.MLOG",
    },
    Limit {
        name: "arguments per command",
        value: ARGS_PER_COMMAND as u64,
        what: "arguments of any ECL command",
    },
    Limit {
        name: "producers per group",
        value: PRODUCERS_PER_GROUP as u64,
        what: "`ID` producers remembered (the longest idle is forgotten)",
    },
    Limit {
        name: "producer ID",
        value: PRODUCER_ID_BYTES as u64,
        what: "bytes",
    },
    Limit {
        name: "steps per ECL.ROTATE",
        value: ROTATE_STEPS,
        what: "sweep steps (what the timer replicates for one tick)",
    },
    Limit {
        name: "groups per database",
        value: GROUPS_PER_DB as u64,
        what: "highest `MAX_GROUPS` (default 100000); applies to clients' creates on a master, never to replication or loading",
    },
];

/// An input beyond one of the limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many {what}: {got}, at most {limit}")]
pub struct OverLimit {
    pub what: &'static str,
    pub got: u64,
    pub limit: u64,
}

/// `got` is at most `limit`.
pub fn within(
    what: &'static str,
    got: impl TryInto<u64>,
    limit: impl TryInto<u64>,
) -> Result<(), OverLimit> {
    let got = got.try_into().unwrap_or(u64::MAX);
    let limit = limit.try_into().unwrap_or(u64::MAX);
    if got <= limit {
        Ok(())
    } else {
        Err(OverLimit { what, got, limit })
    }
}

/// The counters a group of this shape may come to hold.
pub fn counters(intervals: usize, events: u64) -> u64 {
    (intervals as u64).saturating_mul(events)
}

/// The sizes of a group's schema that the limits bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaSize {
    pub intervals: usize,
    pub declared: usize,
    pub max_events: u64,
    /// Events the group holds now (a stored group may keep more than its
    /// schema allows new: events no longer declared stay until they have
    /// no count left).
    pub live_events: usize,
    /// The most closed windows one interval keeps, and their sum over the
    /// intervals (1 each without history).
    pub most_kept: u64,
    pub kept_total: u64,
}

/// A schema within the limits.
pub fn check_schema(size: SchemaSize) -> Result<(), OverLimit> {
    within("intervals", size.intervals, INTERVALS_PER_GROUP)?;
    within("declared events", size.declared, DECLARED_EVENTS_PER_GROUP)?;
    if size.max_events > MAX_EVENTS {
        return Err(OverLimit {
            what: "max_events",
            got: size.max_events,
            limit: MAX_EVENTS,
        });
    }
    let events = (size.declared as u64)
        .saturating_add(size.max_events)
        .saturating_add(1)
        .max(size.live_events as u64);
    within(
        "counters (intervals x events)",
        counters(size.intervals, events),
        COUNTERS_PER_GROUP,
    )?;
    within(
        "kept windows per interval (history / interval)",
        size.most_kept,
        KEPT_WINDOWS_PER_INTERVAL,
    )?;
    if size.most_kept > 1 {
        within(
            "kept counters (kept windows x events)",
            size.kept_total.saturating_mul(events),
            HISTORY_COUNTERS_PER_GROUP,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(intervals: usize, declared: usize, max_events: u64) -> SchemaSize {
        SchemaSize {
            intervals,
            declared,
            max_events,
            live_events: 0,
            most_kept: 1,
            kept_total: intervals as u64,
        }
    }

    fn check_shape(size: SchemaSize, live_events: usize) -> Result<(), OverLimit> {
        check_schema(SchemaSize {
            live_events,
            ..size
        })
    }

    #[test]
    fn shapes_at_each_limit_pass_and_one_beyond_fails() {
        assert!(check_shape(shape(INTERVALS_PER_GROUP, 10, 100), 0).is_ok());
        assert!(check_shape(shape(INTERVALS_PER_GROUP + 1, 10, 100), 0).is_err());
        assert!(check_shape(shape(1, DECLARED_EVENTS_PER_GROUP, 0), 0).is_ok());
        assert!(check_shape(shape(1, DECLARED_EVENTS_PER_GROUP + 1, 0), 0).is_err());
        assert!(check_shape(shape(1, 0, MAX_EVENTS), 0).is_ok());
        assert!(check_shape(shape(1, 0, MAX_EVENTS + 1), 0).is_err());
        assert!(check_shape(shape(4, 0, MAX_EVENTS - 1), 0).is_ok());
        assert!(check_shape(shape(5, 0, MAX_EVENTS - 1), 0).is_err());
        // Live events count where they are more than the schema allows.
        assert!(check_shape(shape(4, 0, 10), 1_000_001).is_err());
        // Kept windows: per interval, and all of them against the events.
        let kept = |most_kept, kept_total, max_events| SchemaSize {
            most_kept,
            kept_total,
            ..shape(2, 0, max_events)
        };
        assert!(check_schema(kept(KEPT_WINDOWS_PER_INTERVAL, 10_001, 100)).is_ok());
        assert!(check_schema(kept(KEPT_WINDOWS_PER_INTERVAL + 1, 10_002, 100)).is_err());
        assert!(check_schema(kept(288, 312, 10_000)).is_ok());
        assert!(check_schema(kept(1440, 1464, 100_000)).is_err());
    }

    #[test]
    fn the_readme_lists_every_limit() {
        let readme = include_str!("../../README.md");
        for limit in TABLE {
            let row = format!("| {} | {} |", limit.name, limit.value);
            assert!(readme.contains(&row), "README lacks the row '{row}'");
        }
    }
}
