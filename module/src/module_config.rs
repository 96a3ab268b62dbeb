//! The load arguments as module configs (Redis 7.0+): `CONFIG GET ecl.*`,
//! `CONFIG SET ecl.max-groups n`, and `ecl.max-groups n` in redis.conf
//! (which wins over `MAX_GROUPS n` on the `loadmodule` line).

use crate::state;
use ecl_core::limits::GROUPS_PER_DB;
use redis_module::{raw, Context};
use std::ffi::c_void;
use std::os::raw::{c_char, c_int, c_longlong};

extern "C" fn get_max_groups(_name: *const c_char, _privdata: *mut c_void) -> c_longlong {
    state::try_state().map_or(0, |s| s.max_groups() as c_longlong)
}

extern "C" fn set_max_groups(
    _name: *const c_char,
    value: c_longlong,
    _privdata: *mut c_void,
    _err: *mut *mut raw::RedisModuleString,
) -> c_int {
    // Redis checked the range given at registration.
    if let (Some(state), Ok(cap)) = (state::try_state(), usize::try_from(value)) {
        state.set_max_groups(cap);
    }
    raw::REDISMODULE_OK as c_int
}

/// Registers `ecl.max-groups` (its default the load argument) and applies
/// what redis.conf says. False where the server has no module configs.
pub fn register(ctx: &Context, max_groups: usize) -> bool {
    crate::ffi::register_numeric_config(
        ctx,
        c"max-groups",
        max_groups as i64,
        (1, GROUPS_PER_DB as i64),
        Some(get_max_groups),
        Some(set_max_groups),
    ) && crate::ffi::load_configs(ctx)
}
