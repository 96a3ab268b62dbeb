//! The config loaded at module start (optional), shared by commands,
//! callbacks and the timer. Set once in `init`, read-only afterwards.
//!
//! A group of the config is *declared* by it (SPEC §3): created with the
//! config's schema on its first write in a database, and extended with what
//! the config adds on its first write in each database in this process.
//! Groups that exist carry their own schema; the config is not consulted
//! about them otherwise.

use crate::group_key::key_name;
use ecl_core::cluster::key_hash_slot;
use ecl_core::{Config, GroupConfig, GroupShape};
use redis_module::RedisString;
// hashbrown's default hasher (foldhash): the group names are fixed at load,
// so the lookup every command makes needs no SipHash (a tenth of ECL.LOG).
use hashbrown::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Groups one database may hold at most, unless `MAX_GROUPS n` is given
/// at load: a runaway client cannot create millions.
pub use ecl_core::limits::DEFAULT_GROUPS_PER_DB as DEFAULT_MAX_GROUPS;

/// A group the config declares, with everything the hot path needs ready-made.
pub struct GroupEntry {
    pub config: GroupConfig,
    pub shape: GroupShape,
    /// The Redis key holding the group, `ecl:{name}`, made once so the hot
    /// path allocates none. The hash tag puts it in the slot of the group
    /// name itself, which is the command's declared key.
    pub key: KeyString,
    /// The Redis Cluster hash slot of the group name (and so of its key).
    pub slot: u16,
    /// Databases 0..64 where this process declared the group already.
    declared_in: AtomicU64,
    /// The same for databases from 64 on.
    declared_in_high: Mutex<Vec<i32>>,
}

impl GroupEntry {
    /// Whether the config's declaration was applied in `db` already.
    #[inline]
    pub fn declared_in(&self, db: i32) -> bool {
        match u32::try_from(db) {
            Ok(bit) if bit < 64 => self.declared_in.load(Ordering::Relaxed) & (1 << bit) != 0,
            _ => self.declared_in_high(db),
        }
    }

    /// [`declared_in`](Self::declared_in) for databases from 64 on (rare:
    /// out of line, so the common check inlines).
    #[cold]
    #[inline(never)]
    fn declared_in_high(&self, db: i32) -> bool {
        self.declared_in_high
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&db)
    }

    pub fn mark_declared_in(&self, db: i32) {
        match u32::try_from(db) {
            Ok(bit) if bit < 64 => {
                self.declared_in.fetch_or(1 << bit, Ordering::Relaxed);
            }
            _ => self
                .declared_in_high
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(db),
        }
    }
}

/// A Redis string created without a context at module load and never freed.
pub struct KeyString(RedisString);

// SAFETY: Redis runs module commands, callbacks and timers on its main
// thread only; the string is created in `init` and never mutated or freed.
unsafe impl Send for KeyString {}
// SAFETY: as for `Send`: never mutated after `init`, read on one thread.
unsafe impl Sync for KeyString {}

impl KeyString {
    fn new(bytes: &[u8]) -> Self {
        // SAFETY: pointer and length describe `bytes`, which Redis copies.
        KeyString(unsafe { RedisString::from_raw_parts(None, bytes.as_ptr().cast(), bytes.len()) })
    }

    pub fn get(&self) -> &RedisString {
        &self.0
    }
}

pub struct ModuleState {
    pub groups: Vec<GroupEntry>,
    by_name: HashMap<Vec<u8>, usize>,
    /// The group the last lookup found: writes come in runs to one group,
    /// and comparing a name is cheaper than hashing it.
    last_found: AtomicUsize,
    /// The cap on groups per database (`MAX_GROUPS` at load, the module
    /// config `ecl.max-groups` at any time).
    max_groups: AtomicUsize,
}

static STATE: OnceLock<ModuleState> = OnceLock::new();

impl ModuleState {
    pub fn new(config: Option<&Config>, max_groups: usize) -> Self {
        let groups: Vec<GroupEntry> = config
            .map(|c| c.groups.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|g| GroupEntry {
                config: g.clone(),
                shape: GroupShape::from(g),
                key: KeyString::new(&key_name(g.name.as_bytes())),
                slot: key_hash_slot(g.name.as_bytes()),
                declared_in: AtomicU64::new(0),
                declared_in_high: Mutex::new(Vec::new()),
            })
            .collect();
        let by_name = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.config.name.as_bytes().to_vec(), i))
            .collect();
        ModuleState {
            groups,
            by_name,
            last_found: AtomicUsize::new(0),
            max_groups: AtomicUsize::new(max_groups),
        }
    }

    /// The cap on groups per database.
    pub fn max_groups(&self) -> usize {
        self.max_groups.load(Ordering::Relaxed)
    }

    pub fn set_max_groups(&self, cap: usize) {
        self.max_groups.store(cap, Ordering::Relaxed);
    }

    /// The config's entry for a group, if the config declares it.
    #[inline]
    pub fn declared(&self, name: &[u8]) -> Option<&GroupEntry> {
        let last = self.last_found.load(Ordering::Relaxed);
        if let Some(entry) = self.groups.get(last) {
            if ecl_core::bytes::same(entry.config.name.as_bytes(), name) {
                return Some(entry);
            }
        }
        let &i = self.by_name.get(name)?;
        self.last_found.store(i, Ordering::Relaxed);
        Some(&self.groups[i])
    }
}

/// Installs the state; false if it was installed before.
pub fn install(state: ModuleState) -> bool {
    STATE.set(state).is_ok()
}

/// The module's state. Commands only run after a successful `init`.
pub fn state() -> &'static ModuleState {
    STATE.get().expect("ECL module state is set in init")
}

/// The state, if `init` got that far (data type callbacks may run first
/// in theory; they then skip config-dependent work).
pub fn try_state() -> Option<&'static ModuleState> {
    STATE.get()
}
