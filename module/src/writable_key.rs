//! A group's key opened for writing: the write path's one way into the
//! keyspace, in as few module API calls as the floor module makes.

use crate::data_type;
use ecl_core::GroupStore;
use redis_module::{raw, Context, RedisString};
use std::os::raw::c_int;

/// A group's key opened for writing, closed when dropped: the write path's
/// whole use of the keyspace, in as few API calls as the floor module makes
/// (the `redis-module` wrapper asks the key's type twice and borrows a
/// `RefCell` per call).
pub struct WritableKey {
    key: *mut raw::RedisModuleKey,
}

impl WritableKey {
    pub fn open(ctx: &Context, name: &RedisString) -> WritableKey {
        let mode = (raw::REDISMODULE_READ | raw::REDISMODULE_WRITE) as c_int;
        // SAFETY: `ctx` is the live context of the running command and
        // `name` a valid string; the key is closed in `drop`.
        let key = unsafe { raw::RedisModule_OpenKey }.map_or(std::ptr::null_mut(), |open| unsafe {
            open(ctx.ctx, name.inner, mode)
        });
        WritableKey { key: key.cast() }
    }

    /// The group's store, `None` for an empty key; an error for a key of
    /// another type. Mutable from a shared handle, as Redis hands it out:
    /// the value belongs to the keyspace, not to this handle, and a command
    /// replacing it (`set`) fetches it again rather than keep the old one.
    #[allow(clippy::mut_from_ref)]
    pub fn store(&self) -> Result<Option<&mut GroupStore>, KeyOfAnotherType> {
        if self.key.is_null() {
            return Ok(None);
        }
        let ours = data_type::raw_type();
        // SAFETY: `self.key` is open (not null); a value of our type is the
        // boxed `GroupStore` `set` put there, alive while the key holds it,
        // and Redis runs one command at a time on this thread.
        unsafe {
            let (Some(type_of), Some(value_of)) = (
                raw::RedisModule_ModuleTypeGetType,
                raw::RedisModule_ModuleTypeGetValue,
            ) else {
                return Err(KeyOfAnotherType);
            };
            if type_of(self.key) == ours {
                return Ok(value_of(self.key).cast::<GroupStore>().as_mut());
            }
            let Some(kind_of) = raw::RedisModule_KeyType else {
                return Err(KeyOfAnotherType);
            };
            if kind_of(self.key) == raw::REDISMODULE_KEYTYPE_EMPTY as c_int {
                Ok(None)
            } else {
                Err(KeyOfAnotherType)
            }
        }
    }

    /// Puts `store` into the key, replacing (and freeing) a store there.
    pub fn set(&self, store: GroupStore) -> Result<(), KeyOfAnotherType> {
        self.store()?;
        let ours = data_type::raw_type();
        let value = Box::into_raw(Box::new(store));
        // SAFETY: the key is open and empty or ours; Redis takes ownership
        // of the box (freed by the type's `free` callback).
        let status = unsafe { raw::RedisModule_ModuleTypeSetValue }
            .map(|set| unsafe { set(self.key, ours, value.cast()) });
        if status == Some(raw::REDISMODULE_OK as c_int) {
            Ok(())
        } else {
            // SAFETY: Redis did not take the box: it is still ours.
            drop(unsafe { Box::from_raw(value) });
            Err(KeyOfAnotherType)
        }
    }

    /// Deletes the key as `UNLINK` does: a large group's memory is freed
    /// off the main thread (see the type's `free_effort`).
    pub fn delete(&self) {
        // SAFETY: reading API pointers Redis set at load (or None).
        let unlink = unsafe { raw::RedisModule_UnlinkKey.or(raw::RedisModule_DeleteKey) };
        if let Some(unlink) = unlink {
            // SAFETY: the key is open for writing.
            unsafe { unlink(self.key) };
        }
    }
}

impl Drop for WritableKey {
    fn drop(&mut self) {
        // SAFETY: the key was opened by `open` and is closed once.
        if let Some(close) = unsafe { raw::RedisModule_CloseKey } {
            // SAFETY: the key was opened by `open` and is closed once (see above).
            unsafe { close(self.key) };
        }
    }
}

/// The key holds a value of another type (or Redis refused ours).
#[derive(Debug)]
pub struct KeyOfAnotherType;
