//! `INFO ecl` (and `INFO modules`'s line): the module as a whole, what an
//! operator looks at first. Per-group figures (events, tallies, memory)
//! are `ECL.INFO group`'s: adding them up here would open every group's
//! key on every `INFO`.

use crate::{group_index, state, timer};
use redis_module::{raw, InfoContext};
use std::os::raw::c_int;
use std::sync::atomic::{AtomicU8, Ordering};

/// What the server took of the commands' ACL categories (see
/// `command_table::Registered`): 0 none, 1 the standard ones, 2 and `ecl`.
static ACL_CATEGORIES: AtomicU8 = AtomicU8::new(0);

pub fn note_acl_categories(standard: bool, ecl: bool) {
    ACL_CATEGORIES.store(
        u8::from(standard) + u8::from(standard && ecl),
        Ordering::Relaxed,
    );
}

extern "C" fn info(ctx: *mut raw::RedisModuleInfoCtx, _for_crash_report: c_int) {
    let info = InfoContext::new(ctx);
    let (last_tick_us, max_tick_us) = timer::tick_stats_us();
    let (working_ticks, clock_steps) = timer::counters();
    let max_groups = state::try_state().map_or(0, |s| s.max_groups());
    let categories = match ACL_CATEGORIES.load(Ordering::Relaxed) {
        0 => "none (Redis before 7.2: grant commands by name)",
        1 => "read,write,admin,dangerous,fast,slow",
        _ => "ecl,read,write,admin,dangerous,fast,slow",
    };
    let built = info
        .builder()
        .add_section("stats")
        .field("version", env!("CARGO_PKG_VERSION"))
        .and_then(|s| s.field("groups", group_index::total() as u64))
        .and_then(|s| s.field("max_groups_per_db", max_groups as u64))
        .and_then(|s| s.field("timer_working_ticks", working_ticks))
        .and_then(|s| s.field("timer_last_tick_us", last_tick_us))
        .and_then(|s| s.field("timer_max_tick_us", max_tick_us))
        .and_then(|s| s.field("timer_max_tick_cpu_us", timer::max_tick_cpu_us()))
        .and_then(|s| s.field("clock_steps_seen", clock_steps))
        .and_then(|s| s.field("acl_categories", categories))
        .and_then(|s| s.build_section())
        .and_then(|b| b.build_info());
    if let Err(e) = built {
        redis_module::logging::log_warning(format!("ECL: cannot build INFO ecl: {e}"));
    }
}

/// Installs the section (replacing the `redis-module` crate's default).
pub fn install(ctx: &redis_module::Context) {
    raw::register_info_function(ctx.ctx, Some(info));
}
