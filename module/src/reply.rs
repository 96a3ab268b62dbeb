//! Replies built directly with the module API: counts as a RESP3 map (a flat
//! `event, count, ...` array in RESP2, which Redis does for us).

use ecl_core::protocol::info::ReplyFields;
use ecl_core::protocol::ReplyValue;
use redis_module::redisvalue::RedisValueKey;
use redis_module::{raw, Context, RedisValue};
use std::os::raw::{c_int, c_long};
use std::sync::OnceLock;

/// Replies `(event, count)` pairs, already sorted, as a map.
pub fn counts(ctx: &Context, pairs: &[(&[u8], u64)]) {
    raw::reply_with_map(ctx.ctx, pairs.len() as c_long);
    for &(id, count) in pairs {
        raw::reply_with_string_buffer(ctx.ctx, id.as_ptr().cast(), id.len());
        unsigned(ctx, count);
    }
}

/// Replies closed windows: `[[start_ms, counts], ...]`, each counts a map
/// (a flat array in RESP2).
pub fn windows(ctx: &Context, windows: &[ecl_core::store::ClosedWindow<'_>]) {
    raw::reply_with_array(ctx.ctx, windows.len() as c_long);
    for (start, pairs) in windows {
        raw::reply_with_array(ctx.ctx, 2);
        unsigned(ctx, *start);
        counts(ctx, pairs);
    }
}

/// A u64: an integer when it fits RESP's signed 64 bits, else a big number
/// (a bulk string in RESP2).
pub fn unsigned(ctx: &Context, n: u64) {
    match i64::try_from(n) {
        Ok(i) => raw::reply_with_long_long(ctx.ctx, i),
        Err(_) => {
            let text = n.to_string();
            raw::reply_with_big_number(ctx.ctx, text.as_ptr().cast(), text.len())
        }
    };
}

/// A u64 as a `RedisValue`, with the same rule as [`unsigned`].
pub fn unsigned_value(n: u64) -> RedisValue {
    i64::try_from(n).map_or_else(
        |_| RedisValue::BigNumber(n.to_string()),
        RedisValue::Integer,
    )
}

/// A reply defined in `ecl_core::protocol` as a map (a flat array in RESP2).
pub fn fields(fields: ReplyFields) -> RedisValue {
    RedisValue::OrderedMap(
        fields
            .into_iter()
            .map(|(k, v)| (RedisValueKey::String(k), value(v)))
            .collect(),
    )
}

fn value(v: ReplyValue) -> RedisValue {
    match v {
        ReplyValue::Int(n) => unsigned_value(n),
        ReplyValue::Text(t) => RedisValue::BulkString(t),
        ReplyValue::Maps(maps) => RedisValue::Array(maps.into_iter().map(fields).collect()),
    }
}

/// Replies `+OK` and returns the value that tells the caller a reply was
/// sent. The write commands' hot path: see [`prepare_ok`]. Inline, so a
/// caller knows the value it returns without copying it about.
#[inline]
pub fn ok(ctx: &Context) -> RedisValue {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let replayed = match (OK_REPLY.get(), unsafe {
        raw::RedisModule_ReplyWithCallReply
    }) {
        // SAFETY: `ctx` is the running command's context; the stored reply
        // is alive for the module's lifetime (never freed).
        (Some(ok), Some(reply_with)) => {
            // SAFETY: see the comment above this match arm.
            let status = unsafe { reply_with(ctx.ctx, ok.0) };
            status == raw::REDISMODULE_OK as c_int
        }
        _ => false,
    };
    if !replayed {
        raw::reply_with_simple_string(ctx.ctx, c"OK".as_ptr());
    }
    RedisValue::NoReply
}

/// A `+OK` reply produced by Redis, kept for the module's lifetime.
struct StoredReply(*mut raw::RedisModuleCallReply);

// SAFETY: made once at load and only read afterwards, on Redis's main thread.
unsafe impl Send for StoredReply {}
// SAFETY: as for `Send`: never written after load, read on one thread.
unsafe impl Sync for StoredReply {}

static OK_REPLY: OnceLock<StoredReply> = OnceLock::new();

/// Keeps a `+OK` reply for [`ok`]. `RedisModule_ReplyWithSimpleString` copies
/// and sanitises its text on every call (an allocation, a scan, a free:
/// about 730 instructions, a fifth of an `ECL.LOG`), whereas
/// `RedisModule_ReplyWithCallReply` appends a reply's bytes as they are. The
/// reply comes from `SELECT 0` on the temporary client of `RedisModule_Call`,
/// which touches nothing else. Without it, [`ok`] replies the plain way.
pub fn prepare_ok(ctx: &Context) {
    // SAFETY: `Call` with format "c" takes one C string argument; the reply
    // is checked before it is kept, and freed if it is not `+OK`.
    // SAFETY: the API pointers are set by Redis before `init` and not
    // changed afterwards.
    let api = unsafe {
        (
            raw::RedisModule_Call,
            raw::RedisModule_CallReplyProto,
            raw::RedisModule_FreeCallReply,
        )
    };
    let (Some(call), Some(proto_of), Some(free)) = api else {
        return;
    };
    // SAFETY: `ctx` is `init`'s live context; the reply is kept (never freed) and the protocol text freed once.
    unsafe {
        let reply = call(ctx.ctx, c"SELECT".as_ptr(), c"c".as_ptr(), c"0".as_ptr());
        if reply.is_null() {
            return;
        }
        let mut len = 0usize;
        let proto = proto_of(reply, &mut len);
        if !proto.is_null() && std::slice::from_raw_parts(proto.cast::<u8>(), len) == b"+OK\r\n" {
            let _ = OK_REPLY.set(StoredReply(reply));
        } else {
            free(reply);
        }
    }
}
