//! Under `maxmemory-policy allkeys-*`, Redis may evict a group's key and its
//! counts with it, silently (SPEC §4.4). The module says so at load and in
//! `ECL.INFO` (`eviction_policy_risk`).

use redis_module::{Context, RedisValue};

/// The server's `maxmemory-policy`, if it can be read.
fn policy(ctx: &Context) -> Option<String> {
    match ctx.call("CONFIG", &["GET", "maxmemory-policy"][..]).ok()? {
        RedisValue::Array(items) => match items.get(1)? {
            RedisValue::SimpleString(s) | RedisValue::BulkString(s) => Some(s.clone()),
            RedisValue::BulkRedisString(s) => Some(s.to_string_lossy()),
            RedisValue::StringBuffer(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        },
        RedisValue::Map(_) | RedisValue::OrderedMap(_) => None,
        _ => None,
    }
}

/// Whether the policy may evict keys without a TTL, such as group keys.
pub fn at_risk(ctx: &Context) -> bool {
    policy(ctx).is_some_and(|p| p.starts_with("allkeys-"))
}

pub fn warn_at_load(ctx: &Context) {
    if at_risk(ctx) {
        ctx.log_warning(
            "ECL: maxmemory-policy is allkeys-*: Redis may evict group keys and their counts; \
             use noeviction or a volatile-* policy",
        );
    }
}
