//! The groups this server holds, by database (SPEC §4.1), and when each
//! next has work for the timer. `ECL.GROUPS` lists from it and the timer
//! takes its work from it: neither scans the keyspace nor opens keys with
//! nothing to do.
//!
//! It follows the data type's own lifecycle, so it is exact whatever
//! command touches a group's key: a group enters when a value of the type
//! is put under its key (the module's commands, the RDB loader, and the
//! keyspace events of the generic commands that move a value to a new key:
//! `RENAME`, `MOVE`, `COPY`, `RESTORE`), and leaves when the server unlinks
//! the value (the type's `unlink` callback: `DEL`, expiry, eviction,
//! overwrite by any command, the source of a `RENAME` or `MOVE`), or its
//! database is flushed. `SWAPDB` swaps two databases' entries.
//!
//! Every operation is O(log n) in the number of groups (flushing is O(n) of
//! the flushed database, as Redis's own flush is), so the timer's work per
//! tick is bounded whatever the number of groups (SPEC §4.6):
//! - groups with work are kept in time order ([`take_due`]);
//! - "look at every group once" (after a clock step, or on becoming a
//!   master) is a cursor walked a few groups per tick ([`look_at_all`]),
//!   not a pass that marks every group.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Mutex;

/// The groups of one database's contents: name → when it next has timer
/// work (`None`: none until written).
type Groups = BTreeMap<Vec<u8>, Option<u64>>;

/// Databases are numbered by Redis; their contents get an ID of the index's
/// own, so that `SWAPDB` swaps two numbers rather than every entry.
type ContentId = u32;

#[derive(Default)]
struct Index {
    content_of_db: BTreeMap<i32, ContentId>,
    db_of_content: BTreeMap<ContentId, i32>,
    contents: BTreeMap<ContentId, Groups>,
    /// `(due_ms, contents, group)` of every group with a due time.
    by_due: BTreeSet<(u64, ContentId, Vec<u8>)>,
    next_content: ContentId,
    /// Every group from this `(db, name)` on (inclusive) is still to be
    /// looked at once.
    look_from: Option<(i32, Vec<u8>)>,
}

impl Index {
    const fn new() -> Index {
        Index {
            content_of_db: BTreeMap::new(),
            db_of_content: BTreeMap::new(),
            contents: BTreeMap::new(),
            by_due: BTreeSet::new(),
            next_content: 0,
            look_from: None,
        }
    }

    fn groups(&self, db: i32) -> Option<&Groups> {
        self.contents.get(self.content_of_db.get(&db)?)
    }

    fn content_id(&mut self, db: i32) -> ContentId {
        if let Some(&id) = self.content_of_db.get(&db) {
            return id;
        }
        let id = self.next_content;
        self.next_content = self.next_content.wrapping_add(1);
        self.content_of_db.insert(db, id);
        self.db_of_content.insert(id, db);
        self.contents.insert(id, Groups::new());
        id
    }

    fn set_due(&mut self, id: ContentId, group: &[u8], due_ms: Option<u64>) {
        let Some(groups) = self.contents.get_mut(&id) else {
            return;
        };
        let before = match groups.get_mut(group) {
            Some(due) => std::mem::replace(due, due_ms),
            None => {
                groups.insert(group.to_vec(), due_ms);
                None
            }
        };
        if before == due_ms {
            return;
        }
        if let Some(t) = before {
            self.by_due.remove(&(t, id, group.to_vec()));
        }
        if let Some(t) = due_ms {
            self.by_due.insert((t, id, group.to_vec()));
        }
    }

    fn remove(&mut self, db: i32, group: &[u8]) {
        let Some(&id) = self.content_of_db.get(&db) else {
            return;
        };
        let Some(groups) = self.contents.get_mut(&id) else {
            return;
        };
        if let Some(Some(t)) = groups.remove(group) {
            self.by_due.remove(&(t, id, group.to_vec()));
        }
    }

    /// The next group of the "look at every group" walk, moving the cursor.
    fn next_to_look_at(&mut self) -> Option<(i32, Vec<u8>)> {
        let (mut db, mut from) = self.look_from.take()?;
        loop {
            let found = self
                .groups(db)
                .and_then(|g| {
                    g.range::<[u8], _>((Bound::Included(&from[..]), Bound::Unbounded))
                        .next()
                })
                .map(|(name, _)| name.clone());
            if let Some(name) = found {
                let mut after = name.clone();
                after.push(0); // the smallest name after `name`
                self.look_from = Some((db, after));
                return Some((db, name));
            }
            let next_db = self
                .content_of_db
                .range((Bound::Excluded(db), Bound::Unbounded))
                .next()
                .map(|(&d, _)| d)?;
            db = next_db;
            from = Vec::new();
        }
    }
}

static INDEX: Mutex<Index> = Mutex::new(Index::new());

fn with_index<R>(f: impl FnOnce(&mut Index) -> R) -> R {
    // Only Redis's main thread uses the index; a poisoned lock (a panic
    // while held) still holds a usable map.
    let mut guard = INDEX.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

/// The group exists in `db`; it next has timer work at `due_ms`.
pub fn note(db: i32, group: &[u8], due_ms: Option<u64>) {
    with_index(|index| {
        let id = index.content_id(db);
        index.set_due(id, group, due_ms);
    });
}

/// Whether the group is known in `db` with exactly this due time (the
/// write path's check, so an unchanged entry costs no insert).
pub fn is_noted(db: i32, group: &[u8], due_ms: Option<u64>) -> bool {
    with_index(|index| index.groups(db).and_then(|g| g.get(group)) == Some(&due_ms))
}

/// The group's key in `db` no longer holds it.
pub fn remove(db: i32, group: &[u8]) {
    with_index(|index| index.remove(db, group));
}

/// A database was emptied (`-1`: all of them).
pub fn clear(db: i32) {
    with_index(|index| {
        let dbs: Vec<i32> = if db < 0 {
            index.content_of_db.keys().copied().collect()
        } else {
            vec![db]
        };
        for db in dbs {
            let Some(id) = index.content_of_db.get(&db).copied() else {
                continue;
            };
            if let Some(groups) = index.contents.get_mut(&id) {
                for (name, due) in std::mem::take(groups) {
                    if let Some(t) = due {
                        index.by_due.remove(&(t, id, name));
                    }
                }
            }
        }
    });
}

/// `SWAPDB a b`.
pub fn swap(a: i32, b: i32) {
    with_index(|index| {
        let id_a = index.content_id(a);
        let id_b = index.content_id(b);
        index.content_of_db.insert(a, id_b);
        index.content_of_db.insert(b, id_a);
        index.db_of_content.insert(id_b, a);
        index.db_of_content.insert(id_a, b);
    });
}

/// The groups of `db`, sorted.
pub fn names(db: i32) -> Vec<Vec<u8>> {
    with_index(|index| {
        index
            .groups(db)
            .map_or_else(Vec::new, |g| g.keys().cloned().collect())
    })
}

/// How many groups all databases hold.
pub fn total() -> usize {
    with_index(|index| index.contents.values().map(BTreeMap::len).sum())
}

/// How many groups `db` holds.
pub fn count(db: i32) -> usize {
    with_index(|index| index.groups(db).map_or(0, BTreeMap::len))
}

/// The next group with timer work at `now_ms`, or still to be looked at
/// once: `(db, group)`. Its due time is cleared; the timer notes the next
/// one after looking at it, so each call hands out a new piece of work.
pub fn take_due(now_ms: u64) -> Option<(i32, Vec<u8>)> {
    with_index(|index| {
        if let Some((t, id, name)) = index.by_due.first().cloned() {
            if t <= now_ms {
                index.set_due(id, &name, None);
                let db = *index.db_of_content.get(&id)?;
                return Some((db, name));
            }
        }
        index.next_to_look_at()
    })
}

/// Whether any group has timer work at `now_ms`, or is still to be looked at.
pub fn anything_due(now_ms: u64) -> bool {
    with_index(|index| {
        index.look_from.is_some() || index.by_due.first().is_some_and(|(t, ..)| *t <= now_ms)
    })
}

/// Has the timer look at every group once (read-only first): after a
/// clock step, or when this server became a master. O(1): a cursor the
/// timer walks a few groups per tick.
pub fn look_at_all() {
    with_index(|index| {
        index.look_from = Some((i32::MIN, Vec::new()));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // The index is one static: the tests share it, so they run as one.
    #[test]
    fn the_index_hands_out_work_in_time_order_and_follows_swaps_and_flushes() {
        clear(-1);
        note(0, b"a", Some(30));
        note(0, b"b", Some(10));
        note(1, b"c", None);
        note(1, b"d", Some(20));
        assert_eq!(count(0), 2);
        assert!(!anything_due(5));
        assert!(anything_due(10));
        assert_eq!(take_due(25), Some((0, b"b".to_vec())));
        assert_eq!(take_due(25), Some((1, b"d".to_vec())));
        assert_eq!(take_due(25), None);
        assert!(is_noted(0, b"b", None));
        // SWAPDB moves entries and their due times with the contents.
        swap(0, 1);
        assert_eq!(names(0), [b"c".to_vec(), b"d".to_vec()]);
        assert_eq!(take_due(30), Some((1, b"a".to_vec())));
        // Looking at every group walks databases and names in order, once.
        look_at_all();
        let mut seen = Vec::new();
        while let Some(entry) = take_due(0) {
            seen.push(entry);
        }
        assert_eq!(
            seen,
            [
                (0, b"c".to_vec()),
                (0, b"d".to_vec()),
                (1, b"a".to_vec()),
                (1, b"b".to_vec())
            ]
        );
        remove(0, b"c");
        note(1, b"a", Some(1));
        clear(1);
        assert_eq!(count(1), 0);
        assert!(!anything_due(100));
        assert_eq!(names(0), [b"d".to_vec()]);
        clear(-1);
    }
}
