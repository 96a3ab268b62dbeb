//! Which stored groups may have work for the timer, by database, and from
//! when (SPEC §4.1, §4.3): the timer opens only these, never a key with
//! nothing to do.
//!
//! Writes note the time their group next has work (its earliest dead
//! auto-declared event). An entry may be early (the event was counted
//! again since) or stale (the key was deleted): the timer then opens the
//! key read-only, finds nothing, and corrects the entry. What the index
//! cannot see happen — a group key loaded, restored, renamed or moved
//! between databases, databases swapped — asks for a walk: once, the timer
//! opens every configured group's key in every database read-only and
//! rebuilds the index.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A group's key in one database: `(db, index of the group in the config)`.
pub type GroupKey = (i32, usize);

struct WorkIndex {
    due_ms: BTreeMap<GroupKey, u64>,
    walk_requested: bool,
}

static INDEX: Mutex<WorkIndex> = Mutex::new(WorkIndex {
    due_ms: BTreeMap::new(),
    // A fresh server may hold groups loaded from disk.
    walk_requested: true,
});

fn with_index<R>(f: impl FnOnce(&mut WorkIndex) -> R) -> R {
    // Only Redis's main thread uses the index; a poisoned lock (a panic
    // while held) still holds a usable map.
    let mut guard = INDEX.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

/// Records when the group next has timer work (`None`: never, until written).
pub fn note(key: GroupKey, due_ms: Option<u64>) {
    with_index(|index| match due_ms {
        Some(due) => {
            index.due_ms.insert(key, due);
        }
        None => {
            index.due_ms.remove(&key);
        }
    });
}

/// Whether the group is known with exactly this due time (the write path's
/// check, so an unchanged entry costs no insert).
pub fn is_noted(key: GroupKey, due_ms: Option<u64>) -> bool {
    with_index(|index| index.due_ms.get(&key).copied() == due_ms)
}

/// The groups whose work is due at `now_ms`.
pub fn due(now_ms: u64) -> Vec<GroupKey> {
    with_index(|index| {
        index
            .due_ms
            .iter()
            .filter(|&(_, &due)| due <= now_ms)
            .map(|(&key, _)| key)
            .collect()
    })
}

/// Whether anything is due at `now_ms`, or a walk is waiting.
pub fn anything_due(now_ms: u64) -> bool {
    with_index(|index| index.walk_requested || index.due_ms.values().any(|&due| due <= now_ms))
}

/// Asks the timer to rebuild the index from the keys themselves.
pub fn request_walk() {
    with_index(|index| index.walk_requested = true);
}

/// Takes a pending walk request, clearing the index for the walk to refill.
pub fn take_walk() -> bool {
    with_index(|index| {
        let requested = std::mem::take(&mut index.walk_requested);
        if requested {
            index.due_ms.clear();
        }
        requested
    })
}
