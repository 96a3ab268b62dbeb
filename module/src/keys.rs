//! What a write does besides changing the group: signal the key (`WATCH`,
//! client tracking), notify keyspace subscribers (class `module`, SPEC §4.2)
//! and tell the timer when the group next has work.

use crate::{ffi, group_index};
use ecl_core::GroupStore;
use redis_module::{Context, RedisString};
use std::ffi::CStr;

/// The group's key changed.
pub fn signal_modified(ctx: &Context, key: &RedisString) {
    ffi::signal_modified_key(ctx, key);
}

/// After a write that changed the group: signal, notify `event`, and keep
/// the group index's due time right.
#[inline]
pub fn written(ctx: &Context, key: &RedisString, event: &CStr, group: &[u8], store: &GroupStore) {
    signal_and_notify(ctx, key, event);
    note_work(ctx, group, store);
}

/// The key changed by `event`: signal it and notify keyspace subscribers.
#[inline]
pub fn signal_and_notify(ctx: &Context, key: &RedisString, event: &CStr) {
    signal_modified(ctx, key);
    ffi::notify_module_event(ctx, event, key);
}

/// Tells the timer when the group next has work, if that changed.
#[inline]
pub fn note_work(ctx: &Context, group: &[u8], store: &GroupStore) {
    let due = store.next_timer_work_ms();
    if due.is_none() {
        // Nothing to note: the group was indexed when it was created, and
        // a due time left from before only costs the timer one look.
        return;
    }
    let db = ffi::selected_db(ctx);
    if !group_index::is_noted(db, group, due) {
        group_index::note(db, group, due);
    }
}
