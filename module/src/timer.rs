//! The in-server timer (SPEC §4.3). It runs on Redis's cron (`serverCron`,
//! `hz` times a second), which Redis schedules on its monotonic clock, so a
//! wall-clock step cannot delay it (a module timer would wait out a backward
//! step). Each tick, on a master that may write:
//! - groups whose dead auto-declared events are due (the work index) are
//!   brought up to date and swept a step at a time, within a time budget,
//!   each step replicated as `ECL.ROTATE group NOW t`;
//! - after a backward clock step, every stored group the step left ahead of
//!   real time is brought back at once (and the step logged);
//! - nothing else: a group with nothing to do is not opened.
//!
//! It never writes while loading, on a replica, or while the server asks
//! modules to avoid replica traffic (`CLIENT PAUSE WRITE`, `FAILOVER`,
//! `CLUSTER FAILOVER`): it simply tries again at the next tick.

use crate::clock::{forget_master_clock, server_clock_ms};
use crate::data_type::GROUP_TYPE;
use crate::group_index;
use crate::group_key::key_string;
use crate::replicate;
use crate::{ffi, keys};
use ecl_core::limits::ROTATE_STEPS;
use ecl_core::GroupStore;
use redis_module::{Context, ContextFlags};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static LAST_TICK_US: AtomicU64 = AtomicU64::new(0);
/// Ticks that did work, and backward clock steps the timer noticed.
static WORKING_TICKS: AtomicU64 = AtomicU64::new(0);
static CLOCK_STEPS_SEEN: AtomicU64 = AtomicU64::new(0);
static MAX_TICK_US: AtomicU64 = AtomicU64::new(0);
/// The most CPU time one tick used, in µs: its work alone, where its wall
/// time also counts any time the server's thread was descheduled.
static MAX_TICK_CPU_US: AtomicU64 = AtomicU64::new(0);
/// Work done in one tick before it yields to clients. A sweep step takes
/// at most about 1.6 ms (1,000,000 events, `rotation_cost` example), so a
/// tick stays under 3 ms.
const TICK_BUDGET: Duration = Duration::from_millis(1);
/// When work remains after a tick, the next one runs this soon rather than
/// at the next cron run (100 ms at the default `hz`).
const CONTINUE_AFTER: Duration = Duration::from_millis(1);
/// A continuation tick is scheduled.
static CONTINUATION: AtomicBool = AtomicBool::new(false);
/// A wall clock that moves back against the monotonic clock by more than
/// this between ticks has stepped.
const CLOCK_STEP_MS: i64 = 500;
/// Wall clock minus monotonic clock at the last tick.
static CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(i64::MIN);
static WAS_MASTER: AtomicBool = AtomicBool::new(false);

/// The most CPU time one tick used, in µs.
pub fn max_tick_cpu_us() -> u64 {
    MAX_TICK_CPU_US.load(Ordering::Relaxed)
}

/// Duration of the last tick that did work and of the longest one, in µs
/// (every tick of this server, all groups together).
pub fn tick_stats_us() -> (u64, u64) {
    (
        LAST_TICK_US.load(Ordering::Relaxed),
        MAX_TICK_US.load(Ordering::Relaxed),
    )
}

/// Ticks that did work, and backward clock steps noticed, since load.
pub fn counters() -> (u64, u64) {
    (
        WORKING_TICKS.load(Ordering::Relaxed),
        CLOCK_STEPS_SEEN.load(Ordering::Relaxed),
    )
}

/// Subscribes the tick to Redis's cron. Called from `init`.
pub fn start(ctx: &Context) -> bool {
    ffi::subscribe_to_cron(ctx, on_cron)
}

/// Whether the timer may write now.
fn may_write(ctx: &Context) -> bool {
    let flags = ctx.get_flags();
    flags.contains(ContextFlags::MASTER)
        && !flags.contains(ContextFlags::LOADING)
        && !ffi::avoid_replica_traffic()
}

fn monotonic_ms() -> i64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as i64
}

/// Notices a backward step of the wall clock since the last tick.
fn clock_stepped_back(wall_ms: u64) -> bool {
    let offset = wall_ms as i64 - monotonic_ms();
    let before = CLOCK_OFFSET_MS.swap(offset, Ordering::Relaxed);
    before != i64::MIN && offset < before - CLOCK_STEP_MS
}

fn on_cron(ctx: &Context) {
    tick(ctx);
}

fn on_continuation(ctx: &Context, _: ()) {
    CONTINUATION.store(false, Ordering::Relaxed);
    tick(ctx);
}

fn tick(ctx: &Context) {
    let now = server_clock_ms();
    if clock_stepped_back(now) {
        CLOCK_STEPS_SEEN.fetch_add(1, Ordering::Relaxed);
        ctx.log_warning(
            "ECL: the clock stepped back; groups ahead of it are brought back to real time",
        );
        group_index::look_at_all();
    }
    let master = ctx.get_flags().contains(ContextFlags::MASTER);
    if master && !WAS_MASTER.swap(true, Ordering::Relaxed) {
        // Became a master (or started as one): its own clock decides now,
        // and what it holds was written under another's timer.
        forget_master_clock();
        group_index::look_at_all();
    } else if !master {
        WAS_MASTER.store(false, Ordering::Relaxed);
    }
    if !may_write(ctx) || !group_index::anything_due(now) {
        return;
    }
    let started = Instant::now();
    let cpu_started = ffi::thread_cpu_time();
    ffi::with_each_db_restored(ctx, |select| {
        // One group at a time from the index's time order, at least one per
        // tick (progress whatever the budget), the rest at the next tick.
        while let Some((db, group)) = group_index::take_due(now) {
            tidy_group(ctx, select, db, &group, now, started);
            if started.elapsed() >= TICK_BUDGET {
                break;
            }
        }
    });
    let us = started.elapsed().as_micros() as u64;
    WORKING_TICKS.fetch_add(1, Ordering::Relaxed);
    LAST_TICK_US.store(us, Ordering::Relaxed);
    MAX_TICK_US.fetch_max(us, Ordering::Relaxed);
    let cpu_us = ffi::thread_cpu_time()
        .saturating_sub(cpu_started)
        .as_micros() as u64;
    MAX_TICK_CPU_US.fetch_max(cpu_us, Ordering::Relaxed);
    ffi::latency_sample("ecl-timer", us / 1000);
    // Work left (a long sweep): go on soon, between clients' commands. A
    // clock step can hold this timer back (Redis module timers follow the
    // wall clock); the cron goes on regardless.
    if group_index::anything_due(server_clock_ms()) && !CONTINUATION.swap(true, Ordering::Relaxed) {
        ctx.create_timer(CONTINUE_AFTER, on_continuation, ());
    }
}

/// Brings one group up to date and sweeps it, step by step, while the tick's
/// budget lasts; replicates each step.
fn tidy_group(
    ctx: &Context,
    select: &dyn Fn(i32) -> bool,
    db: i32,
    group: &[u8],
    now: u64,
    started: Instant,
) {
    if !select(db) {
        group_index::remove(db, group);
        return;
    }
    let key_string = key_string(ctx, group);
    {
        // Read-only first: an early or stale entry touches nothing.
        let key = ctx.open_key(&key_string);
        match key.get_value::<GroupStore>(&GROUP_TYPE) {
            Ok(Some(store)) if store.name().as_bytes() == group => {
                if !store.has_timer_work(now) && !store.clock_stepped_back(now) {
                    // Not due yet (or never, until written); a due time
                    // already past would hand the same look out again.
                    let next = store.next_timer_work_ms().filter(|&t| t > now);
                    group_index::note(db, group, next);
                    return;
                }
            }
            _ => {
                group_index::remove(db, group);
                return;
            }
        }
    }
    let key = ctx.open_key_writable(&key_string);
    let Ok(Some(store)) = key.get_value::<GroupStore>(&GROUP_TYPE) else {
        return;
    };
    let steps_before = store.tallies().clock_steps;
    let steps = store.tidy_steps(now, ROTATE_STEPS, || started.elapsed() >= TICK_BUDGET);
    replicate::rotate(ctx, group, now, steps);
    let more = store.has_timer_work(now);
    if store.tallies().clock_steps != steps_before {
        ctx.log_warning(&format!(
            "ECL: group '{}' in db {db} was ahead of the clock; brought back to real time",
            String::from_utf8_lossy(group)
        ));
    }
    keys::signal_modified(ctx, &key_string);
    group_index::note(
        db,
        group,
        if more {
            Some(0)
        } else {
            store.next_timer_work_ms().filter(|&t| t > now)
        },
    );
}
