//! A group's key: `ecl:{name}`, the group name as its hash tag, so the key
//! lives in the Redis Cluster slot of the name the commands declare.

use crate::ffi;
use redis_module::{Context, RedisString};

const PREFIX: &[u8] = b"ecl:{";
const SUFFIX: &[u8] = b"}";

/// The key name of a group.
pub fn key_name(group: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(PREFIX.len() + group.len() + SUFFIX.len());
    key.extend_from_slice(PREFIX);
    key.extend_from_slice(group);
    key.extend_from_slice(SUFFIX);
    key
}

/// The key of a group as a Redis string. Binary-safe: any bytes a client
/// names (a NUL included) make a key, never a panic.
pub fn key_string(ctx: &Context, group: &[u8]) -> RedisString {
    ffi::string_from_bytes(ctx, &key_name(group))
}

/// The group a key name belongs to, if it is a group key.
pub fn group_of_key(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keys_and_names() {
        assert_eq!(key_name(b"req"), b"ecl:{req}");
        assert_eq!(group_of_key(b"ecl:{req}"), Some(&b"req"[..]));
        assert_eq!(group_of_key(b"ecl:{a\0b}"), Some(&b"a\0b"[..]));
        assert_eq!(group_of_key(b"other"), None);
    }
}
