//! The groups this server holds, by database (SPEC §4.1), and when each
//! next has work for the timer. `ECL.GROUPS` lists from it and the timer
//! walks it: neither scans the keyspace nor opens keys with nothing to do.
//!
//! Kept by the module's own commands (create, write, drop, restore), by the
//! RDB loader (a loaded key names its database and key), and by keyspace
//! and server events for what happens to group keys outside the module:
//! `DEL`/`UNLINK`, expiry, eviction, `RENAME`, `MOVE`, `COPY`, `RESTORE`,
//! `FLUSHDB`/`FLUSHALL`, `SWAPDB`. An entry that turns out stale (the key is
//! gone) is dropped when the timer or a command finds so.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A group's key: `ecl:{name}`.
pub fn key_name(group: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(group.len() + 6);
    key.extend_from_slice(b"ecl:{");
    key.extend_from_slice(group);
    key.push(b'}');
    key
}

/// The group a key name belongs to, if it is a group key.
pub fn group_of_key(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(b"ecl:{")?.strip_suffix(b"}")
}

/// Per database: group name → the time it next has timer work (`None`:
/// none until written).
type Databases = BTreeMap<i32, BTreeMap<Vec<u8>, Option<u64>>>;

struct Index {
    dbs: Databases,
}

static INDEX: Mutex<Index> = Mutex::new(Index {
    dbs: BTreeMap::new(),
});

fn with_index<R>(f: impl FnOnce(&mut Databases) -> R) -> R {
    // Only Redis's main thread uses the index; a poisoned lock (a panic
    // while held) still holds a usable map.
    let mut guard = INDEX.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard.dbs)
}

/// The group exists in `db`; it next has timer work at `due_ms`.
pub fn note(db: i32, group: &[u8], due_ms: Option<u64>) {
    with_index(|dbs| {
        let groups = dbs.entry(db).or_default();
        match groups.get_mut(group) {
            Some(due) => *due = due_ms,
            None => {
                groups.insert(group.to_vec(), due_ms);
            }
        }
    });
}

/// Whether the group is known in `db` with exactly this due time (the
/// write path's check, so an unchanged entry costs no insert).
pub fn is_noted(db: i32, group: &[u8], due_ms: Option<u64>) -> bool {
    with_index(|dbs| dbs.get(&db).and_then(|g| g.get(group)) == Some(&due_ms))
}

pub fn remove(db: i32, group: &[u8]) {
    with_index(|dbs| {
        if let Some(groups) = dbs.get_mut(&db) {
            groups.remove(group);
        }
    });
}

/// A database was emptied (`-1`: all of them).
pub fn clear(db: i32) {
    with_index(|dbs| {
        if db < 0 {
            dbs.clear();
        } else {
            dbs.remove(&db);
        }
    });
}

/// `SWAPDB a b`.
pub fn swap(a: i32, b: i32) {
    with_index(|dbs| {
        let first = dbs.remove(&a);
        let second = dbs.remove(&b);
        if let Some(groups) = first {
            dbs.insert(b, groups);
        }
        if let Some(groups) = second {
            dbs.insert(a, groups);
        }
    });
}

/// The groups of `db`, sorted.
pub fn names(db: i32) -> Vec<Vec<u8>> {
    with_index(|dbs| {
        dbs.get(&db)
            .map_or_else(Vec::new, |g| g.keys().cloned().collect())
    })
}

/// How many groups `db` holds.
pub fn count(db: i32) -> usize {
    with_index(|dbs| dbs.get(&db).map_or(0, BTreeMap::len))
}

/// The groups whose work is due at `now_ms`.
pub fn due(now_ms: u64) -> Vec<(i32, Vec<u8>)> {
    with_index(|dbs| {
        dbs.iter()
            .flat_map(|(&db, groups)| {
                groups
                    .iter()
                    .filter(move |(_, due)| due.is_some_and(|d| d <= now_ms))
                    .map(move |(name, _)| (db, name.clone()))
            })
            .collect()
    })
}

/// Whether any group's work is due at `now_ms`.
pub fn anything_due(now_ms: u64) -> bool {
    with_index(|dbs| {
        dbs.values()
            .flat_map(BTreeMap::values)
            .any(|due| due.is_some_and(|d| d <= now_ms))
    })
}

/// Makes every group due now, so the timer looks at each once (read-only
/// first): after a clock step, or when this server became a master.
pub fn all_due_now() {
    with_index(|dbs| {
        for due in dbs.values_mut().flat_map(BTreeMap::values_mut) {
            *due = Some(0);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keys_and_names() {
        assert_eq!(key_name(b"req"), b"ecl:{req}");
        assert_eq!(group_of_key(b"ecl:{req}"), Some(&b"req"[..]));
        assert_eq!(group_of_key(b"other"), None);
    }
}
