//! Replies built directly with the module API: counts as a RESP3 map (a flat
//! `event, count, ...` array in RESP2, which Redis does for us).

use redis_module::redisvalue::RedisValueKey;
use redis_module::{raw, Context, RedisValue};
use std::os::raw::c_long;

/// Replies `(event, count)` pairs, already sorted, as a map.
pub fn counts(ctx: &Context, pairs: &[(&[u8], u64)]) {
    raw::reply_with_map(ctx.ctx, pairs.len() as c_long);
    for &(id, count) in pairs {
        raw::reply_with_string_buffer(ctx.ctx, id.as_ptr().cast(), id.len());
        unsigned(ctx, count);
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

/// A map with string keys, in the given order's sorted form.
pub fn map(fields: Vec<(&str, RedisValue)>) -> RedisValue {
    RedisValue::OrderedMap(
        fields
            .into_iter()
            .map(|(k, v)| (RedisValueKey::String(k.to_string()), v))
            .collect(),
    )
}

/// Replies `+OK` (without the allocation `RedisValue::SimpleStringStatic`
/// makes) and returns the value that tells the caller a reply was sent.
pub fn ok(ctx: &Context) -> RedisValue {
    raw::reply_with_simple_string(ctx.ctx, c"OK".as_ptr());
    RedisValue::NoReply
}
