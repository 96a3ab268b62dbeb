//! `ECL.GET`, `ECL.TOTALS`, `ECL.INFO`, `ECL.GROUPS`: reads never change
//! anything; they compute what the group holds at their time (the master's
//! clock on a replica).

use crate::clock::read_clock_ms;
use crate::data_type::GROUP_TYPE;
use crate::group_ref::GroupRef;
use crate::open_group::{check_owner, err};
use crate::state::state;
use crate::{ffi, group_index, reply};
use ecl_core::command::{parse_get, parse_range, parse_top, resolve_interval};
use ecl_core::config::IntervalSpec;
use ecl_core::interval::IntervalMs;
use ecl_core::protocol::{GroupInfo, IntervalInfo};
use ecl_core::store::RangeReply;
use ecl_core::{EclError, GroupStore};
use redis_module::{Context, RedisError, RedisResult, RedisValue};

/// Runs `f` on the group's store as seen now. A group the config declares
/// and that was never written reads as empty, with the config's schema.
fn with_store<R>(
    ctx: &Context,
    group: &GroupRef<'_>,
    f: impl FnOnce(&GroupStore, u64) -> R,
) -> Result<R, RedisError> {
    let now = read_clock_ms(ctx);
    let key = ctx.open_key(group.key());
    match key
        .get_value::<GroupStore>(&GROUP_TYPE)
        .map_err(|_| err(EclError::WrongType))?
    {
        Some(store) => {
            check_owner(store, group)?;
            Ok(f(store, now))
        }
        None => {
            let entry = group
                .declared()
                .ok_or_else(|| err(EclError::UnknownGroup(group.display())))?;
            crate::cluster::refuse_while_slot_moves(ctx, group.slot, &group.display())?;
            Ok(f(&GroupStore::new(&entry.shape, now), now))
        }
    }
}

/// The group's intervals with the names to show: the config's where it
/// names them (`300s` stays `300s`), the usual form otherwise.
fn interval_specs(group: &GroupRef<'_>, store: &GroupStore) -> Vec<IntervalSpec> {
    let named = group
        .declared()
        .map_or(&[][..], |e| e.config.intervals.as_slice());
    store.shape().interval_specs(named)
}

/// `ECL.GET group [interval] [LAST|CURRENT]`
pub fn get(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let request = parse_get(&args[2..]).map_err(err)?;
    let group = GroupRef::new(ctx, args[1]);
    with_store(ctx, &group, |store, now| {
        let specs = interval_specs(&group, store);
        let ms = resolve_interval(store.name(), &specs, request.interval)?;
        let index = store
            .interval_index(ms)
            .ok_or_else(|| EclError::Syntax("interval vanished".into()))?;
        reply::counts(ctx, &store.window_counts(index, request.kind, now));
        Ok(())
    })?
    .map_err(err)?;
    Ok(RedisValue::NoReply)
}

/// The index of the interval a read names (`5m` also finds `300s`).
fn interval_of(group: &GroupRef<'_>, store: &GroupStore, named: &[u8]) -> Result<usize, EclError> {
    let specs = interval_specs(group, store);
    let ms = resolve_interval(store.name(), &specs, Some(named))?;
    store
        .interval_index(ms)
        .ok_or_else(|| EclError::Syntax("interval vanished".into()))
}

/// `ECL.RANGE group interval [FROM t|-] [TO t|+] [COUNT n] [EVENTS e ...] [SUM]`:
/// `[[start_ms, counts], ...]` oldest first, or the counts summed.
pub fn range(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let request = parse_range(&args[2..]).map_err(err)?;
    let group = GroupRef::new(ctx, args[1]);
    with_store(ctx, &group, |store, now| {
        let index = interval_of(&group, store, request.interval)?;
        match store.range_reply(index, &request, now)? {
            RangeReply::Sum(counts) => reply::counts(ctx, &counts),
            RangeReply::Windows(windows) => reply::windows(ctx, &windows),
        }
        Ok(())
    })?
    .map_err(err)?;
    Ok(RedisValue::NoReply)
}

/// `ECL.TOP group interval k [LAST|CURRENT|AT t]`: the `k` highest counts,
/// highest first (ties by event ID).
pub fn top(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let request = parse_top(&args[2..]).map_err(err)?;
    let group = GroupRef::new(ctx, args[1]);
    with_store(ctx, &group, |store, now| {
        let index = interval_of(&group, store, request.interval)?;
        let top = store.top_reply(index, request.window, request.k, now)?;
        reply::counts(ctx, &top);
        Ok(())
    })?
    .map_err(err)?;
    Ok(RedisValue::NoReply)
}

/// `ECL.TOTALS group`
pub fn totals(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let group = GroupRef::new(ctx, args[1]);
    with_store(ctx, &group, |store, now| {
        reply::counts(ctx, &store.totals(now))
    })?;
    Ok(RedisValue::NoReply)
}

/// `ECL.INFO group`
pub fn info(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let group = GroupRef::new(ctx, args[1]);
    let eviction_policy_risk = crate::eviction::at_risk(ctx);
    with_store(ctx, &group, |store, now| {
        let intervals = interval_specs(&group, store)
            .into_iter()
            .zip(store.intervals())
            .map(|(spec, state)| {
                let current = state.current_start_at(now);
                IntervalInfo {
                    normalized: IntervalMs(spec.ms).to_string(),
                    name: spec.name,
                    length_ms: spec.ms,
                    current_start_ms: current,
                    last_start_ms: current.saturating_sub(spec.ms),
                    kept_windows: state.kept(),
                }
            })
            .collect();
        let tallies = store.tallies();
        let (timer_last_tick_us, timer_max_tick_us) = crate::timer::tick_stats_us();
        let info = GroupInfo {
            group: store.name().to_string(),
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
            history_ms: store.history_ms(),
        };
        reply::fields(info.to_reply())
    })
}

/// `ECL.GROUPS`: the groups of the selected database and those the
/// module's config declares, sorted; only those the caller may read (ACL
/// key patterns apply to group names, as for the other commands).
pub fn groups(ctx: &Context, _args: &[&[u8]]) -> RedisResult {
    let mut names = group_index::names(ffi::selected_db(ctx));
    names.extend(
        state()
            .groups
            .iter()
            .map(|g| g.config.name.as_bytes().to_vec()),
    );
    names.sort_unstable();
    names.dedup();
    let permission = ffi::ReadPermission::of_caller(ctx);
    names.retain(|name| permission.may_read(ctx, name));
    Ok(RedisValue::Array(
        names
            .into_iter()
            .map(|n| RedisValue::BulkString(String::from_utf8_lossy(&n).into_owned()))
            .collect(),
    ))
}
