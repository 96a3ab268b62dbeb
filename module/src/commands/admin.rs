//! `ECL.ROTATE` (what the timer replicates) and `ECL.RESTORE` (what AOF
//! rewrite emits).

use super::{check_group_cap, check_owner, err, put_store, resolve_now, store_in, trusted_source};
use crate::data_type::fit_to_config;
use crate::group_ref::GroupRef;
use crate::writable_key::WritableKey;
use crate::{ffi, group_index, keys, reply};
use ecl_core::command::parse_rotate;
use ecl_core::encoding::decode_versioned;
use ecl_core::protocol::rotate_args;
use ecl_core::schema::group_name;
use ecl_core::store::SWEEP_STEP;
use ecl_core::{EclError, GroupStore};
use redis_module::{Context, RedisResult};

/// `ECL.ROTATE group [NOW unix_ms] [STEPS n]`: brings the stored group to
/// now and frees a step (or `n`, from the master or the AOF) of dead
/// auto-declared events. The timer does this on its own; the command exists
/// so the master can replicate a tick's work on a group as one command.
pub fn rotate(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    super::arity(args, 2, "ecl.rotate")?;
    let parsed = parse_rotate(&args[2..]).map_err(err)?;
    if parsed.steps > 1 && !trusted_source(ctx) {
        return Err(err(EclError::ReplicationOnly("STEPS")));
    }
    let now = resolve_now(ctx, parsed.now_ms)?;
    let group = GroupRef::new(ctx, args[1]);
    let key = WritableKey::open(ctx, group.key());
    if let Some(store) = store_in(&key)? {
        check_owner(store, &group)?;
        let steps = tidy_steps(store, now, parsed.steps, || false);
        replicate_rotate(ctx, group.name, now, steps);
        keys::written(ctx, group.key(), c"ecl.rotate", group.name, store);
    }
    Ok(reply::ok(ctx))
}

/// Brings `store` to `now` and sweeps: at least one step, at most
/// `max_steps`, until no work remains or `stop()` says so. Returns the
/// steps taken (what a replica must take to end in the same state).
pub(crate) fn tidy_steps(
    store: &mut GroupStore,
    now: u64,
    max_steps: u64,
    stop: impl Fn() -> bool,
) -> u64 {
    let mut steps = 0;
    loop {
        let more = store.tidy(now, SWEEP_STEP).1;
        steps += 1;
        if !more || steps >= max_steps || stop() {
            return steps;
        }
    }
}

/// Replicates `steps` sweep steps at `now` as one `ECL.ROTATE`.
pub(crate) fn replicate_rotate(ctx: &Context, group: &[u8], now: u64, steps: u64) {
    let args = rotate_args(group, now, steps);
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    ctx.replicate("ECL.ROTATE", args.as_slice());
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
    if store_in(&key)?.is_none() {
        check_group_cap(ctx)?;
    }
    put_store(&key, store)?;
    ctx.replicate_verbatim();
    if let Some(store) = store_in(&key)? {
        group_index::note(db, group.name, store.next_timer_work_ms());
        keys::written(ctx, group.key(), c"ecl.restore", group.name, store);
    }
    Ok(reply::ok(ctx))
}
