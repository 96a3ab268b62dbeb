//! The in-server timer: on a master, at every window boundary of every
//! configured interval, rotate every stored group in every database, then
//! free dead auto-declared events in bounded steps (1 ms apart) so no single
//! tick stalls the server. Replicas skip it: they follow the master's
//! replicated `ECL.ROTATE`, and their reads are exact regardless.

use crate::data_type::GROUP_TYPE;
use crate::state::{now_ms, state};
use ecl_core::store::SWEEP_STEP;
use ecl_core::window::next_boundary;
use ecl_core::GroupStore;
use redis_module::{raw, Context, ContextFlags};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static LAST_TICK_US: AtomicU64 = AtomicU64::new(0);
static MAX_TICK_US: AtomicU64 = AtomicU64::new(0);
/// Longest sleep between ticks, so a clock step cannot delay rotation long.
const MAX_SLEEP: Duration = Duration::from_secs(10);
/// Pause between sweep steps: lets clients in between.
const SWEEP_PAUSE: Duration = Duration::from_millis(1);

/// Duration of the last tick that did work and of the longest one, in µs.
pub fn tick_stats_us() -> (u64, u64) {
    (
        LAST_TICK_US.load(Ordering::Relaxed),
        MAX_TICK_US.load(Ordering::Relaxed),
    )
}

pub fn start(ctx: &Context) {
    schedule(ctx, until_next_boundary(now_ms()));
}

fn schedule(ctx: &Context, delay: Duration) {
    ctx.create_timer(delay, on_tick, ());
}

/// Time until just after the next boundary of any configured interval.
fn until_next_boundary(now: u64) -> Duration {
    let next = state()
        .groups
        .iter()
        .filter_map(|g| next_boundary(&g.shape.intervals, now))
        .min();
    match next {
        // +1 ms: Redis timers may fire a hair early; land inside the new window.
        Some(next) => Duration::from_millis(next - now + 1).min(MAX_SLEEP),
        None => MAX_SLEEP,
    }
}

fn on_tick(ctx: &Context, _: ()) {
    let flags = ctx.get_flags();
    let mut more_to_sweep = false;
    if flags.contains(ContextFlags::MASTER) && !flags.contains(ContextFlags::LOADING) {
        let started = Instant::now();
        let (worked, more) = rotate_everywhere(ctx, now_ms());
        more_to_sweep = more;
        if worked {
            let us = started.elapsed().as_micros() as u64;
            LAST_TICK_US.store(us, Ordering::Relaxed);
            MAX_TICK_US.fetch_max(us, Ordering::Relaxed);
        }
    }
    let delay = if more_to_sweep {
        SWEEP_PAUSE
    } else {
        until_next_boundary(now_ms())
    };
    schedule(ctx, delay);
}

/// Rotates and sweeps every stored group in every database. Returns whether
/// anything changed and whether sweeping must go on.
fn rotate_everywhere(ctx: &Context, now: u64) -> (bool, bool) {
    let (mut worked, mut more) = (false, false);
    let select = unsafe { raw::RedisModule_SelectDb.expect("SelectDb") };
    let original_db = unsafe { raw::RedisModule_GetSelectedDb.expect("GetSelectedDb")(ctx.ctx) };
    let now_text = now.to_string();
    for db in 0.. {
        if unsafe { select(ctx.ctx, db) } != raw::REDISMODULE_OK as i32 {
            break; // past the last database
        }
        for group in &state().groups {
            let key = ctx.open_key_writable(group.key.get());
            let Ok(Some(store)) = key.get_value::<GroupStore>(&GROUP_TYPE) else {
                continue;
            };
            if store.name() != group.config.name {
                continue; // renamed from another group's key: not ours to rotate
            }
            let moved = store.advance(now);
            let swept = store.sweep_pending();
            if swept {
                store.sweep(now, SWEEP_STEP);
            }
            if moved || swept {
                worked = true;
                let args: [&[u8]; 3] = [group.config.name.as_bytes(), b"NOW", now_text.as_bytes()];
                ctx.replicate("ECL.ROTATE", &args[..]);
            }
            more |= store.sweep_pending();
        }
    }
    unsafe { select(ctx.ctx, original_db) };
    (worked, more)
}
