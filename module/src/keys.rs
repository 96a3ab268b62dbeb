//! What a write does besides changing the group: signal the key (`WATCH`,
//! client tracking), notify keyspace subscribers (class `module`, SPEC §4.2)
//! and tell the timer when the group next has work.

use crate::ffi;
use crate::work_index;
use ecl_core::GroupStore;
use redis_module::{Context, RedisString};
use std::ffi::CStr;

/// The group's key changed.
pub fn signal_modified(ctx: &Context, key: &RedisString) {
    ffi::signal_modified_key(ctx, key);
}

/// After a write that changed the group: signal, notify `event`, and keep
/// the timer's index of pending work right.
pub fn written(
    ctx: &Context,
    key: &RedisString,
    event: &CStr,
    group_index: usize,
    store: &GroupStore,
) {
    signal_modified(ctx, key);
    ffi::notify_module_event(ctx, event, key);
    note_work(ctx, group_index, store);
}

/// Tells the timer when the group next has work, if that changed.
pub fn note_work(ctx: &Context, group_index: usize, store: &GroupStore) {
    let due = store.next_timer_work_ms();
    if due.is_none() {
        // Nothing to note; a stale entry only costs the timer one look.
        return;
    }
    let key = (ffi::selected_db(ctx), group_index);
    if !work_index::is_noted(key, due) {
        work_index::note(key, due);
    }
}
