//! The `ECL.*` commands: parse with `ecl_core::command`, act on the group's
//! store, reply. Every error is an `EclError` and changes nothing.

use crate::clock::{heard_master_clock, read_clock_ms, server_clock_ms};
use crate::data_type::{fit_to_config, GROUP_TYPE};
use crate::state::{state, GroupEntry};
use crate::{keys, reply};
use ecl_core::command::reads_as_option;
use ecl_core::command::{parse_get, parse_log, parse_mlog, parse_rotate, LogOptions};
use ecl_core::encoding::decode;
use ecl_core::interval::IntervalMs;
use ecl_core::protocol::{mlog_args, GroupInfo, IntervalInfo, MlogArgs};
use ecl_core::replication::{propagation, Propagation, WriteSource};
use ecl_core::store::SWEEP_STEP;
use ecl_core::{Batch, EclError, GroupStore};
use redis_module::{Context, ContextFlags, RedisError, RedisResult, RedisValue};

fn err(e: EclError) -> RedisError {
    RedisError::String(e.to_string())
}

fn group_of(
    args: &[&[u8]],
    command: &'static str,
    min_args: usize,
) -> Result<&'static GroupEntry, RedisError> {
    if args.len() < min_args {
        return Err(err(EclError::WrongArity(command)));
    }
    group_named(args[1])
}

fn group_named(name: &[u8]) -> Result<&'static GroupEntry, RedisError> {
    state().group(name).ok_or_else(|| {
        err(EclError::UnknownGroup(
            String::from_utf8_lossy(name).into_owned(),
        ))
    })
}

/// Commands from the master or the AOF carry the master's clock (`NOW`);
/// clients may not set it.
fn trusted_source(ctx: &Context) -> bool {
    ctx.get_flags()
        .intersects(ContextFlags::REPLICATED | ContextFlags::LOADING)
}

/// A command from the master's live stream (not the AOF): its `NOW` is the
/// master's clock right now.
fn from_master(ctx: &Context) -> bool {
    let flags = ctx.get_flags();
    flags.contains(ContextFlags::REPLICATED) && !flags.contains(ContextFlags::LOADING)
}

fn resolve_now(ctx: &Context, requested: Option<u64>) -> Result<u64, RedisError> {
    match requested {
        None => Ok(server_clock_ms()),
        Some(now) if trusted_source(ctx) => {
            if from_master(ctx) {
                heard_master_clock(now);
            }
            Ok(now)
        }
        Some(_) => Err(err(EclError::ReplicationOnly("NOW"))),
    }
}

/// `ECL.LOG group event [count] [AT unix_ms]`.
pub fn log(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() < 3 {
        return Err(err(EclError::WrongArity("ecl.log")));
    }
    let group = group_named(args[1])?;
    let one = parse_log(&args[2..]).map_err(err)?;
    apply(ctx, args[1], group, &[(one.event, one.count)], &one.options)
}

/// `ECL.MLOG group [AT unix_ms] [ID producer seq] event count [event count ...]`.
pub fn mlog(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() < 4 {
        return Err(err(EclError::WrongArity("ecl.mlog")));
    }
    let group = group_named(args[1])?;
    let parsed = parse_mlog(&args[2..]).map_err(err)?;
    apply(ctx, args[1], group, &parsed.events, &parsed.options)
}

/// Applies a batch: the store admits it against the group as it will be at
/// the batch's time and only then moves anything; a refused or duplicate
/// batch changes nothing, replicates nothing and signals nothing. What an
/// accepted batch sends to replicas and the AOF is core's rule
/// (`ecl_core::replication::propagation`).
fn apply(
    ctx: &Context,
    group_arg: &[u8],
    group: &GroupEntry,
    events: &[(&[u8], u64)],
    parsed: &LogOptions<'_>,
) -> RedisResult {
    let trusted = trusted_source(ctx);
    if parsed.now_ms.is_some() && !trusted {
        return Err(err(EclError::ReplicationOnly("NOW")));
    }
    if let (Some(now), true) = (parsed.now_ms, from_master(ctx)) {
        heard_master_clock(now);
    }
    let key = ctx.open_key_writable(group.key.get());
    let existing = key
        .get_value::<GroupStore>(&GROUP_TYPE)
        .map_err(|_| err(EclError::WrongType))?;
    if let Some(store) = &existing {
        check_owner(store, group)?;
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
    let (report, store) = match existing {
        Some(store) => (store.log(batch).map_err(err)?, store),
        None => {
            if !trusted {
                crate::cluster::refuse_while_slot_moves(ctx, group)?;
            }
            // Create the key only once the batch is known to be good.
            let mut store = GroupStore::new(&group.shape, clock);
            let report = store.log(batch).map_err(err)?;
            key.set_value(&GROUP_TYPE, store)?;
            let stored = key
                .get_value::<GroupStore>(&GROUP_TYPE)
                .map_err(|_| err(EclError::WrongType))?
                .ok_or_else(|| err(EclError::WrongType))?;
            (report, stored)
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
    keys::written(ctx, group.key.get(), event, group.index, store);
    Ok(reply::ok(ctx))
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

/// Runs `f` on the group's store as seen now; a group never written to reads
/// as an empty store.
fn with_store<R>(
    ctx: &Context,
    group: &GroupEntry,
    f: impl FnOnce(&GroupStore, u64) -> R,
) -> Result<R, RedisError> {
    let now = read_clock_ms(ctx);
    let key = ctx.open_key(group.key.get());
    match key
        .get_value::<GroupStore>(&GROUP_TYPE)
        .map_err(|_| err(EclError::WrongType))?
    {
        Some(store) => {
            check_owner(store, group)?;
            Ok(f(store, now))
        }
        None => {
            crate::cluster::refuse_while_slot_moves(ctx, group)?;
            Ok(f(&GroupStore::new(&group.shape, now), now))
        }
    }
}

/// A store under the key of another group (after a `RENAME`) is refused:
/// its shape is not this group's.
fn check_owner(store: &GroupStore, group: &GroupEntry) -> Result<(), RedisError> {
    if store.name() == group.config.name {
        Ok(())
    } else {
        Err(err(EclError::ForeignGroup {
            group: group.config.name.clone(),
            stored: store.name().to_string(),
        }))
    }
}

/// `ECL.GET group [interval] [LAST|CURRENT]`
pub fn get(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let group = group_of(args, "ecl.get", 2)?;
    let request = parse_get(&group.config, &args[2..]).map_err(err)?;
    with_store(ctx, group, |store, now| {
        // Stores take their group's config shape when loaded, so the
        // configured interval is there.
        let Some(index) = store.interval_index(request.interval_ms) else {
            return reply::counts(ctx, &[]);
        };
        reply::counts(ctx, &store.window_counts(index, request.kind, now));
    })?;
    Ok(RedisValue::NoReply)
}

/// `ECL.TOTALS group`
pub fn totals(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() != 2 {
        return Err(err(EclError::WrongArity("ecl.totals")));
    }
    let group = group_of(args, "ecl.totals", 2)?;
    with_store(ctx, group, |store, now| {
        reply::counts(ctx, &store.totals(now))
    })?;
    Ok(RedisValue::NoReply)
}

/// `ECL.INFO group`
pub fn info(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() != 2 {
        return Err(err(EclError::WrongArity("ecl.info")));
    }
    let group = group_of(args, "ecl.info", 2)?;
    let eviction_policy_risk = crate::eviction::at_risk(ctx);
    with_store(ctx, group, |store, now| {
        let intervals = group
            .config
            .intervals
            .iter()
            .filter_map(|spec| {
                let state = &store.intervals()[store.interval_index(spec.ms)?];
                let current = state.current_start_at(now);
                Some(IntervalInfo {
                    name: spec.name.clone(),
                    length_ms: spec.ms,
                    normalized: IntervalMs(spec.ms).to_string(),
                    current_start_ms: current,
                    last_start_ms: current.saturating_sub(spec.ms),
                })
            })
            .collect();
        let tallies = store.tallies();
        let (timer_last_tick_us, timer_max_tick_us) = crate::timer::tick_stats_us();
        let info = GroupInfo {
            group: group.config.name.clone(),
            intervals,
            declared_events: store.declared_count() as u64,
            auto_declared_events: store.live_auto_events(now),
            auto_declare_events: store.auto_declare(),
            max_events: store.max_events(),
            overflowed: tallies.overflowed,
            late_dropped: tallies.late_dropped,
            clock_steps: tallies.clock_steps,
            producers: store.producers().len() as u64,
            memory_bytes: store.memory_bytes() as u64,
            eviction_policy_risk,
            timer_last_tick_us,
            timer_max_tick_us,
        };
        reply::fields(info.to_reply())
    })
    .map(Ok)?
}

/// `ECL.GROUPS`
pub fn groups(_ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() != 1 {
        return Err(err(EclError::WrongArity("ecl.groups")));
    }
    Ok(RedisValue::Array(
        state()
            .groups
            .iter()
            .map(|g| RedisValue::BulkString(g.config.name.clone()))
            .collect(),
    ))
}

/// `ECL.ROTATE group [NOW unix_ms]`: brings the stored group to now and frees
/// a step of dead auto-declared events. The timer does this on its own; the
/// command exists so the master can replicate each step (with `NOW`).
pub fn rotate(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let group = group_of(args, "ecl.rotate", 2)?;
    let now = resolve_now(ctx, parse_rotate(&args[2..]).map_err(err)?)?;
    let key = ctx.open_key_writable(group.key.get());
    if let Some(store) = key
        .get_value::<GroupStore>(&GROUP_TYPE)
        .map_err(|_| err(EclError::WrongType))?
    {
        check_owner(store, group)?;
        store.tidy(now, SWEEP_STEP);
        let now = now.to_string();
        ctx.replicate("ECL.ROTATE", &[args[1], b"NOW", now.as_bytes()][..]);
        keys::written(ctx, group.key.get(), c"ecl.rotate", group.index, store);
    }
    Ok(reply::ok(ctx))
}

/// `ECL.RESTORE group payload`: replaces the group's store with an encoded
/// one (what AOF rewrite emits). The payload is fully checked first.
pub fn restore(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() != 3 {
        return Err(err(EclError::WrongArity("ecl.restore")));
    }
    let group = group_of(args, "ecl.restore", 3)?;
    let store = decode(args[2]).map_err(|e| err(EclError::BadPayload(e)))?;
    if store.name() != group.config.name {
        return Err(err(EclError::BadPayload(format!(
            "payload is for group '{}'",
            store.name()
        ))));
    }
    let store = fit_to_config(store);
    let key = ctx.open_key_writable(group.key.get());
    if !key.is_empty() && key.get_value::<GroupStore>(&GROUP_TYPE).is_err() {
        return Err(err(EclError::WrongType));
    }
    key.set_value(&GROUP_TYPE, store)?;
    ctx.replicate_verbatim();
    if let Ok(Some(store)) = key.get_value::<GroupStore>(&GROUP_TYPE) {
        keys::written(ctx, group.key.get(), c"ecl.restore", group.index, store);
    }
    Ok(reply::ok(ctx))
}
