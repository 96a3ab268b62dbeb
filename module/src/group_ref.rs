//! The group a command names: its key, its slot and, when the config
//! declares it, the config's entry.

use crate::group_key::key_string;
use crate::state::{state, GroupEntry};
use ecl_core::cluster::key_hash_slot;
use redis_module::{Context, RedisString};

enum Key {
    /// Made once at load for the config's groups (the hot path).
    Declared(&'static GroupEntry),
    /// Made for this command.
    Made(RedisString),
}

/// A group named by a command.
pub struct GroupRef<'a> {
    pub name: &'a [u8],
    key: Key,
    pub slot: u16,
}

impl<'a> GroupRef<'a> {
    #[inline]
    pub fn new(ctx: &Context, name: &'a [u8]) -> GroupRef<'a> {
        match state().declared(name) {
            Some(entry) => GroupRef {
                name,
                key: Key::Declared(entry),
                slot: entry.slot,
            },
            None => GroupRef {
                name,
                key: Key::Made(key_string(ctx, name)),
                slot: key_hash_slot(name),
            },
        }
    }

    pub fn key(&self) -> &RedisString {
        match &self.key {
            Key::Declared(entry) => entry.key.get(),
            Key::Made(key) => key,
        }
    }

    /// The config's declaration of this group, if any.
    pub fn declared(&self) -> Option<&'static GroupEntry> {
        match self.key {
            Key::Declared(entry) => Some(entry),
            Key::Made(_) => None,
        }
    }

    /// The name as text, for messages.
    pub fn display(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
}
