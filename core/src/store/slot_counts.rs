//! Per-slot counts (a window's, or the totals): 4 bytes a slot while every
//! value of its chunk fits in 32 bits, 8 bytes once one does not.
//!
//! These vectors are most of a group's memory (two windows per interval,
//! and the totals, per event), and a window's counts, or an ephemeral
//! event's total, rarely reach 2^32. A chunk that needs more widens on the
//! spot; a window narrows again when it is cleared at rotation.

use super::chunked::{chunks_for, locate, shrink_if_loose, Chunk, Chunks, CHUNK_SLOTS};
use super::push_compact_capped;

/// One chunk of counts: narrow until a value needs 64 bits. Each chunk
/// widens on its own, so widening copies at most one chunk.
#[derive(Debug, Clone)]
enum CountChunk {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl CountChunk {
    #[inline]
    fn get(&self, offset: usize) -> u64 {
        match self {
            CountChunk::Narrow(v) => u64::from(v[offset]),
            CountChunk::Wide(v) => v[offset],
        }
    }

    #[inline]
    fn set(&mut self, offset: usize, value: u64) {
        match self {
            CountChunk::Narrow(v) => match u32::try_from(value) {
                Ok(narrow) => v[offset] = narrow,
                Err(_) => {
                    let wide: Vec<u64> = v.iter().map(|&c| u64::from(c)).collect();
                    *self = CountChunk::Wide(wide);
                    self.set(offset, value);
                }
            },
            CountChunk::Wide(v) => v[offset] = value,
        }
    }

    /// Adds `n`, saturating at `u64::MAX`, in one look at the slot.
    ///
    /// The widening out of line, so the common add does not pay for saving
    /// the registers it needs (≈ 20 instructions an add).
    #[inline]
    fn add(&mut self, offset: usize, n: u64) {
        match self {
            CountChunk::Narrow(v) => {
                let slot = &mut v[offset];
                // A 32-bit add: `n`'s width is the same for every count a
                // write adds to, so it is one test for them all.
                match u32::try_from(n).ok().and_then(|n| slot.checked_add(n)) {
                    Some(sum) => *slot = sum,
                    None => self.add_widening(offset, n),
                }
            }
            CountChunk::Wide(v) => v[offset] = v[offset].saturating_add(n),
        }
    }

    /// [`add`](Self::add) of a sum that does not fit in 32 bits.
    #[cold]
    #[inline(never)]
    fn add_widening(&mut self, offset: usize, n: u64) {
        let sum = self.get(offset).saturating_add(n);
        self.set(offset, sum);
    }

    fn push_zero(&mut self) {
        match self {
            CountChunk::Narrow(v) => push_compact_capped(v, 0, CHUNK_SLOTS),
            CountChunk::Wide(v) => push_compact_capped(v, 0, CHUNK_SLOTS),
        }
    }
}

impl Default for CountChunk {
    fn default() -> Self {
        CountChunk::Narrow(Vec::new())
    }
}

impl Chunk for CountChunk {
    fn len(&self) -> usize {
        match self {
            CountChunk::Narrow(v) => v.len(),
            CountChunk::Wide(v) => v.len(),
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            CountChunk::Narrow(v) => v.truncate(len),
            CountChunk::Wide(v) => v.truncate(len),
        }
    }

    fn shrink_if_loose(&mut self) {
        match self {
            CountChunk::Narrow(v) => shrink_if_loose(v),
            CountChunk::Wide(v) => shrink_if_loose(v),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            CountChunk::Narrow(v) => v.capacity() * 4,
            CountChunk::Wide(v) => v.capacity() * 8,
        }
    }
}

/// An add nearly every write makes: a count below 2^32 to a slot of the
/// first chunk (a group of fewer than `CHUNK_SLOTS` events has no other).
/// Made once for a write, it spares each count it is added to the tests
/// of chunk and width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SmallAdd {
    offset: usize,
    n: u32,
}

impl SmallAdd {
    #[inline]
    pub fn new(slot: usize, n: u64) -> Option<SmallAdd> {
        match (locate(slot), u32::try_from(n)) {
            ((0, offset), Ok(n)) => Some(SmallAdd { offset, n }),
            _ => None,
        }
    }
}

/// Per-slot counts, in chunks (see `chunked`): 4 bytes a slot while every
/// value of its chunk fits in 32 bits, 8 bytes once one does not.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotCounts {
    chunks: Chunks<CountChunk>,
}

impl SlotCounts {
    pub fn zeros(len: usize) -> Self {
        let chunks = (0..chunks_for(len))
            .map(|c| CountChunk::Narrow(vec![0; (len - c * CHUNK_SLOTS).min(CHUNK_SLOTS)]))
            .collect();
        SlotCounts {
            chunks: Chunks::from_chunks(chunks),
        }
    }

    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    #[inline]
    pub fn get(&self, slot: usize) -> u64 {
        let (chunk, offset) = locate(slot);
        self.chunks.chunk(chunk).get(offset)
    }

    /// Adds `n`, saturating at `u64::MAX` (a batch that would overflow a
    /// total is refused before anything is added).
    #[inline]
    pub fn add(&mut self, slot: usize, n: u64) {
        let (chunk, offset) = locate(slot);
        self.chunks.chunk_mut(chunk).add(offset, n);
    }

    /// [`add`](Self::add) of a [`SmallAdd`]: one look at the first chunk's
    /// width, one 32-bit add.
    #[inline]
    pub fn add_small(&mut self, add: SmallAdd) {
        if let CountChunk::Narrow(v) = self.chunks.chunk_mut(0) {
            if let Some(sum) = v[add.offset].checked_add(add.n) {
                v[add.offset] = sum;
                return;
            }
        }
        self.add(add.offset, u64::from(add.n));
    }

    /// [`add`](Self::add) of every `(slot, n)`, one at a time: what the
    /// batched adds must match.
    #[cfg(test)]
    pub fn add_each(&mut self, counts: &[(u32, u64)]) {
        for &(slot, n) in counts {
            self.add(slot as usize, n);
        }
    }

    /// [`add_each`](Self::add_each) of the same counts to every vector of
    /// `targets` (a batch's totals and each window it lands in), in one
    /// pass per [`FAN_OUT`] vectors: where the counts go to their first
    /// chunks, narrow (nearly always), each count's slot and value are read
    /// and checked once for all of them.
    ///
    /// Out of line: inlined into a caller's loop, its chunks' lengths are
    /// spilled and each count pays a bounds check per vector again.
    #[inline(never)]
    pub fn add_each_to_all<'a>(
        targets: impl IntoIterator<Item = &'a mut SlotCounts>,
        counts: &[(u32, u64)],
    ) {
        let mut group: [Option<&'a mut SlotCounts>; FAN_OUT] = Default::default();
        let mut held = 0;
        for target in targets {
            group[held] = Some(target);
            held += 1;
            if held == FAN_OUT {
                Self::add_each_to_group(std::mem::take(&mut group), counts);
                held = 0;
            }
        }
        if held > 0 {
            Self::add_each_to_group(group, counts);
        }
    }

    /// [`add_each_to_all`](Self::add_each_to_all) for one group, filled
    /// from the front.
    #[inline(always)]
    fn add_each_to_group(mut group: [Option<&mut SlotCounts>; FAN_OUT], counts: &[(u32, u64)]) {
        if let [(slot, n)] = *counts {
            // `ECL.LOG`: no run to set up.
            for target in group.into_iter().flatten() {
                target.add(slot as usize, n);
            }
            return;
        }
        let done = match &mut group {
            [Some(a), Some(b), Some(c), Some(d)] => {
                add_first_chunk_run([a, b, c, d].map(|t| t.first_narrow()), counts)
            }
            [Some(a), Some(b), Some(c), None] => {
                add_first_chunk_run([a, b, c].map(|t| t.first_narrow()), counts)
            }
            [Some(a), Some(b), None, None] => {
                add_first_chunk_run([a, b].map(|t| t.first_narrow()), counts)
            }
            _ => 0, // one vector: `add_runs` runs it below
        };
        for target in group.into_iter().flatten() {
            target.add_runs(&counts[done..]);
        }
    }

    /// The first chunk's counts while it is narrow, else none (an empty
    /// slice, which ends any run at its first count).
    #[inline(always)]
    fn first_narrow(&mut self) -> &mut [u32] {
        match self.chunks.chunk_mut(0) {
            CountChunk::Narrow(v) => v,
            CountChunk::Wide(_) => &mut [],
        }
    }

    /// [`add`](Self::add) of every `(slot, n)`, in one pass: while the
    /// slots stay in one narrow chunk and the sums in 32 bits (nearly
    /// always), each count is one bounds-checked add into that chunk,
    /// without finding the chunk or its width again.
    fn add_runs(&mut self, counts: &[(u32, u64)]) {
        // Nearly always every count goes to the first chunk, narrow.
        let done = add_first_chunk_run([self.first_narrow()], counts);
        let mut rest = &counts[done..];
        while let Some(&(slot, n)) = rest.first() {
            let (chunk, _) = locate(slot as usize);
            let added = match self.chunks.chunk_mut(chunk) {
                CountChunk::Narrow(v) => add_narrow_run(v, chunk, rest),
                CountChunk::Wide(_) => 0,
            };
            if added == 0 {
                // A wide chunk, or a sum that widens this one.
                self.add(slot as usize, n);
                rest = &rest[1..];
            } else {
                rest = &rest[added..];
            }
        }
    }

    #[inline]
    pub fn set(&mut self, slot: usize, value: u64) {
        let (chunk, offset) = locate(slot);
        self.chunks.chunk_mut(chunk).set(offset, value);
    }

    /// Zeroes every count: a memset per chunk, and a wide chunk becomes
    /// narrow again (its width was for a window that is gone).
    pub fn clear(&mut self) {
        for chunk in self.chunks.iter_chunks_mut() {
            match chunk {
                CountChunk::Narrow(v) => v.fill(0),
                CountChunk::Wide(v) => *chunk = CountChunk::Narrow(vec![0; v.len()]),
            }
        }
    }

    /// Appends a zero count for a new slot (growing the last chunk by an
    /// eighth, or starting a new one).
    pub fn push_zero(&mut self) {
        self.chunks
            .chunk_with_room(|| CountChunk::Narrow(Vec::new()))
            .push_zero();
    }

    pub fn truncate(&mut self, len: usize) {
        self.chunks.truncate(len);
    }

    /// Gives back the last chunk's capacity when less than half is used.
    pub fn shrink_if_loose(&mut self) {
        self.chunks.shrink_if_loose();
    }

    pub fn heap_bytes(&self) -> usize {
        self.chunks.heap_bytes()
    }

    #[cfg(test)]
    pub fn is_wide(&self) -> bool {
        self.chunks
            .iter_chunks()
            .any(|c| matches!(c, CountChunk::Wide(_)))
    }
}

/// Vectors a batch is added to in one pass: a group's totals and the
/// windows of up to three intervals (most groups have one to three).
const FAN_OUT: usize = 4;

/// Adds the leading counts of `counts` that fall into the first chunks
/// `firsts` (narrow, the counts of each), to all of them, and keep them
/// narrow; returns how many it added. A count is added to every chunk or,
/// ending the run, to none. A slot below the shortest chunk's length is in
/// every first chunk at that offset: one bounds check a count, whatever
/// `K`, and no chunk to work out.
#[inline(always)]
fn add_first_chunk_run<const K: usize>(firsts: [&mut [u32]; K], counts: &[(u32, u64)]) -> usize {
    let len = firsts.iter().map(|v| v.len()).min().unwrap_or(0);
    // Each cut to `len`, so that one test covers every index below.
    let mut firsts = firsts.map(|v| &mut v[..len]);
    let mut rest = counts;
    'counts: while let [(slot, n), tail @ ..] = rest {
        let s = *slot as usize;
        let (true, Ok(n)) = (s < len, u32::try_from(*n)) else {
            break;
        };
        for k in 0..K {
            match firsts[k][s].checked_add(n) {
                Some(sum) => firsts[k][s] = sum,
                None => {
                    // Rare: this count widens chunk `k`. Taken back from
                    // the chunks before it, it is left to the general add.
                    for v in &mut firsts[..k] {
                        v[s] -= n;
                    }
                    break 'counts;
                }
            }
        }
        rest = tail;
    }
    counts.len() - rest.len()
}

/// Adds the leading counts of `counts` that fall into narrow chunk number
/// `chunk` (its values `v`) and keep it narrow; returns how many it added.
#[inline]
fn add_narrow_run(v: &mut [u32], chunk: usize, counts: &[(u32, u64)]) -> usize {
    for (done, &(slot, n)) in counts.iter().enumerate() {
        let (slot_chunk, offset) = locate(slot as usize);
        if slot_chunk != chunk {
            return done;
        }
        let cell = &mut v[offset];
        match u32::try_from(n).ok().and_then(|n| cell.checked_add(n)) {
            Some(sum) => *cell = sum,
            None => return done,
        }
    }
    counts.len()
}

/// Equal when the counts are, whatever the width.
impl PartialEq for SlotCounts {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|s| self.get(s) == other.get(s))
    }
}

impl Eq for SlotCounts {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_until_a_count_needs_more_then_narrow_again_when_cleared() {
        let mut w = SlotCounts::zeros(3);
        w.add(1, u64::from(u32::MAX));
        assert!(!w.is_wide());
        w.add(1, 1);
        assert!(w.is_wide(), "2^32 does not fit in 32 bits");
        assert_eq!((w.get(0), w.get(1), w.get(2)), (0, 1 << 32, 0));
        w.add(1, u64::MAX);
        assert_eq!(w.get(1), u64::MAX, "saturates");
        w.push_zero();
        assert_eq!(w.len(), 4);
        w.clear();
        assert!(!w.is_wide());
        assert_eq!(w, SlotCounts::zeros(4));
    }

    #[test]
    fn a_small_add_is_exact_when_it_widens_and_on_a_wide_chunk() {
        let mut w = SlotCounts::zeros(3);
        let small = |slot, n| SmallAdd::new(slot, n).unwrap();
        w.add_small(small(1, 7));
        w.add_small(small(1, u64::from(u32::MAX) - 3));
        assert!(w.is_wide(), "u32::MAX + 4 does not fit");
        assert_eq!(w.get(1), u64::from(u32::MAX) + 4);
        w.add_small(small(2, 5));
        assert_eq!((w.get(0), w.get(2)), (0, 5), "added to the wide chunk");
        assert!(SmallAdd::new(CHUNK_SLOTS, 1).is_none(), "second chunk");
        assert!(SmallAdd::new(0, 1 << 32).is_none(), "a count over 32 bits");
    }

    /// Vectors given the same counts at once (in groups of one to
    /// `FAN_OUT`) end as if each had been given them alone, whatever stops
    /// a group's run: a count that widens one of them, a wide chunk, a slot
    /// past the first chunk.
    #[test]
    fn counts_added_to_many_at_once_are_added_to_each() {
        let len = CHUNK_SLOTS + 10;
        let counts: Vec<(u32, u64)> = vec![
            (1, 5),
            (3, u64::from(u32::MAX) - 2),
            (2, 1),
            (CHUNK_SLOTS as u32 + 4, 9),
            (1, 1 << 33),
            (0, 0),
        ];
        // A start for one of the vectors: a count near 2^32, a wide chunk.
        let starts = [None, Some((3, 7)), Some((2, 1 << 40))];
        let fresh = |start: Option<(usize, u64)>| {
            let mut w = SlotCounts::zeros(len);
            if let Some((slot, value)) = start {
                w.set(slot, value);
            }
            w
        };
        for vectors in 1..=2 * FAN_OUT + 1 {
            for special in 0..vectors {
                for start in starts {
                    for counts in [&counts[..], &counts[..1], &counts[3..4]] {
                        let start_of = |i| if i == special { start } else { None };
                        let mut together: Vec<SlotCounts> =
                            (0..vectors).map(|i| fresh(start_of(i))).collect();
                        SlotCounts::add_each_to_all(together.iter_mut(), counts);
                        for (i, w) in together.iter().enumerate() {
                            let mut alone = fresh(start_of(i));
                            alone.add_each(counts);
                            assert!(*w == alone, "{vectors} {special} {start:?} {i}");
                        }
                    }
                }
            }
        }
        // And what each alone gives is the sum.
        let mut w = fresh(Some((3, 7)));
        w.add_each(&counts);
        assert_eq!(
            (w.get(1), w.get(2), w.get(3)),
            (5 + (1 << 33), 1, u64::from(u32::MAX) + 5)
        );
        assert_eq!(w.get(CHUNK_SLOTS + 4), 9);
    }

    #[test]
    fn only_the_chunk_that_needs_it_widens() {
        let mut w = SlotCounts::zeros(3 * CHUNK_SLOTS);
        w.set(CHUNK_SLOTS + 1, 1 << 40);
        let wide: Vec<bool> = w
            .chunks
            .iter_chunks()
            .map(|c| matches!(c, CountChunk::Wide(_)))
            .collect();
        assert_eq!(wide, [false, true, false]);
        assert_eq!(w.get(CHUNK_SLOTS + 1), 1 << 40);
        w.push_zero();
        assert_eq!(
            (w.len(), w.chunks.iter_chunks().count()),
            (3 * CHUNK_SLOTS + 1, 4)
        );
        w.truncate(CHUNK_SLOTS + 2);
        assert_eq!(
            (w.len(), w.get(CHUNK_SLOTS + 1)),
            (CHUNK_SLOTS + 2, 1 << 40)
        );
    }

    #[test]
    fn equality_ignores_width() {
        let mut narrow = SlotCounts::zeros(2);
        narrow.set(0, 7);
        let mut wide = SlotCounts::zeros(2);
        wide.set(1, u64::MAX);
        wide.set(1, 0);
        wide.set(0, 7);
        assert!(wide.is_wide());
        assert_eq!(narrow, wide);
    }

    proptest::proptest! {
        /// The batch add, to one vector or to several at once, is the
        /// one-by-one add to each: across chunks, with repeated slots, and
        /// with counts that widen a chunk or saturate mid-batch.
        #[test]
        fn adding_a_batch_is_adding_each_count(
            starts in proptest::collection::vec(
                proptest::collection::vec((0usize..6, 0usize..4), 0..6), 1..7),
            batch in proptest::collection::vec((0usize..6, 0usize..4), 0..40),
        ) {
            // Slots near both ends of three chunks; counts small, 2^31, 2^32, huge.
            let slots = [0, 1, CHUNK_SLOTS - 1, CHUNK_SLOTS, 2 * CHUNK_SLOTS, 2 * CHUNK_SLOTS + 5];
            let sizes = [1, 1 << 31, 1 << 32, u64::MAX - 3];
            let counts: Vec<(u32, u64)> =
                batch.iter().map(|&(s, c)| (slots[s] as u32, sizes[c])).collect();
            let mut one_by_one: Vec<SlotCounts> = starts
                .iter()
                .map(|start| {
                    let mut w = SlotCounts::zeros(3 * CHUNK_SLOTS);
                    for &(slot, size) in start {
                        w.set(slots[slot], sizes[size]);
                    }
                    w
                })
                .collect();
            let mut alone = one_by_one[0].clone();
            let mut together = one_by_one.clone();
            for w in &mut one_by_one {
                w.add_each(&counts);
            }
            alone.add_runs(&counts);
            SlotCounts::add_each_to_all(together.iter_mut(), &counts);
            for &slot in &slots {
                proptest::prop_assert_eq!(alone.get(slot), one_by_one[0].get(slot), "slot {}", slot);
                for (i, w) in together.iter().enumerate() {
                    proptest::prop_assert_eq!(w.get(slot), one_by_one[i].get(slot), "vector {} slot {}", i, slot);
                }
            }
        }
    }
}
