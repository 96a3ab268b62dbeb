//! The `ecl-group` native type: RDB, AOF rewrite, memory and digest
//! callbacks. All of them go through `ecl_core::encoding`.

use crate::clock::server_clock_ms;
use crate::state::try_state;
use ecl_core::encoding::{decode_versioned, encode};
use ecl_core::GroupStore;
use redis_module::logging::log_warning;
use redis_module::native_types::RedisType;
use redis_module::raw;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Type encoding version given to Redis. The payload carries its own
/// version too (`ecl_core::encoding`), which is what decoding dispatches on.
const TYPE_ENCVER: i32 = 1;

/// [`GROUP_TYPE`]'s handle from Redis, for the write path: one load, where
/// `RedisType` keeps it behind a `RefCell` borrowed on every use. Set once
/// by [`remember_raw_type`].
static RAW_TYPE: AtomicPtr<raw::RedisModuleType> = AtomicPtr::new(std::ptr::null_mut());

/// Keeps the type's handle; `init` calls it (the module macro creates the
/// type before `init` runs). False if there is none.
pub fn remember_raw_type() -> bool {
    let handle = *GROUP_TYPE.raw_type.borrow();
    RAW_TYPE.store(handle, Ordering::Relaxed);
    !handle.is_null()
}

/// The type's handle (null before [`remember_raw_type`]).
#[inline]
pub fn raw_type() -> *mut raw::RedisModuleType {
    RAW_TYPE.load(Ordering::Relaxed)
}

pub static GROUP_TYPE: RedisType = RedisType::new(
    "ecl-group", // exactly 9 characters, as Redis requires
    TYPE_ENCVER,
    raw::RedisModuleTypeMethods {
        version: raw::REDISMODULE_TYPE_METHOD_VERSION as u64,
        rdb_load: Some(rdb_load),
        rdb_save: Some(rdb_save),
        aof_rewrite: Some(aof_rewrite),
        free: Some(free),
        mem_usage: Some(mem_usage),
        digest: Some(digest),
        aux_load: None,
        aux_save: None,
        aux_save2: None,
        aux_save_triggers: 0,
        free_effort: Some(free_effort),
        unlink: None,
        copy: None,
        defrag: None,
        copy2: Some(copy),
        free_effort2: None,
        mem_usage2: None,
        unlink2: Some(unlink),
    },
);

/// Brings a version 1 store (written when the config decided a group's
/// schema) to the shape the config gives its group now (SPEC §4.1).
/// Groups the config does not declare keep the shape they have; stores of
/// later versions carry their own schema and are never fitted.
pub fn fit_to_config(store: GroupStore) -> GroupStore {
    let Some(entry) = try_state().and_then(|s| s.declared(store.name().as_bytes())) else {
        return store;
    };
    if store.has_shape(&entry.shape) {
        return store;
    }
    let (reshaped, report) = match store.reshape(&entry.shape, server_clock_ms()) {
        Ok(done) => done,
        Err(e) => {
            log_warning(format!(
                "ECL: group '{}' keeps its stored schema: the config's is refused ({e})",
                entry.config.name
            ));
            return store;
        }
    };
    log_warning(format!(
        "ECL: group '{}' reshaped to the current config; dropped intervals (ms) {:?} and {} events",
        entry.config.name, report.dropped_intervals, report.dropped_events
    ));
    reshaped
}

// Every callback below is called by Redis with a live IO, digest or key
// context handle and, where there is one, a value this type created (a
// boxed `GroupStore` from `rdb_load`, `copy` or `WritableKey::set`), on its
// main thread or in a fork child that holds a copy of the dataset.

/// The store behind a value of this type.
///
/// # Safety
/// `value` must be a value this type created, alive for `'a`.
unsafe fn store_of<'a>(value: *const c_void) -> &'a GroupStore {
    // SAFETY: the caller's contract: a live boxed `GroupStore`.
    unsafe { &*value.cast::<GroupStore>() }
}

unsafe extern "C" fn rdb_load(rdb: *mut raw::RedisModuleIO, encver: c_int) -> *mut c_void {
    if encver > TYPE_ENCVER {
        log_warning(format!(
            "ECL: RDB value of encoding version {encver} is newer than this module"
        ));
        return std::ptr::null_mut();
    }
    let buffer = match raw::load_string_buffer(rdb) {
        Ok(buffer) => buffer,
        Err(_) => return std::ptr::null_mut(),
    };
    match decode_versioned(buffer.as_ref()) {
        Ok((store, version)) => {
            let store = if version == 1 {
                fit_to_config(store)
            } else {
                store
            };
            // SAFETY: `rdb` is the live IO handle of this load.
            unsafe { index_loaded(rdb, &store) };
            Box::into_raw(Box::new(store)).cast()
        }
        Err(e) => {
            log_warning(format!("ECL: cannot load a group from RDB: {e}"));
            std::ptr::null_mut()
        }
    }
}

/// Puts a group loaded from an RDB file or a full sync into the group
/// index, with the database and key Redis gives the loader.
///
/// # Safety
/// `rdb` must be the live IO handle of an `rdb_load` call.
unsafe fn index_loaded(rdb: *mut raw::RedisModuleIO, store: &GroupStore) {
    // SAFETY: the API pointers are set at load (or None).
    let (Some(db_of), Some(key_of)) = (unsafe { raw::RedisModule_GetDbIdFromIO }, unsafe {
        raw::RedisModule_GetKeyNameFromIO
    }) else {
        return;
    };
    // SAFETY: `rdb` is live (the caller's contract); the key name Redis
    // returns lives as long as the load of this key.
    let (key, db) = unsafe { (key_of(rdb), db_of(rdb)) };
    if key.is_null() {
        return; // RESTORE of a DUMP payload: its keyspace event indexes it
    }
    // SAFETY: `key` is a valid string for the duration of this call.
    let name = unsafe { crate::ffi::bytes_of(key) };
    if let Some(group) = crate::group_key::group_of_key(name) {
        if group == store.name().as_bytes() {
            crate::group_index::note(db, group, store.next_timer_work_ms());
        }
    }
}

unsafe extern "C" fn rdb_save(rdb: *mut raw::RedisModuleIO, value: *mut c_void) {
    // SAFETY: a value of this type (see above).
    let store = unsafe { store_of(value) };
    raw::save_slice(rdb, &encode(store));
}

unsafe extern "C" fn aof_rewrite(
    aof: *mut raw::RedisModuleIO,
    _key: *mut raw::RedisModuleString,
    value: *mut c_void,
) {
    // SAFETY: a value of this type (see above).
    let store = unsafe { store_of(value) };
    let payload = encode(store);
    let (command, format) = (c"ECL.RESTORE", c"bb");
    let name = store.name().as_bytes();
    // SAFETY: the API pointer is set at load (or None).
    let Some(emit) = (unsafe { raw::RedisModule_EmitAOF }) else {
        return;
    };
    // SAFETY: `aof` is the live rewrite handle; each `b` in the format is
    // followed by a pointer and length of a live buffer, copied by Redis.
    unsafe {
        emit(
            aof,
            command.as_ptr(),
            format.as_ptr(),
            name.as_ptr(),
            name.len(),
            payload.as_ptr(),
            payload.len(),
        )
    };
}

/// The server takes a group's value out of its key, whatever the command:
/// `DEL`, `UNLINK`, expiry, eviction, an overwrite (`SET`, `RESTORE ...
/// REPLACE`, a `...STORE` command), the source of `RENAME` or `MOVE`, or a
/// module command replacing it. The group index forgets the key; whoever
/// puts a group's value back notes it again.
unsafe extern "C" fn unlink(ctx: *mut raw::RedisModuleKeyOptCtx, _value: *const c_void) {
    // SAFETY: the API pointers are set at load (or None).
    let (Some(name_of), Some(db_of)) = (unsafe { raw::RedisModule_GetKeyNameFromOptCtx }, unsafe {
        raw::RedisModule_GetDbIdFromOptCtx
    }) else {
        return;
    };
    // SAFETY: `ctx` is the live key context of this callback.
    let (key, db) = unsafe { (name_of(ctx), db_of(ctx)) };
    if key.is_null() {
        return;
    }
    // SAFETY: the key name is valid for the duration of the callback.
    let name = unsafe { crate::ffi::bytes_of(key) };
    if let Some(group) = crate::group_key::group_of_key(name) {
        crate::group_index::remove(db, group);
    }
}

/// `COPY`: an exact copy of the store (a clone: copying the vectors, where
/// saving and loading it again took 1.3 s for 1,000,000 events). Under
/// another group's key it is that key's data, not a group of its own (as
/// after `RENAME`).
unsafe extern "C" fn copy(
    _ctx: *mut raw::RedisModuleKeyOptCtx,
    value: *const c_void,
) -> *mut c_void {
    // SAFETY: a value of this type (see above).
    let store = unsafe { store_of(value) };
    Box::into_raw(Box::new(store.clone())).cast()
}

unsafe extern "C" fn free(value: *mut c_void) {
    // SAFETY: a value of this type, which Redis hands back once to free.
    drop(unsafe { Box::from_raw(value.cast::<GroupStore>()) });
}

/// How much work freeing a group is, in Redis's terms (allocations): a
/// group of more than a few dozen events is freed off the main thread by
/// `UNLINK`, `ECL.DROP`, `FLUSHALL ASYNC` and, where `lazyfree-*` says so,
/// `DEL`, expiry and eviction (freeing 1,000,000 events takes ≈ 9 ms).
/// `free` is safe there: it only gives memory back through the module
/// allocator, which is thread-safe; the group index was left on the main
/// thread by `unlink`.
unsafe extern "C" fn free_effort(_key: *mut raw::RedisModuleString, value: *const c_void) -> usize {
    // SAFETY: a value of this type (see above).
    unsafe { store_of(value) }.free_effort()
}

unsafe extern "C" fn mem_usage(value: *const c_void) -> usize {
    // SAFETY: a value of this type (see above).
    unsafe { store_of(value) }.memory_bytes()
}

unsafe extern "C" fn digest(md: *mut raw::RedisModuleDigest, value: *mut c_void) {
    // SAFETY: a value of this type (see above).
    let payload = encode(unsafe { store_of(value) });
    // SAFETY: the API pointers are set at load (or None); `md` is the live
    // digest handle and the buffer is live for the call.
    unsafe {
        if let (Some(add), Some(end)) = (
            raw::RedisModule_DigestAddStringBuffer,
            raw::RedisModule_DigestEndSequence,
        ) {
            add(md, payload.as_ptr().cast_mut().cast(), payload.len());
            end(md);
        }
    }
}
