//! A group opened for writing: the key of the group a command names, and
//! everything a write may do to it — read its store (the owner checked),
//! create it, give it a new schema, put a restored one, drop it. Each change
//! signals the key, notifies keyspace subscribers, keeps the group index
//! right and replicates itself, so the commands only decide what to do.

use crate::clock::heard_master_clock;
use crate::group_ref::GroupRef;
use crate::source::{from_master, trusted};
use crate::writable_key::WritableKey;
use crate::{ffi, group_index, keys, replicate, state};
use ecl_core::{EclError, GroupShape, GroupStore};
use redis_module::{Context, RedisError};
use std::ffi::CStr;

pub(crate) fn err(e: EclError) -> RedisError {
    RedisError::String(e.to_string())
}

/// The time a command acts at: its `NOW` (trusted sources only), else this
/// server's clock.
pub(crate) fn resolve_now(ctx: &Context, requested: Option<u64>) -> Result<u64, RedisError> {
    match requested {
        None => Ok(crate::clock::server_clock_ms()),
        Some(now) if trusted(ctx) => {
            if from_master(ctx) {
                heard_master_clock(now);
            }
            Ok(now)
        }
        Some(_) => Err(err(EclError::ReplicationOnly("NOW"))),
    }
}

/// A store under the key of another group (after a `RENAME`) is refused.
#[inline]
pub(crate) fn check_owner(store: &GroupStore, group: &GroupRef<'_>) -> Result<(), RedisError> {
    if ecl_core::bytes::same(store.name().as_bytes(), group.name) {
        Ok(())
    } else {
        Err(err(EclError::ForeignGroup {
            group: group.display(),
            stored: store.name().to_string(),
        }))
    }
}

/// The database's group cap (`MAX_GROUPS`), for a client's command that
/// would add a group on a master. The replication stream and the AOF are
/// never refused by a local setting (SPEC §4.6): what the master accepted,
/// the replica and a reload hold too.
fn check_group_cap(ctx: &Context) -> Result<(), RedisError> {
    if trusted(ctx) {
        return Ok(());
    }
    let db = ffi::selected_db(ctx);
    let cap = state::state().max_groups();
    if group_index::count(db) >= cap {
        return Err(err(EclError::TooManyGroups { db, cap }));
    }
    Ok(())
}

pub struct OpenGroup<'a> {
    pub group: GroupRef<'a>,
    key: WritableKey,
}

impl<'a> OpenGroup<'a> {
    #[inline]
    pub fn open(ctx: &Context, name: &'a [u8]) -> OpenGroup<'a> {
        let group = GroupRef::new(ctx, name);
        let key = WritableKey::open(ctx, group.key());
        OpenGroup { group, key }
    }

    /// The group's store, `None` when the key is empty; `WRONGTYPE` for a
    /// key of another type, an error for another group's data.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub fn store(&self) -> Result<Option<&mut GroupStore>, RedisError> {
        let store = self.key.store().map_err(|_| err(EclError::WrongType))?;
        if let Some(store) = &store {
            check_owner(store, &self.group)?;
        }
        Ok(store)
    }

    /// The group's store when the key holds this group's, else `None`
    /// (empty, another type, another group's): for a path that leaves every
    /// other case to [`store`](Self::store) and its errors. Small enough
    /// to come back in registers.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub fn own_store(&self) -> Option<&mut GroupStore> {
        let store = self.key.store().ok()??;
        ecl_core::bytes::same(store.name().as_bytes(), self.group.name).then_some(store)
    }

    /// The store, which must exist.
    #[allow(clippy::mut_from_ref)]
    pub fn existing_store(&self) -> Result<&mut GroupStore, RedisError> {
        self.store()?
            .ok_or_else(|| err(EclError::UnknownGroup(self.group.display())))
    }

    /// Puts a new group's store into the (empty) key: within the database's
    /// group cap, indexed, and replicated as `ECL.CREATE group NOW t
    /// <schema>` so replicas and the AOF create exactly this schema at this
    /// time. Returns the store as it now lives in the key.
    #[allow(clippy::mut_from_ref)]
    pub fn create(
        &self,
        ctx: &Context,
        store: GroupStore,
        now: u64,
    ) -> Result<&mut GroupStore, RedisError> {
        check_group_cap(ctx)?;
        let shape = store.shape();
        let stored = self.put(ctx, store)?;
        replicate::schema(ctx, true, &shape, now);
        self.changed(ctx, c"ecl.create", stored);
        if let Some(entry) = self.group.declared() {
            entry.mark_declared_in(ffi::selected_db(ctx));
        }
        Ok(stored)
    }

    /// Gives the group `shape` (counts of (interval, event) pairs that still
    /// exist are kept), in place where core can (`reshape_in_place`), else
    /// by a rebuild; replicated as `ECL.ALTER group NOW t <the full
    /// schema>`. Returns the store as it now lives in the key.
    #[allow(clippy::mut_from_ref)]
    pub fn reshape(
        &self,
        ctx: &Context,
        shape: &GroupShape,
        now: u64,
        event: &CStr,
    ) -> Result<&mut GroupStore, RedisError> {
        let store = self.existing_store()?;
        let in_place = store
            .reshape_in_place(shape, now)
            .map_err(|e| err(EclError::from(e)))?;
        if in_place {
            replicate::schema(ctx, false, shape, now);
            self.changed(ctx, event, store);
            return Ok(store);
        }
        let (reshaped, report) = store
            .reshape(shape, now)
            .map_err(|e| err(EclError::from(e)))?;
        if !report.dropped_intervals.is_empty() || report.dropped_events > 0 {
            ctx.log_notice(&format!(
                "ECL: group '{}' now without intervals (ms) {:?} and {} events, as asked",
                self.group.display(),
                report.dropped_intervals,
                report.dropped_events
            ));
        }
        let stored = self.put(ctx, reshaped)?;
        replicate::schema(ctx, false, shape, now);
        self.changed(ctx, event, stored);
        Ok(stored)
    }

    /// Replaces the group with a decoded one (`ECL.RESTORE`), replicated
    /// as the command was given.
    pub fn restore(&self, ctx: &Context, store: GroupStore) -> Result<(), RedisError> {
        // Whatever the key holds of this type is replaced (as the AOF,
        // which names each value by its group, replays it).
        if self
            .key
            .store()
            .map_err(|_| err(EclError::WrongType))?
            .is_none()
        {
            check_group_cap(ctx)?;
        }
        let stored = self.put(ctx, store)?;
        replicate::verbatim(ctx);
        self.changed(ctx, c"ecl.restore", stored);
        Ok(())
    }

    /// Deletes the group and its counts; whether there was one.
    pub fn drop_group(&self, ctx: &Context) -> Result<bool, RedisError> {
        if self.store()?.is_none() {
            return Ok(false);
        }
        self.key.delete(); // the type's unlink callback leaves the index
        replicate::verbatim(ctx);
        keys::signal_modified(ctx, self.group.key());
        ffi::notify_module_event(ctx, c"ecl.drop", self.group.key());
        Ok(true)
    }

    /// After a write that changed the store in place: signal, notify
    /// `event`, and keep the index's due time right.
    #[inline]
    pub fn written(&self, ctx: &Context, event: &CStr, store: &GroupStore) {
        keys::written(ctx, self.group.key(), event, self.group.name, store);
    }

    /// After `GroupStore::log_in_place`: signal and notify `event`. The
    /// index's due time needs no look (the write makes no work come
    /// earlier; see there).
    #[inline]
    pub fn written_in_place(&self, ctx: &Context, event: &CStr) {
        keys::signal_and_notify(ctx, self.group.key(), event);
    }

    /// Puts `store` into the key and returns it as it lives there.
    #[allow(clippy::mut_from_ref)]
    fn put(&self, ctx: &Context, store: GroupStore) -> Result<&mut GroupStore, RedisError> {
        self.key.set(store).map_err(|_| err(EclError::WrongType))?;
        let stored = self.existing_store()?;
        // Replacing a value unlinks the old one, which leaves the index.
        group_index::note(
            ffi::selected_db(ctx),
            self.group.name,
            stored.next_timer_work_ms(),
        );
        Ok(stored)
    }

    fn changed(&self, ctx: &Context, event: &CStr, store: &GroupStore) {
        keys::signal_modified(ctx, self.group.key());
        ffi::notify_module_event(ctx, event, self.group.key());
        keys::note_work(ctx, self.group.name, store);
    }
}
