//! `ECL.LOG` and `ECL.MLOG`: the hot path.

use crate::clock::{command_clock_ms, heard_master_clock};
use crate::open_group::{err, OpenGroup};
use crate::source::{from_master, trusted};
use crate::{ffi, replicate, reply};
use ecl_core::command::{
    parse_log, parse_mlog, parse_plain_log, parse_u64, plain_mlog_pairs, LogOptions,
};
use ecl_core::protocol::MlogArgs;
use ecl_core::replication::{propagation, Propagation, WriteSource};
use ecl_core::{Batch, EclError, GroupStore, LogReport};
use redis_module::{Context, RedisError, RedisResult};
use std::ffi::CStr;

/// `ECL.LOG group event [count] [AT unix_ms]`.
#[inline]
pub fn log(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if let Some((event, count)) = parse_plain_log(&args[2..]) {
        let written = write_in_place(
            ctx,
            args[1],
            |store, clock| store.log_in_place(event, count, clock),
            1,
            || vec![(event, count)],
        );
        if let Some(done) = written {
            return done;
        }
    }
    let one = parse_log(&args[2..]).map_err(err)?;
    apply(ctx, args[1], &[(one.event, one.count)], &one.options)
}

/// `ECL.MLOG group [AT unix_ms] [ID producer seq] event count [event count ...]`.
pub fn mlog(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if let Some(pairs) = plain_mlog_pairs(&args[2..]) {
        let written = write_in_place(
            ctx,
            args[1],
            |store, clock| store.mlog_in_place(pairs, clock),
            pairs.len() / 2,
            || {
                // Counted, so every count parsed.
                pairs
                    .chunks_exact(2)
                    .map(|pair| (pair[0], parse_u64(pair[1]).unwrap_or_default()))
                    .collect()
            },
        );
        if let Some(done) = written {
            return done;
        }
    }
    let parsed = parse_mlog(&args[2..]).map_err(err)?;
    apply(ctx, args[1], &parsed.events, &parsed.options)
}

/// The commonest writes, without [`apply`]'s general steps: a client's
/// `ECL.LOG` or `ECL.MLOG` without options on a group that exists (its
/// config declaration applied in this database), which its store counts
/// in place (`write`: `GroupStore::log_in_place`, `mlog_in_place`, given
/// the store and the clock). `None`, having changed nothing, for anything
/// else, which `apply` then takes, errors included.
///
/// What it does is `apply`'s outcome for that case: counted (`event_count`
/// events), replicated as core's `propagation` says, signalled, notified.
/// Core's rule sends a client's write that moved and created nothing and
/// had no `AT` verbatim, so `events`, the write's events for a stream
/// with times, are not built.
#[inline]
fn write_in_place<'a>(
    ctx: &Context,
    group: &[u8],
    write: impl FnOnce(&mut GroupStore, u64) -> Option<LogReport>,
    event_count: usize,
    events: impl FnOnce() -> Vec<(&'a [u8], u64)>,
) -> Option<RedisResult> {
    if trusted(ctx) {
        return None;
    }
    let open = OpenGroup::open(ctx, group);
    let store = open.own_store()?;
    if let Some(entry) = open.group.declared() {
        if !entry.declared_in(ffi::selected_db(ctx)) {
            return None;
        }
    }
    let report = write(store, command_clock_ms())?;
    let source = WriteSource {
        trusted: false,
        had_at: false,
        created: false,
    };
    let options = LogOptions::default();
    match propagation(&report, source) {
        with_times @ Propagation::WithTimes { .. } => {
            replicate_write(ctx, with_times, group, &events(), &options);
        }
        // Verbatim or nothing: no events needed.
        other => {
            replicate_write(ctx, other, group, &[], &options);
        }
    }
    open.written_in_place(ctx, write_event(event_count, &options));
    Some(Ok(reply::ok(ctx)))
}

/// Applies a batch: the store admits it against the group as it will be at
/// the batch's time and only then moves anything; a refused or duplicate
/// batch changes nothing, replicates nothing and signals nothing. What an
/// accepted batch sends to replicas and the AOF is core's rule
/// (`ecl_core::replication::propagation`).
///
/// A group the config declares is created with the config's schema on its
/// first write, and given what the config adds on the first write in each
/// database; both are replicated as schema commands before the batch. The
/// master's own stream is never re-declared on a replica.
fn apply(
    ctx: &Context,
    group_arg: &[u8],
    events: &[(&[u8], u64)],
    parsed: &LogOptions<'_>,
) -> RedisResult {
    let trusted = trusted(ctx);
    if parsed.now_ms.is_some() && !trusted {
        return Err(err(EclError::ReplicationOnly("NOW")));
    }
    if let Some(now) = parsed.now_ms {
        if from_master(ctx) {
            heard_master_clock(now);
        }
    }
    let open = OpenGroup::open(ctx, group_arg);
    let existing = open.store()?;
    let clock = match (parsed.now_ms, &existing) {
        (Some(now), _) => now,
        // From the master without NOW: the store's position (see
        // `propagation`: such a write moved nothing on the master).
        (None, Some(store)) if trusted => store.position_ms(),
        _ => command_clock_ms(),
    };
    let batch = Batch {
        events,
        at_ms: parsed.at_ms,
        now_ms: clock,
        producer: parsed.producer,
    };
    let created = existing.is_none();
    let (store, report) = match existing {
        Some(store) => {
            let store = if trusted {
                store
            } else {
                declare_from_config(ctx, &open, store, clock)?
            };
            let report = store.log(batch).map_err(err)?;
            (store, report)
        }
        None => {
            let Some(entry) = open.group.declared() else {
                return Err(err(EclError::UnknownGroup(open.group.display())));
            };
            if !trusted {
                crate::cluster::refuse_while_slot_moves(
                    ctx,
                    open.group.slot,
                    &open.group.display(),
                )?;
            }
            // Create the key only once the batch is known to be good.
            let mut store = GroupStore::new(&entry.shape, clock);
            let report = store.log(batch).map_err(err)?;
            (open.create(ctx, store, clock)?, report)
        }
    };
    let source = WriteSource {
        trusted,
        had_at: parsed.at_ms.is_some(),
        created,
    };
    if !replicate_write(ctx, propagation(&report, source), group_arg, events, parsed) {
        return Ok(reply::ok(ctx));
    }
    open.written(ctx, write_event(events.len(), parsed), store);
    Ok(reply::ok(ctx))
}

/// The keyspace event a write is notified as: `ecl.log` for one event
/// without producer, else `ecl.mlog`.
#[inline]
fn write_event(event_count: usize, parsed: &LogOptions<'_>) -> &'static CStr {
    if event_count == 1 && parsed.producer.is_none() {
        c"ecl.log"
    } else {
        c"ecl.mlog"
    }
}

/// Sends an accepted write to replicas and the AOF as `propagation` says;
/// false when there is nothing to send (a duplicate batch, which changed
/// nothing).
#[inline]
fn replicate_write(
    ctx: &Context,
    propagation: Propagation,
    group: &[u8],
    events: &[(&[u8], u64)],
    parsed: &LogOptions<'_>,
) -> bool {
    match propagation {
        Propagation::Nothing => return false,
        Propagation::Verbatim => replicate::verbatim(ctx),
        Propagation::WithTimes { at, now } => replicate::batch(
            ctx,
            &MlogArgs {
                group,
                at_ms: Some(at),
                now_ms: Some(now),
                producer: parsed.producer,
                events,
            },
        ),
    }
    true
}

/// The config's declaration of an existing group, once per database in this
/// process: what it lacks of the config's schema is added (SPEC §3).
/// Returns the group's store after it.
fn declare_from_config<'o>(
    ctx: &Context,
    open: &'o OpenGroup<'_>,
    store: &'o mut GroupStore,
    now: u64,
) -> Result<&'o mut GroupStore, RedisError> {
    let Some(entry) = open.group.declared() else {
        return Ok(store);
    };
    let db = ffi::selected_db(ctx);
    if entry.declared_in(db) {
        return Ok(store);
    }
    let current = store.shape();
    let merged = current.merged_with(&entry.shape);
    let store = if merged != current {
        open.reshape(ctx, &merged, now, c"ecl.declare")?
    } else {
        store
    };
    entry.mark_declared_in(db);
    Ok(store)
}
