//! The module API calls that `redis-module` has no safe wrapper for, in one
//! place, each with the preconditions it relies on. Everything else in the
//! module uses these or the crate's safe API. A leaf: it knows nothing of
//! ECL's data type or commands.

use redis_module::{raw, Context, RedisString};
use std::ffi::{c_void, CStr, CString};
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::time::Duration;

/// The bytes of a Redis string (binary-safe; empty where the API is missing).
///
/// # Safety
/// `string` must be a valid Redis string that outlives `'a`.
pub unsafe fn bytes_of<'a>(string: *const raw::RedisModuleString) -> &'a [u8] {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let Some(ptr_len) = (unsafe { raw::RedisModule_StringPtrLen }) else {
        return &[];
    };
    let mut len = 0usize;
    // SAFETY: the caller guarantees `string` is valid for `'a`; Redis
    // returns a pointer to its `len` bytes, owned by the string.
    unsafe {
        let ptr = ptr_len(string, &mut len);
        if ptr.is_null() {
            return &[];
        }
        std::slice::from_raw_parts(ptr.cast::<u8>(), len)
    }
}

/// A command's arguments as byte slices, one per slot of `slots` (which
/// need not be initialised: every slot is written, so the hot path does
/// not zero them first). The first, the command's name, is `name`: no
/// handler reads it, so Redis is not asked for it. The API pointer is read
/// once; an argument Redis gives no bytes for (never, in practice) is
/// empty.
///
/// # Safety
/// `argv` must hold at least `slots.len()` valid strings that outlive `'a`.
#[inline]
pub unsafe fn borrow_args<'a>(
    argv: *const *mut raw::RedisModuleString,
    name: &'a [u8],
    slots: &'a mut [MaybeUninit<&'a [u8]>],
) -> &'a [&'a [u8]] {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let ptr_len = unsafe { raw::RedisModule_StringPtrLen };
    let Some(first) = slots.first_mut() else {
        return &[];
    };
    first.write(name);
    // SAFETY: `argv` holds at least `slots.len()` strings (the caller's
    // contract).
    let strings = unsafe { std::slice::from_raw_parts(argv, slots.len()) };
    // Indexed: `slots` and `strings` have the same length, so there is no
    // bounds check and no second length to follow.
    #[allow(clippy::needless_range_loop)]
    for i in 1..slots.len() {
        let string = strings[i];
        let arg: &[u8] = match ptr_len {
            None => &[],
            Some(ptr_len) => {
                let mut len = MaybeUninit::<usize>::uninit();
                // SAFETY: `string` is a valid string that outlives `'a` (the
                // caller's contract). Redis sets `len` whenever it is given
                // one, and returns a pointer to the string's `len` bytes,
                // owned by the string.
                unsafe {
                    match NonNull::new(ptr_len(string, len.as_mut_ptr()).cast_mut()) {
                        Some(ptr) => {
                            std::slice::from_raw_parts(ptr.as_ptr().cast::<u8>(), len.assume_init())
                        }
                        None => &[],
                    }
                }
            }
        };
        slots[i].write(arg);
    }
    // SAFETY: every slot was written above; `MaybeUninit<T>` has `T`'s
    // layout.
    unsafe { std::slice::from_raw_parts(slots.as_ptr().cast::<&[u8]>(), slots.len()) }
}

/// A Redis string holding exactly `bytes`, NUL bytes included (the
/// `redis-module` constructor goes through a C string and panics on NUL).
/// Freed with `ctx`'s automatic memory, or when dropped.
pub fn string_from_bytes(ctx: &Context, bytes: &[u8]) -> RedisString {
    // SAFETY: pointer and length describe `bytes`, which Redis copies.
    unsafe {
        RedisString::from_raw_parts(NonNull::new(ctx.ctx), bytes.as_ptr().cast(), bytes.len())
    }
}

/// `RedisModule_Replicate` of `command` with exactly these seven binary
/// arguments, without building Redis strings first (the write path's one
/// event `ECL.MLOG ... AT t NOW t event count`).
pub fn replicate_seven(ctx: &Context, command: &std::ffi::CStr, args: [&[u8]; 7]) {
    // SAFETY: the API pointer is set at load (or None).
    let Some(replicate) = (unsafe { raw::RedisModule_Replicate }) else {
        return;
    };
    let [a, b, c, d, e, f, g] = args;
    // SAFETY: `ctx` is the live context of the running command; every `b`
    // in the format is followed by a pointer and a length describing a
    // live buffer; Redis copies them before returning.
    unsafe {
        replicate(
            ctx.ctx,
            command.as_ptr(),
            c"bbbbbbb".as_ptr(),
            a.as_ptr(),
            a.len(),
            b.as_ptr(),
            b.len(),
            c.as_ptr(),
            c.len(),
            d.as_ptr(),
            d.len(),
            e.as_ptr(),
            e.len(),
            f.as_ptr(),
            f.len(),
            g.as_ptr(),
            g.len(),
        );
    }
}

/// Whether the server asks modules not to write replication traffic now
/// (`CLIENT PAUSE WRITE`, `FAILOVER`, `CLUSTER FAILOVER`). An API this
/// server lacks counts as "no".
pub fn avoid_replica_traffic() -> bool {
    // SAFETY: the function pointer is set by Redis at module load (or None
    // on servers without it); it takes no arguments and only reads state.
    unsafe { raw::RedisModule_AvoidReplicaTraffic }.is_some_and(|f| unsafe { f() } != 0)
}

/// Declares that the module signals modified keys itself (after real
/// changes only), so that opening a key for writing touches nothing: a
/// refused write aborts no `WATCH` and invalidates no client cache.
/// Returns false where the server cannot do it.
pub fn take_over_modified_key_signals(ctx: &Context) -> bool {
    // SAFETY: `ctx` is the live context `init` runs with.
    match unsafe { raw::RedisModule_SetModuleOptions } {
        Some(set) => {
            // SAFETY: `set` is Redis's; `ctx` is `init`'s live context.
            unsafe {
                set(
                    ctx.ctx,
                    raw::REDISMODULE_OPTION_NO_IMPLICIT_SIGNAL_MODIFIED as c_int,
                )
            };
            true
        }
        None => false,
    }
}

/// `RedisModule_ReplicateVerbatim`: the running command goes to replicas
/// and the AOF as it came (the `redis-module` wrapper is a call more).
#[inline]
pub fn replicate_verbatim(ctx: &Context) {
    // SAFETY: reading an API pointer Redis set at load (or None).
    if let Some(replicate) = unsafe { raw::RedisModule_ReplicateVerbatim } {
        // SAFETY: `ctx` is the live context of the running command.
        unsafe { replicate(ctx.ctx) };
    }
}

/// `RedisModule_SignalModifiedKey`: `WATCH` and client tracking see the change.
pub fn signal_modified_key(ctx: &Context, key: &RedisString) {
    // SAFETY: `ctx` is the live context of the running command or callback
    // and `key` a valid string for the duration of the call.
    if let Some(signal) = unsafe { raw::RedisModule_SignalModifiedKey } {
        // SAFETY: as above: a live context and key string.
        unsafe { signal(ctx.ctx, key.inner) };
    }
}

/// A keyspace notification of class `module` (`d` in
/// `notify-keyspace-events`); costs nothing when that class is off.
pub fn notify_module_event(ctx: &Context, event: &std::ffi::CStr, key: &RedisString) {
    // Skipped when the class is off (the common case), which is cheaper to
    // ask than a notification is to refuse.
    // SAFETY: the API pointer is set at load; the call only reads a setting.
    let enabled = unsafe { raw::RedisModule_GetNotifyKeyspaceEvents }
        .is_none_or(|f| unsafe { f() } & raw::REDISMODULE_NOTIFY_MODULE as c_int != 0);
    if !enabled {
        return;
    }
    // SAFETY: `ctx` is the live context of the running command, `event` a
    // NUL-terminated string and `key` a valid string; Redis copies both.
    if let Some(notify) = unsafe { raw::RedisModule_NotifyKeyspaceEvent } {
        // SAFETY: as above: live context, NUL-terminated event, valid key.
        unsafe {
            notify(
                ctx.ctx,
                raw::REDISMODULE_NOTIFY_MODULE as c_int,
                event.as_ptr(),
                key.inner,
            )
        };
    }
}

/// CPU time the calling thread has used: what a tick did, apart from any
/// time the thread spent descheduled (which its wall time includes).
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write; the clock
    // exists on every Linux Redis runs on (0 is read as no time on error).
    let read = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if read != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Adds a sample to `LATENCY` under `event` (recorded only at or above the
/// server's `latency-monitor-threshold`).
pub fn latency_sample(event: &str, ms: u64) {
    let Ok(event) = CString::new(event) else {
        return;
    };
    // SAFETY: `event` is a NUL-terminated string alive for the call, which
    // copies it.
    if let Some(add) = unsafe { raw::RedisModule_LatencyAddSample } {
        // SAFETY: as above: `event` is alive for the call.
        unsafe { add(event.as_ptr(), i64::try_from(ms).unwrap_or(i64::MAX)) };
    }
}

/// Runs `f` with a function that selects database `db` on `ctx` (false past
/// the last one), and selects the original database again afterwards.
pub fn with_each_db_restored(ctx: &Context, f: impl FnOnce(&dyn Fn(i32) -> bool)) {
    // SAFETY: the API functions are set at load; `ctx` is live for the call.
    let (Some(select), Some(selected)) = (unsafe { raw::RedisModule_SelectDb }, unsafe {
        raw::RedisModule_GetSelectedDb
    }) else {
        return;
    };
    // SAFETY: `ctx` is live for this call (see above).
    let original = unsafe { selected(ctx.ctx) };
    // SAFETY: `ctx` is live while `f` runs; selecting a database has no other precondition.
    let select_db = |db: i32| unsafe { select(ctx.ctx, db) } == raw::REDISMODULE_OK as c_int;
    f(&select_db);
    // SAFETY: as above; the database selected before `f` exists.
    unsafe { select(ctx.ctx, original) };
}

/// The database a command runs in.
pub fn selected_db(ctx: &Context) -> i32 {
    // SAFETY: `ctx` is the live context of the running command.
    unsafe { raw::RedisModule_GetSelectedDb }.map_or(0, |f| unsafe { f(ctx.ctx) })
}

/// The server's wall clock in Unix milliseconds, as Redis reads it (the
/// clock its own expiries run by); 0 before 1970.
pub fn server_milliseconds() -> u64 {
    // SAFETY: the API pointer is set at load; the call takes no arguments.
    match unsafe { raw::RedisModule_Milliseconds } {
        // SAFETY: `ms` is Redis's clock function; it takes no arguments.
        Some(ms) => u64::try_from(unsafe { ms() }).unwrap_or(0),
        None => ecl_core::time::unix_now_ms(),
    }
}

/// The time Redis took for the running command, in Unix milliseconds:
/// Redis 7.2+ reads its clock as each command starts (its expiries run by
/// that reading) and gives it to modules for nothing; before 7.2, a
/// reading of the clock ([`server_milliseconds`]).
#[inline]
pub fn command_milliseconds() -> u64 {
    // SAFETY: reading an API pointer Redis set at load (or None).
    match unsafe { raw::RedisModule_CachedMicroseconds } {
        // SAFETY: Redis's function; it takes no arguments.
        Some(us) => u64::try_from(unsafe { us() }).unwrap_or(0) / 1000,
        None => server_milliseconds(),
    }
}

/// The ID of the client running the command (`CLIENT_ID_AOF` for the AOF).
pub fn client_id(ctx: &Context) -> u64 {
    // SAFETY: `ctx` is the live context of the running command.
    unsafe { raw::RedisModule_GetClientId }.map_or(0, |f| unsafe { f(ctx.ctx) })
}

type Callback = fn(&Context);

/// Something that happened to keys outside the module's commands.
pub enum KeyEvent<'a> {
    /// A keyspace event (`del`, `rename_to`, `move_from`, ...) on `key` in
    /// database `db`.
    Keyspace {
        event: &'a [u8],
        key: &'a [u8],
        db: i32,
    },
    /// `FLUSHDB` (a database) or `FLUSHALL` (`-1`) is done.
    Flushed { db: i32 },
    /// `SWAPDB a b`.
    Swapped { a: i32, b: i32 },
}

type KeyEventCallback = fn(&Context, KeyEvent<'_>);

static ON_CRON: OnceLock<Callback> = OnceLock::new();
static ON_KEY_EVENT: OnceLock<KeyEventCallback> = OnceLock::new();

unsafe extern "C" fn cron_trampoline(
    ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    _subevent: u64,
    _data: *mut c_void,
) {
    if let Some(callback) = ON_CRON.get() {
        callback(&Context::new(ctx));
    }
}

unsafe extern "C" fn server_event_trampoline(
    ctx: *mut raw::RedisModuleCtx,
    eid: raw::RedisModuleEvent,
    subevent: u64,
    data: *mut c_void,
) {
    let Some(callback) = ON_KEY_EVENT.get() else {
        return;
    };
    let context = Context::new(ctx);
    if eid.id == raw::REDISMODULE_EVENT_FLUSHDB && subevent == raw::REDISMODULE_SUBEVENT_FLUSHDB_END
    {
        // SAFETY: Redis passes a `RedisModuleFlushInfo` with this event.
        let info = unsafe { &*data.cast::<raw::RedisModuleFlushInfo>() };
        callback(&context, KeyEvent::Flushed { db: info.dbnum });
    } else if eid.id == raw::REDISMODULE_EVENT_SWAPDB {
        // SAFETY: Redis passes a `RedisModuleSwapDbInfo` with this event.
        let info = unsafe { &*data.cast::<raw::RedisModuleSwapDbInfo>() };
        callback(
            &context,
            KeyEvent::Swapped {
                a: info.dbnum_first,
                b: info.dbnum_second,
            },
        );
    }
}

unsafe extern "C" fn keyspace_trampoline(
    ctx: *mut raw::RedisModuleCtx,
    _type: c_int,
    event: *const std::os::raw::c_char,
    key: *mut raw::RedisModuleString,
) -> c_int {
    let Some(callback) = ON_KEY_EVENT.get() else {
        return 0;
    };
    // SAFETY: Redis passes a NUL-terminated event name and a valid key
    // string for the duration of the call.
    let event = unsafe { std::ffi::CStr::from_ptr(event) }.to_bytes();
    // SAFETY: `key` is a valid string for the duration of the call.
    let name = unsafe { bytes_of(key) };
    let context = Context::new(ctx);
    let db = selected_db(&context);
    callback(
        &context,
        KeyEvent::Keyspace {
            event,
            key: name,
            db,
        },
    );
    0
}

fn subscribe(ctx: &Context, id: u64, callback: raw::RedisModuleEventCallback) -> bool {
    let event = raw::RedisModuleEvent { id, dataver: 1 };
    // SAFETY: `ctx` is `init`'s context; the callback is a static function
    // with the signature Redis calls.
    unsafe { raw::RedisModule_SubscribeToServerEvent }
        .is_some_and(|f| unsafe { f(ctx.ctx, event, callback) } == raw::REDISMODULE_OK as c_int)
}

static ON_ROLE_CHANGE: OnceLock<fn(bool)> = OnceLock::new();

unsafe extern "C" fn role_trampoline(
    _ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    _data: *mut c_void,
) {
    if let Some(callback) = ON_ROLE_CHANGE.get() {
        callback(subevent == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_MASTER);
    }
}

/// Calls `on_change(now_master)` whenever the server becomes a master or a
/// replica.
pub fn subscribe_to_role_changes(ctx: &Context, on_change: fn(bool)) -> bool {
    let _ = ON_ROLE_CHANGE.set(on_change);
    subscribe(
        ctx,
        raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED,
        Some(role_trampoline),
    )
}

static ON_LOADING_CHANGE: OnceLock<fn(bool)> = OnceLock::new();

unsafe extern "C" fn loading_trampoline(
    _ctx: *mut raw::RedisModuleCtx,
    _eid: raw::RedisModuleEvent,
    subevent: u64,
    _data: *mut c_void,
) {
    if let Some(callback) = ON_LOADING_CHANGE.get() {
        let ended = subevent == raw::REDISMODULE_SUBEVENT_LOADING_ENDED
            || subevent == raw::REDISMODULE_SUBEVENT_LOADING_FAILED;
        callback(!ended);
    }
}

/// Calls `on_change(loading)` whenever the server starts loading data (an
/// RDB, the AOF, a full sync from a master) and when it is done.
pub fn subscribe_to_loading(ctx: &Context, on_change: fn(bool)) -> bool {
    let _ = ON_LOADING_CHANGE.set(on_change);
    subscribe(
        ctx,
        raw::REDISMODULE_EVENT_LOADING,
        Some(loading_trampoline),
    )
}

/// Calls `on_cron` from every run of Redis's `serverCron`.
pub fn subscribe_to_cron(ctx: &Context, on_cron: Callback) -> bool {
    let _ = ON_CRON.set(on_cron);
    subscribe(ctx, raw::REDISMODULE_EVENT_CRON_LOOP, Some(cron_trampoline))
}

/// Calls `on_event` for what happens to group keys outside the module's
/// commands: generic, expiry and eviction keyspace events on `ecl:{...}`
/// keys, flushed and swapped databases.
pub fn subscribe_to_key_events(ctx: &Context, on_event: KeyEventCallback) -> bool {
    let _ = ON_KEY_EVENT.set(on_event);
    let servers = [
        raw::REDISMODULE_EVENT_FLUSHDB,
        raw::REDISMODULE_EVENT_SWAPDB,
    ]
    .into_iter()
    .all(|id| subscribe(ctx, id, Some(server_event_trampoline)));
    let classes = raw::REDISMODULE_NOTIFY_GENERIC
        | raw::REDISMODULE_NOTIFY_EXPIRED
        | raw::REDISMODULE_NOTIFY_EVICTED;
    // SAFETY: as above; the callback matches `RedisModuleNotificationFunc`.
    let keyspace = unsafe { raw::RedisModule_SubscribeToKeyspaceEvents }.is_some_and(|f| {
        // SAFETY: `f` is Redis's subscribe function; `ctx` is `init`'s live context.
        let status = unsafe { f(ctx.ctx, classes as c_int, Some(keyspace_trampoline)) };
        status == raw::REDISMODULE_OK as c_int
    });
    servers && keyspace
}

/// How a command uses its one key (the group name, argument 1), as
/// `COMMAND INFO` and ACL key permissions (`%R~`, `%W~`) see it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Read only.
    Read,
    /// Read and changed in place.
    Update,
    /// Made if missing, changed otherwise.
    Insert,
    /// Replaced whole.
    Overwrite,
    /// Deleted.
    Delete,
}

impl KeyUse {
    fn flags(self) -> u64 {
        u64::from(match self {
            KeyUse::Read => raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS,
            KeyUse::Update => raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_UPDATE,
            // (Redis takes one of INSERT, UPDATE and DELETE.)
            KeyUse::Insert => raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_INSERT,
            KeyUse::Overwrite => raw::REDISMODULE_CMD_KEY_OW | raw::REDISMODULE_CMD_KEY_UPDATE,
            KeyUse::Delete => raw::REDISMODULE_CMD_KEY_RM | raw::REDISMODULE_CMD_KEY_DELETE,
        })
    }
}

/// What `COMMAND INFO` and `COMMAND DOCS` say of a command.
pub struct CommandDoc {
    pub summary: &'static CStr,
    pub since: &'static CStr,
    pub arity: i32,
    pub key: Option<KeyUse>,
}

/// The registered command `name`, if this server can describe commands.
fn command_of(ctx: &Context, name: &CStr) -> Option<*mut raw::RedisModuleCommand> {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let get = unsafe { raw::RedisModule_GetCommand }?;
    // SAFETY: `ctx` is `init`'s live context and `name` a registered
    // command's NUL-terminated name.
    let command = unsafe { get(ctx.ctx, name.as_ptr()) };
    (!command.is_null()).then_some(command)
}

/// Declares arity, summary, version and key spec of command `name`
/// (Redis 7.0+); false where the server cannot.
pub fn set_command_info(ctx: &Context, name: &CStr, doc: &CommandDoc) -> bool {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let (Some(command), Some(set)) = (command_of(ctx, name), unsafe {
        raw::RedisModule_SetCommandInfo
    }) else {
        return false;
    };
    // The header's `RedisModule_CurrentCommandInfoVersion` is a static of
    // the C header, not a symbol: the same values, made here.
    let version = raw::RedisModuleCommandInfoVersion {
        version: 1,
        sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
        sizeof_keyspec: std::mem::size_of::<raw::RedisModuleCommandKeySpec>(),
        sizeof_arg: std::mem::size_of::<raw::RedisModuleCommandArg>(),
    };
    // SAFETY: an all-zero key spec is the list's terminator (C's `{0}`).
    let mut key_specs: [raw::RedisModuleCommandKeySpec; 2] = unsafe { std::mem::zeroed() };
    if let Some(key) = doc.key {
        key_specs[0].flags = key.flags();
        key_specs[0].begin_search_type =
            raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
        key_specs[0].bs.index.pos = 1;
        key_specs[0].find_keys_type =
            raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_RANGE;
        key_specs[0].fk.range.lastkey = 0;
        key_specs[0].fk.range.keystep = 1;
        key_specs[0].fk.range.limit = 0;
    }
    // SAFETY: all-zero is "not given" for every other field (C's `{0}`).
    let mut info: raw::RedisModuleCommandInfo = unsafe { std::mem::zeroed() };
    info.version = &version;
    info.summary = doc.summary.as_ptr();
    info.since = doc.since.as_ptr();
    info.arity = doc.arity;
    if doc.key.is_some() {
        info.key_specs = key_specs.as_mut_ptr();
    }
    // SAFETY: `command` is registered; `info` and what it points to live
    // for the call, which copies them.
    unsafe { set(command, &info) == raw::REDISMODULE_OK as c_int }
}

/// Puts command `name` in these ACL categories (Redis 7.2+); false where
/// the server cannot.
pub fn set_acl_categories(ctx: &Context, name: &CStr, categories: &CStr) -> bool {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let (Some(command), Some(set)) = (command_of(ctx, name), unsafe {
        raw::RedisModule_SetCommandACLCategories
    }) else {
        return false;
    };
    // SAFETY: a registered command and a NUL-terminated list, copied.
    unsafe { set(command, categories.as_ptr()) == raw::REDISMODULE_OK as c_int }
}

/// Adds the ACL category `name` (Redis 7.4+, at load only); false where
/// the server cannot.
pub fn add_acl_category(ctx: &Context, name: &CStr) -> bool {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let Some(add) = (unsafe { raw::RedisModule_AddACLCategory }) else {
        return false;
    };
    // SAFETY: `ctx` is `init`'s live context; the name is copied.
    unsafe { add(ctx.ctx, name.as_ptr()) == raw::REDISMODULE_OK as c_int }
}

/// The calling user's permission to read key `key` (as ACL key patterns
/// decide it); true where the server cannot tell.
pub struct ReadPermission {
    user: *mut raw::RedisModuleUser,
}

impl ReadPermission {
    pub fn of_caller(ctx: &Context) -> ReadPermission {
        // SAFETY: reading API pointers Redis set at load (or None).
        let (Some(name_of), Some(user_of)) =
            (unsafe { raw::RedisModule_GetCurrentUserName }, unsafe {
                raw::RedisModule_GetModuleUserFromUserName
            })
        else {
            return ReadPermission {
                user: std::ptr::null_mut(),
            };
        };
        // SAFETY: `ctx` is the running command's context; the name string
        // is the context's (freed with it), the user is freed in `drop`.
        let user = unsafe {
            let name = name_of(ctx.ctx);
            if name.is_null() {
                std::ptr::null_mut()
            } else {
                user_of(name)
            }
        };
        ReadPermission { user }
    }

    pub fn may_read(&self, ctx: &Context, key: &[u8]) -> bool {
        if self.user.is_null() {
            return true;
        }
        // SAFETY: reading an API pointer Redis set at load (or None).
        let Some(check) = (unsafe { raw::RedisModule_ACLCheckKeyPermissions }) else {
            return true;
        };
        let key = string_from_bytes(ctx, key);
        // SAFETY: a live user and key string for the call.
        unsafe {
            check(
                self.user,
                key.inner,
                raw::REDISMODULE_CMD_KEY_ACCESS as c_int,
            ) == raw::REDISMODULE_OK as c_int
        }
    }
}

impl Drop for ReadPermission {
    fn drop(&mut self) {
        // SAFETY: reading an API pointer Redis set at load (or None); the
        // user was made by `of_caller` and is freed once.
        if let (false, Some(free)) = (self.user.is_null(), unsafe {
            raw::RedisModule_FreeModuleUser
        }) {
            // SAFETY: as above.
            unsafe { free(self.user) };
        }
    }
}

/// Registers a numeric module config `ecl.<name>` in `range` (Redis 7.0+);
/// false where the server cannot.
pub fn register_numeric_config(
    ctx: &Context,
    name: &CStr,
    default: i64,
    range: (i64, i64),
    get: raw::RedisModuleConfigGetNumericFunc,
    set: raw::RedisModuleConfigSetNumericFunc,
) -> bool {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let Some(register) = (unsafe { raw::RedisModule_RegisterNumericConfig }) else {
        return false;
    };
    // SAFETY: `ctx` is `init`'s live context; the name is copied; the
    // callbacks are static functions with the signatures Redis calls.
    unsafe {
        register(
            ctx.ctx,
            name.as_ptr(),
            default,
            raw::REDISMODULE_CONFIG_DEFAULT,
            range.0,
            range.1,
            get,
            set,
            None,
            std::ptr::null_mut(),
        ) == raw::REDISMODULE_OK as c_int
    }
}

/// Applies the module configs redis.conf (or the command line) gives.
pub fn load_configs(ctx: &Context) -> bool {
    // SAFETY: reading an API pointer Redis set at load (or None).
    let Some(load) = (unsafe { raw::RedisModule_LoadConfigs }) else {
        return false;
    };
    // SAFETY: `ctx` is `init`'s live context, after the registrations.
    unsafe { load(ctx.ctx) == raw::REDISMODULE_OK as c_int }
}
