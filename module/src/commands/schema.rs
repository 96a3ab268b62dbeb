//! `ECL.CREATE`, `ECL.DECLARE`, `ECL.ALTER`, `ECL.DROP` (SPEC §4.2): a
//! group's schema lives in its key, so each is one atomic change of one key,
//! replicated with the master's time.

use super::{
    arity, check_owner, create_group, err, reshape_group, resolve_now, store_in, unknown_group,
};
use crate::group_ref::GroupRef;
use crate::writable_key::WritableKey;
use crate::{ffi, group_index, reply};
use ecl_core::schema::{group_name, parse_schema};
use ecl_core::{EclError, GroupStore};
use redis_module::{Context, RedisResult, RedisValue};

/// `ECL.CREATE group [AUTO_DECLARE] [MAX_EVENTS n] INTERVALS i ... [EVENTS e ...]`:
/// `OK` when created or when it exists with exactly this schema.
pub fn create(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    create_or_declare(ctx, args, "ecl.create", false)
}

/// `ECL.DECLARE group <as CREATE>`: creates the group, or adds what it lacks.
pub fn declare(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    create_or_declare(ctx, args, "ecl.declare", true)
}

fn create_or_declare(
    ctx: &Context,
    args: &[&[u8]],
    command: &'static str,
    merge: bool,
) -> RedisResult {
    arity(args, 3, command)?;
    let name = group_name(args[1]).map_err(err)?;
    let parsed = parse_schema(&args[2..], false).map_err(err)?;
    let now = resolve_now(ctx, parsed.now_ms)?;
    let group = GroupRef::new(ctx, args[1]);
    let key = WritableKey::open(ctx, group.key());
    match store_in(&key)? {
        None => {
            let wanted = parsed.new_shape(&name).map_err(err)?;
            crate::cluster::refuse_while_slot_moves(ctx, group.slot, &name)?;
            create_group(ctx, &key, &group, GroupStore::new(&wanted, now), now)?;
        }
        Some(store) => {
            check_owner(store, &group)?;
            let current = store.shape();
            if merge {
                // Adding to a group needs no INTERVALS.
                let wanted = parsed.declared_shape(&name);
                let merged = current.merged_with(&wanted);
                if merged != current {
                    reshape_group(ctx, &key, &group, store, &merged, now, c"ecl.declare")?;
                }
            } else if !current.same_as(&parsed.new_shape(&name).map_err(err)?) {
                return Err(err(EclError::OtherSchema(name)));
            }
        }
    }
    Ok(reply::ok(ctx))
}

/// `ECL.ALTER group [AUTO_DECLARE 0|1] [MAX_EVENTS n] [INTERVALS i ...] [EVENTS e ...]`:
/// replaces the parts given; counts of (interval, event) pairs that still
/// exist are kept.
pub fn alter(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    arity(args, 2, "ecl.alter")?;
    let parsed = parse_schema(&args[2..], true).map_err(err)?;
    let now = resolve_now(ctx, parsed.now_ms)?;
    let group = GroupRef::new(ctx, args[1]);
    let key = WritableKey::open(ctx, group.key());
    let store = store_in(&key)?.ok_or_else(|| unknown_group(&group))?;
    check_owner(store, &group)?;
    let current = store.shape();
    let altered = current.altered(&parsed);
    if altered != current {
        reshape_group(ctx, &key, &group, store, &altered, now, c"ecl.alter")?;
    }
    Ok(reply::ok(ctx))
}

/// `ECL.DROP group`: deletes the group and its counts; 1, or 0 when there
/// was none.
pub fn drop(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() != 2 {
        return Err(err(EclError::WrongArity("ecl.drop")));
    }
    let group = GroupRef::new(ctx, args[1]);
    let key = WritableKey::open(ctx, group.key());
    let Some(store) = store_in(&key)? else {
        return Ok(RedisValue::Integer(0));
    };
    check_owner(store, &group)?;
    key.delete();
    ctx.replicate_verbatim();
    crate::keys::signal_modified(ctx, group.key());
    ffi::notify_module_event(ctx, c"ecl.drop", group.key());
    group_index::remove(ffi::selected_db(ctx), group.name);
    Ok(RedisValue::Integer(1))
}
