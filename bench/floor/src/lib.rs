//! The floor `make bench` measures ECL against: the cheapest write a module
//! command can make, and a command that does nothing.
//!
//! - `FLOOR.INCR key`: opens `key` (of this module's own type), adds 1 to the
//!   u64 it holds, replicates the command as it came (without that it would
//!   not be a write a replica or the AOF sees) and replies `+OK` the way
//!   ECL does (a stored reply). Every module write pays at least this.
//!   `FLOOR.INCR key name` does the same and ignores `name`: given
//!   `ECL.LOG`'s two names, it shows the floor with what Redis spends on
//!   receiving the second.
//! - `FLOOR.NOOP ...`: any arguments, replies `+OK`. Given `ECL.MLOG`'s
//!   arguments it measures what Redis spends receiving and parsing them.
//!
//! Registered with the raw module API, as ECL's commands are.

use redis_module::native_types::RedisType;
use redis_module::{raw, redis_module, Context, Status};
use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

static FLOOR_TYPE: RedisType = RedisType::new(
    "eclfloor1", // nine characters, as Redis requires
    0,
    raw::RedisModuleTypeMethods {
        version: raw::REDISMODULE_TYPE_METHOD_VERSION as u64,
        rdb_load: Some(rdb_load),
        rdb_save: Some(rdb_save),
        aof_rewrite: None,
        free: Some(free),
        mem_usage: None,
        digest: None,
        aux_load: None,
        aux_save: None,
        aux_save2: None,
        aux_save_triggers: 0,
        free_effort: None,
        unlink: None,
        copy: None,
        defrag: None,
        copy2: None,
        free_effort2: None,
        mem_usage2: None,
        unlink2: None,
    },
);

/// A `+OK` reply made by Redis at load, replayed by every command.
struct StoredOk(*mut raw::RedisModuleCallReply);
// SAFETY: made once at load, only read afterwards on Redis's main thread.
unsafe impl Send for StoredOk {}
// SAFETY: as for `Send`: never written after load, read on one thread.
unsafe impl Sync for StoredOk {}
static OK: OnceLock<StoredOk> = OnceLock::new();

fn reply_ok(ctx: *mut raw::RedisModuleCtx) -> c_int {
    // SAFETY: the API pointers are set before `init`; `ctx` is the running
    // command's context and the stored reply lives as long as the module.
    unsafe {
        match (OK.get(), raw::RedisModule_ReplyWithCallReply) {
            (Some(ok), Some(reply)) => reply(ctx, ok.0),
            _ => raw::RedisModule_ReplyWithSimpleString.map_or(0, |r| r(ctx, c"OK".as_ptr())),
        }
    }
}

extern "C" fn incr(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    // SAFETY: Redis calls a command with its live context and `argc` valid
    // arguments; the key is closed before returning; the value stored under
    // our type is always a boxed u64.
    unsafe {
        if argc != 2 && argc != 3 {
            return raw::RedisModule_WrongArity.map_or(0, |f| f(ctx));
        }
        let mode = (raw::REDISMODULE_READ | raw::REDISMODULE_WRITE) as c_int;
        let key = raw::RedisModule_OpenKey.unwrap()(ctx, *argv.add(1), mode)
            .cast::<raw::RedisModuleKey>();
        let ty = *FLOOR_TYPE.raw_type.borrow();
        let value =
            if raw::RedisModule_KeyType.unwrap()(key) == raw::REDISMODULE_KEYTYPE_EMPTY as c_int {
                let value = Box::into_raw(Box::new(0u64));
                raw::RedisModule_ModuleTypeSetValue.unwrap()(key, ty, value.cast());
                value
            } else if raw::RedisModule_ModuleTypeGetType.unwrap()(key) == ty {
                raw::RedisModule_ModuleTypeGetValue.unwrap()(key).cast::<u64>()
            } else {
                raw::RedisModule_CloseKey.unwrap()(key);
                return raw::RedisModule_ReplyWithError.unwrap()(
                    ctx,
                    c"WRONGTYPE not a floor key".as_ptr(),
                );
            };
        *value += 1;
        raw::RedisModule_CloseKey.unwrap()(key);
        raw::RedisModule_ReplicateVerbatim.unwrap()(ctx);
    }
    reply_ok(ctx)
}

extern "C" fn noop(
    ctx: *mut raw::RedisModuleCtx,
    _argv: *mut *mut raw::RedisModuleString,
    _argc: c_int,
) -> c_int {
    reply_ok(ctx)
}

unsafe extern "C" fn rdb_load(rdb: *mut raw::RedisModuleIO, _encver: c_int) -> *mut c_void {
    // SAFETY: Redis passes a live RDB handle.
    let n = unsafe { raw::RedisModule_LoadUnsigned.unwrap()(rdb) };
    Box::into_raw(Box::new(n)).cast()
}

unsafe extern "C" fn rdb_save(rdb: *mut raw::RedisModuleIO, value: *mut c_void) {
    // SAFETY: `value` is a boxed u64 of this type; `rdb` is live.
    unsafe { raw::RedisModule_SaveUnsigned.unwrap()(rdb, *value.cast::<u64>()) }
}

unsafe extern "C" fn free(value: *mut c_void) {
    // SAFETY: `value` was made by `Box::into_raw` of a u64 and is freed once.
    drop(unsafe { Box::from_raw(value.cast::<u64>()) });
}

fn init(ctx: &Context, _args: &[redis_module::RedisString]) -> Status {
    // SAFETY: `init`'s context; static C strings; handlers of the C
    // signature Redis expects. The stored reply is checked before it is kept.
    unsafe {
        let create = raw::RedisModule_CreateCommand.unwrap();
        let write = create(
            ctx.ctx,
            c"floor.incr".as_ptr(),
            Some(incr),
            c"write deny-oom fast".as_ptr(),
            1,
            1,
            1,
        );
        let read = create(
            ctx.ctx,
            c"floor.noop".as_ptr(),
            Some(noop),
            c"readonly fast".as_ptr(),
            0,
            0,
            0,
        );
        if write != raw::REDISMODULE_OK as c_int || read != raw::REDISMODULE_OK as c_int {
            return Status::Err;
        }
        let reply = raw::RedisModule_Call.unwrap()(
            ctx.ctx,
            c"SELECT".as_ptr(),
            c"c".as_ptr(),
            c"0".as_ptr(),
        );
        if !reply.is_null() {
            let mut len = 0usize;
            let proto = raw::RedisModule_CallReplyProto.unwrap()(reply, &mut len);
            if !proto.is_null() && std::slice::from_raw_parts(proto.cast::<u8>(), len) == b"+OK\r\n"
            {
                let _ = OK.set(StoredOk(reply));
            }
        }
    }
    Status::Ok
}

redis_module! {
    name: "eclfloor",
    version: 1,
    allocator: (redis_module::alloc::RedisAlloc, redis_module::alloc::RedisAlloc),
    data_types: [FLOOR_TYPE],
    init: init,
    commands: [],
}
