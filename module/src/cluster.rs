//! Redis Cluster slot migration and the group key.
//!
//! During a migration Redis decides whether to redirect a command with
//! `ASK` by looking up its declared key — the group name — which is never a
//! key itself: the group lives in `ecl:{group}`. So while the group's slot
//! moves, the source node always redirects, and the target would start an
//! empty group beside the one still travelling to it (MIGRATE then fails
//! with BUSYKEY). A node that is moving the slot therefore answers
//! `TRYAGAIN` for a group whose key it does not hold; the client retries,
//! and as soon as the key has arrived the target serves it.

use ecl_core::cluster::slot_is_moving;
use ecl_core::EclError;
use redis_module::{Context, ContextFlags, RedisError, RedisValue};

/// Refuses with `TRYAGAIN` when this cluster node is importing or migrating
/// the group's slot. Call it only when the group's key is missing here: it
/// asks the server for `CLUSTER NODES`, which is cheap but not free.
pub fn refuse_while_slot_moves(ctx: &Context, slot: u16, group: &str) -> Result<(), RedisError> {
    if !ctx.get_flags().contains(ContextFlags::CLUSTER) {
        return Ok(());
    }
    let nodes = match ctx.call("CLUSTER", &["NODES"][..]) {
        Ok(RedisValue::SimpleString(text)) => text,
        Ok(RedisValue::BulkString(text)) => text,
        Ok(RedisValue::StringBuffer(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(RedisValue::BulkRedisString(text)) => text.to_string_lossy(),
        // Not knowing, act as before clusters moved slots: serve.
        _ => return Ok(()),
    };
    if slot_is_moving(&nodes, slot) {
        Err(RedisError::String(
            EclError::SlotMoving(group.to_string()).to_string(),
        ))
    } else {
        Ok(())
    }
}
