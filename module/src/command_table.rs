//! Every `ECL.*` command in one table: name, flags, key positions, handler.
//! All are registered straight with the module API and get their arguments
//! as borrowed byte slices (the `redis_module!` wrapper would copy them
//! into a `Vec<RedisString>`, retaining and releasing each, on every call:
//! measurable on the write commands). A handler that panics replies an
//! error and logs the panic; it never takes redis-server down.

use crate::commands;
use ecl_core::EclError;
use redis_module::{raw, Context, RedisError, RedisResult, RedisValue};
use std::ffi::CStr;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

type Handler = fn(&Context, &[&[u8]]) -> RedisResult;

/// Most arguments taken on the stack: `ECL.LOG group event count AT t NOW t`.
const STACK_ARGS: usize = 8;

macro_rules! command_table {
    ($( $name:literal => $handler:path, arity $arity:literal, $flags:literal, keys $first:literal $last:literal $step:literal; )*) => {
        /// Registers every command. Called once from `init`.
        pub fn register(ctx: &Context) -> Result<(), String> {
            $(
                {
                    extern "C" fn entry(
                        ctx: *mut raw::RedisModuleCtx,
                        argv: *mut *mut raw::RedisModuleString,
                        argc: c_int,
                    ) -> c_int {
                        // SAFETY: Redis calls a command with its live context
                        // and `argc` valid argument strings.
                        unsafe { dispatch(ctx, argv, argc, Arity::new($name, $arity), $handler) }
                    }
                    create(ctx, $name, entry, $flags, $first, $last, $step)?;
                }
            )*
            Ok(())
        }
    };
}

// Arity as Redis writes it: N exactly N arguments (the name included), -N
// at least N.
command_table! {
    c"ecl.log" => commands::write::log, arity -3, c"write deny-oom fast", keys 1 1 1;
    c"ecl.mlog" => commands::write::mlog, arity -4, c"write deny-oom", keys 1 1 1;
    c"ecl.get" => commands::read::get, arity -2, c"readonly", keys 1 1 1;
    c"ecl.totals" => commands::read::totals, arity 2, c"readonly", keys 1 1 1;
    c"ecl.info" => commands::read::info, arity 2, c"readonly", keys 1 1 1;
    c"ecl.groups" => commands::read::groups, arity 1, c"readonly", keys 0 0 0;
    c"ecl.create" => commands::schema::create, arity -3, c"write deny-oom", keys 1 1 1;
    c"ecl.declare" => commands::schema::declare, arity -3, c"write deny-oom", keys 1 1 1;
    c"ecl.alter" => commands::schema::alter, arity -2, c"write deny-oom", keys 1 1 1;
    c"ecl.drop" => commands::schema::drop, arity 2, c"write", keys 1 1 1;
    c"ecl.rotate" => commands::admin::rotate, arity -2, c"write", keys 1 1 1;
    c"ecl.restore" => commands::admin::restore, arity 3, c"write deny-oom", keys 1 1 1;
}

/// A command's arity: `n` exactly `n` arguments (its name included), `-n`
/// at least `n`, and never more than the limit on arguments.
#[derive(Clone, Copy)]
struct Arity {
    name: &'static str,
    arity: i32,
}

impl Arity {
    const fn new(name: &'static CStr, arity: i32) -> Arity {
        // The table's names are ASCII literals.
        let name = match name.to_str() {
            Ok(name) => name,
            Err(_) => "ecl",
        };
        Arity { name, arity }
    }

    fn check(self, argc: usize) -> Result<(), EclError> {
        ecl_core::limits::within("arguments", argc, ecl_core::limits::ARGS_PER_COMMAND)?;
        let wanted = self.arity.unsigned_abs() as usize;
        let fits = if self.arity < 0 {
            argc >= wanted
        } else {
            argc == wanted
        };
        if fits {
            Ok(())
        } else {
            Err(EclError::WrongArity(self.name))
        }
    }
}

fn create(
    ctx: &Context,
    name: &CStr,
    entry: extern "C" fn(
        *mut raw::RedisModuleCtx,
        *mut *mut raw::RedisModuleString,
        c_int,
    ) -> c_int,
    flags: &CStr,
    first_key: c_int,
    last_key: c_int,
    key_step: c_int,
) -> Result<(), String> {
    // SAFETY: static C strings and a handler with the signature Redis
    // expects; `ctx` is `init`'s context.
    let status = unsafe { raw::RedisModule_CreateCommand }.map(|create| unsafe {
        create(
            ctx.ctx,
            name.as_ptr(),
            Some(entry),
            flags.as_ptr(),
            first_key,
            last_key,
            key_step,
        )
    });
    match status {
        Some(s) if s == raw::REDISMODULE_OK as c_int => Ok(()),
        _ => Err(format!("cannot register {}", name.to_string_lossy())),
    }
}

/// Borrows the arguments (on the stack when few), runs the handler, replies.
///
/// # Safety
/// `ctx` must be the live context of a command call and `argv` point to
/// `argc` valid strings that outlive the call.
unsafe fn dispatch(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
    arity: Arity,
    handler: Handler,
) -> c_int {
    let context = Context::new(ctx);
    let argc = usize::try_from(argc).unwrap_or(0);
    if let Err(e) = arity.check(argc) {
        context.reply_error_string(&e.to_string());
        return raw::REDISMODULE_OK as c_int;
    }
    let run = |args: &[&[u8]]| catch_unwind(AssertUnwindSafe(|| handler(&context, args)));
    let result = if argc <= STACK_ARGS {
        let mut args: [&[u8]; STACK_ARGS] = [&[]; STACK_ARGS];
        for (i, slot) in args.iter_mut().enumerate().take(argc) {
            // SAFETY: `i < argc`; the strings outlive this call (caller's contract).
            *slot = unsafe { string_at(argv, i) };
        }
        run(&args[..argc])
    } else {
        // SAFETY: as above, for every `i < argc`.
        let args: Vec<&[u8]> = (0..argc).map(|i| unsafe { string_at(argv, i) }).collect();
        run(&args)
    };
    match result {
        Ok(Ok(RedisValue::NoReply)) => {}
        Ok(Ok(other)) => {
            context.reply(Ok(other));
        }
        Ok(Err(RedisError::String(message))) => {
            context.reply_error_string(&message);
        }
        Ok(Err(other)) => {
            context.reply(Err(other));
        }
        Err(_) => {
            // The panic hook logged what and where.
            context.reply_error_string("ERR internal error in ECL (see the server log)");
        }
    }
    raw::REDISMODULE_OK as c_int
}

/// The bytes of argument `i`.
///
/// # Safety
/// `argv` must hold more than `i` valid strings, alive for `'a`.
unsafe fn string_at<'a>(argv: *mut *mut raw::RedisModuleString, i: usize) -> &'a [u8] {
    // SAFETY: the caller guarantees `argv[i]` is a valid string alive for `'a`.
    unsafe { crate::ffi::bytes_of(*argv.add(i)) }
}

/// Sends panics to the Redis log (with their location), where an operator
/// looks, rather than to the server's stderr.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        redis_module::logging::log_warning(format!("ECL: internal error (panic): {info}"));
    }));
}
