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

/// Type encoding version given to Redis. The payload carries its own
/// version too (`ecl_core::encoding`), which is what decoding dispatches on.
const TYPE_ENCVER: i32 = 1;

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
        free_effort: None,
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

// SAFETY (every callback below): Redis calls them with a live IO or digest
// handle and, where there is one, a value this type created (a boxed
// `GroupStore` from `rdb_load` or `set_value`), on its main thread or in a
// fork child that holds a copy of the dataset.

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
            index_loaded(rdb, &store);
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
unsafe fn index_loaded(rdb: *mut raw::RedisModuleIO, store: &GroupStore) {
    let (Some(db_of), Some(key_of)) = (
        raw::RedisModule_GetDbIdFromIO,
        raw::RedisModule_GetKeyNameFromIO,
    ) else {
        return;
    };
    let key = key_of(rdb);
    if key.is_null() {
        return; // RESTORE of a DUMP payload: its keyspace event indexes it
    }
    let name = crate::ffi::bytes_of(key);
    if let Some(group) = crate::group_key::group_of_key(name) {
        if group == store.name().as_bytes() {
            crate::group_index::note(db_of(rdb), group, store.next_timer_work_ms());
        }
    }
}

unsafe extern "C" fn rdb_save(rdb: *mut raw::RedisModuleIO, value: *mut c_void) {
    let store = &*value.cast::<GroupStore>();
    raw::save_slice(rdb, &encode(store));
}

unsafe extern "C" fn aof_rewrite(
    aof: *mut raw::RedisModuleIO,
    _key: *mut raw::RedisModuleString,
    value: *mut c_void,
) {
    let store = &*value.cast::<GroupStore>();
    let payload = encode(store);
    let (command, format) = (c"ECL.RESTORE", c"bb");
    let name = store.name().as_bytes();
    let Some(emit) = raw::RedisModule_EmitAOF else {
        return;
    };
    emit(
        aof,
        command.as_ptr(),
        format.as_ptr(),
        name.as_ptr(),
        name.len(),
        payload.as_ptr(),
        payload.len(),
    );
}

/// The server takes a group's value out of its key, whatever the command:
/// `DEL`, `UNLINK`, expiry, eviction, an overwrite (`SET`, `RESTORE ...
/// REPLACE`, a `...STORE` command), the source of `RENAME` or `MOVE`, or a
/// module command replacing it. The group index forgets the key; whoever
/// puts a group's value back notes it again.
unsafe extern "C" fn unlink(ctx: *mut raw::RedisModuleKeyOptCtx, _value: *const c_void) {
    let (Some(name_of), Some(db_of)) = (
        raw::RedisModule_GetKeyNameFromOptCtx,
        raw::RedisModule_GetDbIdFromOptCtx,
    ) else {
        return;
    };
    let key = name_of(ctx);
    if key.is_null() {
        return;
    }
    if let Some(group) = crate::group_key::group_of_key(crate::ffi::bytes_of(key)) {
        crate::group_index::remove(db_of(ctx), group);
    }
}

/// `COPY`: the copy is the value saved and loaded again, so it is exactly
/// what a replica or a reload would hold. Under another group's key it is
/// that key's data, not a group of its own (as after `RENAME`).
unsafe extern "C" fn copy(
    _ctx: *mut raw::RedisModuleKeyOptCtx,
    value: *const c_void,
) -> *mut c_void {
    let store = &*value.cast::<GroupStore>();
    match decode_versioned(&encode(store)) {
        Ok((copied, _)) => Box::into_raw(Box::new(copied)).cast(),
        Err(e) => {
            log_warning(format!("ECL: cannot copy group '{}': {e}", store.name()));
            std::ptr::null_mut()
        }
    }
}

unsafe extern "C" fn free(value: *mut c_void) {
    drop(Box::from_raw(value.cast::<GroupStore>()));
}

unsafe extern "C" fn mem_usage(value: *const c_void) -> usize {
    (*value.cast::<GroupStore>()).memory_bytes()
}

unsafe extern "C" fn digest(md: *mut raw::RedisModuleDigest, value: *mut c_void) {
    let store = &*value.cast::<GroupStore>();
    let payload = encode(store);
    if let (Some(add), Some(end)) = (
        raw::RedisModule_DigestAddStringBuffer,
        raw::RedisModule_DigestEndSequence,
    ) {
        add(md, payload.as_ptr().cast_mut().cast(), payload.len());
        end(md);
    }
}
