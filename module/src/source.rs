//! Where a command comes from: a client, the master's replication stream,
//! or the AOF. Commands from the last two are *trusted*: they may carry the
//! master's clock (`NOW`) and are applied as the master applied them.
//!
//! Asked on every write, so it is answered cheaply: the AOF's client has a
//! reserved ID and runs only while the server loads, and only a replica can
//! run commands from a master. A server that is a master and not loading
//! (known from load and the role-change and loading events) asks Redis
//! nothing: `RedisModule_GetContextFlags` costs about a twentieth of an
//! `ECL.LOG` (it works out the memory state, among others).

use crate::ffi;
use redis_module::{Context, ContextFlags};
use std::sync::atomic::{AtomicBool, Ordering};

/// `CLIENT_ID_AOF`: the ID Redis gives its AOF-loading client, so that
/// modules can tell it apart.
const AOF_CLIENT_ID: u64 = u64::MAX;

/// False only while this server is known to be a master. Starts true (ask
/// Redis) until `init` has looked.
static MAY_BE_REPLICA: AtomicBool = AtomicBool::new(true);

/// False only while this server is known not to be loading data (the AOF's
/// client runs commands only then). Starts true (ask Redis) until `init`
/// has subscribed to the loading events.
static MAY_BE_LOADING: AtomicBool = AtomicBool::new(true);

/// Follows the server's loading. Called from `init`, which never runs
/// while the server loads (modules load before the data; `MODULE LOAD` is
/// refused while loading).
pub fn follow_loading(ctx: &Context) -> bool {
    let subscribed = ffi::subscribe_to_loading(ctx, loading_changed);
    MAY_BE_LOADING.store(!subscribed, Ordering::Relaxed);
    subscribed
}

fn loading_changed(loading: bool) {
    MAY_BE_LOADING.store(loading, Ordering::Relaxed);
}

/// Whether the command runs from the AOF's client.
#[inline]
fn from_aof(ctx: &Context) -> bool {
    MAY_BE_LOADING.load(Ordering::Relaxed) && ffi::client_id(ctx) == AOF_CLIENT_ID
}

/// Learns the server's role now and follows its changes. Called from `init`.
pub fn follow_role(ctx: &Context) -> bool {
    let subscribed = ffi::subscribe_to_role_changes(ctx, role_changed);
    let master = ctx.get_flags().contains(ContextFlags::MASTER);
    MAY_BE_REPLICA.store(!(subscribed && master), Ordering::Relaxed);
    subscribed
}

fn role_changed(now_master: bool) {
    MAY_BE_REPLICA.store(!now_master, Ordering::Relaxed);
}

/// A command from the master's stream or the AOF.
pub fn trusted(ctx: &Context) -> bool {
    if from_aof(ctx) {
        return true;
    }
    MAY_BE_REPLICA.load(Ordering::Relaxed)
        && ctx
            .get_flags()
            .intersects(ContextFlags::REPLICATED | ContextFlags::LOADING)
}

/// A command from the master's live stream (not the AOF): its `NOW` is the
/// master's clock right now.
pub fn from_master(ctx: &Context) -> bool {
    if !MAY_BE_REPLICA.load(Ordering::Relaxed) || from_aof(ctx) {
        return false;
    }
    let flags = ctx.get_flags();
    flags.contains(ContextFlags::REPLICATED) && !flags.contains(ContextFlags::LOADING)
}
