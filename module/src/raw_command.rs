//! `ECL.LOG` registered straight with the module API. The `redis_module!`
//! command wrapper copies the arguments into a `Vec<RedisString>` on every
//! call; on the hottest command that allocation is measurable, so this entry
//! point borrows the arguments in place instead.

use crate::commands;
use redis_module::{raw, Context, RedisError, Status};
use std::os::raw::c_int;

/// Most arguments `ECL.LOG` takes: `ECL.LOG group event count AT t NOW t`.
const MAX_LOG_ARGS: usize = 8;

/// Registers `ecl.log`. Called from `init`.
pub fn register(ctx: &Context) -> Status {
    // SAFETY: static C strings; the handler has the signature Redis expects.
    let status = unsafe {
        raw::RedisModule_CreateCommand.expect("CreateCommand")(
            ctx.ctx,
            c"ecl.log".as_ptr(),
            Some(ecl_log),
            c"write deny-oom fast".as_ptr(),
            1,
            1,
            1,
        )
    };
    if status == raw::REDISMODULE_OK as c_int {
        Status::Ok
    } else {
        Status::Err
    }
}

extern "C" fn ecl_log(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    let context = Context::new(ctx);
    let argc = usize::try_from(argc).unwrap_or(0);
    let mut args: [&[u8]; MAX_LOG_ARGS] = [&[]; MAX_LOG_ARGS];
    let result = if argc > MAX_LOG_ARGS {
        // Too many for any valid form: let the parser name the problem.
        let all: Vec<&[u8]> = (0..argc).map(|i| string_at(argv, i)).collect();
        commands::log(&context, &all)
    } else {
        for (i, slot) in args.iter_mut().enumerate().take(argc) {
            *slot = string_at(argv, i);
        }
        commands::log(&context, &args[..argc])
    };
    match result {
        Ok(redis_module::RedisValue::NoReply) => {}
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
