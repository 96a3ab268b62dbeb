//! ECL as a Redis module: `ECL.*` commands over one native-type key per
//! group, and an in-server timer that rotates the windows. All counting logic
//! lives in `ecl_core`; this crate adapts it to the Redis module API.

mod clock;
mod cluster;
mod command_table;
mod commands;
mod data_type;
mod eviction;
mod ffi;
mod keys;
mod reply;
mod state;
mod timer;
mod work_index;

use data_type::GROUP_TYPE;
use ecl_core::Config;
use redis_module::{redis_module, Context, RedisString, Status};
use std::path::Path;

// Redis's allocator in the server; the system one in `cargo test`, where
// Redis is absent (the Redis allocator would abort the test binary).
#[cfg(not(test))]
type Allocator = redis_module::alloc::RedisAlloc;
#[cfg(not(test))]
const ALLOCATOR: Allocator = redis_module::alloc::RedisAlloc;
#[cfg(test)]
type Allocator = std::alloc::System;
#[cfg(test)]
const ALLOCATOR: Allocator = std::alloc::System;

/// `--loadmodule libecl.so /abs/path/config.yml`
fn init(ctx: &Context, args: &[RedisString]) -> Status {
    let [path] = args else {
        ctx.log_warning("ECL: expected exactly one module argument, the path of the YAML config (--loadmodule libecl.so /path/config.yml)");
        return Status::Err;
    };
    let path = path.to_string_lossy();
    let config = match Config::load(Path::new(&path)) {
        Ok(config) => config,
        Err(e) => {
            ctx.log_warning(&format!("ECL: not loading: {e}"));
            return Status::Err;
        }
    };
    for warning in &config.warnings {
        ctx.log_notice(&format!("ECL: {warning}"));
    }
    if !state::install(state::ModuleState::new(&config)) {
        ctx.log_warning("ECL: the module is already loaded");
        return Status::Err;
    }
    command_table::log_panics();
    if let Err(e) = command_table::register(ctx) {
        ctx.log_warning(&format!("ECL: {e}"));
        return Status::Err;
    }
    reply::prepare_ok(ctx);
    if !ffi::take_over_modified_key_signals(ctx) {
        ctx.log_warning("ECL: this server cannot leave key signals to the module; refused writes will abort WATCH");
    }
    if !timer::start(ctx) {
        ctx.log_warning("ECL: cannot subscribe to the server's cron");
        return Status::Err;
    }
    if !ffi::subscribe_to_keys_moved(ctx, |_| work_index::request_walk()) {
        ctx.log_warning("ECL: cannot subscribe to keyspace and server events");
        return Status::Err;
    }
    eviction::warn_at_load(ctx);
    ctx.log_notice(&format!(
        "ECL: loaded {} groups from {path}",
        config.groups.len()
    ));
    Status::Ok
}

redis_module! {
    name: "ecl",
    version: 1,
    allocator: (Allocator, ALLOCATOR),
    data_types: [GROUP_TYPE],
    init: init,
    commands: [],
}
