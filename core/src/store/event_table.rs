//! Event IDs mapped to dense slot numbers.
//!
//! Counts live in plain vectors indexed by slot, so rotating a window is a
//! vector swap and a memset. The hash table stores only the slot (4 bytes);
//! the ID itself is stored once, in `ids` (short IDs in place, see
//! [`StoredId`]). The index is [`SlotIndex`].

use super::chunked::ChunkedVec;
use super::slot_index::{Probe, SlotIndex};
use crate::bytes;
use crate::id_hash::{HashId, IdHasher};

/// Live entries the index may rehash in one sweep step (about 2 ms).
const MAX_REHASH_IN_ONE_STEP: usize = 50_000;

#[derive(Clone)]
pub(crate) struct EventTable {
    /// `None` marks a free slot, listed in `free`.
    ids: ChunkedVec<Option<StoredId>>,
    index: SlotIndex,
    /// While the index grows: the full old index, whose slots are copied
    /// into the new one a few per insert (see [`Growth`]).
    growth: Option<Growth>,
    hasher: IdHasher,
    free: Vec<u32>,
}

/// An index growing incrementally, as Redis's own dictionaries do: growing
/// a table of a million IDs in one step would rehash them all at once (over
/// 100 ms). Instead a new table twice the size is allocated, new IDs go
/// there, and every insert also copies the next [`MOVED_PER_INSERT`] slots
/// of the old one; lookups try the new table, then the old. The copy is
/// done long before the new table fills.
#[derive(Clone)]
struct Growth {
    old: SlotIndex,
    /// Slots below this are in the new table.
    next_slot: u32,
    /// Slots at or above this were inserted after the growth began.
    end_slot: u32,
}

/// Slots copied from the old index per insert while it grows. Each copy
/// lands on a random page of the new table, which the kernel maps (and
/// zeroes) on first touch: at a million events a growth faults in ~2,500
/// pages, so copying few slots per insert spreads those faults over many
/// commands (64 per insert put 3 ms of them into one `ECL.MLOG`). Any
/// value ≥ 1 finishes the copy before the new table, twice the size, fills.
const MOVED_PER_INSERT: u32 = 8;

/// Longest ID kept in place rather than on the heap.
const INLINE_ID_LEN: usize = 22;
// `holds` reads a short ID's words straight from the buffer.
const _: () = assert!(INLINE_ID_LEN >= bytes::SHORT);

/// An event ID as stored: up to [`INLINE_ID_LEN`] bytes in place, longer
/// ones on the heap. The bytes in place after the ID are zeros (`From` is
/// the only maker), which `holds` relies on. Most IDs are short; in place, an event costs 24 bytes
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

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            StoredId::Inline { len, bytes } => &bytes[..usize::from(*len)],
            StoredId::Heap(id) => id,
        }
    }
}

/// Whether `slot` holds `id`, whose [`bytes::short_words`] are `words`.
/// A short ID compares as two words with one kept in place, whose buffer
/// is zero-padded (see `From<&[u8]>`); it never equals one on the heap,
/// which is longer. A long ID compares out of line (rare).
#[inline(always)]
fn holds(
    ids: &ChunkedVec<Option<StoredId>>,
    slot: u32,
    id: &[u8],
    words: Option<bytes::ShortWords>,
) -> bool {
    match words {
        Some(words) => ids
            .get(slot as usize)
            .is_some_and(|stored| holds_short(stored, id, words)),
        None => holds_long(ids, slot, id),
    }
}

/// [`holds`] of a short ID, given what its slot stores.
#[inline(always)]
fn holds_short(stored: &Option<StoredId>, id: &[u8], words: bytes::ShortWords) -> bool {
    match stored {
        Some(StoredId::Inline { len, bytes }) => {
            usize::from(*len) == id.len() && bytes::padded_words(bytes) == words
        }
        _ => false,
    }
}

/// [`holds`] for an ID longer than [`bytes::SHORT`].
#[inline(never)]
fn holds_long(ids: &ChunkedVec<Option<StoredId>>, slot: u32, id: &[u8]) -> bool {
    match ids.get(slot as usize) {
        Some(Some(stored)) => **stored == *id,
        _ => false,
    }
}

/// Lookups of a batch of IDs (an `ECL.MLOG`'s), the table's hasher chosen
/// and its index read once for the batch rather than once per ID. Made by
/// [`EventTable::lookup`].
pub(crate) struct Finder<'a, H> {
    table: &'a EventTable,
    /// By value (a seed, or a reference to SipHash's keys), and the first
    /// chunk of IDs at hand: a batch's loop keeps them in registers.
    hasher: H,
    index: Probe<'a>,
    first_ids: &'a [Option<StoredId>],
}

impl<H: HashId> Finder<'_, H> {
    /// [`EventTable::find`].
    #[inline(always)]
    pub fn find(&self, id: &[u8]) -> Option<u32> {
        let words = bytes::short_words(id);
        let hash = self.hasher.hash_with_words(id, words);
        self.table.find_hashed(self.index, id, words, hash)
    }

    /// [`find`](Self::find) of the commonest ID: short, and held in the
    /// first chunk of slots. `None` for any other (an ID longer than
    /// [`bytes::SHORT`], one not in the index, or one held elsewhere):
    /// `find` then answers. With the fast hash it calls nothing, so a
    /// loop of these lookups keeps more of its values in registers.
    #[inline(always)]
    pub fn find_short(&self, id: &[u8]) -> Option<u32> {
        let words = bytes::short_words(id)?;
        let hash = self.hasher.hash_with_words(id, Some(words));
        let first = self.first_ids;
        self.index.find(
            hash,
            #[inline(always)]
            |slot| {
                first
                    .get(slot as usize)
                    .is_some_and(|stored| holds_short(stored, id, words))
            },
        )
    }
}

/// A batch of lookups, run by [`EventTable::lookup`] with a [`Finder`] of
/// the table's hasher.
pub(crate) trait Lookups {
    type Output;
    fn run<H: HashId>(self, finder: &Finder<'_, H>) -> Self::Output;
}

impl EventTable {
    /// `clients_add_ids`: whether IDs not in the config can be added
    /// (auto-declared events), which decides the hasher.
    pub fn new(clients_add_ids: bool) -> Self {
        EventTable {
            ids: ChunkedVec::new(),
            index: SlotIndex::new(),
            growth: None,
            hasher: IdHasher::new(clients_add_ids),
            free: Vec::new(),
        }
    }

    #[inline(always)]
    fn hash(&self, id: &[u8]) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The slot holding `id`. Always inlined, the ID compare too: it runs
    /// once per counted event, and out of line its register saves and the
    /// compare's call cost about as much as the probe.
    #[inline(always)]
    pub fn find(&self, id: &[u8]) -> Option<u32> {
        // Once, for the hash and every compare.
        let words = bytes::short_words(id);
        let hash = self.hasher.hash_with_words(id, words);
        self.find_hashed(self.index.probe(), id, words, hash)
    }

    /// Runs `lookups` with a [`Finder`] of this table.
    #[inline(always)]
    pub fn lookup<L: Lookups>(&self, lookups: L) -> L::Output {
        let (index, first_ids) = (self.index.probe(), self.ids.first_chunk());
        match &self.hasher {
            IdHasher::Keyed(keys) => lookups.run(&Finder {
                table: self,
                hasher: keys,
                index,
                first_ids,
            }),
            IdHasher::Fast(seed) => lookups.run(&Finder {
                table: self,
                hasher: *seed,
                index,
                first_ids,
            }),
        }
    }

    /// [`find`](Self::find) given the index's probe, and the ID's words
    /// and hash.
    #[inline(always)]
    fn find_hashed(
        &self,
        index: Probe<'_>,
        id: &[u8],
        words: Option<bytes::ShortWords>,
        hash: u64,
    ) -> Option<u32> {
        let ids = &self.ids;
        match index.find(
            hash,
            #[inline(always)]
            |slot| holds(ids, slot, id, words),
        ) {
            Some(slot) => Some(slot),
            None if self.growth.is_some() => self.find_in_old_index(hash, id),
            None => None,
        }
    }

    /// While the index grows: the ID in the old index.
    #[cold]
    #[inline(never)]
    fn find_in_old_index(&self, hash: u64, id: &[u8]) -> Option<u32> {
        let ids = &self.ids;
        self.growth
            .as_ref()?
            .old
            .find(hash, |slot| holds(ids, slot, id, bytes::short_words(id)))
    }

    /// Hash of the ID in a slot in use. A slot out of use (never indexed)
    /// hashes as empty.
    fn slot_hash(ids: &ChunkedVec<Option<StoredId>>, hasher: &IdHasher, slot: u32) -> u64 {
        hasher.hash_one(ids[slot as usize].as_deref().unwrap_or_default())
    }

    /// Before an insert: starts a growth when the index is full, and copies
    /// the next slots of a growth under way.
    fn grow_a_step(&mut self) {
        if self.growth.is_none() && self.index.is_full() {
            if self.index.capacity() < 1024 {
                return; // small: let the table grow in one go
            }
            // Twice the live entries: the tombstones stay behind.
            let new = SlotIndex::with_capacity(self.index.len() * 2);
            self.growth = Some(Growth {
                old: std::mem::replace(&mut self.index, new),
                next_slot: 0,
                end_slot: self.ids.len() as u32,
            });
            return;
        }
        let Some(growth) = &mut self.growth else {
            return;
        };
        let stop = growth
            .next_slot
            .saturating_add(MOVED_PER_INSERT)
            .min(growth.end_slot);
        let (ids, hasher) = (&self.ids, &self.hasher);
        for slot in growth.next_slot..stop {
            if let Some(id) = ids.get(slot as usize).and_then(|id| id.as_deref()) {
                let hash = hasher.hash_one(id);
                if growth.old.contains(hash, slot) {
                    self.index
                        .insert(hash, slot, |s| Self::slot_hash(ids, hasher, s));
                }
            }
        }
        growth.next_slot = stop;
        if stop == growth.end_slot {
            self.growth = None;
        }
    }

    /// Adds an ID that is not in the table; returns its slot. The slot is
    /// either a reused free one or `slot_count()` before the call.
    pub fn insert(&mut self, id: &[u8]) -> u32 {
        self.grow_a_step();
        let slot = match self.pop_free() {
            Some(slot) => {
                self.ids[slot as usize] = Some(id.into());
                slot
            }
            None => {
                self.ids.push(Some(id.into()));
                u32::try_from(self.ids.len() - 1).expect("more than 2^32 event slots")
            }
        };
        let (ids, hasher) = (&self.ids, &self.hasher);
        self.index.insert(hasher.hash_one(id), slot, |s| {
            Self::slot_hash(ids, hasher, s)
        });
        slot
    }

    pub fn remove(&mut self, slot: u32) {
        let Some(id) = self.ids[slot as usize].take() else {
            return;
        };
        let hash = self.hash(&id);
        self.index.remove(hash, slot);
        if let Some(growth) = &mut self.growth {
            growth.old.remove(hash, slot);
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

    /// A free slot to reuse. Slots cut off the tail stay listed until they
    /// come up here (forgetting them at the cut would scan the whole list
    /// in one step); they are skipped.
    fn pop_free(&mut self) -> Option<u32> {
        while let Some(slot) = self.free.pop() {
            if (slot as usize) < self.ids.len() {
                return Some(slot);
            }
        }
        None
    }

    /// Drops up to `budget` trailing free slots so the count vectors can
    /// shrink too. Returns the slot count and whether the tail is cut (no
    /// free slot left at the end). Bounded, and gives no memory back (see
    /// [`shrink`](Self::shrink)).
    pub fn trim_free_tail(&mut self, budget: usize) -> (usize, bool) {
        for _ in 0..budget {
            if !matches!(self.ids.last(), Some(None)) {
                break;
            }
            self.ids.pop();
        }
        // Listed slots that no longer exist, from the end of the list, where
        // the sweep's last frees went (the rest are skipped on reuse).
        let len = self.ids.len();
        while self.free.last().is_some_and(|&s| s as usize >= len) {
            self.free.pop();
        }
        (len, !matches!(self.ids.last(), Some(None)))
    }

    /// Gives back memory held for slots and index entries no longer used,
    /// in three parts (`part` 0..3) so each costs one deallocation.
    pub fn shrink(&mut self, part: usize) {
        match part {
            0 => self.ids.shrink_if_loose(),
            1 => self.free.shrink_to_fit(),
            // A smaller index made from the slots' IDs: rehashing every live
            // entry, and looking at every slot, is only cheap enough for one
            // step when few are left (a scan of the old index would look at
            // each of its entries, millions after a mass expiry).
            2 if self.growth.is_none()
                && self.index.capacity() > 4 * self.index.len() + 64
                && self.ids.len() <= MAX_REHASH_IN_ONE_STEP =>
            {
                let (ids, hasher) = (&self.ids, &self.hasher);
                let mut index = SlotIndex::with_capacity(self.index.len());
                for (slot, id) in ids.iter().enumerate() {
                    if let Some(id) = id.as_deref() {
                        index.insert(hasher.hash_one(id), slot as u32, |s| {
                            Self::slot_hash(ids, hasher, s)
                        });
                    }
                }
                self.index = index;
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
            + self.ids.heap_bytes()
            + self.index.heap_bytes()
            + self.growth.as_ref().map_or(0, |g| g.old.heap_bytes())
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

    /// Short IDs compare as words, with their stored buffers' padding:
    /// at every length, in place or not, an ID is found and its neighbours
    /// (a byte changed, a byte more or less, a zero byte more) are not.
    #[test]
    fn every_length_finds_the_id_and_only_it() {
        for clients_add_ids in [false, true] {
            let mut t = EventTable::new(clients_add_ids);
            let ids: Vec<Vec<u8>> = (0..=INLINE_ID_LEN + 3)
                .map(|n| (0..n).map(|i| b'a' + (i * 7 % 26) as u8).collect())
                .collect();
            let slots: Vec<u32> = ids.iter().map(|id| t.insert(id)).collect();
            for (id, &slot) in ids.iter().zip(&slots) {
                assert_eq!(t.find(id), Some(slot), "{id:?}");
                let mut padded = id.clone();
                padded.push(0);
                assert_eq!(t.find(&padded), None, "{padded:?}");
                for at in 0..id.len() {
                    let mut near = id.clone();
                    near[at] ^= 0x20;
                    assert_eq!(t.find(&near), None, "{near:?}");
                }
            }
        }
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
        assert_eq!(t.trim_free_tail(10), (1, true));
        assert_eq!(t.find(b"c"), Some(c));
    }

    #[test]
    fn the_index_grows_in_steps_and_finds_every_id_meanwhile() {
        for clients_add_ids in [false, true] {
            let mut table = EventTable::new(clients_add_ids);
            let id = |i: u32| format!("id-{i}").into_bytes();
            let mut saw_growth = false;
            for i in 0..20_000u32 {
                let slot = table.insert(&id(i));
                saw_growth |= table.growth.is_some();
                if i % 7 == 3 {
                    // Removed (and the slot reused) while a growth may be under way.
                    table.remove(slot - 1);
                }
                if i % 1000 == 0 {
                    for j in 0..=i {
                        let expect_present = !(j % 7 == 2 && j < i);
                        assert_eq!(table.find(&id(j)).is_some(), expect_present, "{j} at {i}");
                    }
                }
            }
            assert!(saw_growth);
        }
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
        // Cut in steps; slots cut off are never handed out again.
        assert_eq!(t.trim_free_tail(500), (500, false));
        assert_eq!(t.trim_free_tail(500), (10, true));
        assert_eq!(t.insert(b"new"), 10, "a new slot, not one cut off");
        t.remove(10);
        assert_eq!(t.trim_free_tail(500), (10, true));
        (0..3).for_each(|part| t.shrink(part));
        for i in 0..10u32 {
            assert_eq!(t.find(format!("e{i}").as_bytes()), Some(i));
        }
        assert_eq!(t.find(b"e500"), None);
    }
}
