//! The config loaded at module start, shared by commands, callbacks and the
//! timer. Set once in `init`, read-only afterwards.

use ecl_core::cluster::key_hash_slot;
use ecl_core::{Config, GroupConfig, GroupShape};
use redis_module::RedisString;
// hashbrown's default hasher (foldhash): the group names are fixed at load,
// so the lookup every command makes needs no SipHash (a tenth of ECL.LOG).
use hashbrown::HashMap;
use std::sync::OnceLock;

/// A configured group with everything the hot path needs ready-made.
pub struct GroupEntry {
    /// Position in the config (and in `ModuleState::groups`).
    pub index: usize,
    pub config: GroupConfig,
    pub shape: GroupShape,
    /// The Redis key holding the group, `ecl:{name}`, made once so the hot
    /// path allocates none. The hash tag puts it in the slot of the group
    /// name itself, which is the command's declared key.
    pub key: KeyString,
    /// The Redis Cluster hash slot of the group name (and so of its key).
    pub slot: u16,
}

/// A Redis string created without a context at module load and never freed.
pub struct KeyString(RedisString);

// SAFETY: Redis runs module commands, callbacks and timers on its main
// thread only; the string is created in `init` and never mutated or freed.
unsafe impl Send for KeyString {}
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
}

static STATE: OnceLock<ModuleState> = OnceLock::new();

impl ModuleState {
    pub fn new(config: &Config) -> Self {
        let groups: Vec<GroupEntry> = config
            .groups
            .iter()
            .enumerate()
            .map(|(index, g)| {
                let key = KeyString::new(&key_name(&g.name));
                GroupEntry {
                    index,
                    config: g.clone(),
                    shape: GroupShape::from(g),
                    key,
                    slot: key_hash_slot(g.name.as_bytes()),
                }
            })
            .collect();
        let by_name = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.config.name.as_bytes().to_vec(), i))
            .collect();
        ModuleState { groups, by_name }
    }

    pub fn group(&self, name: &[u8]) -> Option<&GroupEntry> {
        self.by_name.get(name).map(|&i| &self.groups[i])
    }
}

/// The key that stores a group.
pub fn key_name(group: &str) -> Vec<u8> {
    format!("ecl:{{{group}}}").into_bytes()
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
