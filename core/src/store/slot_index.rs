//! The index of an [`EventTable`](super::event_table::EventTable): event
//! slots found by their ID's hash, by open addressing with linear probing.
//!
//! Each entry is one `u32`: 8 bits of the hash (the tag) and the slot plus
//! one, 0 marking an empty entry. A lookup goes to the hash's home entry
//! and walks on until the ID or an empty entry; only entries whose tag
//! matches cost an ID comparison (1 in 256 of the others). The table keeps
//! at most three quarters of its entries in use (live or removed), so walks
//! are short and every walk ends. A removal leaves a tombstone, which walks
//! pass over and inserts reuse, or an empty entry where no walk passes
//! beyond it: removing costs no rehashing (the timer frees up to a million
//! events, a few thousand per step), and a rebuild or a growth drops the
//! tombstones.
//!
//! It is ECL's own rather than a general-purpose map's because `ECL.LOG`
//! and every `ECL.MLOG` event make a lookup: this one is a load, a compare
//! and an ID comparison inline (≈ 120 instructions a lookup where the
//! general-purpose map's probe with its indirect comparison took ≈ 165),
//! and 4 bytes an entry where it took 5.

use crate::limits::MAX_EVENTS;

/// Bits of an entry that hold the slot (plus one).
const SLOT_BITS: u32 = 24;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;

/// Highest slot an entry can hold.
pub(crate) const MAX_SLOT: u32 = SLOT_MASK - 1;

// Slots are reused once freed, so a group never has many more slots than
// it may hold events (the declared ones among them).
const _: () = assert!(MAX_EVENTS < (MAX_SLOT as u64) / 2);

#[derive(Clone)]
pub(crate) struct SlotIndex {
    entries: Box<[u32]>,
    /// Live entries.
    len: usize,
    /// Live entries and tombstones: what walks see as taken.
    used: usize,
}

/// A removed entry. Its slot bits name no slot a table holds (slots stay
/// far below [`MAX_SLOT`]), so a lookup that meets it with a matching tag
/// compares nothing and walks on.
const TOMBSTONE: u32 = u32::MAX;

/// A [`SlotIndex`]'s table, for lookups (see [`SlotIndex::probe`]).
#[derive(Clone, Copy)]
pub(crate) struct Probe<'a> {
    /// A power of two of them, or none.
    entries: &'a [u32],
}

impl Probe<'_> {
    /// The slot with this hash for which `is_id` holds.
    #[inline(always)]
    pub fn find(self, hash: u64, is_id: impl Fn(u32) -> bool) -> Option<u32> {
        let tag = tag(hash);
        // The mask from the length here, not kept apart: each `at` is then
        // seen to be below the length (no bounds check), and a batch's
        // loop holds one value fewer.
        let mask = self.entries.len().wrapping_sub(1);
        let mut at = hash as usize & mask;
        loop {
            let entry = *self.entries.get(at)?;
            if entry == 0 {
                return None;
            }
            if entry >> SLOT_BITS == tag && is_id(entry_slot(entry)) {
                return Some(entry_slot(entry));
            }
            at = (at + 1) & mask;
        }
    }
}

/// The tag of a hash: its top byte (the home entry comes from the low bits).
#[inline]
fn tag(hash: u64) -> u32 {
    (hash >> 56) as u32
}

#[inline]
fn entry_slot(entry: u32) -> u32 {
    (entry & SLOT_MASK) - 1
}

impl SlotIndex {
    pub fn new() -> Self {
        SlotIndex {
            entries: Box::default(),
            len: 0,
            used: 0,
        }
    }

    /// An empty index that takes `items` slots without growing.
    pub fn with_capacity(items: usize) -> Self {
        // At most three quarters in use: `capacity()` is then `items` or more
        // (and twice `items` entries exactly double the table).
        let entries = items
            .saturating_mul(4)
            .div_ceil(3)
            .next_power_of_two()
            .max(8);
        SlotIndex {
            entries: vec![0; entries].into_boxed_slice(),
            len: 0,
            used: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Slots the index takes before it must grow.
    pub fn capacity(&self) -> usize {
        self.entries.len() / 4 * 3
    }

    /// Whether the next insert needs a rebuild (live entries and tombstones
    /// fill three quarters).
    pub fn is_full(&self) -> bool {
        self.used >= self.capacity()
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<u32>()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len().wrapping_sub(1)
    }

    /// The slot with this hash for which `is_id` holds.
    #[inline(always)]
    pub fn find(&self, hash: u64, is_id: impl Fn(u32) -> bool) -> Option<u32> {
        self.probe().find(hash, is_id)
    }

    /// What [`find`](Self::find) reads of the index, read once: a batch of
    /// lookups keeps it at hand rather than reading it again per ID.
    #[inline(always)]
    pub fn probe(&self) -> Probe<'_> {
        Probe {
            entries: &self.entries,
        }
    }
    /// Where `slot`, stored under `hash`, sits.
    fn position(&self, hash: u64, slot: u32) -> Option<usize> {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let entry = *self.entries.get(at)?;
            if entry == 0 {
                return None;
            }
            if entry & SLOT_MASK == slot + 1 {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Whether `slot` is stored under `hash`.
    pub fn contains(&self, hash: u64, slot: u32) -> bool {
        self.position(hash, slot).is_some()
    }

    /// Adds `slot` (not in the index, at most [`MAX_SLOT`]) under `hash`;
    /// `hash_of` gives the hash of any slot in the index, to grow it.
    pub fn insert(&mut self, hash: u64, slot: u32, hash_of: impl Fn(u32) -> u64) {
        debug_assert!(slot <= MAX_SLOT);
        if self.is_full() {
            self.rebuild(self.len + 1, &hash_of);
        }
        self.place(hash, slot);
    }

    /// Puts the entry in the first empty or removed place from its home;
    /// there is one.
    fn place(&mut self, hash: u64, slot: u32) {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        while self.entries[at] != 0 && self.entries[at] != TOMBSTONE {
            at = (at + 1) & mask;
        }
        if self.entries[at] == 0 {
            self.used += 1;
        }
        self.entries[at] = (tag(hash) << SLOT_BITS) | (slot + 1);
        self.len += 1;
    }

    /// Removes `slot`, stored under `hash`; whether it was there. Where
    /// the next entry is empty no walk goes past this one, and it becomes
    /// empty too; else a tombstone.
    pub fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let Some(at) = self.position(hash, slot) else {
            return false;
        };
        let next = (at + 1) & self.mask();
        if self.entries[next] == 0 {
            self.entries[at] = 0;
            self.used -= 1;
        } else {
            self.entries[at] = TOMBSTONE;
        }
        self.len -= 1;
        true
    }

    /// Rebuilds the index to take `items` slots.
    fn rebuild(&mut self, items: usize, hash_of: &impl Fn(u32) -> u64) {
        let old = std::mem::replace(self, SlotIndex::with_capacity(items));
        for &entry in old.entries.iter().filter(|&&e| e != 0 && e != TOMBSTONE) {
            let slot = entry_slot(entry);
            self.place(hash_of(slot), slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A poor hash on purpose: long runs, wrap-around, shared tags.
    fn hash(slot: u32) -> u64 {
        u64::from(slot % 13) << 56 | u64::from(slot % 5)
    }

    #[test]
    fn finds_what_it_holds_through_inserts_removals_and_rebuilds() {
        let mut index = SlotIndex::new();
        assert_eq!(
            index.find(1, |_| true),
            None,
            "an empty index finds nothing"
        );
        let mut held = std::collections::BTreeSet::new();
        for round in 0..2000u32 {
            let slot = round * 7 % 1009;
            if held.contains(&slot) {
                assert!(index.remove(hash(slot), slot));
                held.remove(&slot);
            } else {
                index.insert(hash(slot), slot, hash);
                held.insert(slot);
            }
            if round % 97 == 0 {
                index.rebuild(index.len(), &hash);
            }
            assert_eq!(index.len(), held.len());
            assert!(index.used <= index.capacity() && index.used >= index.len());
            for probe in 0..1009u32 {
                let found = index.find(hash(probe), |s| s == probe);
                assert_eq!(
                    found.is_some(),
                    held.contains(&probe),
                    "{probe} after {round}"
                );
                assert_eq!(index.contains(hash(probe), probe), held.contains(&probe));
            }
        }
        assert!(!index.remove(hash(5000), 5000));
    }

    #[test]
    fn keeps_a_quarter_free_and_sizes_to_its_items() {
        let mut index = SlotIndex::with_capacity(1000);
        let entries = index.heap_bytes() / 4;
        assert!(index.capacity() >= 1000 && entries.is_power_of_two());
        for slot in 0..1000 {
            index.insert(u64::from(slot), slot, u64::from);
        }
        assert_eq!(index.heap_bytes() / 4, entries, "sized for 1000: no growth");
        assert!(index.len() * 4 <= entries * 3);
        let doubled = SlotIndex::with_capacity(index.capacity() * 2);
        assert_eq!(
            doubled.heap_bytes(),
            2 * index.heap_bytes(),
            "growing doubles"
        );
        for items in [0, 1, 5, 6, 7, 100, 767, 768, 769] {
            let index = SlotIndex::with_capacity(items);
            assert!(
                index.capacity() >= items && index.capacity() < 2 * items.max(6),
                "{items}"
            );
        }
    }
}

#[test]
fn churn_reuses_tombstones_without_growing() {
    let mut index = SlotIndex::with_capacity(100);
    let entries = index.heap_bytes();
    let hash = |slot: u32| u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for round in 0..10_000u32 {
        index.insert(hash(round), round, hash);
        if round >= 50 {
            assert!(index.remove(hash(round - 50), round - 50));
        }
        assert_eq!(index.find(hash(round), |s| s == round), Some(round));
    }
    assert_eq!(index.len(), 50);
    assert_eq!(
        index.heap_bytes(),
        entries,
        "50 live entries never need more room"
    );
}
