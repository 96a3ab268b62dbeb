//! `ECL.ROTATE` (what the timer replicates) and `ECL.RESTORE` (what AOF
//! rewrite emits).

use super::{check_owner, err, put_store, resolve_now, store_in};
use crate::data_type::fit_to_config;
use crate::ffi::WritableKey;
use crate::group_ref::GroupRef;
use crate::state::state;
use crate::{ffi, group_index, keys, reply};
use ecl_core::command::parse_rotate;
use ecl_core::encoding::decode_versioned;
use ecl_core::schema::group_name;
use ecl_core::store::SWEEP_STEP;
use ecl_core::EclError;
use redis_module::{Context, RedisError, RedisResult};

/// `ECL.ROTATE group [NOW unix_ms]`: brings the stored group to now and frees
/// a step of dead auto-declared events. The timer does this on its own; the
/// command exists so the master can replicate each step (with `NOW`).
pub fn rotate(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    super::arity(args, 2, "ecl.rotate")?;
    let now = resolve_now(ctx, parse_rotate(&args[2..]).map_err(err)?)?;
    let group = GroupRef::new(ctx, args[1]);
    let key = WritableKey::open(ctx, group.key());
    if let Some(store) = store_in(&key)? {
        check_owner(store, &group)?;
        store.tidy(now, SWEEP_STEP);
        let now = now.to_string();
        ctx.replicate("ECL.ROTATE", &[args[1], b"NOW", now.as_bytes()][..]);
        keys::written(ctx, group.key(), c"ecl.rotate", group.name, store);
    }
    Ok(reply::ok(ctx))
}

/// `ECL.RESTORE group payload`: replaces the group's store with an encoded
/// one (what AOF rewrite emits). The payload is fully checked first and
/// must hold a state the module can keep using.
pub fn restore(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    if args.len() != 3 {
        return Err(err(EclError::WrongArity("ecl.restore")));
    }
    group_name(args[1]).map_err(err)?;
    let (store, version) = decode_versioned(args[2]).map_err(|e| err(EclError::BadPayload(e)))?;
    if store.name().as_bytes() != args[1] {
        return Err(err(EclError::BadPayload(format!(
            "payload is for group '{}'",
            store.name()
        ))));
    }
    let store = if version == 1 {
        fit_to_config(store)
    } else {
        store
    };
    let group = GroupRef::new(ctx, args[1]);
    let key = WritableKey::open(ctx, group.key());
    let db = ffi::selected_db(ctx);
    if store_in(&key)?.is_none() && group_index::count(db) >= state().max_groups {
        return Err(RedisError::String(format!(
            "ERR database {db} holds {} groups already (the module's MAX_GROUPS)",
            state().max_groups
        )));
    }
    put_store(&key, store)?;
    ctx.replicate_verbatim();
    if let Some(store) = store_in(&key)? {
        group_index::note(db, group.name, store.next_timer_work_ms());
        keys::written(ctx, group.key(), c"ecl.restore", group.name, store);
    }
    Ok(reply::ok(ctx))
}
