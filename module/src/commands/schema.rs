//! `ECL.CREATE`, `ECL.DECLARE`, `ECL.ALTER`, `ECL.DROP` (SPEC §4.2): a
//! group's schema lives in its key, so each is one atomic change of one key,
//! replicated with the master's time.

use crate::open_group::{err, resolve_now, OpenGroup};
use crate::reply;
use ecl_core::schema::{group_name, parse_schema};
use ecl_core::{EclError, GroupStore};
use redis_module::{Context, RedisResult, RedisValue};

/// `ECL.CREATE group [AUTO_DECLARE] [MAX_EVENTS n] INTERVALS i ... [EVENTS e ...]`:
/// `OK` when created or when it exists with exactly this schema.
pub fn create(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    create_or_declare(ctx, args, false)
}

/// `ECL.DECLARE group <as CREATE>`: creates the group, or adds what it lacks.
pub fn declare(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    create_or_declare(ctx, args, true)
}

fn create_or_declare(ctx: &Context, args: &[&[u8]], merge: bool) -> RedisResult {
    let name = group_name(args[1]).map_err(err)?;
    let parsed = parse_schema(&args[2..], false).map_err(err)?;
    let now = resolve_now(ctx, parsed.now_ms)?;
    let open = OpenGroup::open(ctx, args[1]);
    match open.store()? {
        None => {
            let wanted = parsed.new_shape(&name).map_err(err)?;
            crate::cluster::refuse_while_slot_moves(ctx, open.group.slot, &name)?;
            open.create(ctx, GroupStore::new(&wanted, now), now)?;
        }
        Some(store) => {
            let current = store.shape();
            if merge {
                // Adding to a group needs no INTERVALS.
                let merged = current.merged_with(&parsed.declared_shape(&name));
                if merged != current {
                    open.reshape(ctx, &merged, now, c"ecl.declare")?;
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
    let parsed = parse_schema(&args[2..], true).map_err(err)?;
    let now = resolve_now(ctx, parsed.now_ms)?;
    let open = OpenGroup::open(ctx, args[1]);
    let current = open.existing_store()?.shape();
    let altered = current.altered(&parsed);
    if altered != current {
        open.reshape(ctx, &altered, now, c"ecl.alter")?;
    }
    Ok(reply::ok(ctx))
}

/// `ECL.DROP group`: deletes the group and its counts; 1, or 0 when there
/// was none.
pub fn drop(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let dropped = OpenGroup::open(ctx, args[1]).drop_group(ctx)?;
    Ok(RedisValue::Integer(i64::from(dropped)))
}
