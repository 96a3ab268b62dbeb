//! ECL as a Redis module: `ECL.*` commands over one native-type key per
//! group, and an in-server timer that rotates the windows. All counting logic
//! lives in `ecl_core`; this crate adapts it to the Redis module API.

#[cfg(not(test))]
mod allocator;
mod clock;
mod cluster;
mod command_table;
mod commands;
mod data_type;
mod eviction;
mod ffi;
mod group_index;
mod group_key;
mod group_ref;
mod info_section;
mod keys;
mod module_config;
mod open_group;
mod replicate;
mod reply;
mod source;
mod state;
mod timer;
mod writable_key;

use data_type::GROUP_TYPE;
use ecl_core::Config;
use redis_module::{redis_module, Context, RedisString, Status};
use std::path::Path;

// Redis's allocator in the server; the system one in `cargo test`, where
// Redis is absent (the Redis allocator would abort the test binary).
#[cfg(not(test))]
type Allocator = allocator::ServerAlloc;
#[cfg(not(test))]
const ALLOCATOR: Allocator = allocator::ServerAlloc;
#[cfg(test)]
type Allocator = std::alloc::System;
#[cfg(test)]
const ALLOCATOR: Allocator = std::alloc::System;

/// What `--loadmodule libecl.so [/abs/config.yml] [MAX_GROUPS n]` gives.
struct LoadArgs {
    config: Option<String>,
    max_groups: usize,
}

fn load_args(args: &[RedisString]) -> Result<LoadArgs, String> {
    let args: Vec<String> = args.iter().map(RedisString::to_string_lossy).collect();
    let mut out = LoadArgs {
        config: None,
        max_groups: state::DEFAULT_MAX_GROUPS,
    };
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg.eq_ignore_ascii_case("MAX_GROUPS") {
            out.max_groups = args
                .get(i + 1)
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0 && n <= ecl_core::limits::GROUPS_PER_DB)
                .ok_or_else(|| {
                    format!(
                        "MAX_GROUPS needs a number from 1 to {}",
                        ecl_core::limits::GROUPS_PER_DB
                    )
                })?;
            i += 2;
        } else if out.config.is_none() {
            out.config = Some(arg.clone());
            i += 1;
        } else {
            return Err(format!(
                "unexpected module argument '{arg}' (usage: --loadmodule libecl.so [/path/config.yml] [MAX_GROUPS n])"
            ));
        }
    }
    Ok(out)
}

/// `--loadmodule libecl.so [/abs/path/config.yml] [MAX_GROUPS n]`: the
/// config is optional; its groups are declared (created or extended) on
/// first use in each database.
fn init(ctx: &Context, args: &[RedisString]) -> Status {
    if !data_type::remember_raw_type() {
        ctx.log_warning("ECL: not loading: the ecl-group type was not created");
        return Status::Err;
    }
    let args = match load_args(args) {
        Ok(args) => args,
        Err(e) => {
            ctx.log_warning(&format!("ECL: not loading: {e}"));
            return Status::Err;
        }
    };
    let config = match &args.config {
        None => None,
        Some(path) => match Config::load(Path::new(path)) {
            Ok(config) => Some(config),
            Err(e) => {
                ctx.log_warning(&format!("ECL: not loading: {e}"));
                return Status::Err;
            }
        },
    };
    for warning in config.iter().flat_map(|c| &c.warnings) {
        ctx.log_warning(&format!("ECL: {warning}"));
    }
    if !state::install(state::ModuleState::new(config.as_ref(), args.max_groups)) {
        ctx.log_warning("ECL: the module is already loaded");
        return Status::Err;
    }
    if !module_config::register(ctx, args.max_groups) {
        ctx.log_notice("ECL: this server has no module configs; MAX_GROUPS is set at load only");
    }
    command_table::log_panics();
    match command_table::register(ctx) {
        Err(e) => {
            ctx.log_warning(&format!("ECL: {e}"));
            return Status::Err;
        }
        Ok(registered) => {
            info_section::note_acl_categories(registered.categorized, registered.ecl_category);
            if !registered.documented {
                ctx.log_notice("ECL: this server takes no command docs (COMMAND INFO shows arity and keys only)");
            }
            if !registered.categorized {
                ctx.log_notice("ECL: this server (before Redis 7.2) puts module commands in no ACL category: grant ECL commands by name (see the README's access control section)");
            } else if !registered.ecl_category {
                ctx.log_notice("ECL: this server (before Redis 7.4) has no module ACL categories: ECL commands are in @read/@write/@admin, not in @ecl");
            }
        }
    }
    info_section::install(ctx);
    reply::prepare_ok(ctx);
    if !ffi::take_over_modified_key_signals(ctx) {
        ctx.log_warning("ECL: this server cannot leave key signals to the module; refused writes will abort WATCH");
    }
    if !source::follow_role(ctx) {
        ctx.log_warning("ECL: cannot follow the server's replication role; every write asks it");
    }
    if !source::follow_loading(ctx) {
        ctx.log_warning("ECL: cannot follow the server's loading; every write asks for its client");
    }
    if !timer::start(ctx) {
        ctx.log_warning("ECL: cannot subscribe to the server's cron");
        return Status::Err;
    }
    if !ffi::subscribe_to_key_events(ctx, group_index_events::on_key_event) {
        ctx.log_warning("ECL: cannot subscribe to keyspace and server events");
        return Status::Err;
    }
    eviction::warn_at_load(ctx);
    match (&args.config, &config) {
        (Some(path), Some(config)) => ctx.log_notice(&format!(
            "ECL: loaded; {path} declares {} groups; at most {} groups per database",
            config.groups.len(),
            state::state().max_groups()
        )),
        _ => ctx.log_notice(&format!(
            "ECL: loaded without a config; at most {} groups per database",
            state::state().max_groups()
        )),
    }
    Status::Ok
}

mod group_index_events {
    //! Keeps the group index right when a group's value arrives under a key
    //! by a generic command (its departure is the data type's `unlink`
    //! callback, see `data_type`), and when databases are flushed or swapped.

    use crate::data_type::GROUP_TYPE;
    use crate::ffi::{string_from_bytes, KeyEvent};
    use crate::group_index;
    use crate::group_key::group_of_key;
    use ecl_core::GroupStore;
    use redis_module::Context;

    pub fn on_key_event(ctx: &Context, event: KeyEvent<'_>) {
        match event {
            KeyEvent::Flushed { db } => group_index::clear(db),
            KeyEvent::Swapped { a, b } => group_index::swap(a, b),
            KeyEvent::Keyspace { event, key, db } => {
                if !matches!(event, b"rename_to" | b"move_to" | b"restore" | b"copy_to") {
                    return;
                }
                let Some(group) = group_of_key(key) else {
                    return;
                };
                // Indexed only when it is a group's store under its own key.
                let opened = ctx.open_key(&string_from_bytes(ctx, key));
                if let Ok(Some(store)) = opened.get_value::<GroupStore>(&GROUP_TYPE) {
                    if store.name().as_bytes() == group {
                        group_index::note(db, group, store.next_timer_work_ms());
                    }
                }
            }
        }
    }
}

redis_module! {
    name: "ecl",
    version: module_version(),
    allocator: (Allocator, ALLOCATOR),
    data_types: [GROUP_TYPE],
    init: init,
    commands: [],
}

/// The release as Redis shows it (`INFO modules`, `MODULE LIST`): the
/// crate's `major.minor.patch` as `major * 10000 + minor * 100 + patch`.
const fn module_version() -> i32 {
    let text = env!("CARGO_PKG_VERSION").as_bytes();
    let (mut parts, mut part, mut i) = ([0i32; 3], 0, 0);
    while i < text.len() && part < 3 {
        match text[i] {
            b'.' => part += 1,
            b @ b'0'..=b'9' => parts[part] = parts[part] * 10 + (b - b'0') as i32,
            _ => break, // a pre-release suffix
        }
        i += 1;
    }
    parts[0] * 10_000 + parts[1] * 100 + parts[2]
}
