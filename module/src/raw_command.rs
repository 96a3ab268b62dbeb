//! `ECL.LOG` and `ECL.MLOG` registered straight with the module API. The
//! `redis_module!` command wrapper copies the arguments into a
//! `Vec<RedisString>` (retaining and releasing each) on every call; on the
//! write commands that cost is measurable, so these entry points borrow the
//! arguments in place instead.

use crate::commands;
use redis_module::{raw, Context, RedisError, RedisResult, RedisValue, Status};
use std::ffi::CStr;
use std::os::raw::c_int;

/// Most arguments `ECL.LOG` takes: `ECL.LOG group event count AT t NOW t`.
const STACK_ARGS: usize = 8;

type Handler = fn(&Context, &[&[u8]]) -> RedisResult;

/// Registers `ecl.log` and `ecl.mlog`. Called from `init`.
pub fn register(ctx: &Context) -> Status {
    let commands: [(&CStr, raw::RedisModuleCmdFunc, &CStr); 2] = [
        (c"ecl.log", Some(ecl_log), c"write deny-oom fast"),
        (c"ecl.mlog", Some(ecl_mlog), c"write deny-oom"),
    ];
    for (name, handler, flags) in commands {
        // SAFETY: static C strings; the handlers have the signature Redis expects.
        let status = unsafe {
            raw::RedisModule_CreateCommand.expect("CreateCommand")(
                ctx.ctx,
                name.as_ptr(),
                handler,
                flags.as_ptr(),
                1,
                1,
                1,
            )
        };
        if status != raw::REDISMODULE_OK as c_int {
            return Status::Err;
        }
    }
    Status::Ok
}

extern "C" fn ecl_log(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    dispatch(ctx, argv, argc, commands::log)
}

extern "C" fn ecl_mlog(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    dispatch(ctx, argv, argc, commands::mlog)
}

/// Borrows the arguments (on the stack when few), runs the handler, replies.
fn dispatch(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
    handler: Handler,
) -> c_int {
    let context = Context::new(ctx);
    let argc = usize::try_from(argc).unwrap_or(0);
    let result = if argc <= STACK_ARGS {
        let mut args: [&[u8]; STACK_ARGS] = [&[]; STACK_ARGS];
        for (i, slot) in args.iter_mut().enumerate().take(argc) {
            *slot = string_at(argv, i);
        }
        handler(&context, &args[..argc])
    } else {
        let args: Vec<&[u8]> = (0..argc).map(|i| string_at(argv, i)).collect();
        handler(&context, &args)
    };
    match result {
        Ok(RedisValue::NoReply) => {}
        Ok(other) => {
            context.reply(Ok(other));
        }
        Err(RedisError::String(message)) => {
            context.reply_error_string(&message);
        }
        Err(other) => {
            context.reply(Err(other));
        }
    }
    raw::REDISMODULE_OK as c_int
}

/// The bytes of argument `i`, borrowed from Redis for the command's duration.
fn string_at<'a>(argv: *mut *mut raw::RedisModuleString, i: usize) -> &'a [u8] {
    let mut len: usize = 0;
    // SAFETY: Redis passes `argc` valid strings that outlive the call.
    unsafe {
        let ptr = raw::RedisModule_StringPtrLen.expect("StringPtrLen")(*argv.add(i), &mut len);
        std::slice::from_raw_parts(ptr.cast::<u8>(), len)
    }
}
