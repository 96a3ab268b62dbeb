//! `ECL.LOG` and `ECL.MLOG`: the hot path.

use super::{
    check_owner, create_group, err, reshape_group, store_in, trusted_source, unknown_group,
};
use crate::clock::{heard_master_clock, server_clock_ms};
use crate::group_ref::GroupRef;
use crate::writable_key::WritableKey;
use crate::{ffi, keys, reply};
use ecl_core::command::{parse_log, parse_mlog, reads_as_option, LogOptions};
use ecl_core::protocol::{mlog_args, MlogArgs};
use ecl_core::replication::{propagation, Propagation, WriteSource};
use ecl_core::{Batch, EclError, GroupStore};
use redis_module::{Context, RedisResult};

/// `ECL.LOG group event [count] [AT unix_ms]`.
pub fn log(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() < 3 {
        return Err(err(EclError::WrongArity("ecl.log")));
    }
    let one = parse_log(&args[2..]).map_err(err)?;
    apply(ctx, args[1], &[(one.event, one.count)], &one.options)
}

/// `ECL.MLOG group [AT unix_ms] [ID producer seq] event count [event count ...]`.
pub fn mlog(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() < 4 {
        return Err(err(EclError::WrongArity("ecl.mlog")));
    }
    let parsed = parse_mlog(&args[2..]).map_err(err)?;
    apply(ctx, args[1], &parsed.events, &parsed.options)
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
    let trusted = trusted_source(ctx);
    if parsed.now_ms.is_some() && !trusted {
        return Err(err(EclError::ReplicationOnly("NOW")));
    }
    if let Some(now) = parsed.now_ms {
        if super::from_master(ctx) {
            heard_master_clock(now);
        }
    }
    let group = GroupRef::new(ctx, group_arg);
    let key = WritableKey::open(ctx, group.key());
    let existing = store_in(&key)?;
    if let Some(store) = &existing {
        check_owner(store, &group)?;
    }
    let clock = match (parsed.now_ms, &existing) {
        (Some(now), _) => now,
        // From the master without NOW: the store's position (see
        // `propagation`: such a write moved nothing on the master).
        (None, Some(store)) if trusted => store.position_ms(),
        _ => server_clock_ms(),
    };
    let batch = Batch {
        events,
        at_ms: parsed.at_ms,
        now_ms: clock,
        producer: parsed.producer,
    };
    let created = existing.is_none();
    // The group's store after the write; `None` where the write replaced the
    // key's value (a creation or a declaration), which is then fetched again.
    let mut written: Option<&mut GroupStore> = None;
    let report = match existing {
        Some(store) => {
            let store = if !trusted && declare_from_config(ctx, &key, &group, store, clock)? {
                store_in(&key)?.ok_or_else(|| unknown_group(&group))?
            } else {
                store
            };
            let report = store.log(batch).map_err(err)?;
            written = Some(store);
            report
        }
        None => {
            let Some(entry) = group.declared() else {
                return Err(unknown_group(&group));
            };
            if !trusted {
                crate::cluster::refuse_while_slot_moves(ctx, group.slot, &group.display())?;
            }
            // Create the key only once the batch is known to be good.
            let mut store = GroupStore::new(&entry.shape, clock);
            let report = store.log(batch).map_err(err)?;
            create_group(ctx, &key, &group, store, clock)?;
            report
        }
    };
    let source = WriteSource {
        trusted,
        had_at: parsed.at_ms.is_some(),
        created,
    };
    match propagation(&report, source) {
        Propagation::Nothing => return Ok(reply::ok(ctx)),
        Propagation::Verbatim => {
            ctx.replicate_verbatim();
        }
        Propagation::WithTimes { at, now } => match (events, parsed.producer) {
            ([(event, count)], None) if !reads_as_option(event) => {
                replicate_one(ctx, group_arg, event, *count, at, now)
            }
            _ => replicate_batch(ctx, group_arg, events, parsed, at, now),
        },
    }
    let event = if events.len() == 1 && parsed.producer.is_none() {
        c"ecl.log"
    } else {
        c"ecl.mlog"
    };
    let store = match written {
        Some(store) => Some(store),
        None => store_in(&key)?,
    };
    if let Some(store) = store {
        keys::written(ctx, group.key(), event, group.name, store);
    }
    Ok(reply::ok(ctx))
}

/// The config's declaration of an existing group, once per database in this
/// process: what it lacks of the config's schema is added (SPEC §3).
/// Returns whether the key's value was replaced.
fn declare_from_config(
    ctx: &Context,
    key: &WritableKey,
    group: &GroupRef<'_>,
    store: &GroupStore,
    now: u64,
) -> Result<bool, redis_module::RedisError> {
    let Some(entry) = group.declared() else {
        return Ok(false);
    };
    let db = ffi::selected_db(ctx);
    if entry.declared_in(db) {
        return Ok(false);
    }
    let current = store.shape();
    let merged = current.merged_with(&entry.shape);
    let replaced = merged != current;
    if replaced {
        reshape_group(ctx, key, group, store, &merged, now, c"ecl.declare")?;
    }
    entry.mark_declared_in(db);
    Ok(replaced)
}

/// `replicate_batch` for the common one-event `ECL.LOG`, without building
/// intermediate strings: numbers are formatted on the stack.
fn replicate_one(ctx: &Context, group: &[u8], event: &[u8], count: u64, at: u64, now: u64) {
    let (mut at_buf, mut now_buf, mut count_buf) = ([0u8; 20], [0u8; 20], [0u8; 20]);
    let at = decimal(at, &mut at_buf);
    let now = decimal(now, &mut now_buf);
    let count = decimal(count, &mut count_buf);
    // SAFETY: every `b` in the format is followed by a pointer and a length
    // describing a live buffer; Redis copies them before returning.
    let Some(replicate) = (unsafe { redis_module::raw::RedisModule_Replicate }) else {
        return;
    };
    unsafe {
        replicate(
            ctx.ctx,
            c"ECL.MLOG".as_ptr(),
            c"bbbbbbb".as_ptr(),
            group.as_ptr(),
            group.len(),
            b"AT".as_ptr(),
            2usize,
            at.as_ptr(),
            at.len(),
            b"NOW".as_ptr(),
            3usize,
            now.as_ptr(),
            now.len(),
            event.as_ptr(),
            event.len(),
            count.as_ptr(),
            count.len(),
        );
    }
}

/// Formats `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Replicas and the AOF get the batch with the master's resolved times, so
/// they apply exactly what the master applied.
fn replicate_batch(
    ctx: &Context,
    group: &[u8],
    events: &[(&[u8], u64)],
    parsed: &LogOptions<'_>,
    at: u64,
    now: u64,
) {
    let args = mlog_args(&MlogArgs {
        group,
        at_ms: Some(at),
        now_ms: Some(now),
        producer: parsed.producer,
        events,
    });
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    ctx.replicate("ECL.MLOG", args.as_slice());
}
