//! `ECL.ROTATE` (what the timer replicates) and `ECL.RESTORE` (what AOF
//! rewrite emits).

use crate::data_type::fit_to_config;
use crate::open_group::{err, resolve_now, OpenGroup};
use crate::source::trusted;
use crate::{replicate, reply};
use ecl_core::command::parse_rotate;
use ecl_core::encoding::decode_versioned;
use ecl_core::schema::group_name;
use ecl_core::EclError;
use redis_module::{Context, RedisResult};

/// `ECL.ROTATE group [NOW unix_ms] [STEPS n]`: brings the stored group to
/// now and frees a step (or `n`, from the master or the AOF) of dead
/// auto-declared events. The timer does this on its own; the command exists
/// so the master can replicate a tick's work on a group as one command.
pub fn rotate(ctx: &Context, args: &[&[u8]]) -> RedisResult {
    let parsed = parse_rotate(&args[2..]).map_err(err)?;
    if parsed.steps > 1 && !trusted(ctx) {
        return Err(err(EclError::ReplicationOnly("STEPS")));
    }
    let now = resolve_now(ctx, parsed.now_ms)?;
    let open = OpenGroup::open(ctx, args[1]);
    if let Some(store) = open.store()? {
        let steps = store.tidy_steps(now, parsed.steps, || false);
        replicate::rotate(ctx, open.group.name, now, steps);
        open.written(ctx, c"ecl.rotate", store);
    }
    Ok(reply::ok(ctx))
}

/// `ECL.RESTORE group payload`: replaces the group's store with an encoded
/// one (what AOF rewrite emits). The payload is fully checked first and
/// must hold a state the module can keep using.
pub fn restore(ctx: &Context, args: &[&[u8]]) -> RedisResult {
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
    OpenGroup::open(ctx, args[1]).restore(ctx, store)?;
    Ok(reply::ok(ctx))
}
