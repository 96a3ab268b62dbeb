//! Every `ECL.*` command in one table: name, handler, arity, flags, key
//! positions, how it uses its key, its ACL categories and its summary.
//! All are registered straight with the module API and get their arguments
//! as borrowed byte slices (the `redis_module!` wrapper would copy them
//! into a `Vec<RedisString>`, retaining and releasing each, on every call:
//! measurable on the write commands). A handler that panics replies an
//! error and logs the panic; it never takes redis-server down.

use crate::commands;
use crate::ffi::{self, KeyUse};
use ecl_core::EclError;
use redis_module::{raw, Context, RedisError, RedisResult, RedisValue};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Most arguments taken on the stack: `ECL.LOG group event count AT t NOW t`.
const STACK_ARGS: usize = 8;

macro_rules! command_table {
    ($( $name:literal => $handler:path, arity $arity:literal, $flags:literal, keys $first:literal $last:literal $step:literal,
        key $key:expr, acl $acl:literal, summary $summary:literal; )*) => {
        /// Registers every command, then describes it to the server as far
        /// as the server can take it (command docs on 7.0, ACL categories
        /// on 7.2, the `ecl` category on 7.4). Called once from `init`.
        pub fn register(ctx: &Context) -> Result<Registered, String> {
            let ecl_category = ffi::add_acl_category(ctx, c"ecl");
            let mut registered = Registered { documented: true, categorized: true, ecl_category };
            $(
                {
                    extern "C" fn entry(
                        ctx: *mut raw::RedisModuleCtx,
                        argv: *mut *mut raw::RedisModuleString,
                        argc: c_int,
                    ) -> c_int {
                        // Built at compile time: at run time, reading the
                        // name out of its C string costs ≈ 110 instructions
                        // a command.
                        const ARITY: Arity = Arity::new($name, $arity);
                        // SAFETY: Redis calls a command with its live context
                        // and `argc` valid argument strings.
                        unsafe { dispatch(ctx, argv, argc, ARITY, $handler) }
                    }
                    create(ctx, $name, entry, $flags, $first, $last, $step)?;
                    let doc = ffi::CommandDoc { summary: $summary, since: SINCE, arity: $arity, key: $key };
                    registered.documented &= ffi::set_command_info(ctx, $name, &doc);
                    registered.categorized &= categorize(ctx, $name, $acl, ecl_category);
                }
            )*
            Ok(registered)
        }
    };
}

/// The release that brought the commands.
const SINCE: &CStr = c"0.1.0";

/// What the server took of the commands' descriptions.
pub struct Registered {
    /// Arity, summary and key specs (`RedisModule_SetCommandInfo`, 7.0+).
    pub documented: bool,
    /// The standard ACL categories (7.2+).
    pub categorized: bool,
    /// The `ecl` category (7.4+).
    pub ecl_category: bool,
}

/// Puts a command in its categories, and in `ecl` where the server has it.
fn categorize(ctx: &Context, name: &CStr, categories: &CStr, ecl_category: bool) -> bool {
    if !ecl_category {
        return ffi::set_acl_categories(ctx, name, categories);
    }
    let Ok(with_ecl) = std::ffi::CString::new(format!("ecl {}", categories.to_string_lossy()))
    else {
        return false;
    };
    ffi::set_acl_categories(ctx, name, &with_ecl)
}

// Arity as Redis writes it: N exactly N arguments (the name included), -N
// at least N. The key is the group name (argument 1): ACL key patterns and
// cluster routing see it. Admin commands (a group's schema or data
// replaced or dropped) are also @admin and @dangerous.
command_table! {
    c"ecl.log" => commands::write::log, arity -3, c"write deny-oom fast", keys 1 1 1,
        key Some(KeyUse::Update), acl c"write fast",
        summary c"Adds a count (default 1) to an event in every interval of a group.";
    c"ecl.mlog" => commands::write::mlog, arity -4, c"write deny-oom", keys 1 1 1,
        key Some(KeyUse::Update), acl c"write slow",
        summary c"Adds counts of many events to a group, all or nothing, optionally once per producer sequence number.";
    c"ecl.get" => commands::read::get, arity -2, c"readonly", keys 1 1 1,
        key Some(KeyUse::Read), acl c"read slow",
        summary c"Returns the counts of the last complete (or the current) window of a group's interval.";
    c"ecl.totals" => commands::read::totals, arity 2, c"readonly", keys 1 1 1,
        key Some(KeyUse::Read), acl c"read slow",
        summary c"Returns every event's cumulative total in a group.";
    c"ecl.info" => commands::read::info, arity 2, c"readonly", keys 1 1 1,
        key Some(KeyUse::Read), acl c"read slow",
        summary c"Returns a group's schema, window times, event numbers and tallies.";
    c"ecl.range" => commands::read::range, arity -3, c"readonly", keys 1 1 1,
        key Some(KeyUse::Read), acl c"read slow",
        summary c"Returns the kept closed windows of a group's interval in a time span (zero-filled, oldest first), or their sum.";
    c"ecl.top" => commands::read::top, arity -4, c"readonly", keys 1 1 1,
        key Some(KeyUse::Read), acl c"read slow",
        summary c"Returns the k highest counts of a window of a group's interval.";
    c"ecl.groups" => commands::read::groups, arity 1, c"readonly", keys 0 0 0,
        key None, acl c"read slow keyspace",
        summary c"Lists the groups of the selected database the caller may read.";
    c"ecl.create" => commands::schema::create, arity -3, c"write deny-oom", keys 1 1 1,
        key Some(KeyUse::Insert), acl c"write slow",
        summary c"Creates a group with a schema (OK if it exists with the same one).";
    c"ecl.declare" => commands::schema::declare, arity -3, c"write deny-oom", keys 1 1 1,
        key Some(KeyUse::Insert), acl c"write slow",
        summary c"Creates a group or adds the intervals and events it lacks; never removes.";
    c"ecl.alter" => commands::schema::alter, arity -2, c"write deny-oom", keys 1 1 1,
        key Some(KeyUse::Update), acl c"write slow admin dangerous",
        summary c"Replaces parts of a group's schema; counts of what stays are kept.";
    c"ecl.drop" => commands::schema::drop, arity 2, c"write", keys 1 1 1,
        key Some(KeyUse::Delete), acl c"write slow admin dangerous",
        summary c"Deletes a group and its counts.";
    c"ecl.rotate" => commands::admin::rotate, arity -2, c"write", keys 1 1 1,
        key Some(KeyUse::Update), acl c"write slow",
        summary c"Brings a group to now and frees dead auto-declared events (what the timer replicates).";
    c"ecl.restore" => commands::admin::restore, arity 3, c"write deny-oom", keys 1 1 1,
        key Some(KeyUse::Overwrite), acl c"write slow admin dangerous",
        summary c"Replaces a group with an encoded one (what AOF rewrite emits).";
}

/// A command's arity: `n` exactly `n` arguments (its name included), `-n`
/// at least `n`, and never more than the limit on arguments.
/// Worked out at compile time as the range of argument counts it allows.
#[derive(Clone, Copy)]
struct Arity {
    name: &'static str,
    /// Fewest arguments, the name included (at least 1).
    min: usize,
    /// Most: `min` for a fixed arity, else the limit on arguments.
    max: usize,
}

impl Arity {
    const fn new(name: &'static CStr, arity: i32) -> Arity {
        // The table's names are ASCII literals.
        let name = match name.to_str() {
            Ok(name) => name,
            Err(_) => "ecl",
        };
        let min = arity.unsigned_abs() as usize;
        let max = if arity < 0 {
            ecl_core::limits::ARGS_PER_COMMAND
        } else {
            min
        };
        Arity { name, min, max }
    }

    fn check(self, argc: usize) -> Result<(), EclError> {
        if self.min <= argc && argc <= self.max {
            return Ok(());
        }
        ecl_core::limits::within("arguments", argc, ecl_core::limits::ARGS_PER_COMMAND)?;
        Err(EclError::WrongArity(self.name))
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
    handler: impl Fn(&Context, &[&[u8]]) -> RedisResult,
) -> c_int {
    let context = Context::new(ctx);
    let argc = usize::try_from(argc).unwrap_or(0);
    if let Err(e) = arity.check(argc) {
        context.reply_error_string(&e.to_string());
        return raw::REDISMODULE_OK as c_int;
    }
    // The reply is sent inside: what comes out is small (no reply value to
    // move about on the hot path).
    let run = |args: &[&[u8]]| {
        catch_unwind(AssertUnwindSafe(|| {
            send_reply(&context, handler(&context, args))
        }))
    };
    // `args[0]` holds the name as registered (see `borrow_args`).
    let name = arity.name.as_bytes();
    let result = if argc <= STACK_ARGS {
        let mut slots = [MaybeUninit::uninit(); STACK_ARGS];
        // SAFETY: `argv` holds `argc` strings that outlive this call
        // (caller's contract).
        run(unsafe { ffi::borrow_args(argv, name, &mut slots[..argc]) })
    } else {
        let mut slots = vec![MaybeUninit::uninit(); argc];
        // SAFETY: as above.
        run(unsafe { ffi::borrow_args(argv, name, &mut slots) })
    };
    if result.is_err() {
        // The panic hook logged what and where.
        context.reply_error_string("ERR internal error in ECL (see the server log)");
    }
    raw::REDISMODULE_OK as c_int
}

/// Replies what a handler returned, unless it replied itself (`NoReply`).
#[inline]
fn send_reply(context: &Context, result: RedisResult) {
    match result {
        Ok(RedisValue::NoReply) => {
            // The handler replied. `NoReply` owns nothing: forgetting it
            // skips the generic drop of a reply value.
            std::mem::forget(result);
        }
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
}

/// Sends panics to the Redis log (with their location), where an operator
/// looks, rather than to the server's stderr.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        redis_module::logging::log_warning(format!("ECL: internal error (panic): {info}"));
    }));
}
