//! The `ECL.*` commands: parse with `ecl_core`, act on the group's store,
//! reply. Every error is an `EclError` and changes nothing.
//!
//! - `write`: `ECL.LOG`, `ECL.MLOG`;
//! - `read`: `ECL.GET`, `ECL.TOTALS`, `ECL.INFO`, `ECL.GROUPS`;
//! - `schema`: `ECL.CREATE`, `ECL.DECLARE`, `ECL.ALTER`, `ECL.DROP`;
//! - `admin`: `ECL.ROTATE`, `ECL.RESTORE` (what the timer and AOF rewrite emit).

pub mod admin;
pub mod read;
pub mod schema;
pub mod write;

use crate::clock::{heard_master_clock, server_clock_ms};
use crate::group_ref::GroupRef;
use crate::writable_key::WritableKey;
use crate::{ffi, group_index, keys, state};
use ecl_core::schema::SchemaArgs;
use ecl_core::{EclError, GroupShape, GroupStore};
use redis_module::{Context, RedisError};

pub(crate) fn err(e: EclError) -> RedisError {
    RedisError::String(e.to_string())
}

/// At least `min` arguments, the command name included.
pub(crate) fn arity(args: &[&[u8]], min: usize, command: &'static str) -> Result<(), RedisError> {
    if args.len() < min {
        Err(err(EclError::WrongArity(command)))
    } else {
        Ok(())
    }
}

pub(crate) fn unknown_group(group: &GroupRef<'_>) -> RedisError {
    err(EclError::UnknownGroup(group.display()))
}

pub(crate) use crate::source::{from_master, trusted as trusted_source};

/// The time a command acts at: its `NOW` (trusted sources only), else this
/// server's clock.
pub(crate) fn resolve_now(ctx: &Context, requested: Option<u64>) -> Result<u64, RedisError> {
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

/// A store under the key of another group (after a `RENAME`) is refused.
pub(crate) fn check_owner(store: &GroupStore, group: &GroupRef<'_>) -> Result<(), RedisError> {
    if store.name().as_bytes() == group.name {
        Ok(())
    } else {
        Err(err(EclError::ForeignGroup {
            group: group.display(),
            stored: store.name().to_string(),
        }))
    }
}

/// The group's store in an open key, if any; a key of another type is
/// `WRONGTYPE`.
pub(crate) fn store_in(key: &WritableKey) -> Result<Option<&mut GroupStore>, RedisError> {
    key.store().map_err(|_| err(EclError::WrongType))
}

/// Puts a store into a group's key (empty, or holding a store).
pub(crate) fn put_store(key: &WritableKey, store: GroupStore) -> Result<(), RedisError> {
    key.set(store).map_err(|_| err(EclError::WrongType))
}

/// The database's group cap (`MAX_GROUPS`), for a client's command that
/// would add a group on a master. The replication stream and the AOF are
/// never refused by a local setting (SPEC §4.6): what the master accepted,
/// the replica and a reload hold too.
pub(crate) fn check_group_cap(ctx: &Context) -> Result<(), RedisError> {
    if trusted_source(ctx) {
        return Ok(());
    }
    let db = ffi::selected_db(ctx);
    let cap = state::state().max_groups;
    if group_index::count(db) >= cap {
        return Err(err(EclError::TooManyGroups { db, cap }));
    }
    Ok(())
}

/// Puts a new group's store into its (empty) key: within the database's
/// group cap, indexed, and replicated as `ECL.CREATE group NOW t <schema>`
/// so replicas and the AOF create exactly this schema at this time.
pub(crate) fn create_group(
    ctx: &Context,
    key: &WritableKey,
    group: &GroupRef<'_>,
    store: GroupStore,
    now: u64,
) -> Result<(), RedisError> {
    check_group_cap(ctx)?;
    let db = ffi::selected_db(ctx);
    let shape = store.shape();
    let due = store.next_timer_work_ms();
    put_store(key, store)?;
    replicate_schema(ctx, "ECL.CREATE", &shape, now);
    keys::signal_modified(ctx, group.key());
    ffi::notify_module_event(ctx, c"ecl.create", group.key());
    group_index::note(db, group.name, due);
    if let Some(entry) = group.declared() {
        entry.mark_declared_in(db);
    }
    Ok(())
}

/// Gives an existing group a new schema (counts of (interval, event) pairs
/// that still exist are kept) and replicates it as `ECL.ALTER group NOW t
/// <the full schema>`.
pub(crate) fn reshape_group(
    ctx: &Context,
    key: &WritableKey,
    group: &GroupRef<'_>,
    store: &GroupStore,
    shape: &GroupShape,
    now: u64,
    event: &std::ffi::CStr,
) -> Result<(), RedisError> {
    let (reshaped, report) = store
        .reshape(shape, now)
        .map_err(|e| err(EclError::from(e)))?;
    if !report.dropped_intervals.is_empty() || report.dropped_events > 0 {
        ctx.log_notice(&format!(
            "ECL: group '{}' now without intervals (ms) {:?} and {} events, as asked",
            group.display(),
            report.dropped_intervals,
            report.dropped_events
        ));
    }
    let due = reshaped.next_timer_work_ms();
    put_store(key, reshaped)?;
    replicate_schema(ctx, "ECL.ALTER", shape, now);
    keys::signal_modified(ctx, group.key());
    ffi::notify_module_event(ctx, event, group.key());
    group_index::note(ffi::selected_db(ctx), group.name, due);
    Ok(())
}

fn replicate_schema(ctx: &Context, command: &str, shape: &GroupShape, now: u64) {
    let args = SchemaArgs::full(shape, command == "ECL.ALTER", Some(now));
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    ctx.replicate(command, args.as_slice());
}
