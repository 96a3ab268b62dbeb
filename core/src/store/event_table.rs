//! Event IDs mapped to dense slot numbers.
//!
//! Counts live in plain vectors indexed by slot, so rotating a window is a
//! vector swap and a memset. The hash table stores only the slot (4 bytes);
//! the ID itself is stored once, in `ids` (short IDs in place, see
//! [`StoredId`]).

use hashbrown::HashTable;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Live entries the index may rehash in one sweep step (about 2 ms).
const MAX_REHASH_IN_ONE_STEP: usize = 50_000;

pub(crate) struct EventTable {
    /// `None` marks a free slot, listed in `free`.
    ids: Vec<Option<StoredId>>,
    index: HashTable<u32>,
    hasher: IdHasher,
    free: Vec<u32>,
}

/// Longest ID kept in place rather than on the heap.
const INLINE_ID_LEN: usize = 22;

/// An event ID as stored: up to [`INLINE_ID_LEN`] bytes in place, longer
/// ones on the heap. Most IDs are short; in place, an event costs 24 bytes
/// here and no allocation, where a boxed ID costs 16 bytes plus an
/// allocation of at least 16.
#[derive(Clone)]
enum StoredId {
    Inline { len: u8, bytes: [u8; INLINE_ID_LEN] },
    Heap(Box<[u8]>),
}

impl From<&[u8]> for StoredId {
    fn from(id: &[u8]) -> Self {
        if id.len() <= INLINE_ID_LEN {
            let mut bytes = [0; INLINE_ID_LEN];
            bytes[..id.len()].copy_from_slice(id);
            StoredId::Inline {
                len: id.len() as u8,
                bytes,
            }
        } else {
            StoredId::Heap(id.into())
        }
    }
}

impl std::ops::Deref for StoredId {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            StoredId::Inline { len, bytes } => &bytes[..usize::from(*len)],
            StoredId::Heap(id) => id,
        }
    }
}

/// How IDs are hashed.
enum IdHasher {
    /// SipHash with a random key. A group that auto-declares events adds
    /// IDs chosen by clients, so its table must resist hash flooding.
    Keyed(RandomState),
    /// hashbrown's default (foldhash, randomly seeded), several times
    /// cheaper on short IDs. Safe where only declared events are added: a
    /// client's unknown ID is looked up and missed, never inserted.
    Fast(hashbrown::DefaultHashBuilder),
}

impl IdHasher {
    fn hash_one(&self, id: &[u8]) -> u64 {
        match self {
            IdHasher::Keyed(state) => state.hash_one(id),
            IdHasher::Fast(state) => state.hash_one(id),
        }
    }
}

impl EventTable {
    /// `clients_add_ids`: whether IDs not in the config can be added
    /// (auto-declared events), which decides the hasher.
    pub fn new(clients_add_ids: bool) -> Self {
        EventTable {
            ids: Vec::new(),
            index: HashTable::new(),
            hasher: if clients_add_ids {
                IdHasher::Keyed(RandomState::new())
            } else {
                IdHasher::Fast(Default::default())
            },
            free: Vec::new(),
        }
    }

    fn hash(&self, id: &[u8]) -> u64 {
        self.hasher.hash_one(id)
    }

    pub fn find(&self, id: &[u8]) -> Option<u32> {
        let ids = &self.ids;
        self.index
            .find(self.hash(id), |&slot| {
                ids[slot as usize].as_deref() == Some(id)
            })
            .copied()
    }

    /// Adds an ID that is not in the table; returns its slot. The slot is
    /// either a reused free one or `slot_count()` before the call.
    pub fn insert(&mut self, id: &[u8]) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.ids[slot as usize] = Some(id.into());
                slot
            }
            None => {
                super::push_compact(&mut self.ids, Some(id.into()));
                u32::try_from(self.ids.len() - 1).expect("more than 2^32 event slots")
            }
        };
        let (ids, hasher) = (&self.ids, &self.hasher);
        self.index.insert_unique(hasher.hash_one(id), slot, |&s| {
            hasher.hash_one(ids[s as usize].as_deref().expect("indexed slot is in use"))
        });
        slot
    }

    pub fn remove(&mut self, slot: u32) {
        let Some(id) = self.ids[slot as usize].take() else {
            return;
        };
        let hash = self.hash(&id);
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        self.free.push(slot);
    }

    pub fn id(&self, slot: u32) -> Option<&[u8]> {
        self.ids.get(slot as usize).and_then(|id| id.as_deref())
    }

    /// Number of slots, used or free.
    pub fn slot_count(&self) -> usize {
        self.ids.len()
    }

    /// Drops trailing free slots so the count vectors can shrink too.
    /// Returns the new slot count. Cheap: gives no memory back (see
    /// [`shrink`](Self::shrink)).
    pub fn trim_free_tail(&mut self) -> usize {
        while matches!(self.ids.last(), Some(None)) {
            self.ids.pop();
        }
        let len = self.ids.len();
        self.free.retain(|&s| (s as usize) < len);
        len
    }

    /// Gives back memory held for slots and index entries no longer used,
    /// in three parts (`part` 0..3) so each costs one deallocation.
    pub fn shrink(&mut self, part: usize) {
        let len = self.ids.len();
        match part {
            0 if self.ids.capacity() > 2 * len + 16 => self.ids.shrink_to_fit(),
            1 => self.free.shrink_to_fit(),
            // Shrinking the index rehashes every live entry: only worth it
            // (and only cheap enough for one step) when few are left.
            2 if self.index.capacity() > 4 * self.index.len() + 64
                && self.index.len() <= MAX_REHASH_IN_ONE_STEP =>
            {
                let (ids, hasher) = (&self.ids, &self.hasher);
                self.index.shrink_to_fit(|&s| {
                    hasher.hash_one(ids[s as usize].as_deref().expect("indexed slot is in use"))
                });
            }
            _ => {}
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let heap_ids: usize = self
            .ids
            .iter()
            .flatten()
            .filter(|id| matches!(id, StoredId::Heap(_)))
            .map(|id| id.len())
            .sum();
        heap_ids
            + self.ids.capacity() * std::mem::size_of::<Option<StoredId>>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_kept_in_place_long_ones_on_the_heap() {
        assert_eq!(std::mem::size_of::<Option<StoredId>>(), 24);
        let mut t = EventTable::new(true);
        let short = [b'x'; INLINE_ID_LEN];
        let long = [b'y'; INLINE_ID_LEN + 1];
        let (a, b, c) = (t.insert(b""), t.insert(&short), t.insert(&long));
        assert!(matches!(t.ids[b as usize], Some(StoredId::Inline { .. })));
        assert!(matches!(t.ids[c as usize], Some(StoredId::Heap(_))));
        assert_eq!(
            (t.id(a), t.id(b), t.id(c)),
            (Some(&b""[..]), Some(&short[..]), Some(&long[..]))
        );
        assert_eq!((t.find(&short), t.find(&long)), (Some(b), Some(c)));
    }

    #[test]
    fn insert_find_remove_and_reuse() {
        for clients_add_ids in [true, false] {
            insert_find_remove_and_reuse_with(clients_add_ids);
        }
    }

    fn insert_find_remove_and_reuse_with(clients_add_ids: bool) {
        let mut t = EventTable::new(clients_add_ids);
        let a = t.insert(b"a");
        let b = t.insert(b"b");
        assert_eq!(
            (t.find(b"a"), t.find(b"b"), t.find(b"c")),
            (Some(a), Some(b), None)
        );
        t.remove(a);
        assert_eq!(t.find(b"a"), None);
        let c = t.insert(b"c");
        assert_eq!(c, a, "a freed slot is reused");
        assert_eq!(t.id(c), Some(&b"c"[..]));
        t.remove(b);
        assert_eq!(t.trim_free_tail(), 1);
        assert_eq!(t.find(b"c"), Some(c));
    }

    #[test]
    fn many_ids_survive_shrinking() {
        let mut t = EventTable::new(true);
        for i in 0..1000u32 {
            t.insert(format!("e{i}").as_bytes());
        }
        for i in 10..1000u32 {
            t.remove(i);
        }
        assert_eq!(t.trim_free_tail(), 10);
        (0..3).for_each(|part| t.shrink(part));
        for i in 0..10u32 {
            assert_eq!(t.find(format!("e{i}").as_bytes()), Some(i));
        }
        assert_eq!(t.find(b"e500"), None);
    }
}
